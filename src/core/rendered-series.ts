// A counter, gauge or untyped family kept as its rendered sample lines (RenderedSeries in
// types.ts) instead of one Metric per series. The agent keeps every served family until its file
// changes; as objects a 500,000-series family costs about 240 bytes per series, as the lines it
// is served as about 100. The lines are made straight from the parser's digest (where each
// series' line starts in the input) and the input bytes, without a Metric in between:
//
// - label values are copied as the file escaped them: the format has exactly one spelling per
//   escape (\\, \" and \n) and the renderer escapes exactly those characters, so the bytes are
//   those renderTextBytes would write for the decoded value;
// - series are put in node_exporter's order (label values position by position, by code point)
//   by comparing the raw bytes with escapes decoded on the fly: UTF-8 byte order is code point
//   order, so no value becomes a string.
//
// Only families whose every series has the same label names in the same order are kept this way
// (what client libraries and most scripts write): then the merged alone form needs no label
// padding, labels go out in name order by one permutation for the whole family, and
// expandRenderedSeries gives back exactly the Metrics the parser would have built (labels in the
// file's order), for the rare merge with another file's family of the same name. Other families
// stay Metrics.
import { compareCodePoints } from './compare.js';
import { formatGoFloat, parseGoFloat } from './float.js';
// The lines are read with the parser's own byte tables and scanning functions (parse.ts), on
// lines the parser has already accepted.
import {
  BACKSLASH,
  CLOSE_BRACE,
  COMMA,
  LABEL_CONTINUE,
  LABEL_START,
  LOWER_N,
  METRIC_CONTINUE,
  METRIC_START,
  NL,
  OPEN_BRACE,
  QUOTE,
  SPACE,
  TAB,
  parseExposition,
  scanEscapedValue,
  scanName,
  skipBlanks,
  type SliceableBuffer,
} from './parse.js';
import { ByteWriter } from './byte-writer.js';
import { openMetricsFloat, openMetricsTimestamp } from './render.js';
import type { MetricFamily, RenderedSeries, ScalarMetric, SeriesDigest } from './types.js';

/** Label offsets kept per series while sorting; beyond this the family stays Metrics. */
const MAX_OFFSETS = 1 << 26;

type LatinBuffer = SliceableBuffer;

/**
 * The family's series as rendered sample lines, from the input the digest was made of.
 * undefined when the family cannot be kept this way (see the header comment).
 */
export function renderDigestedSeries(input: Uint8Array, family: MetricFamily): RenderedSeries | undefined {
  const digest = family.digest;
  if (digest === undefined || family.metrics.length !== 0) return undefined;
  if (family.type !== 'counter' && family.type !== 'gauge' && family.type !== 'untyped') return undefined;
  const buf = (Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)) as LatinBuffer;
  // Label names in the order of the file (every series must list them in that order) and, for
  // each, its position in name order, which is where its value goes in a row of offsets.
  const fileOrder = digest.labelNames;
  const names = [...fileOrder].sort(compareCodePoints);
  const k = names.length;
  const n = digest.count;
  if (n * k * 2 > MAX_OFFSETS) return undefined;
  const expected: LabelSlot[] = fileOrder.map((name) => ({ bytes: Buffer.from(name, 'latin1'), position: names.indexOf(name) }));
  const lineStarts = digest.lineStarts;
  const rowLength = k * 2;
  // First pass: does every series have exactly `names`, and are the series in order already?
  // Two rows of label offsets (this series and the previous one) are enough to tell, and files
  // nearly always are in order: then nothing per series is kept but the output.
  const rows = new Int32Array(rowLength * 2);
  const valueStart = new Int32Array(2);
  let inOrder = true;
  for (let i = 0; i < n; i++) {
    const row = (i & 1) * rowLength;
    if (!scanSeries(buf, lineStarts[i]!, expected, rows, row, valueStart, i & 1)) return undefined;
    if (inOrder && i > 0 && compareRows(buf, rows, rowLength - row, rows, row, k) > 0) inOrder = false;
  }
  let order: Int32Array | undefined;
  let fillRow: RowSource;
  if (inOrder) {
    fillRow = (r, row) => {
      scanSeries(buf, lineStarts[r]!, expected, row, 0, valueStart, 0);
      return valueStart[0]!;
    };
  } else {
    // Per series: start and end of each label value (in name order), and where its value starts.
    const offsets = new Int32Array(n * rowLength);
    const valueStarts = new Int32Array(n);
    for (let i = 0; i < n; i++) scanSeries(buf, lineStarts[i]!, expected, offsets, i * rowLength, valueStarts, i);
    const sorted = new Int32Array(n);
    for (let i = 0; i < n; i++) sorted[i] = i;
    // Ties are impossible (validation rejects duplicate series), so stability does not matter.
    sorted.sort((a, b) => compareRows(buf, offsets, a * rowLength, offsets, b * rowLength, k));
    order = sorted;
    fillRow = (r, row) => {
      const at = sorted[r]! * rowLength;
      for (let j = 0; j < rowLength; j++) row[j] = offsets[at + j]!;
      return valueStarts[sorted[r]!]!;
    };
  }
  // About the input's size when the family is one block of lines, as it nearly always is.
  const first = lineStarts[0]!;
  const last = lineStarts[n - 1]!;
  const outputEstimate = Math.min(last - first, buf.length) + (last - first) / n + 64;
  return {
    count: n,
    text: writeLines(buf, family.name, names, n, outputEstimate, fillRow),
    lines: linesInOrder(digest, order, n),
    labelOrder: [...fileOrder],
  };
}

