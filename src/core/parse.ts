// Parser for the Prometheus text exposition format 0.0.4 that accepts exactly what expfmt accepts
// and builds the same families: with `nameValidation: 'legacy'` what expfmt v0.39 accepts (the
// parser inside promtool 2.42 and node_exporter up to 1.8), with 'utf8' (the default) what expfmt
// v0.62 and later accept (Prometheus 3), which adds quoted UTF-8 metric and label names:
// `{"my.metric","label.name"="value"} 1`. Lines without quotes take the same fast path in both.
// It is a byte-level scanner over one buffer: the hot path of the agent and of `promdrop check`,
// so it avoids per-byte allocations and decodes strings only once per token.
//
// Where expfmt is lenient in a way the agent must not be (invalid UTF-8 in HELP), the parser
// records a finding instead of failing, so that the accept/reject verdict stays expfmt's and
// validation decides what the agent refuses.
import { Buffer, isUtf8 } from 'node:buffer';
import { escapedLabelProblem } from './escaping.js';
import { parseGoFloat } from './float.js';
import { goQuote, goQuoteByte, goQuoteBytes } from './go-quote.js';
import { SeriesDigestBuilder } from './series-digest.js';
import type { Finding, HistogramMetric, MetricFamily, MetricType, ParseCause, ParseFailure, ParseResult, SummaryMetric } from './types.js';

// Exported with the byte tables and scanning functions below for rendered-series.ts, which
// reads sample lines the parser has already accepted: one scanner, so the two cannot diverge.
export const NL = 0x0a;
const CR = 0x0d;
export const SPACE = 0x20;
export const TAB = 0x09;
const HASH = 0x23;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const EQUALS = 0x3d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const LOWER_N = 0x6e;
/** Sentinel for "past the end of the input", compared like a byte. */
const EOF = -1;

const TYPE_WORDS: ReadonlyMap<string, MetricType> = new Map([
  ['COUNTER', 'counter'],
  ['GAUGE', 'gauge'],
  ['SUMMARY', 'summary'],
  ['UNTYPED', 'untyped'],
  ['HISTOGRAM', 'histogram'],
  ['GAUGE_HISTOGRAM', 'gauge_histogram'],
]);
const OPENMETRICS_TYPES = new Set(['info', 'stateset', 'unknown', 'gaugehistogram']);

// Byte classes as lookup tables: the scanner tests them for every byte of every name.
export const LABEL_START = new Uint8Array(256);
export const LABEL_CONTINUE = new Uint8Array(256);
export const METRIC_START = new Uint8Array(256);
export const METRIC_CONTINUE = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const letter = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f;
  const digit = b >= 0x30 && b <= 0x39;
  LABEL_START[b] = letter ? 1 : 0;
  LABEL_CONTINUE[b] = letter || digit ? 1 : 0;
  METRIC_START[b] = letter || b === 0x3a ? 1 : 0;
  METRIC_CONTINUE[b] = letter || digit || b === 0x3a ? 1 : 0;
}

/** Shared by every series without labels; never mutated. */
const NO_LABELS: string[] = [];

const POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Bytes that end the fast scan of a label value: quote, backslash, LF, and any non-ASCII byte. */
const LABEL_VALUE_STOP = new Uint8Array(256);
LABEL_VALUE_STOP[QUOTE] = 1;
LABEL_VALUE_STOP[BACKSLASH] = 1;
LABEL_VALUE_STOP[NL] = 1;
for (let b = 0x80; b < 256; b++) LABEL_VALUE_STOP[b] = 1;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** One word of bytesHash: a multiply spreads its low bits up, the shift brings the high ones
 *  down for the next word; pairHash mixes the result further. */
