// Validation on top of the parser: what expfmt accepts but the agent must not serve, because the
// Go client would reject or panic on it when gathering, node_exporter would drop it silently,
// or Prometheus would ingest nonsense. Each finding names the line and a stable reason.
import { ownedNames } from './merge.js';
import { seriesIdentity } from './parse.js';
import type { Metric, ScalarMetric, SeriesDigest } from './types.js';
import type { Finding, FindingReason, HistogramMetric, MetricFamily, Severity, SummaryMetric } from './types.js';

export interface ValidateOptions {
  /** Accept client-side timestamps (node_exporter skips such files entirely; so do we by default). */
  readonly allowTimestamps?: boolean;
  /** Names a file may not define, such as the agent's own meta metrics. */
  readonly isReservedMetricName?: (name: string) => boolean;
}

/** At most this many findings of one reason are listed; a summary line counts the rest, so a
 *  million-series file with one systematic mistake yields a readable report. */
const MAX_FINDINGS_PER_REASON = 20;

const UINT64_LIMIT = 2 ** 64;

class Findings {
  readonly list: Finding[] = [];
  private readonly counts = new Map<FindingReason, number>();
  private readonly overflow = new Map<FindingReason, { severity: Severity; count: number; line: number }>();

  /** `message` may be a function: it is only called for a finding that is listed. */
  add(severity: Severity, reason: FindingReason, message: string | (() => string), line: number, family?: string): void {
    const count = (this.counts.get(reason) ?? 0) + 1;
    this.counts.set(reason, count);
    if (count <= MAX_FINDINGS_PER_REASON) {
      if (typeof message === 'function') message = message();
      // Errors always carry a column so that every rejection reads FILE:LINE:COL.
      const column = severity === 'error' ? 1 : undefined;
      this.list.push({ severity, reason, message, line, ...(column === undefined ? {} : { column }), ...(family === undefined ? {} : { family }) });
      return;
    }
    const extra = this.overflow.get(reason);
    if (extra === undefined) this.overflow.set(reason, { severity, count: 1, line });
    else extra.count++;
  }

  /** Counts `n` more findings known only by number (a digest lists its first ones); they are
   *  always past the listed ones, so they only add to the "more" count. */
  addUnlisted(reason: FindingReason, n: number): void {
    if (n <= 0) return;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
    const extra = this.overflow.get(reason);
    if (extra !== undefined) extra.count += n;
  }

  finish(): Finding[] {
    for (const [reason, extra] of this.overflow) {
      this.list.push({
        severity: extra.severity,
        reason,
        message: `${extra.count} more ${reason} finding${extra.count === 1 ? '' : 's'} not listed`,
        line: extra.line,
      });
    }
    return this.list;
  }
}

function isValidCount(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < UINT64_LIMIT;
}

function describeCount(value: number): string {
  if (value !== value) return 'NaN';
  if (value < 0) return 'negative';
  if (!Number.isFinite(value) || value >= UINT64_LIMIT) return 'too large';
  return 'not an integer';
}

/** The sample names a histogram or summary family owns besides its own name, as merge.ts's
 *  ownedNames (which says why `_created` is not one): one rule within a file and across files. */
export function expandedNames(family: MetricFamily): string[] {
  return ownedNames(family).slice(1);
}

/** A family named like another family's `_sum`/`_count`/`_bucket` series (e.g. an untyped
 *  `foo_sum` before `# TYPE foo summary`): served together they would be two families writing
 *  the same series name, which Prometheus cannot tell apart and node_exporter drops. */
function reportNameCollisions(families: readonly MetricFamily[], out: Findings): void {
  const byName = new Map(families.map((family) => [family.name, family]));
  for (const family of families) {
    for (const expanded of expandedNames(family)) {
      const other = byName.get(expanded);
      if (other === undefined) continue;
      out.add(
        'error',
        'duplicate_series',
        `family ${other.name} collides with the ${expanded.slice(family.name.length)} series of ${family.type} ${family.name} (line ${firstSampleLine(family)})`,
        firstSampleLine(other),
        other.name,
      );
    }
  }
}