/** A label name as the file lists it, and its position in name order. */
interface LabelSlot {
  readonly bytes: Buffer;
  readonly position: number;
}

/** Puts the label offsets of the `r`th series (in output order) into `row`; returns where its
 *  value starts. */
type RowSource = (r: number, row: Int32Array) => number;

/**
 * Reads the labels of the (valid) sample line at `lineStart` into `offsets` at `at`, in name
 * order, and where the value starts into valueStarts[index]. false when the line does not list
 * exactly the `expected` labels in their order.
 */
function scanSeries(
  buf: Buffer,
  lineStart: number,
  expected: readonly LabelSlot[],
  offsets: Int32Array,
  at: number,
  valueStarts: Int32Array,
  index: number,
): boolean {
  const end = buf.length;
  let p = skipBlanks(buf, lineStart, end);
  p = skipBlanks(buf, scanName(buf, p, end, METRIC_CONTINUE, METRIC_START), end);
  let found = 0;
  if (buf[p] === OPEN_BRACE) {
    p++;
    for (;;) {
      p = skipBlanks(buf, p, end);
      if (buf[p] === CLOSE_BRACE) break;
      const nameStart = p;
      p = scanName(buf, p, end, LABEL_CONTINUE, LABEL_START);
      const slot = expected[found];
      if (slot === undefined || !sameBytes(slot.bytes, buf, nameStart, p)) return false;
      while (buf[p] !== QUOTE) p++;
      p++;
      offsets[at + slot.position * 2] = p;
      p = scanEscapedValue(buf, p);
      offsets[at + slot.position * 2 + 1] = p;
      found++;
      p = skipBlanks(buf, p + 1, end);
      if (buf[p] === COMMA) p++;
    }
    p = skipBlanks(buf, p + 1, end);
  }
  if (found !== expected.length) return false;
  valueStarts[index] = p;
  return true;
}

/** True when buf[start, end) holds `expected`'s bytes (a few: a label name, not worth a call
 *  into native code on every label of every series). */
function sameBytes(expected: Buffer, buf: Buffer, start: number, end: number): boolean {
  if (expected.length !== end - start) return false;
  for (let i = 0; i < expected.length; i++) if (expected[i] !== buf[start + i]) return false;
  return true;
}

/** node_exporter's order of two series (label values position by position), given as rows of
 *  label value offsets. */
function compareRows(buf: Buffer, a: Int32Array, aAt: number, b: Int32Array, bAt: number, k: number): number {
  for (let position = 0; position < k; position++) {
    const x = aAt + position * 2;
    const y = bAt + position * 2;
    const order = compareEscaped(buf, a[x]!, a[x + 1]!, b[y]!, b[y + 1]!);
    if (order !== 0) return order;
  }
  return 0;
}

/** Code point order of two label values given as escaped bytes. */
function compareEscaped(buf: Buffer, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  let i = aStart;
  let j = bStart;
  while (i < aEnd && j < bEnd) {
    let x = buf[i++]!;
    let y = buf[j++]!;
    if (x === y && x !== BACKSLASH) continue;
    if (x === BACKSLASH) {
      x = buf[i++]!;
      if (x === LOWER_N) x = NL;
    }
    if (y === BACKSLASH) {
      y = buf[j++]!;
      if (y === LOWER_N) y = NL;
    }
    if (x !== y) return x - y;
  }
  return (i < aEnd ? 1 : 0) - (j < bEnd ? 1 : 0);
}

