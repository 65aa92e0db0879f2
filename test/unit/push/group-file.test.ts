// A pushed group is judged as data (groupFileFamilies, then core's judgeFamilies) and never by
// parsing the file it is written as; the store then takes those families instead of reading the
// file. Both are right only if the data says exactly what reading the file would: the same
// verdict, and when accepted the same families, line for line. Random groups, with the names,
// labels, HELP texts and values that the renderer or the parser treat specially, hold it here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GroupingKey } from '../../../src/core/grouping-key.js';
import type { NameValidationScheme } from '../../../src/core/parse.js';
import type { Bucket, Metric, MetricFamily, MetricType, Quantile } from '../../../src/core/types.js';
import { judgeFamilies, judgeTextfileContent, type ContentOptions } from '../../../src/core/verdict.js';
import { applyGroupingLabels, groupFileFamilies, renderGroupFile, type GroupContent } from '../../../src/push/group-file.js';

const NAMES = ['a', 'a_count', 'a_sum', 'a_bucket', 'b_total', 'up', 'c', 'a.b', 'a_b', 'é', 'promdrop_x', 'push_time_seconds', 'x:y'];
const LABEL_NAMES = ['x', 'y', 'instance', 'job', '', '__name__', '__r', 'le', 'quantile', 'a.b', 'a_b', 'a:b', 'ü', ' name '];
const TEXTS = ['', ' ', 'v', '  lead', 'trail ', 'a"b', 'a\\b', 'a\\nb', 'line\nbreak', 'cr\r', '\r', '\t', 'ü', '😀', '#', '}', ',', '="'];
const TYPES: MetricType[] = ['counter', 'gauge', 'untyped', 'histogram', 'summary', 'gauge_histogram'];

const text = fc.oneof(fc.constantFrom(...TEXTS), fc.string({ maxLength: 6 }));
const number = fc.oneof(fc.constantFrom(0, -0, 1, 2.5, -3, NaN, Infinity, -Infinity, 1e21, 5e-324), fc.double());
const count = fc.oneof(fc.constantFrom(0, 1, 2, 3, 10, 2.5, -1, NaN), fc.nat(20));
const labels = fc.array(fc.tuple(fc.constantFrom(...LABEL_NAMES), text), { maxLength: 3 }).map((pairs) => pairs.flat());

const metricOf = (type: MetricType): fc.Arbitrary<Metric> => {
  const base = { timestampMs: undefined, line: 1 };
  if (type === 'histogram' || type === 'gauge_histogram') {
    return fc
      .record({
        labels,
        buckets: fc.array(fc.record({ upperBound: fc.constantFrom(0.1, 1, 5, Infinity, NaN, -Infinity), count, line: fc.constant(1) }), { maxLength: 3 }),
        sum: fc.option(number, { nil: undefined }),
        count: fc.option(count, { nil: undefined }),
      })
      .map((m): Metric => ({ kind: 'histogram', ...base, ...m, buckets: m.buckets as Bucket[], sumLine: 1, countLine: 1, dropped: [], repeated: [] }));
  }
  if (type === 'summary') {
    return fc
      .record({
        labels,
        quantiles: fc.array(fc.record({ quantile: fc.constantFrom(0, 0.5, 0.99, 1, 1.5, NaN), value: number, line: fc.constant(1) }), { maxLength: 3 }),
        sum: fc.option(number, { nil: undefined }),
        count: fc.option(count, { nil: undefined }),
      })
      .map((m): Metric => ({ kind: 'summary', ...base, ...m, quantiles: m.quantiles as Quantile[], sumLine: 1, countLine: 1, dropped: [], repeated: [] }));
  }
  return fc.record({ labels, value: number }).map((m): Metric => ({ kind: 'scalar', ...base, ...m }));
};

const family: fc.Arbitrary<MetricFamily> = fc
  .record({ name: fc.constantFrom(...NAMES), type: fc.constantFrom(...TYPES), help: fc.option(text, { nil: undefined }) })
  .chain(({ name, type, help }) => fc.array(metricOf(type), { maxLength: 3 }).map((metrics): MetricFamily => ({ name, type, help, metrics, firstLine: 1 })));

const groupingKey: fc.Arbitrary<GroupingKey> = fc
  .array(fc.tuple(fc.constantFrom('instance', 'le', 'env', 'a_b'), fc.constantFrom('', 'i', 'x"y')), { maxLength: 2 })
  .map((pairs) => {
    const byName = new Map<string, string>([['job', 'j'], ...pairs]);
    return { labels: [...byName].sort(([a], [b]) => (a < b ? -1 : 1)).flat() };
  });

const content: fc.Arbitrary<GroupContent> = fc
  .record({
    key: groupingKey,
    families: fc.array(family, { maxLength: 4 }),
    ttlMs: fc.option(fc.integer({ min: 1, max: 10 ** 12 }), { nil: undefined }),
    pushTimeMs: fc.integer({ min: 0, max: 2 * 10 ** 12 }),
    failureTimeMs: fc.integer({ min: 0, max: 2 * 10 ** 12 }),
  })
  .map(({ key, families, ttlMs, pushTimeMs, failureTimeMs }) => {
    const labelled = applyGroupingLabels(families, key);
    return { key, families: labelled, familyPushedAtMs: new Map(labelled.map((f) => [f.name, pushTimeMs])), pushTimeMs, failureTimeMs, ttlMs };
  });

const options: fc.Arbitrary<ContentOptions> = fc.record({
  maxSeriesPerFile: fc.constantFrom(3, 1000),
  allowTimestamps: fc.constant(false),
  extraReservedMetricNames: fc.constantFrom([], ['c']),
  nameValidation: fc.constantFrom<NameValidationScheme>('utf8', 'legacy'),
});

/** The parser's per-series hash is its own bookkeeping, not part of what a file holds. */
function withoutHashes(families: readonly MetricFamily[]): unknown {
  return families.map((f) => ({ ...f, metrics: f.metrics.map((m) => (m.kind === 'scalar' ? { ...m, identityHash: undefined } : m)) }));
}

describe('a group file judged as data', () => {
  it('gets the verdict its bytes get, and when accepted the families a read of them gives', () => {
    fc.assert(
      fc.property(content, options, (group, contentOptions) => {
        const bytes = renderGroupFile(group);
        const read = judgeTextfileContent(bytes, { ...contentOptions, seriesForm: 'metrics' });
        const data = judgeFamilies(groupFileFamilies(group), contentOptions);
        // The one rule judged differently on purpose: the parser takes a histogram's `le` label
        // (a summary's `quantile`) for the bucket's bound and serves the series without it.
        if (data.findings.some((finding) => / is reserved for its (le|quantile) samples/.test(finding.message))) {
          expect(data.accepted).toBe(false);
          return;
        }
        const shown = `${bytes.toString('utf8')}\nfile: ${read.rejection?.finding.message}\ndata: ${data.rejection?.finding.message}`;
        expect(data.accepted, shown).toBe(read.accepted);
        // Two histogram or summary series with one label set (grouping labels can make them):
        // the parser reads them as one whose samples repeat, so the file's first error may be
        // another one; both refuse it.
        const merged = data.findings.some((finding) => finding.message.includes(' has two series with the labels '));
        if (!merged) expect(data.rejection?.reason, shown).toBe(read.rejection?.reason);
        if (!read.accepted) return;
        expect(withoutHashes(data.families), shown).toEqual(withoutHashes(read.families));
        expect(data.series).toBe(read.series);
        expect(data.warnings).toBe(read.warnings);
        expect(read.ttlMs).toBe(group.ttlMs);
      }),
      { numRuns: 3000 },
    );
  });
});