function validateHistogram(family: MetricFamily, metric: HistogramMetric, out: Findings): void {
  const name = family.name;
  for (const dropped of metric.dropped) {
    out.add(
      'error',
      'histogram_shape',
      dropped.sampleName === `${name}_bucket`
        ? `${dropped.sampleName} has no "le" label; Prometheus tools drop such a bucket silently`
        : `sample ${dropped.sampleName} of histogram ${name} is neither a bucket, _sum nor _count; it would be dropped silently`,
      dropped.line,
      name,
    );
  }
  for (const repeated of metric.repeated) {
    out.add('error', 'duplicate_series', `${repeated.sampleName} appears twice for the same label set`, repeated.line, name);
  }
  const sorted = [...metric.buckets].sort((a, b) => a.upperBound - b.upperBound);
  let hasInf = false;
  for (let i = 0; i < sorted.length; i++) {
    const bucket = sorted[i]!;
    if (bucket.upperBound !== bucket.upperBound) {
      out.add('error', 'histogram_shape', `${name}_bucket has le="NaN"`, bucket.line, name);
      continue;
    }
    if (bucket.upperBound === Infinity) hasInf = true;
    if (!isValidCount(bucket.count)) {
      out.add(
        'error',
        'histogram_shape',
        `bucket count ${bucket.count} of ${name} is ${describeCount(bucket.count)}; bucket counts are non-negative integers`,
        bucket.line,
        name,
      );
    }
    const previous = sorted[i - 1];
    if (previous === undefined) continue;
    if (previous.upperBound === bucket.upperBound) {
      out.add('error', 'duplicate_series', `${name}_bucket with le="${bucket.upperBound}" appears twice (also line ${previous.line})`, bucket.line, name);
    } else if (bucket.count < previous.count) {
      out.add(
        'error',
        'histogram_shape',
        `buckets of ${name} are not cumulative: le="${bucket.upperBound}" has ${bucket.count}, less than ${previous.count} for le="${previous.upperBound}"`,
        bucket.line,
        name,
      );
    }
  }
  if (metric.count === undefined && metric.sum === undefined) {
    // The shape of a GaugeHistogram in text 0.0.4 as Python's prometheus_client writes it (the
    // count and sum go to _gcount and _gsum gauges): promtool and node_exporter accept it, and
    // node_exporter serves _sum 0 and _count 0. A client library's own output is served the same.
    out.add(
      'warning',
      'histogram_shape',
      `histogram ${name} has no ${name}_count and no ${name}_sum for this label set (a GaugeHistogram as Python's client writes it?); served with 0 for both, as node_exporter serves it`,
      metric.line,
      name,
    );
  } else if (metric.count === undefined) {
    out.add('error', 'histogram_shape', `histogram ${name} has no ${name}_count sample for this label set (node_exporter would invent 0)`, metric.line, name);
  } else if (!isValidCount(metric.count)) {
    out.add('error', 'histogram_shape', `${name}_count ${metric.count} is ${describeCount(metric.count)}`, metric.countLine ?? metric.line, name);
  }
  if (metric.sum === undefined && metric.count !== undefined) {
    out.add('error', 'histogram_shape', `histogram ${name} has no ${name}_sum sample for this label set (node_exporter would invent 0)`, metric.line, name);
  }
  const inf = sorted.find((b) => b.upperBound === Infinity);
  if (!hasInf) {
    if (metric.count !== undefined && sorted.length > 0) {
      out.add('warning', 'histogram_shape', `histogram ${name} has no le="+Inf" bucket; it is served with one equal to ${name}_count`, metric.line, name);
    }
  } else if (inf !== undefined && metric.count !== undefined && inf.count !== metric.count) {
    out.add('error', 'histogram_shape', `the le="+Inf" bucket of ${name} (${inf.count}) differs from ${name}_count (${metric.count})`, inf.line, name);
  }
  const last = sorted[sorted.length - 1];
  if (!hasInf && last !== undefined && metric.count !== undefined && metric.count < last.count) {
    out.add(
      'error',
      'histogram_shape',
      `${name}_count (${metric.count}) is less than the largest bucket (${last.count})`,
      metric.countLine ?? metric.line,
      name,
    );
  }
}

