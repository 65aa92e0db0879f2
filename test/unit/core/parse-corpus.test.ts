// The parser against the differential corpus, using the verdicts and messages promtool gave when
// the cases were recorded (no peer needed; test/integration/differential.test.ts re-runs
// promtool live). Under the legacy name validation scheme the parser claims to be an exact port of
// expfmt v0.39, so it must agree with
// promtool on every case, and its reference message must be promtool's, word for word.
import { describe, expect, it } from 'vitest';
import { parseExposition, type ParseCause } from '../../../src/core/index.js';
import type { DifferentialCase } from '../../fixtures/differential/case-types.js';
import { cases } from '../../fixtures/differential/cases.js';

/** The corpus was recorded with promtool 2.42 (expfmt v0.39): the legacy name validation scheme. */
const LEGACY = { nameValidation: 'legacy' } as const;

function bytesOf(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

/** How a person reading the message recognises each likely cause. */
const CAUSE_WORDING: Readonly<Record<ParseCause, RegExp>> = {
  syntax: /./,
  crlf: /CRLF|line ending/i,
  bom: /byte-order mark/i,
  missing_final_newline: /half-written/i,
  trailing_whitespace: /trailing (whitespace|blank|space|tab)/i,
  invalid_escape: /escape/i,
  invalid_utf8: /UTF-8/i,
  openmetrics: /OpenMetrics/i,
  quoted_name: /quoted|UTF-8/i,
  duplicate_label: /duplicate label/i,
  reserved_label: /reserved/i,
  repeated_metadata: /second (HELP|TYPE)/i,
};

/** Byte length of 1-based line `line` (without its LF), or undefined past the end. */
function lineLength(bytes: Buffer, line: number): number | undefined {
  let start = 0;
  for (let current = 1; current < line; current++) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1) return undefined;
    start = newline + 1;
  }
  const newline = bytes.indexOf(0x0a, start);
  return (newline === -1 ? bytes.length : newline) - start;
}

const accepted = cases.filter((c) => c.promtool === 'accept');
const rejected = cases.filter((c) => c.promtool === 'reject');

describe('the corpus itself', () => {
  it('has at least 180 cases with unique names, both verdicts well represented', () => {
    expect(cases.length).toBeGreaterThanOrEqual(180);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(accepted.length).toBeGreaterThan(60);
    expect(rejected.length).toBeGreaterThan(60);
  });

  it('records a line and a message for every case promtool rejected', () => {
    const incomplete = rejected.filter((c) => c.promtoolLine === undefined || c.promtoolMessage === undefined);
    expect(incomplete.map((c) => c.name)).toEqual([]);
  });

  it('marks as deliberate only cases promtool accepts', () => {
    const wrong = cases.filter((c) => c.deliberate !== undefined && (c.promtool !== 'accept' || !c.rejectReason));
    expect(wrong.map((c) => c.name)).toEqual([]);
  });
});

describe('parser verdict equals the recorded promtool verdict', () => {
  it.each(accepted)('accepts $name', (c: DifferentialCase) => {
    const result = parseExposition(bytesOf(c.input), LEGACY);
    expect(result.ok ? 'accepted' : `rejected: line ${result.error.line}: ${result.error.message}`).toBe('accepted');
  });

  it.each(rejected)('rejects $name', (c: DifferentialCase) => {
    const bytes = bytesOf(c.input);
    const result = parseExposition(bytes, LEGACY);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const failure = result.error;
    // expfmt's own words and line, so that promdrop's output can be matched with promtool's
    // and node_exporter's logs.
    expect(failure.referenceMessage).toBe(c.promtoolMessage);
    expect(failure.line).toBe(c.promtoolLine);
    // A column a person can go to: inside the line, or just after its last byte.
    expect(failure.column).toBeGreaterThanOrEqual(1);
    const length = lineLength(bytes, failure.line);
    expect(length).toBeDefined();
    expect(failure.column).toBeLessThanOrEqual((length ?? 0) + 1);
    // The person-facing message keeps expfmt's wording.
    expect(failure.message).toContain(failure.referenceMessage);
  });
});

describe('rejections name the likely cause', () => {
  const withCause = rejected.filter((c): c is DifferentialCase & { cause: ParseCause } => c.cause !== undefined);

  it('covers every cause the reference lists', () => {
    const covered = new Set(withCause.map((c) => c.cause));
    for (const cause of [
      'crlf',
      'bom',
      'missing_final_newline',
      'trailing_whitespace',
      'invalid_escape',
      'invalid_utf8',
      'openmetrics',
      'quoted_name',
    ] as const) {
      expect(covered, cause).toContain(cause);
    }
  });

  it.each(withCause)('$name: $cause', (c) => {
    const result = parseExposition(bytesOf(c.input), LEGACY);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.cause).toBe(c.cause);
    expect(result.error.message).toMatch(CAUSE_WORDING[c.cause]);
  });
});
