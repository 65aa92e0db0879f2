import { describe, expect, it } from 'vitest';
import { formatFinding } from '../../../src/cli/diagnostics.js';
import { checkExposition } from '../../../src/core/check.js';
import type { Finding } from '../../../src/core/types.js';

describe('formatFinding', () => {
  it('prints errors with line and column, compiler style', () => {
    const [finding] = checkExposition(Buffer.from('a 1\nb{x="y" 2\n')).findings;
    expect(formatFinding('stdin', finding!)).toMatch(/^stdin:2:\d+: error: \S/);
  });

  it('prints warnings with the line only', () => {
    const finding: Finding = { severity: 'warning', reason: 'negative_counter', message: 'm went down', line: 3, column: 5 };
    expect(formatFinding('/d/a.prom', finding)).toBe('/d/a.prom:3: warning: m went down');
  });

  it('leaves out an unknown position', () => {
    const finding: Finding = { severity: 'error', reason: 'parse', message: 'empty', line: 0 };
    expect(formatFinding('stdin', finding)).toBe('stdin: error: empty');
  });
});