function validateSummary(family: MetricFamily, metric: SummaryMetric, out: Findings): void {
  const name = family.name;
  for (const dropped of metric.dropped) {
    out.add(
      'error',
      'summary_shape',
      `sample ${dropped.sampleName} of summary ${name} has no "quantile" label; it would be dropped silently`,
      dropped.line,
      name,
    );
  }
  for (const repeated of metric.repeated) {
    out.add('error', 'duplicate_series', `${repeated.sampleName} appears twice for the same label set`, repeated.line, name);
  }
  const seen = new Map<number, number>();
  for (const q of metric.quantiles) {
    if (!(q.quantile >= 0 && q.quantile <= 1)) {
      out.add('error', 'summary_shape', `quantile="${q.quantile}" of ${name} is outside [0, 1]`, q.line, name);
    }
    const earlier = seen.get(q.quantile);
    if (earlier !== undefined) {
      out.add('error', 'duplicate_series', `${name} with quantile="${q.quantile}" appears twice (also line ${earlier})`, q.line, name);
    } else seen.set(q.quantile, q.line);
  }
  if (metric.count !== undefined && !isValidCount(metric.count)) {
    out.add('error', 'summary_shape', `${name}_count ${metric.count} is ${describeCount(metric.count)}`, metric.countLine ?? metric.line, name);
  }
  if (metric.count === undefined || metric.sum === undefined) {
    const missing = metric.count === undefined && metric.sum === undefined ? '_sum and _count' : metric.count === undefined ? '_count' : '_sum';
    out.add('warning', 'summary_shape', `summary ${name} has no ${missing} for this label set; served as 0 like node_exporter does`, metric.line, name);
  }
}

/** Findings for families that parsed; empty means the agent serves them as they are. */
/** Series per bucket that repeatedSeries aims at: a bucket's table stays within a few pages. */
const SERIES_PER_BUCKET = 2048;

/**
 * The series of one family that repeat an earlier one (the same seriesIdentity), found from
 * each series' identity hash (any 32 bits): pairs [index, index of the first series with that
 * identity], in series order. The hashes are first split into buckets by their top bits, then
 * each bucket goes through an open-addressing table of its own that fits in a few pages: one
 * table for a large family made every lookup a TLB miss, which costs several times more under a
 * hypervisor. Those passes only note the series that share a hash with an earlier one; a last
 * pass compares the exact identities of those few.
 *
 * Each pass over all the series is a function of its own, and runs the same code for every
 * series: V8 optimizes a long loop while it runs, and code after it, or a path in it that only
 * a shared hash takes, had never run then; reaching it sent V8 back to the interpreter.
 */
export function repeatedSeries(hashes: Int32Array, labelsOf: (index: number) => readonly string[]): number[] {
  const count = hashes.length;
  let bucketBits = 0;
  while (bucketBits < 16 && count >>> bucketBits > SERIES_PER_BUCKET) bucketBits++;
  // A bucket is the hash's top bucketBits bits, in two shifts: x >>> 32 would be x.
  const shift = 16 - bucketBits;
  const bucketCount = 1 << bucketBits;
  // Bucket b's series are order[starts[b]] .. order[starts[b + 1] - 1], in series order; a
  // family small enough for one bucket (most are) is not partitioned.
  const starts = new Int32Array(bucketCount + 1);
  let order: Int32Array | undefined;
  let largest = count;
  if (bucketBits === 0) starts[1] = count;
  else {
    countBuckets(hashes, shift, starts);
    largest = 0;
    for (let b = 0; b < bucketCount; b++) {
      largest = Math.max(largest, starts[b + 1]!);
      starts[b + 1] = starts[b + 1]! + starts[b]!;
    }
    order = new Int32Array(count);
    fillBuckets(hashes, shift, starts, order);
  }
  // Series that share a hash with an earlier one, and that earlier one, in bucket order.
  const sharing = new Int32Array(count);
  const earlier = new Int32Array(count);
  const shared = findSharedHashes(hashes, starts, order, largest, sharing, earlier);
  if (shared === 0) return [];
  // Distinct identities met so far among the series that share a hash, by the first such series.
  // A hash's series are all in one bucket, in series order, so bucket order meets them in order.
  const groups = new Map<number, { readonly identity: string; readonly index: number }[]>();
  const found: [number, number][] = [];
  for (let c = 0; c < shared; c++) {
    const i = sharing[c]!;
    const first = earlier[c]!;
    let group = groups.get(first);
    if (group === undefined) {
      group = [{ identity: seriesIdentity(labelsOf(first)), index: first }];
      groups.set(first, group);
    }
    const identity = seriesIdentity(labelsOf(i));
    const same = group.find((member) => member.identity === identity);
    if (same === undefined) group.push({ identity, index: i });
    else found.push([i, same.index]);
  }
  return found.sort((x, y) => x[0] - y[0]).flat();
}

