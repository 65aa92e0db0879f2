import { describe, expect, it } from 'vitest';
import { textfileNameProblem, textfilePath } from '../../../src/cli/writer-options.js';
import { CliError } from '../../../src/cli/errors.js';
import { EXIT_USAGE } from '../../../src/cli/exit-codes.js';

describe('textfile names', () => {
  it('adds .prom when missing and keeps it when given', () => {
    expect(textfilePath('/d', 'backup')).toBe('/d/backup.prom');
    expect(textfilePath('/d', 'backup.prom')).toBe('/d/backup.prom');
  });

  it.each(['', '.prom', 'a/b', '../x', '.hidden', 'x\0y'])('refuses %j as a usage error', (name) => {
    expect(() => textfilePath('/d', name)).toThrow(CliError);
    try {
      textfilePath('/d', name);
    } catch (error) {
      expect((error as CliError).exitCode).toBe(EXIT_USAGE);
    }
  });

  it("keeps run's outcome files out of reach of the other writers, except delete", () => {
    expect(textfileNameProblem('nightly.job', false)).toMatch(/promdrop run/);
    expect(textfileNameProblem('nightly.job.prom', false)).toMatch(/promdrop run/);
    expect(textfileNameProblem('nightly.job', true)).toBeUndefined();
    expect(textfileNameProblem('jobs', false)).toBeUndefined();
  });
});
