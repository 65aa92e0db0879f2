// Rendering merged families, byte for byte as node_exporter (expfmt's MetricFamilyToText) and
// as expfmt's OpenMetrics writer do. Input is mergeSources' normalised output: labels, metrics,
// buckets and quantiles already in order, so rendering is one linear pass — it runs once per
// change of the served files, and its output is what every scrape sends.
import { formatGoFloat } from './float.js';
import type { Metric, MetricFamily } from './types.js';

const ESCAPES_IN_LABEL_VALUE = /[\\\n"]/;
const ESCAPES_IN_HELP = /[\\\n]/;

function escapeLabelValue(value: string): string {
  if (!ESCAPES_IN_LABEL_VALUE.test(value)) return value;
  return value.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(help: string, quote: boolean): string {
  if (quote) return escapeLabelValue(help);
  if (!ESCAPES_IN_HELP.test(help)) return help;
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** `{a="1",b="2"` without the closing brace, or '' for no labels. */
function labelPrefix(labels: readonly string[]): string {
  if (labels.length === 0) return '';
  let out = `{${labels[0]}="${escapeLabelValue(labels[1]!)}"`;
  for (let i = 2; i < labels.length; i += 2) out += `,${labels[i]}="${escapeLabelValue(labels[i + 1]!)}"`;
  return out;
}

interface Dialect {
  readonly float: (value: number) => string;
  readonly count: (value: number) => string;
  readonly timestamp: (ms: string) => string;
  readonly quoteHelp: boolean;
}

const TEXT: Dialect = {
  float: formatGoFloat,
  count: formatGoFloat,
  timestamp: (ms) => ms,
  quoteHelp: false,
};

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
};

function renderMetric(out: string[], name: string, metric: Metric, dialect: Dialect): void {
  const prefix = labelPrefix(metric.labels);
  const ts = metric.timestampMs === undefined ? '\n' : ` ${dialect.timestamp(metric.timestampMs)}\n`;
  const plain = prefix === '' ? ' ' : `${prefix}} `;
  if (metric.kind === 'scalar') {
    out.push(`${name}${plain}${dialect.float(metric.value)}${ts}`);
    return;
  }
  const open = prefix === '' ? '{' : `${prefix},`;
  if (metric.kind === 'histogram') {
    let infSeen = false;
    for (const bucket of metric.buckets) {
      if (bucket.upperBound === Infinity) infSeen = true;
      out.push(`${name}_bucket${open}le="${dialect.float(bucket.upperBound)}"} ${dialect.count(bucket.count)}${ts}`);
    }
    if (!infSeen) out.push(`${name}_bucket${open}le="+Inf"} ${dialect.count(metric.count ?? 0)}${ts}`);
  } else {
    for (const q of metric.quantiles) {
      out.push(`${name}${open}quantile="${dialect.float(q.quantile)}"} ${dialect.float(q.value)}${ts}`);
    }
  }
  out.push(`${name}_sum${plain}${dialect.float(metric.sum ?? 0)}${ts}`);
  out.push(`${name}_count${plain}${dialect.count(metric.count ?? 0)}${ts}`);
}

/** Text format 0.0.4 as node_exporter serves it. Families of a type the format cannot carry
 *  (gauge_histogram, which validation rejects) are left out rather than written wrongly. */
export function renderText(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const family of families) {
    if (family.type === 'gauge_histogram' || family.metrics.length === 0) continue;
    const name = family.name;
    if (family.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(family.help, false)}\n`);
    out.push(`# TYPE ${name} ${family.type}\n`);
    for (const metric of family.metrics) renderMetric(out, name, metric, TEXT);
  }
  return out.join('');
}

/** OpenMetrics 1.0.0 as expfmt writes it, ending with `# EOF`. */
export function renderOpenMetrics(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const family of families) {
    if (family.type === 'gauge_histogram' || family.metrics.length === 0) continue;
    const name = family.name;
    const isTotalCounter = family.type === 'counter' && name.endsWith('_total');
    const shortName = isTotalCounter ? name.slice(0, -6) : name;
    const type = family.type === 'untyped' || (family.type === 'counter' && !isTotalCounter) ? 'unknown' : family.type;
    if (family.help !== undefined) out.push(`# HELP ${shortName} ${escapeHelp(family.help, true)}\n`);
    out.push(`# TYPE ${shortName} ${type}\n`);
    for (const metric of family.metrics) renderMetric(out, name, metric, OPENMETRICS);
  }
  out.push('# EOF\n');
  return out.join('');
}