/** starts[b + 1] = the number of hashes in bucket b. */
function countBuckets(hashes: Int32Array, shift: number, starts: Int32Array): void {
  for (let i = 0; i < hashes.length; i++) {
    const b = ((hashes[i]! >>> 16) >>> shift) + 1;
    starts[b] = starts[b]! + 1;
  }
}

/** Each series' index at the next free place of its bucket in `order`. */
function fillBuckets(hashes: Int32Array, shift: number, starts: Int32Array, order: Int32Array): void {
  const fill = starts.slice(0, starts.length - 1);
  for (let i = 0; i < hashes.length; i++) {
    const b = (hashes[i]! >>> 16) >>> shift;
    order[fill[b]!] = i;
    fill[b] = fill[b]! + 1;
  }
}

/** Puts every bucket's hashes through a table of their own; writes each series whose hash an
 *  earlier series has to `sharing` and that earlier series to `earlier`; returns how many. */
function findSharedHashes(
  hashes: Int32Array,
  starts: Int32Array,
  order: Int32Array | undefined,
  largest: number,
  sharing: Int32Array,
  earlier: Int32Array,
): number {
  let size = 16;
  while (size < largest * 2) size *= 2;
  const mask = size - 1;
  const wrap = size * 2 - 1;
  // Per slot, side by side: the hash (0 = empty slot; a hash of 0 is stored as 1) and the first
  // series with that hash.
  const table = new Int32Array(size * 2);
  let shared = 0;
  for (let b = 0; b + 1 < starts.length; b++) {
    if (b > 0) table.fill(0);
    const end = starts[b + 1]!;
    for (let k = starts[b]!; k < end; k++) {
      const i = order === undefined ? k : order[k]!;
      const key = hashes[i]! | 0 || 1;
      let slot = (key & mask) << 1;
      let occupant = table[slot]!;
      while (occupant !== 0 && occupant !== key) {
        slot = (slot + 2) & wrap;
        occupant = table[slot]!;
      }
      const known = occupant === key;
      const firstHere = table[slot + 1]!;
      const first = known ? firstHere : i;
      table[slot] = key;
      table[slot + 1] = first;
      // Written for every series, kept (by counting it) only for one whose hash is known.
      sharing[shared] = i;
      earlier[shared] = first;
      shared += known ? 1 : 0;
    }
  }
  return shared;
}

interface TimestampTally {
  count: number;
  firstLine: number;
}

function tallyTimestamp(tally: TimestampTally, count: number, line: number): void {
  tally.count += count;
  if (count > 0 && (tally.firstLine === 0 || line < tally.firstLine)) tally.firstLine = line;
}

/** Line of a family's first sample, kept or digested. */
export function firstSampleLine(family: MetricFamily): number {
  return family.metrics[0]?.line ?? family.digest?.lines[0] ?? family.firstLine;
}

