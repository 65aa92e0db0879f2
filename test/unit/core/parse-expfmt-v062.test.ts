// The parser against prometheus/common's own parser table (expfmt/text_parse_test.go) at v0.62.0,
// the first expfmt with quoted UTF-8 names: under the default `utf8` scheme every valid case must
// give the families Go builds and every invalid one fail at Go's line with Go's message. The
// v0.39.0 table must still pass under `legacy`, as promtool 2.42 reads it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseExposition, type NameValidationScheme } from '../../../src/core/parse.js';
import type { Metric, MetricFamily } from '../../../src/core/types.js';
import { upstreamFixtures } from '../../helpers/upstream-fixtures.js';

interface ExpectedMetric {
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly value?: number | string;
  readonly timestamp_ms?: number;
  readonly [key: string]: unknown;
}
interface ExpectedFamily {
  readonly name: string;
  readonly help: string | null;
  readonly type: string;
  readonly metrics: readonly ExpectedMetric[];
}
interface UpstreamCase {
  readonly file: string;
  readonly kind: 'valid' | 'invalid';
  readonly upstream_comment: string;
  readonly expected_families?: readonly ExpectedFamily[];
  readonly expected_line?: number;
  readonly expected_message_prefix?: string;
}

function table(version: string): { dir: string; cases: readonly UpstreamCase[] } {
  const dir = upstreamFixtures('expfmt', version);
  const parsed = JSON.parse(readFileSync(`${dir}/cases.json`, 'utf8')) as { cases: UpstreamCase[] };
  return { dir, cases: parsed.cases };
}

function goValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return value;
}

/** Our scalar metrics in the shape of the table's expected families (sorted like Go's map). */
function shape(family: MetricFamily): ExpectedFamily {
  return {
    name: family.name,
    help: family.help ?? null,
    type: family.type.toUpperCase(),
    metrics: family.metrics.map((metric: Metric) => {
      const labels: Array<[string, string]> = [];
      for (let i = 0; i < metric.labels.length; i += 2) labels.push([metric.labels[i]!, metric.labels[i + 1]!]);
      const out: Record<string, unknown> = { labels };
      if (metric.timestampMs !== undefined) out.timestamp_ms = Number(metric.timestampMs);
      if (metric.kind === 'scalar') out.value = goValue(metric.value);
      return out as unknown as ExpectedMetric;
    }),
  };
}

function comparable(expected: ExpectedFamily): ExpectedFamily {
  return {
    ...expected,
    metrics: expected.metrics.map((metric) => {
      const out: Record<string, unknown> = { labels: metric.labels.map(([n, v]) => [n, v]) };
      if (metric.timestamp_ms !== undefined) out.timestamp_ms = metric.timestamp_ms;
      if (metric.value !== undefined) out.value = typeof metric.value === 'number' ? metric.value : metric.value;
      return out as unknown as ExpectedMetric;
    }),
  };
}

function check(version: string, scheme: NameValidationScheme): void {
  const { dir, cases } = table(version);
  const valid = cases.filter((c) => c.kind === 'valid');
  const invalid = cases.filter((c) => c.kind === 'invalid');

  describe(`expfmt ${version} table under ${scheme}`, () => {
    it('has both kinds of cases', () => {
      expect(valid.length).toBeGreaterThan(3);
      expect(invalid.length).toBeGreaterThan(20);
    });

    it.each(valid)('accepts $file', (c) => {
      const result = parseExposition(readFileSync(`${dir}/${c.file}`), { nameValidation: scheme });
      expect(result.ok ? 'accepted' : `line ${result.error.line}: ${result.error.message}`).toBe('accepted');
      if (!result.ok) return;
      expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
      // Go returns a map; compare by name. Histograms and summaries are compared by their
      // scalar-free shape (labels), which is what the table's UTF-8 cases are about.
      const ours = new Map(result.families.map((family) => [family.name, shape(family)]));
      const theirs = (c.expected_families ?? []).map(comparable);
      expect([...ours.keys()].sort()).toEqual(theirs.map((family) => family.name).sort());
      for (const expected of theirs) {
        const got = ours.get(expected.name)!;
        expect({ name: got.name, help: got.help, type: got.type }).toEqual({ name: expected.name, help: expected.help, type: expected.type });
        if (expected.type === 'HISTOGRAM' || expected.type === 'SUMMARY') {
          expect(got.metrics.map((m) => m.labels)).toEqual(expected.metrics.map((m) => m.labels));
        } else {
          expect(got.metrics).toEqual(expected.metrics);
        }
      }
    });

    it.each(invalid)("rejects $file at Go's line with Go's message", (c) => {
      const result = parseExposition(readFileSync(`${dir}/${c.file}`), { nameValidation: scheme });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.line).toBe(c.expected_line);
      expect(result.error.referenceMessage.startsWith(c.expected_message_prefix!)).toBe(true);
    });
  });
}