function mixWord(h: number, word: number): number {
  const m = Math.imul(h ^ word, 0x9e3779b1);
  return m ^ (m >>> 15);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TIMESTAMP_RE = /^[+-]?[0-9]+$/;

/**
 * Buffer's own slice-to-string methods. `toString(encoding, start, end)` calls the same native
 * code after argument checks that cost a measurable share of the parse on large files; these
 * methods have been on Buffer.prototype since Node's first releases, though untyped.
 */
export interface SliceableBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Internal control flow: thrown at the first error, caught in parseExposition. */
class Abort {
  constructor(readonly failure: ParseFailure) {}
}

/** A family while the file is read: TYPE may still be unset (Go's nil Type). */
interface FamilyBuilder {
  readonly family: MetricFamily;
  typeSet: boolean;
  helpSet: boolean;
  /** Histogram or summary metrics by label signature, as expfmt groups them. */
  readonly aggregates: Map<string, HistogramMetric | SummaryMetric>;
  /** Line of this family's latest sample, and which sample of the file it was. */
  lastSampleLine: number;
  lastSampleSeq: number;
  /** Scalar series not retained as Metric objects (retainSeries: false). */
  digest: SeriesDigestBuilder | undefined;
}

/** Which part of a histogram/summary a sample name addresses (expfmt's isCount/isSum flags). */
const enum Role {
  Plain,
  Count,
  Sum,
}

function isCountName(name: string): boolean {
  return name.length > 6 && name.endsWith('_count');
}
function isSumName(name: string): boolean {
  return name.length > 4 && name.endsWith('_sum');
}
function isBucketName(name: string): boolean {
  return name.length > 7 && name.endsWith('_bucket');
}

export interface ParseOptions {
  /**
   * Keep every series as a Metric (the default: the agent merges and renders them). false:
   * scalar series are validated from a compact SeriesDigest and not kept, for callers that want
   * a verdict and no model, such as `promdrop check`; the verdict and findings are the same.
   */
  readonly retainSeries?: boolean;
  /**
   * Which metric and label names are accepted, Prometheus's metric_name_validation_scheme:
   * 'utf8' (the default, Prometheus 3 and expfmt v0.62+) also reads quoted names; 'legacy'
   * accepts exactly what expfmt v0.39 does, [a-zA-Z_:][a-zA-Z0-9_:]* only.
   */
  readonly nameValidation?: NameValidationScheme;
}

export type NameValidationScheme = 'utf8' | 'legacy';
export const NAME_VALIDATION_SCHEMES: readonly NameValidationScheme[] = ['utf8', 'legacy'];

/** Internal: a quoted name was met while series were not being retained. Quoted lines cannot be
 *  kept as digests (rendered-series.ts copies sample lines byte for byte), so the parse starts
 *  over retaining every series; files with quoted names are rare, and this keeps the digest
 *  path free of them. */
class RestartRetaining {}

class TextParser {
  private readonly buf: SliceableBuffer;
  private readonly retain: boolean;
  private readonly utf8Names: boolean;
  /** expfmt's currentMF: the family of the latest HELP, TYPE or sample line. A sample line
   *  starting with `{` reads its labels before its name, and expfmt then judges `le`/`quantile`
   *  and names its messages after this family. */
  private currentBuilder: FamilyBuilder | undefined;
  /** Receives a sample's timestamp when the series itself is not kept. */
  private readonly timestampSink: { timestampMs: string | undefined } = { timestampMs: undefined };
  private readonly end: number;
  /** The input as a DataView, to read label values four bytes at a time. */
  private readonly view: DataView;
  private pos = 0;
  private line = 0;
  private lineStart = 0;
  private readonly byName = new Map<string, FamilyBuilder>();
  private readonly order: FamilyBuilder[] = [];
  readonly findings: Finding[] = [];
  // Set by resolveFamily, as expfmt's currentIsSummaryCount etc.
  private role: Role = Role.Plain;
  private sampleSeq = 0;
  private readonly names = new Map<number, string>();
  /** The current series' label pairs, reused from line to line; scratchCount says how many
   *  entries are this line's (truncating the array would give it a new backing store each time). */
  private readonly scratchLabels: string[] = [];
  private scratchCount = 0;
  /** Label names of the previous series by position in its braces, their intern hashes, and
   *  where in the input they were last read. */
  private readonly positionNames: string[] = [];
  private readonly positionNameHashes: number[] = [];
  private readonly positionNameOffsets: number[] = [];
  /** How many labels the previous sample line had (-1: not known), and whether the current
   *  line's label names are exactly those, each matched by the position cache. */
  private previousLabelCount = 0;
  private sameLabelNames = false;
  /** Whether the current sample directly follows the previous sample of its family. */
  private followsOwnFamily = false;
  /** Label values of the previous series, by position in its label set. */
  private readonly previousValues: string[] = [];
  // Side results of intern() and labelSet(), read right after the call.
  private nameHash = 0;
  private labelsHash = 0;
  /** False for a line read by utf8Sample, which computes no labelsHash: its Metric then carries
   *  no identityHash, and validation hashes the family's label strings itself. */
  private labelsHashKnown = true;
  private valueHash = 0;
  /** Set by plainDecimal. */
  private decimal = 0;
  // The previous sample's name and resolution: consecutive samples usually share them.
  private lastSampleName = '';
  /** Where lastSampleName was last read in the input; -1 before the first sample. */
  private lastSampleNameOffset = -1;
  private lastBuilder: FamilyBuilder | undefined;
  private lastRole: Role = Role.Plain;
  /** Role that goes with currentBuilder. */
  private currentRole: Role = Role.Plain;
  /** Where the current sample line's first token starts (to read it again as a UTF-8 line). */
  private sampleStart = 0;

  constructor(input: Uint8Array, options: ParseOptions = {}) {
    this.retain = options.retainSeries !== false;
    this.utf8Names = options.nameValidation !== 'legacy';
    const buffer = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    this.buf = buffer as SliceableBuffer;
    this.end = this.buf.length;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  run(): MetricFamily[] {
    const buf = this.buf;
    for (;;) {
      this.line++;
      this.lineStart = this.pos;
      this.skipBlanks();
      if (this.pos >= this.end) break;
      const c = buf[this.pos]!;
      if (c === HASH) {
        this.pos++;
        this.comment();
      } else if (c === NL) {
        this.pos++;
      } else {
        try {
          this.sample();
        } catch (signal) {
          if (signal !== RESTART_LINE) throw signal;
          this.utf8Sample(this.sampleStart);
        }
      }
    }
    const families: MetricFamily[] = [];
    for (const builder of this.order) {
      if (builder.digest !== undefined && builder.digest.size > 0) {
        builder.family.digest = builder.digest.finish((lineStart) => labelsOfLine(this.buf, lineStart));
        families.push(builder.family);
      } else if (builder.family.metrics.length > 0) families.push(builder.family);
    }
    return families;
  }

  // ---- byte helpers -------------------------------------------------------------------

  private peek(): number {
    return this.pos < this.end ? this.buf[this.pos]! : EOF;
  }

  private skipBlanks(): void {
    this.pos = skipBlanks(this.buf, this.pos, this.end);
  }

  /** Bytes up to a blank, tab, LF or the end; returns the token's end. */
  private scanToken(): number {
    const buf = this.buf;
    let p = this.pos;
    while (p < this.end) {
      const c = buf[p]!;
      if (c === SPACE || c === TAB || c === NL) break;
      p++;
    }
    return p;
  }

  private scanName(table: Uint8Array, startTable: Uint8Array): number {
    return scanName(this.buf, this.pos, this.end, table, startTable);
  }

  private text(start: number, end: number): string {
    return this.buf.latin1Slice(start, end);
  }

  /**
   * The name at [start, end) as a shared string: a file repeats the same few metric and label
   * names on every line, and one string per distinct name instead of one per occurrence saves
   * a large share of the memory a big file costs.
   */
  private intern(start: number, end: number): string {
    const buf = this.buf;
    let hash = end - start;
    for (let p = start; p < end; p++) hash = (Math.imul(hash, 31) + buf[p]!) | 0;
    this.nameHash = hash;
    const cached = this.names.get(hash);
    if (cached !== undefined && this.sameText(cached, start, end)) return cached;
    const name = this.text(start, end);
    this.names.set(hash, name);
    return name;
  }

  /** True when the bytes [start, end) spell `text` (an ASCII name). */
  private sameText(text: string, start: number, end: number): boolean {
    if (text.length !== end - start) return false;
    const buf = this.buf;
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) !== buf[start + i]) return false;
    }
    return true;
  }

  /** The hash of the raw bytes of a label value (quotes excluded): its whole four-byte words
   *  (little-endian) through mixWord, then the last bytes through FNV-1a. Raw bytes and decoded
   *  values correspond one to one (each escape has a single spelling), so equal values hash
   *  equally. labelValue computes the same while it scans. */
  private bytesHash(start: number, end: number): number {
    const view = this.view;
    let h = FNV_OFFSET;
    let p = start;
    for (; p + 4 <= end; p += 4) h = mixWord(h, view.getInt32(p, true));
    const buf = this.buf;
    for (; p < end; p++) h = Math.imul(h ^ buf[p]!, FNV_PRIME);
    return h;
  }

  /**
   * Plain decimals (`42`, `-1.5`) with at most 15 digits convert exactly as integer ÷ power of
   * ten, which is the correctly rounded result Go's ParseFloat gives; everything else goes
   * through the full Go syntax check. false: not a plain decimal. The value is left in
   * this.decimal: a double returned from a call is boxed, one allocation per sample.
   */
  private plainDecimal(start: number, end: number): boolean {
    const buf = this.buf;
    let p = start;
    const sign = buf[p];
    if (sign === 0x2d || sign === 0x2b) p++;
    let mantissa = 0;
    let digits = 0;
    let fractionDigits = 0;
    let dot = false;
    for (; p < end; p++) {
      const c = buf[p]!;
      if (c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30);
        digits++;
        if (dot) fractionDigits++;
      } else if (c === 0x2e && !dot) dot = true;
      else return false;
    }
    if (digits === 0 || digits > 15) return false;
    const value = fractionDigits === 0 ? mantissa : mantissa / POWERS_OF_TEN[fractionDigits]!;
    this.decimal = sign === 0x2d ? -value : value;
    return true;
  }

  private utf8(start: number, end: number): string {
    return this.buf.utf8Slice(start, end);
  }

  // ---- failures -------------------------------------------------------------------------

  private fail(referenceMessage: string, at: number, cause: ParseCause = 'syntax', hint?: string): never {
    let finalCause = cause;
    let finalHint = hint;
    if (finalCause === 'syntax' || finalCause === 'trailing_whitespace') {
      if (this.line === 1 && this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf && at < 3) {
        finalCause = 'bom';
        finalHint = 'the file starts with a UTF-8 byte-order mark (BOM); save it without one';
      } else if (this.lineHasCarriageReturn()) {
        finalCause = 'crlf';
        finalHint = 'the file has Windows (CRLF) line endings; the format allows only LF (convert with dos2unix)';
      }
    }
    const message = finalHint === undefined ? referenceMessage : `${referenceMessage} (${finalHint})`;
    throw new Abort({
      line: this.line,
      column: Math.max(1, at - this.lineStart + 1),
      message,
      referenceMessage,
      cause: finalCause,
    });
  }

  private failEndOfInput(): never {
    this.fail('unexpected end of input stream', this.end, 'missing_final_newline', 'the last line does not end with a newline: the file may be half-written');
  }

  private lineHasCarriageReturn(): boolean {
    const newline = this.buf.indexOf(NL, this.lineStart);
    const lineEnd = newline === -1 ? this.end : newline;
    const cr = this.buf.indexOf(CR, this.lineStart);
    return cr !== -1 && cr < lineEnd;
  }

  // ---- families -----------------------------------------------------------------------

  /** expfmt's setOrCreateCurrentMF: `x_count`/`x_sum`/`x_bucket` join family `x` only when
   *  `x` already exists with the matching type; otherwise the name is a family of its own. */
  private resolveFamily(name: string): FamilyBuilder {
    const builder = this.resolveFamilyUntracked(name);
    this.currentBuilder = builder;
    this.currentRole = this.role;
    return builder;
  }

  private resolveFamilyUntracked(name: string): FamilyBuilder {
    this.role = Role.Plain;
    const exact = this.byName.get(name);
    if (exact !== undefined) return exact;
    const isCount = isCountName(name);
    const isSum = isSumName(name);
    if (isCount || isSum) {
      const base = this.byName.get(name.slice(0, name.length - (isCount ? 6 : 4)));
      if (base !== undefined && base.typeSet && (base.family.type === 'summary' || base.family.type === 'histogram')) {
        this.role = isCount ? Role.Count : Role.Sum;
        return base;
      }
    } else if (isBucketName(name)) {
      const base = this.byName.get(name.slice(0, name.length - 7));
      if (base !== undefined && base.typeSet && base.family.type === 'histogram') return base;
    }
    const builder: FamilyBuilder = {
      family: { name, help: undefined, type: 'untyped', metrics: [], firstLine: this.line },
      typeSet: false,
      helpSet: false,
      aggregates: new Map(),
      lastSampleLine: 0,
      lastSampleSeq: 0,
      digest: undefined,
    };
    this.byName.set(name, builder);
    this.order.push(builder);
    return builder;
  }

  // ---- comments, HELP and TYPE ----------------------------------------------------------

  private comment(): void {
    const buf = this.buf;
    this.skipBlanks();
    if (this.pos >= this.end) this.failEndOfInput();
    if (buf[this.pos] === NL) {
      this.pos++;
      return;
    }
    const keywordStart = this.pos;
    const keywordEnd = this.scanToken();
    this.pos = keywordEnd;
    if (keywordEnd >= this.end) this.failEndOfInput();
    if (buf[keywordEnd] === NL) {
      this.pos++;
      return;
    }
    const keywordLength = keywordEnd - keywordStart;
    const isHelp = keywordLength === 4 && buf.latin1Slice(keywordStart, keywordEnd) === 'HELP';
    const isType = !isHelp && keywordLength === 4 && buf.latin1Slice(keywordStart, keywordEnd) === 'TYPE';
    if (!isHelp && !isType) {
      const newline = buf.indexOf(NL, this.pos);
      if (newline === -1) this.failEndOfInput();
      this.pos = newline + 1;
      return;
    }
    this.skipBlanks();
    if (this.pos >= this.end) this.failEndOfInput();
    const nameStart = this.pos;
    const nameEnd = this.scanName(METRIC_CONTINUE, METRIC_START);
    this.pos = nameEnd;
    let quotedName: string | undefined;
    if (this.utf8Names && buf[nameEnd] === QUOTE) {
      this.pos = nameStart;
      quotedName = this.readQuotableName(METRIC_CONTINUE, 'metric');
    }
    if (this.pos >= this.end) this.failEndOfInput();
    const after = buf[this.pos]!;
    if (after === NL) {
      this.pos++;
      return;
    }
    if (after !== SPACE && after !== TAB) {
      const quoted = quotedName === undefined && after === QUOTE && nameStart === nameEnd;
      this.fail('invalid metric name in comment', this.pos, quoted ? 'quoted_name' : 'syntax', quoted ? QUOTED_NAME_HINT : undefined);
    }
    const builder = this.resolveFamily(quotedName ?? this.text(nameStart, nameEnd));
    this.skipBlanks();
    if (this.pos >= this.end) this.failEndOfInput();
    if (buf[this.pos] === NL) {
      this.pos++;
      return;
    }
    if (isHelp) this.help(builder);
    else this.type(builder);
  }

  private help(builder: FamilyBuilder): void {
    const buf = this.buf;
    if (builder.helpSet) {
      this.fail(`second HELP line for metric name ${goQuote(builder.family.name)}`, this.pos, 'repeated_metadata', 'a family may have only one HELP line');
    }
    const start = this.pos;
    const newline = buf.indexOf(NL, start);
    if (newline === -1) {
      // expfmt reports an invalid escape before running out of input.
      this.checkHelpEscapes(start, this.end);
      this.failEndOfInput();
    }
    const text = this.checkHelpEscapes(start, newline);
    this.pos = newline + 1;
    if (!isUtf8(buf.subarray(start, newline))) {
      this.findings.push({
        severity: 'error',
        reason: 'invalid_utf8',
        message: `HELP text of ${builder.family.name} is not valid UTF-8`,
        line: this.line,
        column: start - this.lineStart + 1,
        family: builder.family.name,
      });
    }
    builder.family.help = text;
    builder.helpSet = true;
  }

  /** Decodes a HELP docstring: only `\\` and `\n` are escapes in text format 0.0.4. */
  private checkHelpEscapes(start: number, end: number): string {
    const buf = this.buf;
    let backslash = buf.indexOf(BACKSLASH, start);
    if (backslash === -1 || backslash >= end) return this.utf8(start, end);
    let out = '';
    let chunkStart = start;
    while (backslash !== -1 && backslash < end) {
      out += this.utf8(chunkStart, backslash);
      const escaped = backslash + 1 < this.end ? buf[backslash + 1]! : EOF;
      if (escaped === EOF) this.failEndOfInput();
      if (escaped === BACKSLASH) out += '\\';
      else if (escaped === LOWER_N) out += '\n';
      // expfmt v0.62 (the UTF-8 parser) also reads \" in HELP, as quoted names need it.
      else if (escaped === QUOTE && this.utf8Names) out += '"';
      else {
        this.fail(
          `invalid escape sequence '\\${String.fromCharCode(escaped)}'`,
          backslash,
          'invalid_escape',
          this.utf8Names ? 'HELP text allows only the escapes \\\\, \\" and \\n' : 'HELP text allows only the escapes \\\\ and \\n',
        );
      }
      chunkStart = backslash + 2;
      backslash = buf.indexOf(BACKSLASH, chunkStart);
    }
    return out + this.utf8(chunkStart, end);
  }

  private type(builder: FamilyBuilder): void {
    const buf = this.buf;
    if (builder.typeSet) {
      this.fail(
        `second TYPE line for metric name ${goQuote(builder.family.name)}, or TYPE reported after samples`,
        this.pos,
        'repeated_metadata',
        "a family may have only one TYPE line, and it must come before the family's first sample",
      );
    }
    const start = this.pos;
    const newline = buf.indexOf(NL, start);
    if (newline === -1) this.failEndOfInput();
    // expfmt reads the type word without escape handling but still drops every backslash.
    const raw = withoutBackslashes(buf.subarray(start, newline));
    const word = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    const type = TYPE_WORDS.get(word.toUpperCase());
    if (type === undefined) {
      const lower = word.toLowerCase();
      const reference = `unknown metric type ${goQuoteBytes(raw)}`;
      if (OPENMETRICS_TYPES.has(lower)) {
        this.fail(reference, start, 'openmetrics', `"${lower}" is an OpenMetrics type; text format 0.0.4 knows counter, gauge, histogram, summary and untyped`);
      }
      if (/[ \t]$/.test(word)) {
        this.fail(reference, start, 'trailing_whitespace', 'trailing whitespace after the type');
      }
      this.fail(reference, start, 'syntax', 'the type must be one of counter, gauge, histogram, summary, untyped');
    }
    this.pos = newline + 1;
    builder.family.type = type;
    builder.typeSet = true;
  }

  // ---- samples ----------------------------------------------------------------------------

  private sample(): void {
    const buf = this.buf;
    const nameStart = this.pos;
    this.sampleStart = nameStart;
    const last = this.lastSampleName;
    const lastOffset = this.lastSampleNameOffset;
    // Consecutive samples usually share their name: matching the previous one's bytes replaces
    // the scan, the hash and the lookup. It is the whole name when no name byte follows it.
    const sameName = lastOffset >= 0 && sameBytes(buf, lastOffset, nameStart, last.length) && METRIC_CONTINUE[buf[nameStart + last.length]!] !== 1;
    const nameEnd = sameName ? nameStart + last.length : this.scanName(METRIC_CONTINUE, METRIC_START);
    this.pos = nameEnd;
    if (this.utf8Names && (buf[nameEnd] === QUOTE || (nameEnd === nameStart && buf[nameStart] === OPEN_BRACE))) {
      this.utf8Sample(nameStart);
      return;
    }
    if (nameEnd >= this.end) this.failEndOfInput();
    if (nameEnd === nameStart) {
      const c = buf[nameStart]!;
      const quoted = c === OPEN_BRACE || c === QUOTE;
      this.fail('invalid metric name', nameStart, quoted ? 'quoted_name' : 'syntax', quoted ? QUOTED_NAME_HINT : invalidNameHint(c));
    }
    const sampleName = sameName ? last : this.intern(nameStart, nameEnd);
    let builder = this.lastBuilder;
    let role = this.lastRole;
    if (sampleName !== this.lastSampleName || builder === undefined) {
      builder = this.resolveFamily(sampleName);
      role = this.role;
      this.lastSampleName = sampleName;
      this.lastSampleNameOffset = nameStart;
      this.lastBuilder = builder;
      this.lastRole = role;
    }
    this.currentBuilder = builder;
    this.currentRole = role;
    this.noteSample(builder);
    const family = builder.family;
    const c0 = buf[this.pos]!;
    if (c0 === SPACE || c0 === TAB) {
      this.skipBlanks();
      if (this.pos >= this.end) this.failEndOfInput();
    }

    const type = family.type;
    const aggregate = type === 'histogram' || type === 'summary';
    const specialLabel = type === 'histogram' ? 'le' : type === 'summary' ? 'quantile' : '';
    let special = NaN; // expfmt's currentBucket / currentQuantile
    let labels: string[] = NO_LABELS;
    this.labelsHash = 0;
    this.labelsHashKnown = true;
    const keep = this.retain || aggregate;
    const scratch = this.scratchLabels;
    this.scratchCount = 0;
    if (buf[this.pos] === OPEN_BRACE) {
      special = this.labelSet(family.name, scratch, specialLabel, special, keep);
      // An exact-size copy: arrays grown by push keep spare capacity, a real cost per series.
      if (keep && this.scratchCount > 0) labels = scratch.slice(0, this.scratchCount);
    } else {
      this.sameLabelNames = this.previousLabelCount === 0;
      this.previousLabelCount = 0;
    }
    this.sampleValue(builder, role, labels, special, sampleName, keep, scratch);
  }

  /** A sample line starts: the family gets its type if it has none (expfmt's readingMetricName)
   *  and the split-family bookkeeping. */
  private noteSample(builder: FamilyBuilder): void {
    const family = builder.family;
    if (!builder.typeSet) {
      family.type = 'untyped';
      builder.typeSet = true;
    }
    this.sampleSeq++;
    this.followsOwnFamily = builder.lastSampleSeq !== 0 && builder.lastSampleSeq === this.sampleSeq - 1;
    if (builder.lastSampleSeq !== 0 && builder.lastSampleSeq !== this.sampleSeq - 1) {
      this.findings.push({
        severity: 'warning',
        reason: 'split_family',
        message: `samples of ${family.name} are split by another family (line ${builder.lastSampleLine}); a family must be one uninterrupted group`,
        line: this.line,
        column: 1,
        family: family.name,
      });
    }
    builder.lastSampleLine = this.line;
    builder.lastSampleSeq = this.sampleSeq;
  }

  /** The rest of a sample line after its name and labels: value, then timestamp. */
  private sampleValue(builder: FamilyBuilder, role: Role, labels: string[], special: number, sampleName: string, keep: boolean, scratch: string[]): void {
    const buf = this.buf;
    const family = builder.family;
    const type = family.type;
    const aggregate = type === 'histogram' || type === 'summary';
    const lineOfSample = this.line;
    const valueStart = this.pos;
    const valueEnd = this.scanToken();
    this.pos = valueEnd;
    if (valueEnd >= this.end) this.failEndOfInput();
    const value = this.plainDecimal(valueStart, valueEnd) ? this.decimal : parseGoFloat(this.text(valueStart, valueEnd));
    if (value === undefined) {
      this.failValue(valueStart, valueEnd);
    }

    let target: { timestampMs: string | undefined };
    if (aggregate) {
      target = this.addToAggregate(builder, labels, role, special, value, sampleName, lineOfSample);
    } else if (!keep) {
      const digest = (builder.digest ??= new SeriesDigestBuilder(this.end));
      // Label names the same as this family's previous series', none reserved: nothing to note.
      if (!this.sameLabelNames || !this.followsOwnFamily || digest.lastHadReserved) digest.noteLabels(scratch, this.scratchCount, lineOfSample);
      // All 32 bits: a digest keeps hashes in an Int32Array, and fewer collisions mean fewer
      // lines read again to compare (a Metric's identityHash keeps 30, to stay a small integer).
      digest.add(this.labelsHash, lineOfSample, this.lineStart);
      if (value < 0 && type === 'counter') digest.noteNegative(lineOfSample, value);
      target = this.timestampSink;
    } else {
      const metric = {
        kind: 'scalar' as const,
        labels,
        value,
        timestampMs: undefined,
        line: lineOfSample,
        identityHash: this.labelsHashKnown ? this.labelsHash & 0x3fffffff : undefined,
      };
      family.metrics.push(metric);
      target = metric;
    }

    if (buf[this.pos] === NL) {
      this.pos++;
      return;
    }
    this.timestamp(target);
    if (target === this.timestampSink) {
      builder.digest?.noteTimestamp(lineOfSample);
      this.timestampSink.timestampMs = undefined;
    }
  }

  /**
   * expfmt v0.62's readTokenAsMetricName / readTokenAsLabelName from this.pos: bytes of the
   * class, where a `"` opens a quoted stretch in which any byte but LF belongs to the name and
   * \\, \n and \" are escapes; the closing quote ends the name. '' (pos unchanged) when the
   * first byte cannot start a name.
   */
  private readQuotableName(continueTable: Uint8Array, kind: 'metric' | 'label'): string {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    const first = buf[p];
    // Start bytes: the class's own (metric names also allow ':'), or a quote.
    if (first === undefined || (first !== QUOTE && (continueTable[first] === 0 || (first >= 0x30 && first <= 0x39)))) return '';
    let quoted = false;
    let sawQuote = false;
    const token: number[] = [];
    for (;;) {
      const c = buf[p]!;
      if (c === QUOTE) {
        quoted = !quoted;
        sawQuote = true;
        if (!quoted) {
          p++;
          break;
        }
      } else if (c === NL) {
        this.pos = p;
        this.fail(
          `${kind} name ${goQuoteBytes(Uint8Array.from(token))} contains unescaped new-line`,
          start,
          'syntax',
          'a quoted name ends at its closing quote; write a newline as \\n, or the quote is missing',
        );
      } else if (c === BACKSLASH) {
        p++;
        if (p >= this.end) {
          this.pos = p;
          this.failEndOfInput();
        }
        const e = buf[p]!;
        if (e === BACKSLASH) token.push(BACKSLASH);
        else if (e === LOWER_N) token.push(NL);
        else if (e === QUOTE) token.push(QUOTE);
        else {
          this.pos = p;
          this.fail(`invalid escape sequence '\\${String.fromCharCode(e)}'`, p - 1, 'invalid_escape', 'quoted names allow only the escapes \\\\, \\" and \\n');
        }
      } else {
        token.push(c);
      }
      p++;
      if (p >= this.end) {
        this.pos = p;
        this.failEndOfInput();
      }
      const next = buf[p]!;
      if (!quoted && next !== QUOTE && continueTable[next] !== 1) break;
    }
    this.pos = p;
    const bytes = Uint8Array.from(token);
    if (sawQuote && !isUtf8(bytes)) {
      // expfmt keeps the bytes; Prometheus 3 refuses such a name, so the agent does too.
      this.findings.push({
        severity: 'error',
        reason: 'invalid_utf8',
        message: `${kind} name ${goQuoteBytes(bytes)} is not valid UTF-8`,
        line: this.line,
        column: start - this.lineStart + 1,
      });
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  /**
   * A sample line as expfmt v0.62 reads it when it has quoted names: `"name"{...}`, `name{"label"=...}`
   * or the name inside the braces, first or after labels: `{"name",a="b"}`, `{a="b","name"}`.
   * Series are always retained here (see RestartRetaining).
   *
   * Where expfmt's state machine leaks state from the line before (labels read before the
   * name inside braces are judged as `le`/`quantile` by the previous line's family, as expfmt
   * does; a line with no name at all is filed under that family), the parser follows it for
   * the verdict, and reports the nameless line as an error the agent refuses.
   */
  private utf8Sample(start: number): void {
    if (!this.retain) throw new RestartRetaining();
    const buf = this.buf;
    this.pos = start;
    this.previousLabelCount = -1;
    let builder: FamilyBuilder | undefined;
    let role = Role.Plain;
    let sampleName = '';
    const insideBraces = buf[start] === OPEN_BRACE;
    if (!insideBraces) {
      sampleName = this.readQuotableName(METRIC_CONTINUE, 'metric');
      if (sampleName === '') this.fail('invalid metric name', start, 'syntax');
      builder = this.resolveFamily(sampleName);
      role = this.role;
      this.noteSample(builder);
      if (this.pos >= this.end) this.failEndOfInput();
      const c = buf[this.pos]!;
      if (c === SPACE || c === TAB) {
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
      }
    }
    let special = NaN;
    const pairs: string[] = [];
    if (buf[this.pos] === OPEN_BRACE) {
      this.pos++;
      let namePresent = false;
      for (;;) {
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
        if (buf[this.pos] === CLOSE_BRACE) {
          this.pos++;
          this.skipBlanks();
          if (this.pos >= this.end) this.failEndOfInput();
          break;
        }
        const nameStart = this.pos;
        const token = this.readQuotableName(LABEL_CONTINUE, 'label');
        const currentName = this.currentBuilder?.family.name ?? '';
        if (token === '') {
          this.fail(
            `invalid label name for metric ${goQuote(currentName)}`,
            nameStart,
            'syntax',
            'label names match [a-zA-Z_][a-zA-Z0-9_]* or are quoted: "label.name"',
          );
        }
        // A quoted name can be the last bytes of the input.
        if (this.pos >= this.end) this.failEndOfInput();
        let c = buf[this.pos]!;
        if (c === SPACE || c === TAB) {
          this.skipBlanks();
          if (this.pos >= this.end) this.failEndOfInput();
          c = buf[this.pos]!;
        }
        if (c !== EQUALS) {
          if (!insideBraces) this.fail(`expected '=' after label name, found ${goQuoteByte(c)}`, this.pos, 'syntax', invalidLabelNameHint(c));
          if (namePresent)
            this.fail(`multiple metric names for metric ${goQuote(currentName)}`, nameStart, 'syntax', 'a series has one name; label names need ="value"');
          if (c !== COMMA && c !== CLOSE_BRACE)
            this.fail(`unexpected end of metric name ${goQuoteByte(c)}`, this.pos, 'syntax', 'expected "," or "}" after the metric name');
          sampleName = token;
          builder = this.resolveFamily(token);
          role = this.role;
          this.noteSample(builder);
          namePresent = true;
          this.pos++;
          if (c === COMMA) continue;
          this.skipBlanks();
          if (this.pos >= this.end) this.failEndOfInput();
          break;
        }
        if (token === '__name__') {
          this.fail('label name "__name__" is reserved', nameStart, 'reserved_label', 'the metric name goes before the braces, or first inside them');
        }
        const current = this.currentBuilder;
        const currentType = current !== undefined && current.typeSet ? current.family.type : 'counter';
        const specialLabel = currentType === 'histogram' ? 'le' : currentType === 'summary' ? 'quantile' : '';
        const isSpecial = token === specialLabel;
        if (!isSpecial) {
          for (let i = 0; i < pairs.length; i += 2) {
            if (pairs[i] === token) {
              this.fail(`duplicate label names for metric ${goQuote(currentName)}`, nameStart, 'duplicate_label', `label "${token}" appears twice`);
            }
          }
          pairs.push(token, '');
        }
        this.pos++; // '='
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
        if (buf[this.pos] !== QUOTE) {
          this.fail(`expected '"' at start of label value, found ${goQuoteByte(buf[this.pos]!)}`, this.pos, 'syntax', 'label values must be in double quotes');
        }
        const value = this.labelValue(true, undefined);
        if (isSpecial) {
          const parsed = parseGoFloat(value);
          if (parsed === undefined) this.fail(`expected float as value for '${specialLabel}' label, got ${goQuote(value)}`, this.pos, 'syntax');
          special = parsed;
        } else {
          pairs[pairs.length - 1] = value;
        }
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
        const next = buf[this.pos]!;
        if (next === COMMA) {
          this.pos++;
          continue;
        }
        if (next === CLOSE_BRACE) {
          if (this.currentBuilder === undefined)
            this.fail('invalid metric name', start, 'syntax', 'the series has no metric name: put it first inside the braces, quoted');
          this.pos++;
          this.skipBlanks();
          if (this.pos >= this.end) this.failEndOfInput();
          break;
        }
        this.fail(`unexpected end of label value ${goQuote(value)}`, this.pos, 'syntax', 'expected "," or "}" after a label value');
      }
    }
    if (builder === undefined) {
      const current = this.currentBuilder;
      if (current === undefined) this.fail('invalid metric name', start, 'syntax', 'the series has no metric name: put it first inside the braces, quoted');
      builder = current;
      role = this.currentRole;
      sampleName = current.family.name;
      this.noteSample(builder);
      this.findings.push({
        severity: 'error',
        reason: 'parse',
        message: `the series has no metric name; expfmt would file it under ${goQuote(current.family.name)}, the family of the line before`,
        line: this.line,
        column: 1,
        family: current.family.name,
      });
    }
    this.checkEscapedLabelNames(pairs, builder.family.name);
    this.labelsHashKnown = false;
    this.sampleValue(builder, role, pairs.length === 0 ? NO_LABELS : pairs, special, sampleName, true, this.scratchLabels);
  }

  /** Refuses label names a scraper asking for escaping could not take (escapedLabelProblem). */
  private checkEscapedLabelNames(pairs: readonly string[], family: string): void {
    let utf8 = false;
    for (let i = 0; i < pairs.length && !utf8; i += 2) utf8 = !LEGACY_LABEL_NAME.test(pairs[i]!);
    if (!utf8) return;
    const problem = escapedLabelProblem(pairs);
    if (problem !== undefined) this.findings.push({ severity: 'error', reason: problem.reason, message: problem.message, line: this.line, column: 1, family });
  }

  /** Reads `{...}` into `labels` (this.scratchCount entries); returns the parsed `le`/`quantile`
   *  value (or `special`). */
  private labelSet(familyName: string, labels: string[], specialLabel: string, special: number, keepValues: boolean): number {
    const buf = this.buf;
    const positionNames = this.positionNames;
    let result = special;
    let count = 0;
    let allCached = true;
    this.labelsHash = 0;
    this.labelsHashKnown = true;
    this.pos++; // '{'
    for (let index = 0; ; index++) {
      this.skipBlanks();
      if (this.pos >= this.end) this.failEndOfInput();
      if (buf[this.pos] === CLOSE_BRACE) {
        this.pos++;
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
        this.endLabelSet(count, index, allCached);
        return result;
      }
      const nameStart = this.pos;
      let labelName: string;
      let labelNameHash: number;
      const cached = index < positionNames.length ? positionNames[index]! : '';
      // Series of a family repeat their label names in the same order: matching the previous
      // series' name at this position replaces the scan, the hash and the lookup (and the checks
      // that name already passed). It is the whole name when no name byte follows it. Bytes are
      // compared with bytes: a string's charCodeAt costs more in the hot loop.
      if (
        cached.length > 0 &&
        sameBytes(buf, this.positionNameOffsets[index]!, nameStart, cached.length) &&
        LABEL_CONTINUE[buf[nameStart + cached.length]!] !== 1
      ) {
        labelName = cached;
        labelNameHash = this.positionNameHashes[index]!;
        this.pos = nameStart + cached.length;
        if (this.utf8Names && buf[this.pos] === QUOTE) throw RESTART_LINE;
        if (this.pos >= this.end) this.failEndOfInput();
      } else {
        allCached = false;
        const nameEnd = this.scanName(LABEL_CONTINUE, LABEL_START);
        this.pos = nameEnd;
        // A quoted label name: the line is read again by utf8Sample. What this pass changed is
        // idempotent (family, type, split-family sequence), so reading it twice changes nothing.
        if (this.utf8Names && buf[nameEnd] === QUOTE) throw RESTART_LINE;
        if (nameEnd >= this.end) this.failEndOfInput();
        if (nameEnd === nameStart) {
          const quoted = buf[nameStart] === QUOTE;
          this.fail(
            `invalid label name for metric ${goQuote(familyName)}`,
            nameStart,
            quoted ? 'quoted_name' : 'syntax',
            quoted ? QUOTED_NAME_HINT : undefined,
          );
        }
        labelName = this.intern(nameStart, nameEnd);
        labelNameHash = this.nameHash;
        if (labelName === '__name__') {
          this.fail('label name "__name__" is reserved', nameStart, 'reserved_label', 'the metric name goes before the braces');
        }
        positionNames[index] = labelName;
        this.positionNameHashes[index] = labelNameHash;
        this.positionNameOffsets[index] = nameStart;
      }
      const isSpecial = labelName === specialLabel;
      if (!isSpecial) {
        labels[count] = labelName;
        labels[count + 1] = '';
        count += 2;
      }
      let c = buf[this.pos]!;
      if (c === SPACE || c === TAB) {
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
        c = buf[this.pos]!;
      }
      if (c !== EQUALS) {
        this.fail(`expected '=' after label name, found ${goQuoteByte(c)}`, this.pos, 'syntax', invalidLabelNameHint(c));
      }
      if (!isSpecial) {
        for (let i = 0; i < count - 2; i += 2) {
          if (labels[i] === labelName) {
            this.fail(`duplicate label names for metric ${goQuote(familyName)}`, nameStart, 'duplicate_label', `label "${labelName}" appears twice`);
          }
        }
      }
      this.pos++; // '='
      this.skipBlanks();
      if (this.pos >= this.end) this.failEndOfInput();
      if (buf[this.pos] !== QUOTE) {
        this.fail(`expected '"' at start of label value, found ${goQuoteByte(buf[this.pos]!)}`, this.pos, 'syntax', 'label values must be in double quotes');
      }
      const open = this.pos;
      const position = count >> 1;
      const materialize = keepValues || isSpecial;
      // Only materialized values are worth remembering: a value not kept is ''.
      const labelValue = this.labelValue(materialize, materialize ? this.previousValues[position] : undefined);
      if (materialize) this.previousValues[position] = labelValue;
      if (!isSpecial && this.pos - 1 > open + 1) {
        // An empty label is no label: it takes no part in the series' identity.
        this.labelsHash = (this.labelsHash + pairHash(labelNameHash, this.valueHash)) | 0;
      }
      if (isSpecial) {
        const parsed = parseGoFloat(labelValue);
        if (parsed === undefined) {
          this.fail(`expected float as value for '${specialLabel}' label, got ${goQuote(labelValue)}`, this.pos, 'syntax');
        }
        result = parsed;
      } else {
        labels[count - 1] = labelValue;
      }
      this.skipBlanks();
      if (this.pos >= this.end) this.failEndOfInput();
      const next = buf[this.pos]!;
      if (next === COMMA) {
        this.pos++;
        continue;
      }
      if (next === CLOSE_BRACE) {
        this.pos++;
        this.skipBlanks();
        if (this.pos >= this.end) this.failEndOfInput();
        this.endLabelSet(count, index + 1, allCached);
        return result;
      }
      const shown = keepValues || isSpecial ? labelValue : this.rereadLabelValue(open);
      this.fail(`unexpected end of label value ${goQuote(shown)}`, this.pos, 'syntax', 'expected "," or "}" after a label value');
    }
  }

  /** labelSet's bookkeeping for a line with `labels` labels (`count` scratch entries). */
  private endLabelSet(count: number, labels: number, allCached: boolean): void {
    this.scratchCount = count;
    this.sameLabelNames = allCached && labels === this.previousLabelCount;
    this.previousLabelCount = labels;
  }

  /** Reads a quoted label value starting at the opening quote; leaves pos after the closing one.
   *  With `materialize` false the value is checked in full but returned as '' when that saves
   *  allocating it (no escapes). `previous` is the value the same label had in the previous
   *  series: constant labels (job, env, region) then share one string instead of one per series.
   *  Leaves the value's bytesHash in this.valueHash. */
  private labelValue(materialize: boolean, previous: string | undefined): string {
    const buf = this.buf;
    const open = this.pos;
    let p = open + 1;
    // The common value (ASCII, no escapes) is hashed in the pass that scans it, as bytesHash
    // does: a second pass cost almost as much as the scan. Four bytes at a time while none of
    // them is a quote, a backslash, LF or non-ASCII (each test is the "has a zero byte" bit
    // trick on the word XOR that byte repeated). Every whole word of a value that has a byte
    // after its closing quote fits before `wordsEnd`, so the hash depends on the value alone.
    // Then one table lookup per byte up to the stop; past the end buf[p] is undefined and the
    // lookup is too, which also stops that loop.
    const view = this.view;
    const wordsEnd = this.end - 4;
    let h = FNV_OFFSET;
    while (p <= wordsEnd) {
      const w = view.getInt32(p, true);
      const q = w ^ 0x22222222;
      const b = w ^ 0x5c5c5c5c;
      const n = w ^ 0x0a0a0a0a;
      if (((((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b) | ((n - 0x01010101) & ~n) | w) & 0x80808080) !== 0) break;
      h = mixWord(h, w);
      p += 4;
    }
    let c = buf[p]!;
    while (LABEL_VALUE_STOP[c] === 0) {
      h = Math.imul(h ^ c, FNV_PRIME);
      c = buf[++p]!;
    }
    if (c !== QUOTE) return this.unusualLabelValue(open, p, materialize);
    this.valueHash = h;
    this.pos = p + 1;
    if (!materialize) return '';
    // Values that differ usually differ at the end (ids, counters): compare that first.
    if (previous !== undefined && previous.charCodeAt(previous.length - 1) === buf[p - 1] && this.sameText(previous, open + 1, p)) {
      return previous;
    }
    return buf.latin1Slice(open + 1, p);
  }

  /** The rest of labelValue for a value with a non-ASCII byte or an escape (or unterminated), from
   *  `p`, the first such byte: a function of its own keeps labelValue small enough for V8 to
   *  inline it where it is called. */
  private unusualLabelValue(open: number, from: number, materialize: boolean): string {
    const buf = this.buf;
    let p = from;
    let chunkStart = open + 1;
    let out = '';
    let c: number;
    let highBytes = false;
    let escaped = false;
    for (;;) {
      while (LABEL_VALUE_STOP[buf[p]!] === 0) p++;
      if (p >= this.end) this.failEndOfInput();
      c = buf[p]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        break;
      }
      if (c === NL) this.failRawNewline(open, buf.subarray(open + 1, p));
      highBytes = true;
      p++;
    }
    if (!escaped) {
      this.valueHash = this.bytesHash(chunkStart, p);
      this.pos = p + 1;
      this.checkLabelValueUtf8(open, buf.subarray(chunkStart, p));
      return materialize ? buf.utf8Slice(chunkStart, p) : '';
    }
    // Slow path: the value has escapes. Validate UTF-8 over the raw bytes: escapes only ever
    // produce ASCII, so the decoded value is valid exactly when the raw bytes are.
    for (;;) {
      if (p >= this.end) this.failEndOfInput();
      c = buf[p]!;
      if (c === QUOTE) break;
      if (c === NL) this.failRawNewline(open, unescapeForMessage(buf.subarray(open + 1, p)));
      if (c >= 0x80) highBytes = true;
      if (c === BACKSLASH) {
        out += buf.utf8Slice(chunkStart, p);
        if (p + 1 >= this.end) this.failEndOfInput();
        const e = buf[p + 1]!;
        if (e === QUOTE) out += '"';
        else if (e === BACKSLASH) out += '\\';
        else if (e === LOWER_N) out += '\n';
        else {
          this.fail(`invalid escape sequence '\\${String.fromCharCode(e)}'`, p, 'invalid_escape', 'label values allow only the escapes \\\\, \\" and \\n');
        }
        p += 2;
        chunkStart = p;
        continue;
      }
      p++;
    }
    out += buf.utf8Slice(chunkStart, p);
    if (highBytes) this.checkLabelValueUtf8(open, unescapeForMessage(buf.subarray(open + 1, p)));
    this.valueHash = this.bytesHash(open + 1, p);
    this.pos = p + 1;
    return out;
  }

  /** A label value read before without being kept, decoded now for a message. */
  private rereadLabelValue(open: number): string {
    const resume = this.pos;
    this.pos = open;
    const value = this.labelValue(true, undefined);
    this.pos = resume;
    return value;
  }

  private checkLabelValueUtf8(open: number, rawValue: Uint8Array): void {
    if (isUtf8(rawValue)) return;
    this.fail(`invalid label value ${goQuoteBytes(rawValue)}`, open, 'invalid_utf8', 'label values must be valid UTF-8');
  }

  private failRawNewline(open: number, sofar: Uint8Array): never {
    this.fail(
      `label value ${goQuoteBytes(sofar)} contains unescaped new-line`,
      open,
      'syntax',
      'a label value ends at its closing quote; write a newline as \\n, or the quote is missing',
    );
  }

  private failValue(start: number, end: number): never {
    const buf = this.buf;
    const token = buf.subarray(start, end);
    const reference = `expected float as value, got ${goQuoteBytes(token)}`;
    if (start === end && end < this.end && buf[end] === NL) {
      const prev = buf[start - 1];
      if (prev === SPACE || prev === TAB) this.fail(reference, start, 'syntax', 'the sample has no value');
    }
    if (token.includes(CR)) this.fail(reference, start, 'crlf', CRLF_HINT);
    const first = token[0];
    if (first !== undefined && METRIC_CONTINUE[first] === 0 && start > 0 && METRIC_CONTINUE[buf[start - 1]!] === 1) {
      this.fail(reference, start, 'syntax', `metric names may contain only [a-zA-Z0-9_:]; ${goQuoteByte(first)} ended the name`);
    }
    this.fail(reference, start, 'syntax', 'values are decimal numbers, NaN, +Inf or -Inf');
  }

  private addToAggregate(
    builder: FamilyBuilder,
    labels: string[],
    role: Role,
    special: number,
    value: number,
    sampleName: string,
    line: number,
  ): HistogramMetric | SummaryMetric {
    const family = builder.family;
    const signature = labelSignature(labels);
    let metric = builder.aggregates.get(signature);
    if (metric === undefined) {
      const base = {
        labels,
        timestampMs: undefined,
        line,
        sum: undefined,
        sumLine: undefined,
        count: undefined,
        countLine: undefined,
        dropped: [],
        repeated: [],
      };
      metric = family.type === 'histogram' ? { ...base, kind: 'histogram', buckets: [] } : { ...base, kind: 'summary', quantiles: [] };
      builder.aggregates.set(signature, metric);
      family.metrics.push(metric);
    }
    if (role === Role.Count) {
      if (metric.countLine !== undefined) metric.repeated.push({ line, sampleName });
      metric.count = value;
      metric.countLine = line;
    } else if (role === Role.Sum) {
      if (metric.sumLine !== undefined) metric.repeated.push({ line, sampleName });
      metric.sum = value;
      metric.sumLine = line;
    } else if (special === special) {
      if (metric.kind === 'histogram') metric.buckets.push({ upperBound: special, count: value, line });
      else metric.quantiles.push({ quantile: special, value, line });
    } else {
      metric.dropped.push({ line, sampleName });
    }
    return metric;
  }

  private timestamp(target: { timestampMs: string | undefined }): void {
    const buf = this.buf;
    const blanksStart = this.pos;
    this.skipBlanks();
    if (this.pos >= this.end) this.failEndOfInput();
    const start = this.pos;
    const end = this.scanToken();
    this.pos = end;
    if (end >= this.end) this.failEndOfInput();
    const token = this.text(start, end);
    if (!TIMESTAMP_RE.test(token) || !inInt64(token)) {
      const reference = `expected integer as timestamp, got ${goQuoteBytes(buf.subarray(start, end))}`;
      if (start === end) this.fail(reference, blanksStart, 'trailing_whitespace', 'trailing whitespace after the value');
      if (buf[start] === HASH) {
        this.fail(reference, start, 'openmetrics', EXEMPLAR_HINT);
      }
      if (buf.indexOf(CR, start) === end - 1) this.fail(reference, start, 'crlf', CRLF_HINT);
      this.fail(reference, start, 'syntax', 'a timestamp is an integer count of milliseconds since the epoch');
    }
    target.timestampMs = BigInt(token).toString();
    const newline = buf.indexOf(NL, end);
    if (newline === -1) this.failEndOfInput();
    if (newline > end) {
      const rest = withoutBackslashes(buf.subarray(end, newline));
      const reference = `spurious string after timestamp: ${goQuoteBytes(rest)}`;
      const firstText = rest.find((b) => b !== SPACE && b !== TAB);
      if (firstText === undefined) this.fail(reference, end, 'trailing_whitespace', 'trailing whitespace after the timestamp');
      if (firstText === HASH) this.fail(reference, end, 'openmetrics', EXEMPLAR_HINT);
      this.fail(reference, end, 'syntax', 'nothing may follow the timestamp');
    }
    this.pos = newline + 1;
  }
}

const QUOTED_NAME_HINT =
  'quoted UTF-8 names like {"my.metric"} are Prometheus 3\'s, refused under the legacy name validation scheme; legacy names match [a-zA-Z_:][a-zA-Z0-9_:]*';
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Thrown by labelSet on a quoted label name: the line is read again by utf8Sample. */
const RESTART_LINE: unique symbol = Symbol('restart line');
const EXEMPLAR_HINT = 'exemplars (" # {...} value") are OpenMetrics-only and not allowed in text format 0.0.4';
const CRLF_HINT = 'the file has Windows (CRLF) line endings; the format allows only LF (convert with dos2unix)';

function invalidNameHint(byte: number): string {
  if (byte >= 0x30 && byte <= 0x39) return 'metric names must not start with a digit';
  return 'metric names match [a-zA-Z_:][a-zA-Z0-9_:]*';
}

function invalidLabelNameHint(byte: number): string | undefined {
  if (byte === 0x2d || byte === 0x2e) return 'label names match [a-zA-Z_][a-zA-Z0-9_]*';
  return undefined;
}

function withoutBackslashes(bytes: Uint8Array): Uint8Array {
  return bytes.includes(BACKSLASH) ? bytes.filter((b) => b !== BACKSLASH) : bytes;
}

/** The label value so far with escapes resolved, as expfmt shows it in messages. */
function unescapeForMessage(raw: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === BACKSLASH && i + 1 < raw.length) {
      const e = raw[++i]!;
      out.push(e === LOWER_N ? NL : e);
    } else out.push(c);
  }
  return Uint8Array.from(out);
}