function reservedLabelMessage(labelName: string, family: string): string {
  return `label name "${labelName}" of ${family} is reserved: names starting with "__" are for Prometheus itself`;
}

function reportReservedLabels(family: MetricFamily, metric: Metric, out: Findings): void {
  const labels = metric.labels;
  for (let i = 0; i < labels.length; i += 2) {
    const labelName = labels[i]!;
    if (labelName.charCodeAt(0) === 0x5f && labelName.charCodeAt(1) === 0x5f) {
      out.add('error', 'reserved_label', reservedLabelMessage(labelName, family.name), metric.line, family.name);
    }
  }
}

/** Scalar series kept as Metric objects. Findings per series in file order: reserved labels,
 *  duplicate, negative counter (validateDigest must keep the same order per reason). */
function validateScalars(family: MetricFamily, out: Findings, timestamps: TimestampTally): void {
  const metrics = family.metrics;
  const parsedHashes = metrics.every(hasParsedHash);
  // Such a family holds scalar series only, in practice: no copy of its list unless it does not.
  const scalars: readonly ScalarMetric[] = metrics.every(isScalar) ? metrics : metrics.filter(isScalar);
  const hashes = new Int32Array(scalars.length);
  for (let k = 0; k < scalars.length; k++) {
    const metric = scalars[k]!;
    hashes[k] = parsedHashes && metric.identityHash !== undefined ? metric.identityHash : identityHash(metric.labels);
  }
  const repeated = repeatedSeries(hashes, (k) => scalars[k]!.labels);
  let scalar = -1;
  let next = 0; // the next pair in repeated
  for (let i = 0; i < metrics.length; i++) {
    const metric = metrics[i]!;
    reportReservedLabels(family, metric, out);
    if (metric.timestampMs !== undefined) tallyTimestamp(timestamps, 1, metric.line);
    if (metric.kind !== 'scalar') continue;
    scalar++;
    if (repeated[next] === scalar) {
      const earlier = scalars[repeated[next + 1]!]!.line;
      next += 2;
      out.add(
        'error',
        'duplicate_series',
        () => `duplicate series ${family.name}${describeLabels(metric.labels)} (also line ${earlier})`,
        metric.line,
        family.name,
      );
    }
    if (family.type === 'counter' && metric.value < 0) {
      out.add('warning', 'negative_counter', `counter ${family.name} has a negative value ${metric.value}`, metric.line, family.name);
    }
  }
}

/** The same checks as validateScalars over a SeriesDigest, with the same findings. */
function validateDigest(family: MetricFamily, digest: SeriesDigest, out: Findings, timestamps: TimestampTally): void {
  const name = family.name;
  for (const reserved of digest.reservedLabels) {
    out.add('error', 'reserved_label', reservedLabelMessage(reserved.name, name), reserved.line, name);
  }
  out.addUnlisted('reserved_label', digest.reservedLabelCount - digest.reservedLabels.length);
  tallyTimestamp(timestamps, digest.timestamped, digest.firstTimestampLine);
  const repeated = repeatedSeries(digest.hashes, digest.labelsOf);
  for (let k = 0; k < repeated.length; k += 2) {
    const i = repeated[k]!;
    const earlier = digest.lines[repeated[k + 1]!]!;
    out.add('error', 'duplicate_series', () => `duplicate series ${name}${describeLabels(digest.labelsOf(i))} (also line ${earlier})`, digest.lines[i]!, name);
  }
  for (const negative of digest.negatives) {
    out.add('warning', 'negative_counter', `counter ${name} has a negative value ${negative.value}`, negative.line, name);
  }
  out.addUnlisted('negative_counter', digest.negativeCount - digest.negatives.length);
}