function writeLines(buf: LatinBuffer, name: string, names: readonly string[], n: number, estimate: number, fillRow: RowSource): Buffer {
  const k = names.length;
  const row = new Int32Array(k * 2);
  // `name{a="`, `",b="`, ..., and `"} ` around the values; `name ` without labels.
  const separators = k === 0 ? [`${name} `] : names.map((label, position) => (position === 0 ? `${name}{${label}="` : `",${label}="`));
  const closing = k === 0 ? '' : '"} ';
  const out = new ByteWriter(estimate + (estimate >>> 5) + 64);
  let previousToken = '';
  let previousValue = '';
  for (let r = 0; r < n; r++) {
    const valueStart = fillRow(r, row);
    let line = k === 0 ? separators[0]! : '';
    for (let position = 0; position < k; position++) {
      line += separators[position]! + buf.latin1Slice(row[position * 2]!, row[position * 2 + 1]!);
    }
    line += closing;
    // The value and an optional timestamp, as the renderer formats them.
    let p = valueStart;
    while (p < buf.length && buf[p] !== SPACE && buf[p] !== TAB && buf[p] !== NL) p++;
    const token = buf.latin1Slice(valueStart, p);
    if (token !== previousToken) {
      previousToken = token;
      previousValue = formatGoFloat(parseGoFloat(token)!);
    }
    line += previousValue;
    p = skipBlanks(buf, p, buf.length);
    if (buf[p] !== NL) {
      const tsStart = p;
      while (buf[p] !== NL) p++;
      line += ` ${BigInt(buf.latin1Slice(tsStart, p)).toString()}`;
    }
    // latin1 round-trips bytes: label values' UTF-8 bytes go out as they came in.
    out.ascii(`${line}\n`);
  }
  return out.finish();
}

function linesInOrder(digest: SeriesDigest, order: Int32Array | undefined, n: number): Int32Array {
  if (order === undefined) return digest.lines.slice(0, n);
  const lines = new Int32Array(n);
  for (let r = 0; r < n; r++) lines[r] = digest.lines[order[r]!]!;
  return lines;
}

/**
 * The same series as OpenMetrics sample lines (what renderOpenMetricsBytes writes for the
 * family's metrics), from the text lines: the label part is the same in both formats, and so is
 * the whole line when the value already has a point or an exponent and there is no timestamp.
 * When every line is the same, the text lines themselves are returned: no second copy.
 */
export function openMetricsLines(rendered: RenderedSeries): Buffer {
  const buf = rendered.text as LatinBuffer;
  // Created at the first line that differs, with every line before it copied as it is.
  let out: ByteWriter | undefined;
  let previousToken = '';
  let previousValue = '';
  let lineStart = 0;
  while (lineStart < buf.length) {
    let p = lineStart;
    while (buf[p] !== SPACE && buf[p] !== OPEN_BRACE) p++;
    if (buf[p] === OPEN_BRACE) {
      while (buf[p] !== CLOSE_BRACE) {
        if (buf[p] === QUOTE) {
          p = scanEscapedValue(buf, p + 1);
        }
        p++;
      }
      p++;
    }
    const valueStart = p + 1;
    p = valueStart;
    while (buf[p] !== SPACE && buf[p] !== NL) p++;
    const token = buf.latin1Slice(valueStart, p);
    if (token !== previousToken) {
      previousToken = token;
      previousValue = openMetricsFloat(parseGoFloat(token)!);
    }
    const timestamped = buf[p] === SPACE;
    if (out === undefined && (timestamped || previousValue !== token)) {
      out = new ByteWriter(buf.length + (buf.length >>> 4) + 64);
      out.bytes(buf, 0, lineStart);
    }
    if (out === undefined) {
      lineStart = p + 1;
      continue;
    }
    let line = `${buf.latin1Slice(lineStart, valueStart)}${previousValue}`;
    if (timestamped) {
      const tsStart = p + 1;
      p = buf.indexOf(NL, tsStart);
      line += ` ${openMetricsTimestamp(buf.latin1Slice(tsStart, p))}`;
    }
    out.ascii(`${line}\n`);
    lineStart = p + 1;
  }
  return out === undefined ? buf : out.finish();
}

/**
 * Each series' identity as seriesIdentityTexts (render.ts) writes it for the same series as a
 * Metric, read from the kept lines: the bytes before the value are that text already (labels in
 * name order, canonical escapes), but for labels with an empty value, which are left out. No
 * Metric is built.
 */
