// Rendering merged families, byte for byte as node_exporter (expfmt's MetricFamilyToText) and
// as expfmt's OpenMetrics writer do. Input is mergeSources' normalised output: labels, metrics,
// buckets and quantiles already in order, so rendering is one linear pass — it runs once per
// change of the served files, and its output is what every scrape sends.
import { ByteWriter } from './byte-writer.js';
import { compareCodePoints } from './compare.js';
import { familyNeedsEscaping, isLegacyName } from './escaping.js';
import { formatGoFloat } from './float.js';
import type { Metric, MetricFamily } from './types.js';

const NEEDS_ESCAPE_IN_LABEL_VALUE = /[\\\n"]/;
const NEEDS_ESCAPE_IN_HELP = /[\\\n]/;

function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE_IN_LABEL_VALUE.test(value)) return value;
  return value.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(help: string, quote: boolean): string {
  if (quote) return escapeLabelValue(help);
  if (!NEEDS_ESCAPE_IN_HELP.test(help)) return help;
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

interface Dialect {
  readonly float: (value: number) => string;
  readonly count: (value: number) => string;
  readonly timestamp: (ms: string) => string;
  readonly quoteHelp: boolean;
  /** Write names that are not legacy-valid quoted, as expfmt's writeName does for a scraper
   *  that accepts UTF-8 names. Off for families whose names are all legacy-valid (nearly all),
   *  so that their lines are built without a check per name. */
  readonly utf8Names: boolean;
}

/** Options of the render functions. */
export interface RenderOptions {
  /** Whether names that are not legacy-valid are written quoted (`escaping=allow-utf-8`). Left
   *  out, each family is looked at (familyNeedsEscaping), so the output is always valid; callers
   *  that already know (the agent's cached parts) say so and save the look. */
  readonly utf8Names?: boolean;
}

/** expfmt's writeName: a legacy-valid name as is, any other in double quotes, escaped like a
 *  label value. */
export function quotedName(name: string): string {
  return isLegacyName(name) ? name : `"${escapeLabelValue(name)}"`;
}

/**
 * Each series of a family as its sample line writes it up to the value, `name{a="1",b="2"}`:
 * labels in name order, names and values quoted and escaped as the renderer writes them, labels
 * with an empty value left out (an empty label is no label). Equal texts are one series to
 * Prometheus; renderedSeriesIdentities (rendered-series.ts) reads the same text from kept
 * sample lines.
 */
export function seriesIdentityTexts(family: Pick<MetricFamily, 'name' | 'metrics'>): string[] {
  const head = quotedName(family.name);
  // A family's series nearly always share their label names: each is looked at once.
  const labelNames = new Map<string, string>();
  const texts: string[] = [];
  for (const metric of family.metrics) texts.push(identityText(head, metric.labels, labelNames));
  return texts;
}

function identityText(head: string, labels: readonly string[], labelNames: Map<string, string>): string {
  const n = labels.length;
  let ordered = true;
  for (let i = 2; i < n && ordered; i += 2) ordered = compareCodePoints(labels[i - 2]!, labels[i]!) < 0;
  let order: number[] | undefined;
  if (!ordered) {
    order = [];
    for (let i = 0; i < n; i += 2) order.push(i);
    order.sort((a, b) => compareCodePoints(labels[a]!, labels[b]!));
  }
  let text = head;
  let separator = '{';
  for (let k = 0; k < n >> 1; k++) {
    const i = order === undefined ? k * 2 : order[k]!;
    const value = labels[i + 1]!;
    if (value === '') continue;
    const label = labels[i]!;
    let quoted = labelNames.get(label);
    if (quoted === undefined) {
      quoted = quotedName(label);
      labelNames.set(label, quoted);
    }
    text += `${separator}${quoted}="${needsEscape(value) ? escapeLabelValue(value) : value}"`;
    separator = ',';
  }
  return separator === '{' ? text : `${text}}`;
}

/** escapeLabelValue's test, by hand: cheaper than a regular expression on short values. */
function needsEscape(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c || c === 0x0a || c === 0x22) return true;
  }
  return false;
}

const TEXT: Dialect = {
  float: formatGoFloat,
  count: formatGoFloat,
  timestamp: (ms) => ms,
  quoteHelp: false,
  utf8Names: false,
};
const TEXT_UTF8: Dialect = { ...TEXT, utf8Names: true };

/** OpenMetrics floats always show a decimal point or exponent (`1.0`); counts are integers. */
function formatOpenMetricsFloat(value: number): string {
  const text = formatGoFloat(value);
  if (text === 'NaN' || text === '+Inf' || text === '-Inf' || text.includes('.') || text.includes('e')) return text;
  return `${text}.0`;
}