/** Findings for families that parsed; empty means the agent serves them as they are. */
export function validateFamilies(families: readonly MetricFamily[], options: ValidateOptions = {}): Finding[] {
  const out = new Findings();
  const timestamps: TimestampTally = { count: 0, firstLine: 0 };
  reportNameCollisions(families, out);
  for (const family of families) {
    const name = family.name;
    if (options.isReservedMetricName?.(name) === true) {
      out.add('error', 'reserved_metric', `${name} is a metric of the agent itself; a file may not define it`, firstSampleLine(family), name);
    }
    if (family.type === 'gauge_histogram') {
      out.add('error', 'unsupported_type', `${name} is a gauge_histogram, which text format 0.0.4 cannot carry`, firstSampleLine(family), name);
      continue;
    }
    if (family.digest !== undefined) {
      validateDigest(family, family.digest, out, timestamps);
    } else if (family.type === 'histogram' || family.type === 'summary') {
      reportAggregatesPrometheusMerges(family, out);
      for (const metric of family.metrics) {
        reportReservedLabels(family, metric, out);
        if (metric.timestampMs !== undefined) tallyTimestamp(timestamps, 1, metric.line);
        if (metric.kind === 'histogram') validateHistogram(family, metric, out);
        else if (metric.kind === 'summary') validateSummary(family, metric, out);
      }
    } else {
      validateScalars(family, out, timestamps);
    }
  }
  const stamped = timestamps.count;
  if (stamped > 0 && options.allowTimestamps !== true) {
    out.add(
      'error',
      'timestamp',
      `${stamped} sample${stamped === 1 ? ' has a' : 's have'} client-side timestamp${stamped === 1 ? '' : 's'}, which textfiles may not carry (node_exporter skips the whole file too); drop the timestamp: the file's mtime is exported as node_textfile_mtime_seconds`,
      timestamps.firstLine,
    );
  }
  return out.finish();
}

/**
 * expfmt groups a histogram's or summary's lines by their exact label set, so `a_count{x=""}`
 * and `a_sum` make two metrics; Prometheus sees one series (an empty label is no label), and the
 * agent would serve each of them twice, which breaks the whole scrape for strict parsers. Found
 * by fuzzing (test/unit/core/fuzz.test.ts).
 */
function reportAggregatesPrometheusMerges(family: MetricFamily, out: Findings): void {
  if (!family.metrics.some((metric) => hasEmptyLabelValue(metric.labels))) return;
  const seen = new Map<string, Metric>();
  for (const metric of family.metrics) {
    const identity = seriesIdentity(metric.labels);
    const earlier = seen.get(identity);
    if (earlier === undefined) {
      seen.set(identity, metric);
      continue;
    }
    out.add(
      'error',
      'duplicate_series',
      () =>
        `${family.name}${describeLabels(metric.labels)} is the same series as ${family.name}${describeLabels(earlier.labels)} (line ${earlier.line}): a label with an empty value is no label`,
      metric.line,
      family.name,
    );
  }
}

function hasEmptyLabelValue(labels: readonly string[]): boolean {
  for (let i = 1; i < labels.length; i += 2) if (labels[i] === '') return true;
  return false;
}

function isScalar(metric: Metric): metric is ScalarMetric {
  return metric.kind === 'scalar';
}

function hasParsedHash(metric: Metric): boolean {
  return metric.kind !== 'scalar' || metric.identityHash !== undefined;
}

/** Order-independent hash of the non-empty label pairs (an empty label is no label), for series
 *  that were not built by the parser. */
function identityHash(labels: readonly string[]): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i += 2) {
    const value = labels[i + 1]!;
    if (value === '') continue;
    const name = labels[i]!;
    let h = 0x811c9dc5;
    for (let k = 0; k < name.length; k++) h = Math.imul(h ^ name.charCodeAt(k), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    for (let k = 0; k < value.length; k++) h = Math.imul(h ^ value.charCodeAt(k), 0x01000193);
    // FNV alone mixes the last characters poorly, and label values often differ only there
    // (host-000001, host-000002): murmur3's finaliser spreads them over every bit.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    sum = (sum + h) | 0;
  }
  return sum & 0x3fffffff;
}

function describeLabels(labels: readonly string[]): string {
  if (labels.length === 0) return '';
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) parts.push(`${labels[i]}=${JSON.stringify(labels[i + 1])}`);
  return `{${parts.join(',')}}`;
}
