// The compact record of a family's scalar series that the parser keeps instead of Metric
// objects when asked not to retain them (see SeriesDigest in types.ts).
import type { SeriesDigest } from './types.js';

/** One more than validation lists per reason, so that its "N more" line is the same either way. */
const LISTED = 21;

export class SeriesDigestBuilder {
  private count = 0;
  private hashes = new Int32Array(256);
  private lines = new Int32Array(256);
  private lineStarts = new Int32Array(256);
  private readonly labelNames: string[] = [];
  private readonly seenNames = new Set<string>();
  /** Label names of the previous series by position: a family repeats them on every line. */
  private readonly previousNames: string[] = [];
  private readonly reservedLabels: { line: number; name: string }[] = [];
  private reservedLabelCount = 0;
  private readonly negatives: { line: number; value: number }[] = [];
  private negativeCount = 0;
  private timestamped = 0;
  private firstTimestampLine = 0;

  /** `inputEnd`: the length of the input, for sizing the arrays of a family that goes on. */
  constructor(private readonly inputEnd: number) {}

  /** Whether the last labels noted had a reserved name. */
  lastHadReserved = false;

  /** Notes the label names of the series about to be added: the first `length` entries of
   *  `labels`, flat pairs (values unused). The parser may skip this for a series with the
   *  same names as the previous one when that one had no reserved name. */
  noteLabels(labels: readonly string[], length: number, line: number): void {
    this.lastHadReserved = false;
    for (let i = 0; i < length; i += 2) {
      const name = labels[i]!;
      const position = i >> 1;
      if (this.previousNames[position] !== name) {
        this.previousNames[position] = name;
        if (!this.seenNames.has(name)) {
          this.seenNames.add(name);
          this.labelNames.push(name);
        }
      }
      if (name.charCodeAt(0) === 0x5f && name.charCodeAt(1) === 0x5f) {
        this.lastHadReserved = true;
        this.reservedLabelCount++;
        if (this.reservedLabels.length < LISTED) this.reservedLabels.push({ line, name });
      }
    }
  }

  add(identityHash: number, line: number, lineStart: number): void {
    if (this.count === this.hashes.length) this.grow(lineStart);
    this.hashes[this.count] = identityHash;
    this.lines[this.count] = line;
    this.lineStarts[this.count] = lineStart;
    this.count++;
  }

  /** The counter series just added has a negative value. Not a parameter of add: a double
   *  argument is boxed on every call that is not inlined. */
  noteNegative(line: number, value: number): void {
    this.negativeCount++;
    if (this.negatives.length < LISTED) this.negatives.push({ line, value });
  }

  noteTimestamp(line: number): void {
    this.timestamped++;
    if (this.firstTimestampLine === 0) this.firstTimestampLine = line;
  }

  get size(): number {
    return this.count;
  }

  /** `readLabels(lineStart)` reads the labels of the sample line starting at that offset. */
  finish(readLabels: (lineStart: number) => readonly string[]): SeriesDigest {
    const lineStarts = this.lineStarts;
    return {
      count: this.count,
      hashes: this.hashes.subarray(0, this.count),
      lines: this.lines.subarray(0, this.count),
      lineStarts: lineStarts.subarray(0, this.count),
      labelsOf: (index) => readLabels(lineStarts[index]!),
      labelNames: this.labelNames,
      reservedLabels: this.reservedLabels,
      reservedLabelCount: this.reservedLabelCount,
      negatives: this.negatives,
      negativeCount: this.negativeCount,
      timestamped: this.timestamped,
      firstTimestampLine: this.firstTimestampLine,
    };
  }

  private grow(lineStart: number): void {
    const count = this.count;
    let size = count * 2;
    // A family that has gone on for thousands of series is assumed to go on at the same rate
    // to the end of the input (up to eight times as many series as now): its arrays then grow in
    // a few large steps, not by doubling, which allocated (and page-faulted) twice their size.
    const span = lineStart - this.lineStarts[0]!;
    if (count >= 4096 && span > 0) {
      const expected = count + Math.ceil((count * (this.inputEnd - lineStart)) / span) + 1;
      size = Math.max(size, Math.min(expected, count * 8));
    }
    const grown = (old: Int32Array) => {
      const next = new Int32Array(size);
      next.set(old);
      return next;
    };
    this.hashes = grown(this.hashes);
    this.lines = grown(this.lines);
    this.lineStarts = grown(this.lineStarts);
  }
}
