// Hostile input, at volume: generated and mutated textfiles through the parser and checker, and
// through the agent's own judgement (a real store over a real directory). property.test.ts
// checks round trips and random bytes on a few thousand inputs; this file adds structure-aware
// mutations and the agent's end of it, at a case count set by PROMDROP_FUZZ_CASES (50,000 in
// `npm test`; `npm run fuzz -- --cases 1000000` for a nightly-size run).
//
// Properties: nothing throws; a failure is always positioned; the checker's verdict agrees with
// its findings; what is accepted renders to text that is accepted again; the agent never serves
// a series from a file it rejected, and what it serves always parses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnce } from '../../../src/agent/load-once.js';
import { checkExposition } from '../../../src/core/check.js';
import { mergeSources } from '../../../src/core/merge.js';
import { parseExposition } from '../../../src/core/parse.js';
import { renderText } from '../../../src/core/render.js';

const CASES = Number(process.env['PROMDROP_FUZZ_CASES'] ?? 50_000);
/** Files judged by the agent: each costs a file write and a store scan, so a tenth as many. */
const AGENT_FILES = Math.max(1_000, Math.round(CASES / 10));
const FILES_PER_SCAN = 25;
/** A generous budget per case, so that only a hang (not a slow machine) trips the timeout. */
const TIMEOUT_MS = 120_000 + CASES * 2;

if (!Number.isSafeInteger(CASES) || CASES <= 0) throw new Error(`PROMDROP_FUZZ_CASES must be a positive integer, not ${process.env['PROMDROP_FUZZ_CASES']}`);

// --- Inputs ----------------------------------------------------------------------------------

/** Pieces the exposition format is made of, and the edge cases between them. */
const TOKENS = [
  '# HELP ',
  '# TYPE ',
  '# ',
  '#',
  ' counter',
  ' gauge',
  ' histogram',
  ' summary',
  ' untyped',
  ' gaugehistogram',
  ' info',
  '{',
  '}',
  '=',
  ',',
  '"',
  '\\',
  '\\"',
  '\\n',
  '\\\\',
  '\n',
  '\r\n',
  '\r',
  ' ',
  '\t',
  '\u0000',
  '\u00ff',
  '\ufeff',
  'le="',
  'quantile="',
  '_bucket',
  '_sum',
  '_count',
  '_total',
  '_created',
  '__name__',
  '__x',
  'promdrop_up',
  'node_textfile_scrape_error',
  ' 1',
  ' -1',
  ' 0',
  ' 1e308',
  ' 1e309',
  ' -0',
  ' NaN',
  ' +Inf',
  ' -Inf',
  ' Inf',
  ' nan',
  ' 0x10',
  ' 1_000',
  ' 1.',
  ' .5',
  ' 1e',
  ' ++1',
  ' 1700000000000',
  ' -1700000000000',
  '# promdrop: ttl=1h',
  '# promdrop: ttl=0s',
  '# promdrop: tll=1h',
  '# EOF',
  'a',
  'b_c',
  ':',
  '9',
  'é',
  '\u{1F600}',
  '\u2028',
  '\ud800',
];

const metricName = fc.constantFrom('a', 'up', 'job_total', 'req_seconds', 'x:y', '_z', 'node_load1');
const labelName = fc.constantFrom('a', 'le', 'quantile', 'job', 'b_c', 'instance');
const labelValue = fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', 'é', ' ', '{', '}', ',', '='), maxLength: 6 });
const value = fc.constantFrom('1', '0', '-1.5', '1e3', 'NaN', '+Inf', '-Inf', '3.4e+38', '0.25');

