// A decoder for the protobuf-delimited exposition (`application/vnd.google.protobuf;
// proto=io.prometheus.client.MetricFamily; encoding=delimited`): a sequence of varint-length-
// prefixed io.prometheus.client.MetricFamily messages (prometheus/client_model metrics.proto),
// the format client_golang's push package sends by default. It builds the same MetricFamily
// model the text parser builds, so both bodies take the same path afterwards. Only what text
// format 0.0.4 can carry is accepted: native histograms and gauge histograms are refused with a
// clear message; exemplars and created timestamps are dropped (the text format has no place for
// them, and the Pushgateway's text exposition drops them too). Pure: no I/O.
import type { Bucket, HistogramMetric, Metric, MetricFamily, MetricType, Quantile, ScalarMetric, SummaryMetric } from './types.js';

export type ProtobufDecodeResult = { readonly ok: true; readonly families: MetricFamily[] } | { readonly ok: false; readonly message: string };

const TYPES: readonly (MetricType | undefined)[] = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gauge_histogram'];

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

class DecodeError {
  constructor(readonly message: string) {}
}

/** A read position over one message's bytes. */
class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Varints up to 2^53 are exact; larger ones (never meaningful here) lose precision. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError('unexpected EOF');
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new DecodeError('varint overflows 64 bits');
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new DecodeError('unexpected EOF');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  /** A length-delimited field: a reader over its bytes, this reader moved past them. */
  sub(): Reader {
    const length = this.varint();
    if (this.pos + length > this.end) throw new DecodeError('unexpected EOF');
    const sub = new Reader(this.bytes, this.pos, this.pos + length);
    this.pos += length;
    return sub;
  }

  string(): string {
    const sub = this.sub();
    const bytes = this.bytes.subarray(sub.pos, sub.end);
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new DecodeError('string field is not valid UTF-8');
    }
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_FIXED64) this.advance(8);
    else if (wireType === WIRE_BYTES) this.sub();
    else if (wireType === WIRE_FIXED32) this.advance(4);
    else throw new DecodeError(`unsupported protobuf wire type ${wireType}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError('unexpected EOF');
    this.pos += n;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a whole delimited body. Never throws. */
export function decodeDelimitedMetricFamilies(body: Uint8Array): ProtobufDecodeResult {
  const families: MetricFamily[] = [];
  const outer = new Reader(body, 0, body.length);
  try {
    let index = 0;
    while (!outer.done()) {
      index++;
      families.push(decodeFamily(outer.sub(), index));
    }
  } catch (error) {
    if (error instanceof DecodeError) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, families };
}

function decodeFamily(reader: Reader, index: number): MetricFamily {
  let name = '';
  let help: string | undefined;
  let typeNumber = 0;
  const raw: Reader[] = [];
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_BYTES) name = reader.string();
    else if (field === 2 && wire === WIRE_BYTES) help = reader.string();
    else if (field === 3 && wire === WIRE_VARINT) typeNumber = reader.varint();
    else if (field === 4 && wire === WIRE_BYTES) raw.push(reader.sub());
    else reader.skip(wire);
  }
  if (name === '') throw new DecodeError(`metric family ${index} has no name`);
  const type = TYPES[typeNumber];
  if (type === undefined) throw new DecodeError(`metric family ${name} has unknown type ${typeNumber}`);
  if (type === 'gauge_histogram') throw new DecodeError(`metric family ${name} is a GAUGE_HISTOGRAM, which text format 0.0.4 cannot express`);
  // A protobuf body has no lines: "line" is the family's position, so findings still point somewhere.
  const metrics = raw.map((metric) => decodeMetric(metric, name, type, index));
  return { name, help, type, metrics, firstLine: index };
}

function decodeMetric(reader: Reader, family: string, type: MetricType, line: number): Metric {
  const labels: string[] = [];
  let timestampMs: string | undefined;
  let value: number | undefined;
  let summary: SummaryMetric | undefined;
  let histogram: HistogramMetric | undefined;
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire !== WIRE_BYTES && field >= 1 && field <= 7 && field !== 6) throw new DecodeError(`metric of ${family}: field ${field} has wire type ${wire}`);
    switch (field) {
      case 1:
        labels.push(...decodeLabelPair(reader.sub(), family));
        break;
      case 2: // gauge
      case 3: // counter
      case 5: // untyped
        value = decodeValue(reader.sub());
        break;
      case 4:
        summary = decodeSummary(reader.sub(), line);
        break;
      case 6:
        if (wire !== WIRE_VARINT) throw new DecodeError(`metric of ${family}: timestamp_ms has wire type ${wire}`);
        timestampMs = String(BigInt.asIntN(64, BigInt(reader.varint())));
        break;
      case 7:
        histogram = decodeHistogram(reader.sub(), family, line);
        break;
      default:
        reader.skip(wire);
    }
  }
  if (type === 'summary') {
    const base = summary ?? emptySummary(line);
    return { ...base, labels, timestampMs };
  }
  if (type === 'histogram') {
    const base = histogram ?? emptyHistogram(line);
    return { ...base, labels, timestampMs };
  }
  const scalar: ScalarMetric = { kind: 'scalar', labels, value: value ?? 0, timestampMs, line };
  return scalar;
}

function decodeLabelPair(reader: Reader, family: string): [string, string] {
  let name = '';
  let value = '';
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_BYTES) name = reader.string();
    else if (field === 2 && wire === WIRE_BYTES) value = reader.string();
    else reader.skip(wire);
  }
  if (name === '') throw new DecodeError(`metric of ${family} has a label without a name`);
  return [name, value];
}

/** Gauge, Counter and Untyped all keep their value in field 1 (a double). */
function decodeValue(reader: Reader): number {
  let value = 0;
  while (!reader.done()) {
    const tag = reader.varint();
    if (tag === (1 << 3) + WIRE_FIXED64) value = reader.double();
    else reader.skip(tag & 7);
  }
  return value;
}

function emptySummary(line: number): SummaryMetric {
  return {
    kind: 'summary',
    labels: [],
    timestampMs: undefined,
    line,
    sum: 0,
    sumLine: line,
    count: 0,
    countLine: line,
    quantiles: [],
    dropped: [],
    repeated: [],
  };
}

function emptyHistogram(line: number): HistogramMetric {
  return {
    kind: 'histogram',
    labels: [],
    timestampMs: undefined,
    line,
    sum: 0,
    sumLine: line,
    count: 0,
    countLine: line,
    buckets: [],
    dropped: [],
    repeated: [],
  };
}

function decodeSummary(reader: Reader, line: number): SummaryMetric {
  const summary = emptySummary(line);
  const quantiles: Quantile[] = [];
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) summary.count = reader.varint();
    else if (field === 2 && wire === WIRE_FIXED64) summary.sum = reader.double();
    else if (field === 3 && wire === WIRE_BYTES) {
      const q = reader.sub();
      let quantile = 0;
      let value = 0;
      while (!q.done()) {
        const qtag = q.varint();
        if (qtag === (1 << 3) + WIRE_FIXED64) quantile = q.double();
        else if (qtag === (2 << 3) + WIRE_FIXED64) value = q.double();
        else q.skip(qtag & 7);
      }
      quantiles.push({ quantile, value, line });
    } else reader.skip(wire);
  }
  return { ...summary, quantiles };
}

/** Fields 5 to 14 of Histogram describe a native (sparse) histogram. */
const NATIVE_HISTOGRAM_FIELDS = new Set([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);

function decodeHistogram(reader: Reader, family: string, line: number): HistogramMetric {
  const histogram = emptyHistogram(line);
  const buckets: Bucket[] = [];
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) histogram.count = reader.varint();
    else if (field === 2 && wire === WIRE_FIXED64) histogram.sum = reader.double();
    else if (field === 4 && wire === WIRE_FIXED64) histogram.count = reader.double();
    else if (field === 3 && wire === WIRE_BYTES) buckets.push(decodeBucket(reader.sub(), line));
    else if (NATIVE_HISTOGRAM_FIELDS.has(field)) {
      throw new DecodeError(`histogram ${family} is a native histogram, which text format 0.0.4 cannot express; push it as a classic histogram`);
    } else reader.skip(wire);
  }
  return { ...histogram, buckets };
}

function decodeBucket(reader: Reader, line: number): Bucket {
  let count = 0;
  let upperBound = 0;
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) count = reader.varint();
    else if (field === 2 && wire === WIRE_FIXED64) upperBound = reader.double();
    else if (field === 4 && wire === WIRE_FIXED64) count = reader.double();
    else reader.skip(wire);
  }
  return { upperBound, count, line };
}