function inInt64(token: string): boolean {
  if (token.length < 19) return true;
  const value = BigInt(token);
  return value >= INT64_MIN && value <= INT64_MAX;
}

/** True when the `length` bytes at `a` equal those at `b` (false when b's run passes the end). */
function sameBytes(buf: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/** The first byte at or after `p` (before `end`) that is not a blank or a tab. */
export function skipBlanks(buf: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = buf[p]!;
    if (c !== SPACE && c !== TAB) break;
    p++;
  }
  return p;
}

/** The end of the name starting at `p` (`p` itself when none starts there), by the byte
 *  tables above: METRIC_CONTINUE/METRIC_START for metric names, LABEL_* for label names. The
 *  name ends at the first byte that cannot be in one: expfmt needs no blank before the value
 *  when the value cannot continue the name (`up.5`, `up+Inf`). */
export function scanName(buf: Uint8Array, p: number, end: number, table: Uint8Array, startTable: Uint8Array): number {
  if (p >= end || startTable[buf[p]!] === 0) return p;
  p++;
  while (p < end && table[buf[p]!] === 1) p++;
  return p;
}

/** The end of a label value's escaped bytes starting at `p` (after its opening quote): the
 *  position of its closing quote. The value must be one the parser accepted. */
export function scanEscapedValue(buf: Uint8Array, p: number): number {
  for (;;) {
    while (LABEL_VALUE_STOP[buf[p]!] === 0) p++;
    const c = buf[p]!;
    if (c === QUOTE) return p;
    p += c === BACKSLASH ? 2 : 1;
  }
}

