import { describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import type { FindingReason } from '../../../src/core/types.js';
import { repeatedSeries } from '../../../src/core/validate.js';

function check(text: string, options: Parameters<typeof checkExposition>[1] = {}) {
  return checkExposition(Buffer.from(text), options);
}

function errorReasons(text: string, options: Parameters<typeof checkExposition>[1] = {}): FindingReason[] {
  return check(text, options)
    .findings.filter((f) => f.severity === 'error')
    .map((f) => f.reason);
}

describe('validation rejects what expfmt accepts but the agent must not serve', () => {
  it('rejects client-side timestamps by default, naming the first timestamped line', () => {
    const result = check('a 1\nb 2 1700000000000\nc 3 1700000000001\n');
    expect(result.accepted).toBe(false);
    const finding = result.findings.find((f) => f.reason === 'timestamp');
    expect(finding).toMatchObject({ severity: 'error', line: 2, column: 1 });
    expect(finding?.message).toContain('2 samples have client-side timestamps');
  });

  it('accepts timestamps when allowed', () => {
    expect(check('b 2 1700000000000\n', { allowTimestamps: true }).accepted).toBe(true);
  });

  it('rejects reserved label names (they crash node_exporter)', () => {
    expect(errorReasons('ok 1\nfoo{__meta="x"} 1\n')).toEqual(['reserved_label']);
  });

  it('rejects duplicate series, also when labels are written in another order or empty', () => {
    expect(errorReasons('foo{a="1",b="2"} 1\nfoo{b="2",a="1"} 2\n')).toEqual(['duplicate_series']);
    expect(errorReasons('foo 1\nfoo{a=""} 2\n')).toEqual(['duplicate_series']);
    const finding = check('x 1\nfoo{a="1"} 1\nfoo{a="1"} 2\n').findings[0];
    expect(finding).toMatchObject({ line: 3, reason: 'duplicate_series' });
    expect(finding?.message).toContain('also line 2');
  });

  it('rejects a duplicate written once with a quoted UTF-8 label name, in either order', () => {
    for (const text of ['m{a="1"} 1\nm{"a.b"="",a="1"} 2\n', 'm{"a.b"="",a="1"} 1\nm{a="1"} 2\n', 'm{"a.b"="x"} 1\nm{"a.b"="x",c=""} 2\n']) {
      expect(errorReasons(text), text).toEqual(['duplicate_series']);
    }
  });

  it('finds a repeated series whatever the length, bytes and place of its label values', () => {
    const values = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'host-000001', '/var/lib/some/long/path/000001', 'say \\"hi\\"', 'café', 'µs → ms!', 'a\\\\b\\nc'];
    for (const value of values) {
      for (const retainSeries of [true, false]) {
        const text = `m{a="${value}",b="x"} 1\nm{a="other"} 1\nm{b="x",a="${value}"}2\n`;
        const finding = check(text, { retainSeries }).findings.find((f) => f.severity === 'error');
        expect(finding, `${value} (retainSeries: ${retainSeries})`).toMatchObject({ reason: 'duplicate_series', line: 3 });
      }
    }
  });

  it('rejects a summary or histogram split by an empty label: Prometheus sees one series, served twice (found by fuzzing)', () => {
    const summary = check('# TYPE a summary\na_count{a=""} 1\na_sum 1\n');
    expect(summary.accepted).toBe(false);
    expect(summary.findings.find((f) => f.severity === 'error')).toMatchObject({ reason: 'duplicate_series', line: 3 });
    expect(
      errorReasons('# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\nh_bucket{le="+Inf",x=""} 1\nh_sum{x=""} 1\nh_count{x=""} 1\n'),
    ).toContain('duplicate_series');
    // Distinct non-empty label values stay distinct.
    expect(check('# TYPE a summary\na_count{a="x"} 1\na_sum{a="x"} 1\na_count 1\na_sum 1\n').accepted).toBe(true);
  });

  it('finds duplicates among many series without confusing distinct ones', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `m{instance="host-${i}",path="/p/${i}"} ${i}`);
    expect(check(`${lines.join('\n')}\n`).accepted).toBe(true);
    lines.push('m{path="/p/4321",instance="host-4321"} 1');
    const result = check(`${lines.join('\n')}\n`);
    expect(result.findings.map((f) => [f.reason, f.line])).toEqual([['duplicate_series', 5001]]);
  });

  it('rejects a family that collides with the _sum/_count series of a summary or histogram', () => {
    const result = check('foo_sum 5\nfoo_count 2\n# TYPE foo summary\nfoo{quantile="0.5"} 1\n');
    expect(result.accepted).toBe(false);
    expect(result.findings.filter((f) => f.severity === 'error').map((f) => f.line)).toEqual([1, 2]);
  });

  it('rejects gauge_histogram samples, which text format 0.0.4 cannot carry', () => {
    expect(errorReasons('# TYPE g gauge_histogram\ng 1\n')).toEqual(['unsupported_type']);
  });

  it('rejects names reserved by the caller', () => {
    const isReservedMetricName = (name: string) => name === 'node_textfile_scrape_error';
    expect(errorReasons('node_textfile_scrape_error 5\n', { isReservedMetricName })).toEqual(['reserved_metric']);
  });

  it('bounds the number of findings for a file with one systematic mistake', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `m{__x="${i}"} 1`);
    const findings = check(`${lines.join('\n')}\n`).findings;
    expect(findings.length).toBe(21);
    expect(findings.at(-1)?.message).toBe('980 more reserved_label findings not listed');
  });
});