check('v0.62.0', 'utf8');
check('v0.39.0', 'legacy');
check('v0.39.0', 'utf8');

describe('the UTF-8 cases under legacy', () => {
  it('refuses quoted names as expfmt v0.39 did, naming the scheme', () => {
    const result = parseExposition(Buffer.from('{"my.metric"} 1\n'), { nameValidation: 'legacy' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.referenceMessage).toBe('invalid metric name');
    expect(result.error.cause).toBe('quoted_name');
    expect(result.error.message).toMatch(/legacy name validation scheme/);
  });
});

describe('quoted names in detail', () => {
  const parse = (text: string) => parseExposition(Buffer.from(text), { nameValidation: 'utf8' });

  it('reads a quoted label name after a plain metric name', () => {
    const result = parse('foo{"label.name"="x",b="y"} 1\n');
    expect(result.ok && result.families[0]!.metrics[0]!.labels).toEqual(['label.name', 'x', 'b', 'y']);
  });

  it('reads a quoted metric name before braces', () => {
    const result = parse('"my.metric"{a="1"} 2\n');
    expect(result.ok && result.families.map((f) => f.name)).toEqual(['my.metric']);
  });

  it('groups a quoted histogram into one family with its buckets', () => {
    const result = parse('# TYPE "h.x" histogram\n{"h.x_bucket",le="1"} 1\n{"h.x_bucket",le="+Inf"} 2\n{"h.x_sum"} 3\n{"h.x_count"} 2\n');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const metric = result.families[0]!.metrics[0]!;
    expect(metric.kind).toBe('histogram');
    if (metric.kind !== 'histogram') return;
    expect(metric.buckets.map((b) => b.upperBound)).toEqual([1, Infinity]);
    expect(metric.count).toBe(2);
    expect(metric.sum).toBe(3);
  });

  it("gives the same result without retaining series (the agent's check path)", () => {
    const text = Buffer.from('plain{a="1"} 1\nplain{a="2"} 2\n{"x.y",a="1"} 3\n');
    const retained = parseExposition(text);
    const digested = parseExposition(text, { retainSeries: false });
    expect(digested.ok && digested.families.map((f) => f.name)).toEqual(retained.ok && retained.families.map((f) => f.name));
  });

  it('refuses a nameless series that expfmt files under the family before', () => {
    const result = parse('a 1\n{b="2"} 3\n');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.findings.some((f) => f.severity === 'error' && f.line === 2 && /no metric name/.test(f.message))).toBe(true);
  });

  it('refuses a quoted name that is not UTF-8', () => {
    const result = parseExposition(Buffer.concat([Buffer.from('{"a'), Buffer.from([0xc5]), Buffer.from('z"} 1\n')]));
    expect(result.ok && result.findings.some((f) => f.reason === 'invalid_utf8')).toBe(true);
  });

  it('fails, positioned, when the input ends right after a quoted label name (found by the fuzz test: it threw)', () => {
    for (const text of ['x{"a.b"', '{"x.y","a.b"', 'x{quantile=",",a="1","b.c"']) {
      const result = parseExposition(Buffer.from(text));
      expect(result.ok, text).toBe(false);
      if (result.ok) continue;
      expect(result.error.line, text).toBe(1);
    }
  });
});
