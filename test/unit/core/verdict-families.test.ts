// judgeFamilies is the verdict on families that are data (a push), judgeTextfileContent the one
// on a file's bytes; they share every rule after the parse. On the same content, parsed once,
// they must say the same thing: accepted or not, why, where, how many series and warnings.
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../../src/core/parse.js';
import { renderTextBytes } from '../../../src/core/render.js';
import type { Metric, MetricFamily } from '../../../src/core/types.js';
import { judgeFamilies, judgeTextfileContent, type ContentOptions } from '../../../src/core/verdict.js';

interface Case {
  readonly name: string;
  readonly text: string;
  readonly options?: ContentOptions;
  /** The reason of the rejection both give; undefined: both accept. */
  readonly reason?: string;
  readonly series?: number;
}

const HISTOGRAM = '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n';

const CASES: Case[] = [
  {
    name: 'gauges, a counter, a histogram and a summary',
    text: `g{a="1"} 1\ng{a="2"} 2\n# TYPE c counter\nc_total 5\n${HISTOGRAM}# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n`,
    series: 10,
  },
  { name: 'a duplicate series', text: 'm{a="1"} 1\nm{a="1"} 2\n', reason: 'duplicate' },
  { name: 'a series that differs only by an empty label', text: 'm{a="1"} 1\nm{a="1",b=""} 2\n', reason: 'duplicate' },
  { name: "one of the agent's own metrics", text: 'node_textfile_scrape_error 0\n', reason: 'reserved_metric' },
  { name: 'a promdrop_ metric', text: 'promdrop_anything 1\n', reason: 'reserved_metric' },
  { name: 'a name reserved by the options', text: 'self_metric 1\n', options: { extraReservedMetricNames: ['self_metric'] }, reason: 'reserved_metric' },
  { name: 'a UTF-8 name that escapes to a reserved one', text: '{"node_textfile.scrape_error"} 1\n', reason: 'reserved_metric' },
  { name: 'a timestamp', text: 'm 1 1700000000000\n', reason: 'timestamp' },
  { name: 'a timestamp where they are allowed', text: 'm 1 1700000000000\n', options: { allowTimestamps: true }, series: 1 },
  { name: 'more series than the limit', text: 'm{a="1"} 1\nm{a="2"} 1\nm{a="3"} 1\n', options: { maxSeriesPerFile: 2 }, reason: 'too_many_series' },
  { name: 'a histogram at the limit (buckets, sum and count count)', text: HISTOGRAM, options: { maxSeriesPerFile: 4 }, series: 4 },
  {
    name: 'a histogram whose buckets are not cumulative',
    text: '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n',
    reason: 'validation',
  },
  { name: 'a summary quantile outside [0, 1]', text: '# TYPE s summary\ns{quantile="2"} 1\ns_sum 1\ns_count 1\n', reason: 'validation' },
  { name: 'a reserved label name', text: 'm{__x="1"} 1\n', reason: 'validation' },
  { name: "a family named like a histogram's _count", text: `h_count{x="1"} 1\n${HISTOGRAM}`, reason: 'duplicate' },
  { name: 'a negative counter (a warning only)', text: '# TYPE c counter\nc -1\n', series: 1 },
  { name: 'lint warnings', text: '# TYPE c counter\nc 1\n', options: { lint: true }, series: 1 },
  { name: 'UTF-8 label names that become one under underscores', text: '{"m","a.b"="1",a_b="2"} 1\n', reason: 'validation' },
  { name: 'a quoted name under the legacy scheme', text: '{"a.b"} 1\n', options: { nameValidation: 'legacy' }, reason: 'parse' },
  { name: 'a quoted label name under the legacy scheme', text: 'm{"a.b"="1"} 1\n', options: { nameValidation: 'legacy' }, reason: 'parse' },
  { name: 'a quoted name under the UTF-8 scheme', text: '{"a.b"} 1\n', options: { nameValidation: 'utf8' }, series: 1 },
];

describe('judgeFamilies on parsed content', () => {
  it.each(CASES)('agrees with judgeTextfileContent: $name', ({ text, options = {}, reason, series }) => {
    const bytes = Buffer.from(text);
    const fromBytes = judgeTextfileContent(bytes, { ...options, seriesForm: 'metrics' });
    // Parsed as the push route parses a body: every name the parser reads.
    const parsed = parseExposition(bytes, { nameValidation: 'utf8' });
    if (!parsed.ok) throw new Error(parsed.error.message);
    const fromData = judgeFamilies(parsed.families, options);
    expect(fromBytes.rejection?.reason).toBe(reason);
    expect(fromData.rejection?.reason).toBe(reason);
    expect(fromData.accepted).toBe(fromBytes.accepted);
    if (reason === undefined) {
      expect(fromData.series).toBe(series);
      expect(fromBytes.series).toBe(series);
      expect(fromData.findings).toEqual(fromBytes.findings);
      expect(fromData.warnings).toBe(fromBytes.warnings);
    } else if (reason !== 'parse') {
      // The same first error, at the same place.
      expect(fromData.rejection?.finding).toEqual(fromBytes.rejection?.finding);
    }
  });
});