/** Mixes a label name's and value's hashes into one pair hash (murmur3's finaliser), so that
 *  summing pair hashes gives an order-independent, well-spread hash of a label set. */
export function pairHash(nameHash: number, valueHash: number): number {
  let h = Math.imul(nameHash, 0x9e3779b1) ^ valueHash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Order-independent identity of a label set (expfmt's LabelsToSignature). */
export function labelSignature(labels: readonly string[]): string {
  const n = labels.length;
  if (n === 0) return '';
  let sorted = true;
  for (let i = 2; i < n; i += 2) {
    if (labels[i - 2]! > labels[i]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) {
    // Files almost always list labels in the same (often sorted) order: no allocation but the key.
    let key = `${labels[0]}\u0000${labels[1]}`;
    for (let i = 2; i < n; i += 2) key += `\u0001${labels[i]}\u0000${labels[i + 1]}`;
    return key;
  }
  const pairs: string[] = [];
  for (let i = 0; i < n; i += 2) pairs.push(`${labels[i]}\u0000${labels[i + 1]}`);
  pairs.sort();
  return pairs.join('\u0001');
}

/** The labels of the (valid) sample line starting at `lineStart`, read again on its own. */
function labelsOfLine(buf: Buffer, lineStart: number): readonly string[] {
  const newline = buf.indexOf(NL, lineStart);
  const parsed = new TextParser(buf.subarray(lineStart, newline + 1)).run();
  return parsed[0]?.metrics[0]?.labels ?? [];
}

/**
 * Identity of a series as Prometheus sees it: a label with an empty value is the same as no
 * label, so `foo` and `foo{a=""}` are one series. Used for duplicate detection.
 */
export function seriesIdentity(labels: readonly string[]): string {
  for (let i = 1; i < labels.length; i += 2) {
    if (labels[i] === '') return labelSignature(labels.filter((_, j) => labels[j - (j % 2) + 1] !== ''));
  }
  return labelSignature(labels);
}

/**
 * Parses text format 0.0.4. Never throws: a syntax error comes back as `{ ok: false }` with
 * the line, the column and a message naming the likely cause.
 */
export function parseExposition(input: Uint8Array, options: ParseOptions = {}): ParseResult {
  const parser = new TextParser(input, options);
  try {
    const families = parser.run();
    return { ok: true, families, findings: parser.findings };
  } catch (error) {
    if (error instanceof Abort) return { ok: false, error: error.failure };
    if (error instanceof RestartRetaining) return parseExposition(input, { ...options, retainSeries: true });
    throw error;
  }
}
