// Merging the families of several sources (files, pushed groups) into what one scrape serves.
//
// The rule, deterministic and documented in docs/agent.md: sources are taken in id order (byte
// order of the full path, as node_exporter reads files), and the rule applies per family, not per
// sample name: a histogram owns its `_bucket`, `_sum` and `_count` names, a summary its `_sum`
// and `_count` (not `_created`: see ownedNames). The first source to serve a family fixes its TYPE; a later
// source with another TYPE loses that family (only that family), and a later source's family
// that uses a name another source's family owns (a gauge `x_count` beside histogram `x`, in
// either direction) loses it as a `name_collision`. A series already served by an earlier source
// is dropped from the later one. Every conflict is attributed to the later source, so listing
// order never matters. HELP differences drop nothing: the first HELP is served and the later
// source gets a warning. One source's mistake never removes an earlier source's series, and the
// output never writes a family or a series twice.
//
// The output is normalised as client_golang's Gather normalises it: families sorted by name,
// label pairs sorted by name, metrics sorted by label values, buckets and quantiles by bound.
import { compareCodePoints } from './compare.js';
import { seriesIdentity } from './parse.js';
import type { Bucket, Metric, MetricFamily, MetricType, Quantile, Severity } from './types.js';

export interface Source {
  /** Identity of the source, e.g. the file's full path; sources are merged in this order. */
  readonly id: string;
  readonly families: readonly MetricFamily[];
}

export interface Conflict {
  /** The source that lost: its family or series is not served. */
  readonly source: string;
  readonly family: string;
  readonly kind: 'type' | 'help' | 'duplicate_series' | 'name_collision';
  readonly severity: Severity;
  readonly message: string;
  /** Line in the losing source. */
  readonly line: number;
  /** The source whose definition is served. */
  readonly winner: string;
  /** Series of the losing source that are not served because of this conflict (buckets,
   *  quantiles, `_sum` and `_count` count, as Prometheus stores them); 0 for a HELP warning. */
  readonly series: number;
}

export interface MergeOptions {
  /** HELP for a family no source documents; undefined leaves the HELP line out. Defaults to
   *  node_exporter's `Metric read from <paths>`. */
  readonly missingHelp?: (sourceIds: readonly string[], family: string) => string | undefined;
}

export interface MergeResult {
  readonly families: MetricFamily[];
  readonly conflicts: Conflict[];
}

export function nodeExporterHelp(sourceIds: readonly string[]): string {
  return `Metric read from ${sourceIds.join(', ')}`;
}

interface MergedFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly typeSource: string;
  help: string | undefined;
  helpSource: string;
  readonly metrics: Metric[];
  /** Series already served, by label signature, with the source serving it. */
  readonly series: Map<string, string>;
  readonly sources: string[];
  readonly firstLine: number;
}

/**
 * The sample names a family writes in text 0.0.4: its own name, plus for a histogram `_bucket`,
 * `_sum` and `_count`, for a summary `_sum` and `_count`. No other family may use any of them in
 * the same exposition. `_created` is not among them: text 0.0.4 (what textfiles are) has no
 * created series, and prometheus_client writes a histogram's or summary's `x_created` as a gauge
 * family of its own there, which promtool accepts and node_exporter serves.
 */