export function renderedSeriesIdentities(rendered: RenderedSeries): string[] {
  const buf = rendered.text as LatinBuffer;
  const end = buf.length;
  const out: string[] = [];
  let lineStart = 0;
  while (lineStart < end) {
    let p = scanName(buf, lineStart, end, METRIC_CONTINUE, METRIC_START);
    let identity: string;
    if (buf[p] !== OPEN_BRACE) {
      identity = buf.latin1Slice(lineStart, p);
    } else {
      // Pairs `name="value"` between the braces; the start of each kept one.
      let kept: number[] | undefined;
      const nameEnd = p;
      p++;
      while (buf[p] !== CLOSE_BRACE) {
        const pairStart = p;
        const valueStart = scanName(buf, p, end, LABEL_CONTINUE, LABEL_START) + 2;
        p = scanEscapedValue(buf, valueStart) + 1;
        if (p - 1 === valueStart) kept ??= pairStartsBefore(buf, nameEnd + 1, pairStart);
        else kept?.push(pairStart, p);
        if (buf[p] === COMMA) p++;
      }
      p++;
      identity = kept === undefined ? buf.utf8Slice(lineStart, p) : withPairs(buf, lineStart, nameEnd, kept);
    }
    out.push(identity);
    lineStart = buf.indexOf(NL, p) + 1;
  }
  return out;
}

/** Start and end of each pair from `from` to `to` (none of them empty). */
function pairStartsBefore(buf: LatinBuffer, from: number, to: number): number[] {
  const pairs: number[] = [];
  let p = from;
  while (p < to) {
    const valueStart = scanName(buf, p, to, LABEL_CONTINUE, LABEL_START) + 2;
    const close = scanEscapedValue(buf, valueStart) + 1;
    pairs.push(p, close);
    p = buf[close] === COMMA ? close + 1 : close;
  }
  return pairs;
}

/** The name, then the given pairs in braces (none when no pair is left). */
function withPairs(buf: LatinBuffer, lineStart: number, nameEnd: number, pairs: readonly number[]): string {
  let text = buf.latin1Slice(lineStart, nameEnd);
  if (pairs.length === 0) return text;
  for (let i = 0; i < pairs.length; i += 2) text += `${i === 0 ? '{' : ','}${buf.utf8Slice(pairs[i]!, pairs[i + 1]!)}`;
  return `${text}}`;
}

/** The family with its series as Metrics again, as the parser builds them (in file order): for
 *  merging with another file's family of the same name. */
export function expandRenderedSeries(family: MetricFamily): MetricFamily {
  const rendered = family.rendered;
  if (rendered === undefined) return family;
  const parsed = parseExposition(rendered.text);
  if (!parsed.ok) throw new Error(`rendered series of ${family.name} do not parse: ${parsed.error.message}`);
  const metrics = (parsed.families[0]?.metrics ?? []) as ScalarMetric[];
  const labelOrder = rendered.labelOrder;
  const inFileOrder = metrics.map((metric, index) => ({ ...metric, labels: inOrder(metric.labels, labelOrder), line: rendered.lines[index]! }));
  inFileOrder.sort((a, b) => a.line - b.line);
  return { name: family.name, help: family.help, type: family.type, firstLine: family.firstLine, metrics: inFileOrder };
}

/**
 * The families of a parse made with `retainSeries: false`, ready to be kept: digested families
 * as rendered lines, others as they are. Falls back to a full parse of `input` when a digested
 * family cannot be kept as lines. Nothing returned refers to `input`.
 */
export function familiesToKeep(input: Uint8Array, families: readonly MetricFamily[]): MetricFamily[] {
  const kept: MetricFamily[] = [];
  for (const family of families) {
    if (family.digest === undefined) {
      kept.push(family);
      continue;
    }
    const rendered = renderDigestedSeries(input, family);
    if (rendered === undefined) {
      const full = parseExposition(input);
      if (!full.ok) throw new Error(`input parsed with a digest but not in full: ${full.error.message}`);
      return full.families;
    }
    kept.push({ name: family.name, help: family.help, type: family.type, firstLine: family.firstLine, metrics: [], rendered });
  }
  return kept;
}

/** Label pairs (in name order) in the order of `names`, as the file listed them. */
function inOrder(labels: readonly string[], names: readonly string[]): readonly string[] {
  let same = true;
  for (let i = 0; i < names.length && same; i++) same = labels[i * 2] === names[i];
  if (same) return labels;
  const pairs: string[] = [];
  for (const name of names) {
    for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) pairs.push(name, labels[i + 1]!);
  }
  return pairs;
}
