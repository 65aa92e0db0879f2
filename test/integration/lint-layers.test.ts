// The layer rules are enforced, not just written down: in a copy of the repository, ESLint with
// the project's configuration passes on the sources as they are and fails on an import that
// breaks a layer (the core importing the file system or a Node built-in, the CLI loading the
// program's wiring statically); the architecture page's check fails when an import the table does
// not show appears, until `npm run docs:architecture` rewrites the table.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
/** Type-aware ESLint on a loaded 2-core machine: tens of seconds per run. */
const LINT_TIMEOUT_MS = 300_000;

/** A fresh copy of what linting needs for each test: each breaks some of its sources. */
let copy: string | undefined;

interface Run {
  readonly status: number | null;
  readonly output: string;
}

function run(args: readonly string[]): Run {
  const result = spawnSync(process.execPath, args, { cwd: inCopy(), encoding: 'utf8', timeout: LINT_TIMEOUT_MS });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const eslint = (files: readonly string[]): Run => run([inCopy('node_modules', 'eslint', 'bin', 'eslint.js'), '--no-warn-ignored', ...files]);
const architectureCheck = (...args: string[]): Run => run([inCopy('scripts', 'architecture.mjs'), ...args]);

/** Puts `lines` at the top of a copied source file. */
function prepend(file: string, lines: readonly string[]): void {
  const path = inCopy(file);
  writeFileSync(path, `${lines.join('\n')}\n${readFileSync(path, 'utf8')}`);
}

beforeEach(() => {
  copy = mkdtempSync(join(tmpdir(), 'promdrop-lint-'));
  for (const path of ['src', 'scripts', 'docs/architecture.md', 'eslint.config.mjs', 'layers.config.mjs', 'tsconfig.json', 'package.json']) {
    cpSync(join(REPO, path), inCopy(path), { recursive: true });
  }
  symlinkSync(join(REPO, 'node_modules'), inCopy('node_modules'), 'dir');
});

afterEach(() => {
  if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  copy = undefined;
});

function inCopy(...path: string[]): string {
  if (copy === undefined) throw new Error('no copy of the repository');
  return join(copy, ...path);
}

describe('npm run lint: the layer rules', () => {
  const files = ['src/core/duration.ts', 'src/cli/commands/list.ts', 'src/cli/commands/serve.ts', 'src/http/snapshot-source.ts', 'src/defaults.ts'];

  it(
    'passes on the sources as they are, and fails on imports that break a layer',
    () => {
      const clean = eslint(files);
      expect(clean.output).toBe('');
      expect(clean.status).toBe(0);

      prepend('src/core/duration.ts', [
        "import { readFileSync } from 'node:fs';",
        "import { writeAtomically } from '../fs/atomic-write.js';",
        'export const misplaced = [readFileSync, writeAtomically, Date.now()];',
      ]);
      prepend('src/cli/commands/list.ts', ["import { runAgent } from '../../program/serve.js';", 'export const loadedAtStart = runAgent;']);
      prepend('src/defaults.ts', ["import { formatDuration } from './core/duration.js';", 'export const notFreeOfImports = formatDuration;']);
      const broken = eslint(files);
      expect(broken.status).toBe(1);
      const problems = broken.output.split('\n').filter((line) => /\berror\b/.test(line));
      // Each wrong import is reported at its line, naming the layers and the rule.
      expect(broken.output).toContain('src/core/duration.ts');
      expect(problems).toContainEqual(expect.stringMatching(/^\s+1:\d+\s+error\s+.*type "core".*module source "node:fs".*boundaries\/dependencies$/));
      expect(problems).toContainEqual(expect.stringMatching(/^\s+2:\d+\s+error\s+.*type "core" to elements of type "fs".*boundaries\/dependencies$/));
      expect(problems).toContainEqual(expect.stringMatching(/^\s+3:\d+\s+error\s+'Date\.now' is restricted.*src\/core is pure/));
      expect(broken.output).toContain('src/cli/commands/list.ts');
      expect(problems).toContainEqual(expect.stringMatching(/^\s+1:\d+\s+error\s+.*type "cli" to elements of type "program".*boundaries\/dependencies$/));
      expect(problems).toContainEqual(expect.stringMatching(/^\s+1:\d+\s+error\s+.*category "defaults" to elements of type "core".*boundaries\/dependencies$/));
      expect(problems).toHaveLength(5);
    },
    2 * LINT_TIMEOUT_MS,
  );

  it('the architecture page fails its check when the imports change, until the table is regenerated', () => {
    expect(architectureCheck('--check').status).toBe(0);
    // Allowed by the layers (the store may log), but an import the table does not show yet.
    prepend('src/agent/compose.ts', ["import type { Logger } from '../log/logger.js';", 'export type ComposeLogger = Logger;']);
    const stale = architectureCheck('--check');
    expect(stale.status).toBe(1);
    expect(stale.output).toContain(
      'docs/architecture.md: the layer table differs from layers.config.mjs and the imports of src/; run `npm run docs:architecture`',
    );

    expect(architectureCheck().status).toBe(0);
    expect(readFileSync(inCopy('docs', 'architecture.md'), 'utf8')).toMatch(
      /^\| agent \(the store\) \| `src\/agent\/` \|.*\| core, defaults, log \(types only\), fs \| none \|$/m,
    );
    expect(architectureCheck('--check').status).toBe(0);
  });
});
