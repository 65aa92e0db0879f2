// Issue 14: every view of the same files says the same thing. Each conflict case goes through
// `promdrop check DIR`, `promdrop write` (plain and --strict), `promdrop list --json`, and a
// running agent's landing page, /api/v1/files and meta metrics; they must agree on each file's
// state, reason and served series, and the served body must be a valid exposition (promtool).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileReport } from '../../src/agent/store.js';
import { PEERS, requireProgram, runProgram } from '../helpers/peers.js';
import { startAgent, type Agent } from './serve-agent.js';
import { tempDirectory } from './store-helpers.js';
import { promdrop, requireBuiltCli } from './writer-support.js';

const promtool = requireProgram(PEERS.promtool, 'prometheus');

interface Expected {
  readonly state: FileReport['state'];
  readonly reason?: FileReport['reason'];
  readonly served: boolean;
  readonly series: number;
}

interface Case {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  readonly expected: Readonly<Record<string, Expected>>;
  /** The file that loses something to another file (write warns about it), if any. */
  readonly loser?: { readonly file: string; readonly family: string; readonly winner: string };
  /** A file that only gets a warning (check exit 3, served in full). */
  readonly warned?: string;
}

const HISTOGRAM_X = '# HELP x A histogram.\n# TYPE x histogram\nx_bucket{le="1"} 1\nx_bucket{le="+Inf"} 2\nx_sum 3\nx_count 2\n';
const SUMMARY_Y = '# HELP y A summary.\n# TYPE y summary\ny{quantile="0.5"} 1\ny_sum 3\ny_count 2\n';

const CASES: readonly Case[] = [
  {
    name: 'histogram x, then x_count in a later file',
    files: { 'a.prom': HISTOGRAM_X, 'b.prom': '# HELP x_count A count.\n# TYPE x_count gauge\nx_count 5\n' },
    expected: { 'a.prom': { state: 'ok', served: true, series: 4 }, 'b.prom': { state: 'conflict', reason: 'conflict', served: false, series: 0 } },
    loser: { file: 'b.prom', family: 'x_count', winner: 'a.prom' },
  },
  {
    name: 'x_count first, histogram x in a later file',
    files: { 'a.prom': '# HELP x_count A count.\n# TYPE x_count gauge\nx_count 5\n', 'b.prom': HISTOGRAM_X },
    expected: { 'a.prom': { state: 'ok', served: true, series: 1 }, 'b.prom': { state: 'conflict', reason: 'conflict', served: false, series: 0 } },
    loser: { file: 'b.prom', family: 'x', winner: 'a.prom' },
  },
  {
    name: 'summary y and a later y_sum, next to a family that is served',
    files: { 'a.prom': SUMMARY_Y, 'b.prom': '# HELP y_sum A sum.\n# TYPE y_sum gauge\ny_sum 7\n# HELP z Other.\n# TYPE z gauge\nz 1\n' },
    expected: { 'a.prom': { state: 'ok', served: true, series: 3 }, 'b.prom': { state: 'conflict', reason: 'conflict', served: true, series: 1 } },
    loser: { file: 'b.prom', family: 'y_sum', winner: 'a.prom' },
  },
  {
    name: 'differing TYPE',
    files: { 'a.prom': '# HELP t A thing.\n# TYPE t gauge\nt 1\n', 'b.prom': '# HELP t A thing.\n# TYPE t untyped\nt{i="2"} 2\n' },
    expected: { 'a.prom': { state: 'ok', served: true, series: 1 }, 'b.prom': { state: 'conflict', reason: 'conflict', served: false, series: 0 } },
    loser: { file: 'b.prom', family: 't', winner: 'a.prom' },
  },
  {
    name: 'differing HELP (a warning: every series served under the first HELP)',
    files: { 'a.prom': '# HELP h One text.\n# TYPE h gauge\nh{i="1"} 1\n', 'b.prom': '# HELP h Another text.\n# TYPE h gauge\nh{i="2"} 2\n' },
    expected: { 'a.prom': { state: 'ok', served: true, series: 1 }, 'b.prom': { state: 'ok', served: true, series: 1 } },
    warned: 'b.prom',
  },
  {
    name: 'duplicate series',
    files: {
      'a.prom': '# HELP d A thing.\n# TYPE d gauge\nd{i="1"} 1\nd{i="2"} 2\n',
      'b.prom': '# HELP d A thing.\n# TYPE d gauge\nd{i="1"} 5\nd{i="3"} 3\n',
    },
    expected: { 'a.prom': { state: 'ok', served: true, series: 2 }, 'b.prom': { state: 'conflict', reason: 'duplicate', served: true, series: 1 } },
    loser: { file: 'b.prom', family: 'd', winner: 'a.prom' },
  },
];

let root: string;