const OPENMETRICS: Dialect = {
  float: formatOpenMetricsFloat,
  count: (value) => (Number.isFinite(value) && value >= 0 ? BigInt(Math.trunc(value)).toString() : '0'),
  timestamp: (ms) => formatOpenMetricsFloat(Number(ms) / 1000),
  quoteHelp: true,
  utf8Names: false,
};
const OPENMETRICS_UTF8: Dialect = { ...OPENMETRICS, utf8Names: true };

/** `name{labels[,extra]} value ts` as one string: one write per line is much cheaper than one
 *  per token. */
function writePlainSample(out: ByteWriter, name: string, labels: readonly string[], extraName: string, extraValue: string, value: string, ts: string): void {
  let line = name;
  if (labels.length !== 0 || extraName !== '') {
    let separator = '{';
    for (let i = 0; i < labels.length; i += 2) {
      line += `${separator}${labels[i]}="${escapeLabelValue(labels[i + 1]!)}"`;
      separator = ',';
    }
    if (extraName !== '') line += `${separator}${extraName}="${extraValue}"`;
    line += '}';
  }
  out.utf8(`${line} ${value}${ts}`);
}

/** writeSample for names that may need quotes: expfmt's writeNameAndLabelPairs puts a metric
 *  name that is not legacy-valid first inside the braces (`{"my.metric",a="1"}`). */
function writeSampleUtf8(out: ByteWriter, name: string, labels: readonly string[], extraName: string, extraValue: string, value: string, ts: string): void {
  let line: string;
  let separator: string;
  let open: boolean;
  if (isLegacyName(name)) {
    line = name;
    separator = '{';
    open = false;
  } else {
    line = `{"${escapeLabelValue(name)}"`;
    separator = ',';
    open = true;
  }
  if (labels.length !== 0 || extraName !== '') {
    for (let i = 0; i < labels.length; i += 2) {
      line += `${separator}${quotedName(labels[i]!)}="${escapeLabelValue(labels[i + 1]!)}"`;
      separator = ',';
    }
    if (extraName !== '') line += `${separator}${extraName}="${extraValue}"`;
    line += '}';
  } else if (open) {
    line += '}';
  }
  out.utf8(`${line} ${value}${ts}`);
}

function renderMetric(out: ByteWriter, name: string, metric: Metric, dialect: Dialect): void {
  const writeSample = dialect.utf8Names ? writeSampleUtf8 : writePlainSample;
  const ts = metric.timestampMs === undefined ? '\n' : ` ${dialect.timestamp(metric.timestampMs)}\n`;
  const labels = metric.labels;
  if (metric.kind === 'scalar') {
    writeSample(out, name, labels, '', '', dialect.float(metric.value), ts);
    return;
  }
  if (metric.kind === 'histogram') {
    const bucketName = `${name}_bucket`;
    let infSeen = false;
    for (const bucket of metric.buckets) {
      if (bucket.upperBound === Infinity) infSeen = true;
      writeSample(out, bucketName, labels, 'le', dialect.float(bucket.upperBound), dialect.count(bucket.count), ts);
    }
    if (!infSeen) writeSample(out, bucketName, labels, 'le', '+Inf', dialect.count(metric.count ?? 0), ts);
  } else {
    for (const q of metric.quantiles) {
      writeSample(out, name, labels, 'quantile', dialect.float(q.quantile), dialect.float(q.value), ts);
    }
  }
  writeSample(out, `${name}_sum`, labels, '', '', dialect.float(metric.sum ?? 0), ts);
  writeSample(out, `${name}_count`, labels, '', '', dialect.count(metric.count ?? 0), ts);
}

/** What a family's HELP and TYPE lines are made of. */
export type FamilyHeader = Pick<MetricFamily, 'name' | 'help' | 'type'>;

function writeTextHeader(out: ByteWriter, family: FamilyHeader, utf8Names = false): void {
  const name = utf8Names ? quotedName(family.name) : family.name;
  if (family.help !== undefined) {
    // A quoted UTF-8 name is not ASCII: written as UTF-8 (ascii() keeps one byte per unit).
    if (utf8Names) out.utf8(`# HELP ${name} `);
    else out.ascii(`# HELP ${name} `);
    out.utf8(escapeHelp(family.help, false));
    out.ascii('\n');
  }
  if (utf8Names) out.utf8(`# TYPE ${name} ${family.type}\n`);
  else out.ascii(`# TYPE ${name} ${family.type}\n`);
}