describe('histogram shape', () => {
  const good = '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 3\nh_sum 4\nh_count 3\n';

  it('accepts a well-formed histogram', () => {
    expect(check(good).findings).toEqual([]);
  });

  it.each([
    ['a bucket without le', '# TYPE h histogram\nh_bucket 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', 'has no "le" label'],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="2"} 3\nh_bucket{le="+Inf"} 5\nh_sum 1\nh_count 5\n', 'not cumulative'],
    ['+Inf differing from _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 4\n', 'differs from h_count'],
    ['a missing _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\n', 'no h_count'],
    ['a fractional count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2.5\nh_sum 1\nh_count 2.5\n', 'not an integer'],
    ['a negative bucket', '# TYPE h histogram\nh_bucket{le="1"} -1\nh_bucket{le="+Inf"} 0\nh_sum 1\nh_count 0\n', 'negative'],
    ['a bare sample', '# TYPE h histogram\nh 3\n', 'neither a bucket'],
  ])('rejects %s', (_name, text, message) => {
    const result = check(text);
    expect(result.accepted).toBe(false);
    expect(result.findings.some((f) => f.severity === 'error' && f.message.includes(message))).toBe(true);
  });

  it('warns (and serves) a histogram without +Inf bucket when _count is there', () => {
    const result = check('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 3\n');
    expect(result.accepted).toBe(true);
    expect(result.findings.map((f) => f.severity)).toEqual(['warning']);
  });

  it('rejects a repeated bucket', () => {
    expect(errorReasons('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toEqual([
      'duplicate_series',
    ]);
  });
});

describe('summary shape', () => {
  it('rejects quantiles outside [0, 1] and samples without quantile', () => {
    expect(check('# TYPE s summary\ns{quantile="1.5"} 1\ns_sum 1\ns_count 1\n').accepted).toBe(false);
    expect(check('# TYPE s summary\ns 1\ns_sum 1\ns_count 1\n').accepted).toBe(false);
  });

  it('warns about a summary without _sum/_count but serves it', () => {
    const result = check('# TYPE s summary\ns{quantile="0.5"} 1\n');
    expect(result.accepted).toBe(true);
    expect(result.findings[0]?.message).toContain('no _sum and _count');
  });
});

describe('warnings', () => {
  it('flags a family split by another one, but serves the file', () => {
    const result = check('a 1\nb 1\na{x="1"} 2\n');
    expect(result.accepted).toBe(true);
    expect(result.findings).toMatchObject([{ reason: 'split_family', line: 3, severity: 'warning' }]);
  });

  it('flags a negative counter', () => {
    expect(check('# TYPE c_total counter\nc_total -1\n').findings).toMatchObject([{ reason: 'negative_counter' }]);
  });

  it('adds promlint warnings only when asked', () => {
    expect(check('# TYPE c counter\nc 1\n').findings).toEqual([]);
    expect(check('# TYPE c counter\nc 1\n', { lint: true }).findings.map((f) => f.message)).toEqual([
      'c: no help text',
      'c: counter metrics should have "_total" suffix',
    ]);
  });
});

describe('duplicate detection by identity hash (repeatedSeries)', () => {
  const labels = (values: readonly string[]) => (index: number) => ['a', values[index]!];

  it('tells series that share a hash apart by their labels, and names the first of each identity', () => {
    // Every series has hash 7: a collision for B and C, repeats for the second A, B and C.
    const values = ['A', 'B', 'A', 'C', 'B', 'C', 'A'];
    expect(
      repeatedSeries(
        Int32Array.from(values, () => 7),
        labels(values),
      ),
    ).toEqual([2, 0, 4, 1, 5, 3, 6, 0]);
  });

  it('treats a hash of 0 like any other, also when it shares its slot marker with 1', () => {
    expect(repeatedSeries(Int32Array.from([0, 1, 0, 1]), labels(['x', 'y', 'x', 'z']))).toEqual([2, 0]);
  });

  it('finds repeats across many buckets, in series order, with hashes using all 32 bits', () => {
    const count = 20_000;
    const hashes = new Int32Array(count + 3);
    const values: string[] = [];
    for (let i = 0; i < count; i++) {
      hashes[i] = Math.imul(i + 1, 0x9e3779b1);
      values.push(`v${i}`);
    }
    for (const [k, original] of [12_345, 7, 19_999].entries()) {
      hashes[count + k] = hashes[original]!;
      values.push(values[original]!);
    }
    expect(repeatedSeries(hashes, labels(values))).toEqual([count, 12_345, count + 1, 7, count + 2, 19_999]);
  });
});