/** A plausible line: metadata, a sample, or a comment. */
const line = fc.oneof(
  fc.tuple(metricName, fc.string({ maxLength: 12 })).map(([n, h]) => `# HELP ${n} ${h}`),
  fc.tuple(metricName, fc.constantFrom('counter', 'gauge', 'histogram', 'summary', 'untyped')).map(([n, t]) => `# TYPE ${n} ${t}`),
  fc
    .tuple(metricName, fc.constantFrom('', '_bucket', '_sum', '_count', '_total'), fc.array(fc.tuple(labelName, labelValue), { maxLength: 3 }), value)
    .map(([n, suffix, labels, v]) => {
      const body = labels.map(([k, val]) => `${k}="${val.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
      return `${n}${suffix}${labels.length > 0 ? `{${body}}` : ''} ${v}`;
    }),
  fc.constantFrom('# promdrop: ttl=26h', '# just a comment', ''),
);

/** A file of plausible lines (often valid, often almost). */
const plausibleFile = fc.array(line, { maxLength: 12 }).map((lines) => (lines.length === 0 ? '' : `${lines.join('\n')}\n`));

type Edit = readonly [position: number, kind: 'insert' | 'delete' | 'replace' | 'duplicate' | 'truncate', token: string];

const edit: fc.Arbitrary<Edit> = fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'duplicate', 'truncate'), fc.constantFrom(...TOKENS));

function applyEdits(text: string, edits: readonly Edit[]): Buffer {
  let bytes = Buffer.from(text);
  for (const [position, kind, token] of edits) {
    const at = bytes.length === 0 ? 0 : position % (bytes.length + 1);
    const piece = Buffer.from(token);
    if (kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
    else if (kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + (position % 7))]);
    else if (kind === 'replace') bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at + piece.length)]);
    else if (kind === 'duplicate') {
      // Repeat the line around `at`: duplicate series, repeated metadata.
      const start = bytes.lastIndexOf(0x0a, at - 1) + 1;
      const end = bytes.indexOf(0x0a, at);
      const row = bytes.subarray(start, end === -1 ? bytes.length : end + 1);
      bytes = Buffer.concat([bytes.subarray(0, start), row, row, bytes.subarray(start + row.length)]);
    } else bytes = bytes.subarray(0, at);
  }
  return bytes;
}

/** Generated files, mutated, or token soup: the three ways a broken textfile comes about. */
const hostileFile: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 2, arbitrary: plausibleFile.map((text) => Buffer.from(text)) },
  { weight: 5, arbitrary: fc.tuple(plausibleFile, fc.array(edit, { minLength: 1, maxLength: 5 })).map(([text, edits]) => applyEdits(text, edits)) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((tokens) => Buffer.from(tokens.join(''))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes)) },
);

// --- Parser and checker ----------------------------------------------------------------------

describe(`fuzz: parser and checker (${CASES} cases)`, () => {
  it(
    'never throw; failures are positioned; the verdict follows the findings; accepted input round-trips',
    () => {
      let accepted = 0;
      fc.assert(
        fc.property(hostileFile, (bytes) => {
          const parsed = parseExposition(bytes);
          if (!parsed.ok) {
            expect(parsed.error.line).toBeGreaterThanOrEqual(1);
            expect(parsed.error.column).toBeGreaterThanOrEqual(1);
            expect(parsed.error.message.length).toBeGreaterThan(0);
          }
          const checked = checkExposition(bytes, { lint: true });
          expect(checked.accepted).toBe(checked.findings.every((finding) => finding.severity !== 'error'));
          if (!parsed.ok) expect(checked.accepted).toBe(false);
          if (checked.accepted) {
            accepted++;
            const merged = mergeSources([{ id: 'fuzz', families: checked.families }], { missingHelp: () => undefined });
            const again = checkExposition(Buffer.from(renderText(merged.families)));
            expect(again.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
          }
        }),
        { numRuns: CASES },
      );
      // The generator must reach both sides, or the properties above prove little.
      expect(accepted).toBeGreaterThan(CASES / 50);
      expect(accepted).toBeLessThan(CASES);
    },
    TIMEOUT_MS,
  );
});

// --- The agent's judgement -------------------------------------------------------------------

const scratch = mkdtempSync(join(tmpdir(), 'promdrop-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const HANG_BOUND_MS = 60_000;

function withinBound<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms: a hang`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** Letters no mutation token contains: edits cannot forge them. */
const FREE_LETTERS = [...'abcdefghijklmnopqrstuvwxyz'].filter((letter) => !TOKENS.some((token) => token.includes(letter)));
if (FREE_LETTERS.length ** 3 < FILES_PER_SCAN) throw new Error(`too few letters free of the mutation tokens: ${FREE_LETTERS.join('')}`);

/** Each file's series carry a marker only that file has, made of letters no edit can produce,
 *  so any served sample line can be traced to the file it came from. */
function marker(index: number): string {
  const k = FREE_LETTERS.length;
  const a = FREE_LETTERS[index % k]!;
  const b = FREE_LETTERS[Math.floor(index / k) % k]!;
  const c = FREE_LETTERS[Math.floor(index / k / k) % k]!;
  return `fz_${a}${b}${c}`;
}

describe(`fuzz: the agent's judgement (${AGENT_FILES} files)`, () => {
  it(
    'never serves a series from a rejected file, and always serves text that parses',
    async () => {
      let scans = 0;
      let rejected = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(plausibleFile, fc.array(edit, { maxLength: 3 })), { minLength: FILES_PER_SCAN, maxLength: FILES_PER_SCAN }),
          async (files) => {
            scans++;
            const directory = mkdtempSync(join(scratch, 'd-'));
            try {
              files.forEach(([text, edits], index) => {
                // The marker replaces every metric name, so each file's series are its own.
                const marked = text.replace(
                  /^(# (?:HELP|TYPE) )?[a-zA-Z_:][a-zA-Z0-9_:]*/gm,
                  (_all, meta: string | undefined) => `${meta ?? ''}${marker(index)}`,
                );
                writeFileSync(join(directory, `f${String(index).padStart(3, '0')}.prom`), applyEdits(marked, edits));
              });
              // A hang is reported with the files that caused it (fast-check's counterexample),
              // not as a bare test timeout; the bound is far above any real scan of 25 small files.
              const snapshot = await withinBound(loadOnce({ directories: [directory] }), HANG_BOUND_MS, `loadOnce of ${directory}`);
              const served = snapshot.text.toString();
              const check = checkExposition(snapshot.text);
              expect(check.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
              for (const report of snapshot.files) {
                if (report.served) continue;
                rejected++;
                const index = Number(/f(\d{3})\.prom$/.exec(report.path)![1]);
                const name = marker(index);
                // Not one sample line of the rejected file (its marker, then `{`, `_`, or a blank).
                expect(served).not.toMatch(new RegExp(`^${name}[{_ ]`, 'm'));
              }
            } finally {
              rmSync(directory, { recursive: true, force: true });
            }
          },
        ),
        { numRuns: Math.ceil(AGENT_FILES / FILES_PER_SCAN) },
      );
      expect(scans).toBe(Math.ceil(AGENT_FILES / FILES_PER_SCAN));
      expect(rejected).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );
});
