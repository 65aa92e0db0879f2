// The protobuf-delimited decoder, on bodies encoded by hand here field by field from
// prometheus/client_model's metrics.proto (the integration test also feeds it bytes written by
// the real Pushgateway).
import { describe, expect, it } from 'vitest';
import { decodeDelimitedMetricFamilies } from '../../../src/core/protobuf-delimited.js';
import { renderText } from '../../../src/core/render.js';

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const bytesField = (field: number, body: number[]): number[] => [...tag(field, 2), ...varint(body.length), ...body];
const stringField = (field: number, text: string): number[] => bytesField(field, [...Buffer.from(text, 'utf8')]);
const doubleField = (field: number, value: number): number[] => {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return [...tag(field, 1), ...buffer];
};
const varintField = (field: number, value: number): number[] => [...tag(field, 0), ...varint(value)];
const label = (name: string, value: string): number[] => bytesField(1, [...stringField(1, name), ...stringField(2, value)]);
const delimited = (...messages: number[][]): Uint8Array => Uint8Array.from(messages.flatMap((message) => [...varint(message.length), ...message]));

const TYPE = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4, gauge_histogram: 5 };

describe('protobuf delimited bodies', () => {
  it('decodes counters, gauges, untyped, summaries and classic histograms with HELP and labels', () => {
    const body = delimited(
      [
        ...stringField(1, 'jobs_total'),
        ...stringField(2, 'Jobs run.'),
        ...varintField(3, TYPE.counter),
        ...bytesField(4, [...label('kind', 'a'), ...bytesField(3, doubleField(1, 7))]),
      ],
      [...stringField(1, 'temperature'), ...varintField(3, TYPE.gauge), ...bytesField(4, bytesField(2, doubleField(1, -1.5)))],
      [...stringField(1, 'plain'), ...varintField(3, TYPE.untyped), ...bytesField(4, bytesField(5, doubleField(1, 3)))],
      [
        ...stringField(1, 'latency'),
        ...varintField(3, TYPE.summary),
        ...bytesField(4, bytesField(4, [...varintField(1, 10), ...doubleField(2, 2.5), ...bytesField(3, [...doubleField(1, 0.5), ...doubleField(2, 0.2)])])),
      ],
      [
        ...stringField(1, 'size'),
        ...varintField(3, TYPE.histogram),
        ...bytesField(
          4,
          bytesField(7, [
            ...varintField(1, 4),
            ...doubleField(2, 9),
            ...bytesField(3, [...varintField(1, 1), ...doubleField(2, 1)]),
            ...bytesField(3, [...varintField(1, 3), ...doubleField(2, 5)]),
          ]),
        ),
      ],
    );
    const decoded = decodeDelimitedMetricFamilies(body);
    if (!decoded.ok) throw new Error(decoded.message);
    expect(renderText(decoded.families)).toBe(
      [
        '# HELP jobs_total Jobs run.',
        '# TYPE jobs_total counter',
        'jobs_total{kind="a"} 7',
        '# TYPE temperature gauge',
        'temperature -1.5',
        '# TYPE plain untyped',
        'plain 3',
        '# TYPE latency summary',
        'latency{quantile="0.5"} 0.2',
        'latency_sum 2.5',
        'latency_count 10',
        '# TYPE size histogram',
        'size_bucket{le="1"} 1',
        'size_bucket{le="5"} 3',
        'size_bucket{le="+Inf"} 4',
        'size_sum 9',
        'size_count 4',
        '',
      ].join('\n'),
    );
  });

  it('keeps a timestamp so that the push can be refused for it', () => {
    const decoded = decodeDelimitedMetricFamilies(
      delimited([
        ...stringField(1, 'ts'),
        ...varintField(3, TYPE.gauge),
        ...bytesField(4, [...bytesField(2, doubleField(1, 1)), ...varintField(6, 1700000000000)]),
      ]),
    );
    expect(decoded.ok && decoded.families[0]!.metrics[0]!.timestampMs).toBe('1700000000000');
  });

  it('refuses what text format 0.0.4 cannot carry, and broken bodies, with a reason', () => {
    const native = decodeDelimitedMetricFamilies(
      delimited([...stringField(1, 'nh'), ...varintField(3, TYPE.histogram), ...bytesField(4, bytesField(7, [...varintField(1, 1), ...tag(5, 0), 3]))]),
    );
    expect(native).toEqual({ ok: false, message: expect.stringMatching(/nh is a native histogram/) });
    const gaugeHistogram = decodeDelimitedMetricFamilies(delimited([...stringField(1, 'gh'), ...varintField(3, TYPE.gauge_histogram)]));
    expect(gaugeHistogram).toEqual({ ok: false, message: expect.stringMatching(/GAUGE_HISTOGRAM/) });
    const whole = delimited([...stringField(1, 'x'), ...varintField(3, TYPE.gauge), ...bytesField(4, bytesField(2, doubleField(1, 1)))]);
    expect(decodeDelimitedMetricFamilies(whole.subarray(0, whole.length - 3))).toEqual({ ok: false, message: 'unexpected EOF' });
    expect(decodeDelimitedMetricFamilies(Buffer.from('some_metric 1\n'))).toMatchObject({ ok: false });
  });
});