function writeOpenMetricsHeader(out: ByteWriter, family: FamilyHeader, utf8Names = false): void {
  const name = family.name;
  const isTotalCounter = family.type === 'counter' && name.endsWith('_total');
  const bareName = isTotalCounter ? name.slice(0, -6) : name;
  const shortName = utf8Names ? quotedName(bareName) : bareName;
  const type = family.type === 'untyped' || (family.type === 'counter' && !isTotalCounter) ? 'unknown' : family.type;
  if (family.help !== undefined) {
    if (utf8Names) out.utf8(`# HELP ${shortName} `);
    else out.ascii(`# HELP ${shortName} `);
    out.utf8(escapeHelp(family.help, true));
    out.ascii('\n');
  }
  if (utf8Names) out.utf8(`# TYPE ${shortName} ${type}\n`);
  else out.ascii(`# TYPE ${shortName} ${type}\n`);
}

/** Families that renderTextBytes and renderOpenMetricsBytes leave out. */
function isRendered(family: MetricFamily): boolean {
  return family.type !== 'gauge_histogram' && family.metrics.length !== 0;
}

/** Text format 0.0.4 as node_exporter serves it, as bytes. Families of a type the format cannot
 *  carry (gauge_histogram, which validation rejects) are left out rather than written wrongly. */
export function renderTextBytes(families: readonly MetricFamily[], options: RenderOptions = {}): Buffer {
  const out = new ByteWriter();
  for (const family of families) {
    if (!isRendered(family)) continue;
    const utf8Names = options.utf8Names ?? familyNeedsEscaping(family);
    writeTextHeader(out, family, utf8Names);
    const dialect = utf8Names ? TEXT_UTF8 : TEXT;
    for (const metric of family.metrics) renderMetric(out, family.name, metric, dialect);
  }
  return out.finish();
}

/** OpenMetrics 1.0.0 as expfmt writes it, ending with `# EOF`, as bytes. */
export function renderOpenMetricsBytes(families: readonly MetricFamily[], options: RenderOptions = {}): Buffer {
  const out = new ByteWriter();
  for (const family of families) {
    if (!isRendered(family)) continue;
    const utf8Names = options.utf8Names ?? familyNeedsEscaping(family);
    writeOpenMetricsHeader(out, family, utf8Names);
    const dialect = utf8Names ? OPENMETRICS_UTF8 : OPENMETRICS;
    for (const metric of family.metrics) renderMetric(out, family.name, metric, dialect);
  }
  out.ascii(OPENMETRICS_EOF);
  return out.finish();
}

/** The last line of every OpenMetrics exposition. */
export const OPENMETRICS_EOF = '# EOF\n';

/** One family's part of renderOpenMetricsBytes (no `# EOF`): the exposition is the families'
 *  parts in order, then OPENMETRICS_EOF. */
export function renderOpenMetricsFamilyBytes(family: MetricFamily, options: RenderOptions = {}): Buffer {
  const out = new ByteWriter(1024);
  if (isRendered(family)) {
    const utf8Names = options.utf8Names ?? familyNeedsEscaping(family);
    writeOpenMetricsHeader(out, family, utf8Names);
    for (const metric of family.metrics) renderMetric(out, family.name, metric, utf8Names ? OPENMETRICS_UTF8 : OPENMETRICS);
  }
  return out.finish();
}

/** The HELP and TYPE lines renderTextBytes writes before a family's samples. */
export function renderTextHeader(family: FamilyHeader): Buffer {
  const out = new ByteWriter(256);
  writeTextHeader(out, family);
  return out.finish();
}

/** The HELP and TYPE lines renderOpenMetricsBytes writes before a family's samples. */
export function renderOpenMetricsHeader(family: FamilyHeader): Buffer {
  const out = new ByteWriter(256);
  writeOpenMetricsHeader(out, family);
  return out.finish();
}

/** A sample value as OpenMetrics writes it (text 0.0.4 writes formatGoFloat). */
export const openMetricsFloat = formatOpenMetricsFloat;
/** A timestamp (int64 milliseconds, normalised decimal text) as OpenMetrics writes it. */
export const openMetricsTimestamp = OPENMETRICS.timestamp;

/** renderTextBytes as a string, for tests and the CLI. */
export function renderText(families: readonly MetricFamily[], options: RenderOptions = {}): string {
  return renderTextBytes(families, options).toString('utf8');
}

/** renderOpenMetricsBytes as a string. */
export function renderOpenMetrics(families: readonly MetricFamily[], options: RenderOptions = {}): string {
  return renderOpenMetricsBytes(families, options).toString('utf8');
}

/** The body's chunks without OpenMetrics' closing `# EOF` (the last bytes of the last chunk). */
export function withoutEof(format: 'text' | 'openmetrics', chunks: readonly Buffer[]): Buffer[] {
  if (format === 'text' || chunks.length === 0) return [...chunks];
  const last = chunks[chunks.length - 1]!;
  return [...chunks.slice(0, -1), last.subarray(0, last.length - OPENMETRICS_EOF.length)];
}