export function ownedNames(family: { readonly name: string; readonly type: MetricType }): string[] {
  const name = family.name;
  if (family.type === 'histogram') return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (family.type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

/** Series as Prometheus stores them: each bucket or quantile, `_sum` and `_count` count. */
export function seriesOfMetric(metric: Metric): number {
  switch (metric.kind) {
    case 'scalar':
      return 1;
    case 'histogram':
      return metric.buckets.length + 2;
    case 'summary':
      return metric.quantiles.length + 2;
  }
}

function seriesOfFamily(family: MetricFamily): number {
  let total = family.digest?.count ?? family.rendered?.count ?? 0;
  for (const metric of family.metrics) total += seriesOfMetric(metric);
  return total;
}

export function mergeSources(sources: readonly Source[], options: MergeOptions = {}): MergeResult {
  const missingHelp = options.missingHelp ?? nodeExporterHelp;
  const ordered = [...sources].sort((a, b) => compareCodePoints(a.id, b.id));
  const byName = new Map<string, MergedFamily>();
  /** Which served family owns each sample name (see ownedNames). */
  const owners = new Map<string, MergedFamily>();
  const conflicts: Conflict[] = [];
  // Series identities are only needed for families that more than one source defines: a source's
  // own duplicates are validation's business, and a 500,000-series file should not pay twice.
  const definitions = new Map<string, number>();
  for (const source of ordered) {
    for (const family of source.families) definitions.set(family.name, (definitions.get(family.name) ?? 0) + 1);
  }

  for (const source of ordered) {
    for (const family of source.families) {
      // A family without a series serves nothing: it neither fixes a TYPE nor owns a name.
      if (family.metrics.length === 0) continue;
      const line = family.metrics[0]?.line ?? family.firstLine;
      let merged = byName.get(family.name);
      if (merged === undefined) {
        const owner = collidingOwner(family, source.id, owners);
        if (owner !== undefined) {
          conflicts.push({
            source: source.id,
            family: family.name,
            kind: 'name_collision',
            severity: 'error',
            message: collisionMessage(family, owner),
            line,
            winner: owner.typeSource,
            series: seriesOfFamily(family),
          });
          continue;
        }
        merged = {
          name: family.name,
          type: family.type,
          typeSource: source.id,
          help: family.help,
          helpSource: source.id,
          metrics: [],
          series: new Map(),
          sources: [],
          firstLine: family.firstLine,
        };
        byName.set(family.name, merged);
        for (const name of ownedNames(family)) if (!owners.has(name)) owners.set(name, merged);
      } else if (merged.type !== family.type) {
        conflicts.push({
          source: source.id,
          family: family.name,
          kind: 'type',
          severity: 'error',
          message: `${family.name} is a ${family.type} here but a ${merged.type} in ${merged.typeSource}, which is served; this file's ${family.name} series are not`,
          line,
          winner: merged.typeSource,
          series: seriesOfFamily(family),
        });
        continue;
      } else if (family.help !== undefined) {
        if (merged.help === undefined) {
          merged.help = family.help;
          merged.helpSource = source.id;
        } else if (merged.help !== family.help) {
          conflicts.push({
            source: source.id,
            family: family.name,
            kind: 'help',
            severity: 'warning',
            message: `HELP of ${family.name} differs from the one in ${merged.helpSource}, which is served; this file's series are served under it`,
            line,
            winner: merged.helpSource,
            series: 0,
          });
        }
      }
      const padded = padLabels(family.metrics);
      if (definitions.get(family.name) === 1) {
        for (const metric of padded) merged.metrics.push(normaliseMetric(metric));
        merged.sources.push(source.id);
        continue;
      }
      let contributed = false;
      for (const metric of padded) {
        const signature = seriesIdentity(metric.labels);
        const owner = merged.series.get(signature);
        if (owner !== undefined) {
          conflicts.push({
            source: source.id,
            family: family.name,
            kind: 'duplicate_series',
            severity: 'error',
            message: `series ${family.name}${formatLabels(metric.labels)} is also in ${owner}, which is served; this duplicate is not`,
            line: metric.line,
            winner: owner,
            series: seriesOfMetric(metric),
          });
          continue;
        }
        merged.series.set(signature, source.id);
        merged.metrics.push(normaliseMetric(metric));
        contributed = true;
      }
      if (contributed) merged.sources.push(source.id);
    }
  }

  const families: MetricFamily[] = [];
  for (const merged of byName.values()) {
    if (merged.metrics.length === 0) continue;
    merged.metrics.sort(compareMetrics);
    families.push({
      name: merged.name,
      help: merged.help ?? missingHelp(merged.sources, merged.name),
      type: merged.type,
      metrics: merged.metrics,
      firstLine: merged.firstLine,
    });
  }
  families.sort((a, b) => compareCodePoints(a.name, b.name));
  return { families, conflicts };
}

/** The served family of another source that owns one of `family`'s names, if any. Names shared
 *  within one source are validation's business (a file is judged before it is merged). */
function collidingOwner(family: MetricFamily, sourceId: string, owners: ReadonlyMap<string, MergedFamily>): MergedFamily | undefined {
  for (const name of ownedNames(family)) {
    const owner = owners.get(name);
    if (owner !== undefined && owner.name !== family.name && owner.typeSource !== sourceId) return owner;
  }
  return undefined;
}

function collisionMessage(family: MetricFamily, owner: MergedFamily): string {
  const ownerOwnsIt = ownedNames(owner).includes(family.name);
  const what = ownerOwnsIt ? `is a series name of ${owner.type} ${owner.name}` : `${family.type} ${family.name} owns the name ${owner.name}`;
  return `${family.name} collides with ${owner.type} ${owner.name} from ${owner.typeSource}, which is served (${what}); this file's ${family.name} is not`;
}

function formatLabels(labels: readonly string[]): string {
  if (labels.length === 0) return '';
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) parts.push(`${labels[i]}=${JSON.stringify(labels[i + 1])}`);
  return `{${parts.join(',')}}`;
}

/**
 * node_exporter gives every series of a family (within one file) the same label names, adding
 * missing ones with empty values. Prometheus treats an empty label as absent, so this changes
 * only the text; we do it to serve the same bytes.
 */
function padLabels(metrics: readonly Metric[]): readonly Metric[] {
  const first = metrics[0];
  if (first === undefined) return metrics;
  let uniform = true;
  for (const metric of metrics) {
    if (!sameLabelNames(metric.labels, first.labels)) {
      uniform = false;
      break;
    }
  }
  if (uniform) return metrics;
  const names: string[] = [];
  for (const metric of metrics) {
    for (let i = 0; i < metric.labels.length; i += 2) {
      if (!names.includes(metric.labels[i]!)) names.push(metric.labels[i]!);
    }
  }
  return metrics.map((metric) => {
    const labels = [...metric.labels];
    for (const name of names) {
      if (!hasLabel(metric.labels, name)) labels.push(name, '');
    }
    return { ...metric, labels };
  });
}

function hasLabel(labels: readonly string[], name: string): boolean {
  for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) return true;
  return false;
}

function sameLabelNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 2) if (a[i] !== b[i] && !hasLabel(b, a[i]!)) return false;
  return true;
}

/** Label pairs sorted by name (client_golang's MakeLabelPairs); the same array when already so. */
function sortLabels(labels: readonly string[]): readonly string[] {
  let sorted = true;
  for (let i = 2; i < labels.length; i += 2) {
    if (compareCodePoints(labels[i - 2]!, labels[i]!) > 0) {
      sorted = false;
      break;
    }
  }
  if (sorted) return labels;
  const pairs: [string, string][] = [];
  for (let i = 0; i < labels.length; i += 2) pairs.push([labels[i]!, labels[i + 1]!]);
  pairs.sort((a, b) => compareCodePoints(a[0], b[0]));
  return pairs.flat();
}

function normaliseMetric(metric: Metric): Metric {
  const labels = sortLabels(metric.labels);
  if (metric.kind === 'scalar') return labels === metric.labels ? metric : { ...metric, labels };
  if (metric.kind === 'histogram') {
    return { ...metric, labels, buckets: sortedBy(metric.buckets, (b: Bucket) => b.upperBound) };
  }
  return { ...metric, labels, quantiles: sortedBy(metric.quantiles, (q: Quantile) => q.quantile) };
}

function sortedBy<T>(items: readonly T[], key: (item: T) => number): T[] {
  return [...items].sort((a, b) => key(a) - key(b));
}

/** client_golang's metricSorter: fewer labels first, then label values position by position. */
function compareMetrics(a: Metric, b: Metric): number {
  const la = a.labels;
  const lb = b.labels;
  if (la.length !== lb.length) return la.length - lb.length;
  for (let i = 1; i < la.length; i += 2) {
    const order = compareCodePoints(la[i]!, lb[i]!);
    if (order !== 0) return order;
  }
  return 0;
}