beforeAll(() => {
  requireBuiltCli();
  root = tempDirectory('agreement');
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function caseDirectory(index: number, files: Readonly<Record<string, string>>, suffix = ''): string {
  const dir = join(root, `case-${index}${suffix}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function metaValue(body: string, series: string): string | undefined {
  for (const line of body.split('\n')) if (line.startsWith(`${series} `)) return line.slice(series.length + 1);
  return undefined;
}

describe('check DIR, write, list, the landing page, /api/v1/files and the meta metrics agree', () => {
  CASES.forEach((testCase, index) => {
    it(testCase.name, { timeout: 120_000 }, async () => {
      const dir = caseDirectory(index, testCase.files);
      const names = Object.keys(testCase.files).sort();
      const path = (name: string): string => join(dir, name);

      // promdrop check DIR: an error for exactly the files that lose something.
      const check = await promdrop(['check', '--no-lint', dir]);
      for (const name of names) {
        const expected = testCase.expected[name]!;
        const errors = check.stdout.split('\n').filter((line) => line.startsWith(`${path(name)}:`) && line.includes(': error: '));
        const warnings = check.stdout.split('\n').filter((line) => line.startsWith(`${path(name)}:`) && line.includes(': warning: '));
        expect(errors.length > 0, `check errors for ${name}: ${check.stdout}`).toBe(expected.state === 'conflict');
        expect(warnings.length > 0, `check warnings for ${name}: ${check.stdout}`).toBe(testCase.warned === name);
      }
      expect(check.code).toBe(testCase.loser !== undefined ? 1 : testCase.warned !== undefined ? 3 : 0);

      // promdrop list --json
      const list = await promdrop(['list', '--json', '-d', dir]);
      const listed = (JSON.parse(list.stdout) as { files: FileReport[] }).files;
      const fromList = Object.fromEntries(listed.map((file) => [file.path, file]));

      // a running agent
      let agent: Agent | undefined;
      try {
        agent = await startAgent([`--textfile.directory=${dir}`]);
        const api = JSON.parse((await agent.get('/api/v1/files')).body) as { data: { files: FileReport[] } };
        const fromApi = Object.fromEntries(api.data.files.map((file) => [file.path, file]));
        const landing = (await agent.get('/')).body;
        const metrics = await agent.metrics();

        let anyError = false;
        for (const name of names) {
          const expected = testCase.expected[name]!;
          for (const [view, report] of [
            ['list', fromList[path(name)]],
            ['/api/v1/files', fromApi[path(name)]],
          ] as const) {
            expect(report, `${view} reports ${name}`).toBeDefined();
            expect({ state: report!.state, reason: report!.reason, served: report!.served, series: report!.series }, `${view}: ${name}`).toEqual({
              state: expected.state,
              reason: expected.reason,
              served: expected.served,
              series: expected.series,
            });
          }
          if (testCase.warned === name) {
            expect(fromApi[path(name)]!.warnings).toBeGreaterThan(0);
            expect(fromList[path(name)]!.warnings).toBeGreaterThan(0);
          }
          // The page names a file relative to its directory, with the full path as its title.
          const row = landing.split('<tr class="file"').find((part) => part.includes(`title="${path(name)}"`));
          expect(row, `landing page row of ${name}`).toBeDefined();
          expect(row).toContain(`state-${expected.state}`);
          expect(row).toContain(`<td>${expected.served ? 'yes' : 'no'}</td>`);
          expect(row).toContain(`<td class="num">${expected.series}</td>`);
          expect(metaValue(metrics, `promdrop_textfile_up{file="${path(name)}"}`)).toBe(expected.served ? '1' : '0');
          const errorSeries = `promdrop_textfile_error{file="${path(name)}",reason="${expected.reason ?? ''}"}`;
          if (expected.reason !== undefined) {
            anyError = true;
            expect(metaValue(metrics, errorSeries)).toBe('1');
          } else {
            expect(metrics).not.toContain(`promdrop_textfile_error{file="${path(name)}"`);
          }
          expect(metrics.includes(`node_textfile_mtime_seconds{file="${path(name)}"}`)).toBe(expected.served);
          // The log says the same: a warning naming the file when it is not fine.
          if (expected.reason !== undefined || testCase.warned === name) expect(agent.output()).toContain(path(name));
        }
        expect(metaValue(metrics, 'node_textfile_scrape_error')).toBe(anyError ? '1' : '0');

        // The body is a valid exposition: no family or series written twice.
        const families = metrics
          .split('\n')
          .filter((line) => line.startsWith('# TYPE '))
          .map((line) => line.split(' ')[2]);
        expect(new Set(families).size).toBe(families.length);
        const samples = metrics
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'))
          .map((line) => line.slice(0, line.lastIndexOf(' ')));
        expect(new Set(samples).size).toBe(samples.length);
        if (promtool !== undefined) {
          const checked = await runProgram(promtool, ['check', 'metrics'], metrics);
          expect(checked.stderr + checked.stdout).not.toMatch(/error while linting|parsing error|second HELP|second TYPE/);
        }
      } finally {
        await agent?.stop();
      }

      // promdrop write of the loser's content next to the other files: a warning naming the
      // other file and the family, exit 0; with --strict, exit 1 and nothing written.
      if (testCase.loser !== undefined) {
        const { file, family, winner } = testCase.loser;
        const others = Object.fromEntries(Object.entries(testCase.files).filter(([name]) => name !== file));
        const writeDir = caseDirectory(index, others, '-write');
        const strict = await promdrop(['write', file, '--strict', '-d', writeDir], { input: testCase.files[file]! });
        expect(strict.code, strict.stderr).toBe(1);
        expect(strict.stderr).toContain(join(writeDir, winner));
        expect(strict.stderr).toContain(family);
        expect(existsSync(join(writeDir, file))).toBe(false);
        const plain = await promdrop(['write', file, '-d', writeDir], { input: testCase.files[file]! });
        expect(plain.code, plain.stderr).toBe(0);
        expect(plain.stderr).toMatch(/warning/);
        expect(plain.stderr).toContain(join(writeDir, winner));
        expect(plain.stderr).toContain(family);
        expect(readFileSync(join(writeDir, file), 'utf8')).toBe(testCase.files[file]);
      } else {
        for (const [file, content] of Object.entries(testCase.files)) {
          const others = Object.fromEntries(Object.entries(testCase.files).filter(([name]) => name !== file));
          const writeDir = caseDirectory(index, others, `-write-${file}`);
          const result = await promdrop(['write', file, '--strict', '-d', writeDir], { input: content });
          expect(result.code, result.stderr).toBe(0);
          expect(result.stderr).toBe('');
        }
      }
    });
  });
});