function scalar(labels: string[], value = 1): Metric {
  return { kind: 'scalar', labels, value, timestampMs: undefined, line: 1 };
}

function histogram(labels: string[]): Metric {
  return {
    kind: 'histogram',
    labels,
    timestampMs: undefined,
    line: 1,
    buckets: [{ upperBound: Infinity, count: 1, line: 1 }],
    sum: 1,
    sumLine: 1,
    count: 1,
    countLine: 1,
    dropped: [],
    repeated: [],
  };
}

function summary(labels: string[]): Metric {
  return {
    kind: 'summary',
    labels,
    timestampMs: undefined,
    line: 1,
    quantiles: [{ quantile: 0.5, value: 1, line: 1 }],
    sum: 1,
    sumLine: 1,
    count: 1,
    countLine: 1,
    dropped: [],
    repeated: [],
  };
}

function family(name: string, metrics: Metric[], type: MetricFamily['type'] = 'gauge'): MetricFamily {
  return { name, help: undefined, type, metrics, firstLine: 1 };
}

// Data no parse yields (a protobuf body, grouping labels applied), which the file it is written
// as would not pass: each refused as data, as the file's bytes are.
const DATA_CASES: Array<{ name: string; families: MetricFamily[]; options?: ContentOptions }> = [
  { name: 'one family twice', families: [family('m', [scalar(['a', '1'])]), family('m', [scalar(['a', '2'])])] },
  { name: 'a label named __name__', families: [family('m', [scalar(['__name__', 'x'])])] },
  { name: 'a label named twice', families: [family('m', [scalar(['a', '1', 'a', '2'])])] },
  {
    name: 'a family after the histogram whose _count it is named like',
    families: [family('h', [histogram([])], 'histogram'), family('h_count', [scalar([])])],
  },
  { name: 'two histogram series with one label set', families: [family('h', [histogram(['a', '1']), histogram(['a', '1'])], 'histogram')] },
  { name: 'a label name with a colon', families: [family('m', [scalar(['a:b', '1'])])] },
  { name: 'an empty label name', families: [family('m', [scalar(['', '1'])])] },
  { name: 'UTF-8 label names that become one under underscores', families: [family('m', [scalar(['a.b', '1', 'a_b', '2'])])] },
  { name: 'a UTF-8 metric name under the legacy scheme', families: [family('a.b', [scalar([])])], options: { nameValidation: 'legacy' } },
  { name: 'a UTF-8 label name under the legacy scheme', families: [family('m', [scalar(['a.b', '1'])])], options: { nameValidation: 'legacy' } },
];

describe('judgeFamilies on data', () => {
  it.each(DATA_CASES)('refuses what the file it is written as would not pass: $name', ({ families, options = {} }) => {
    const bytes = renderTextBytes(families, { utf8Names: true });
    expect(judgeTextfileContent(bytes, options).accepted).toBe(false);
    const verdict = judgeFamilies(families, options);
    expect(verdict.accepted).toBe(false);
    expect(verdict.rejection?.reason).toBe(judgeTextfileContent(bytes, options).rejection?.reason);
  });

  it('accepts the same families once they are well formed', () => {
    const families = [family('m', [scalar(['a', '1', 'b', '']), scalar(['a', '2'])]), family('h', [histogram(['a', '1']), histogram(['a', '2'])], 'histogram')];
    expect(judgeTextfileContent(renderTextBytes(families, { utf8Names: true })).accepted).toBe(true);
    expect(judgeFamilies(families)).toMatchObject({ accepted: true, series: 8 });
  });

  it.each([
    ['histogram', 'le'],
    ['summary', 'quantile'],
  ] as const)('refuses a %s series labelled %s, which the file would serve without that label', (type, label) => {
    const metric = type === 'histogram' ? histogram([label, '5', 'a', '1']) : summary([label, '5', 'a', '1']);
    const families = [family('x', [metric], type)];
    const read = judgeTextfileContent(renderTextBytes(families, { utf8Names: true }), { seriesForm: 'metrics' });
    expect(read.accepted).toBe(true);
    expect(read.families[0]!.metrics[0]!.labels).toEqual(['a', '1']);
    expect(judgeFamilies(families)).toMatchObject({ accepted: false, rejection: { reason: 'parse' } });
  });
});
