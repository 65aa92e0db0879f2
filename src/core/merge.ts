// Merging the families of several sources (files, pushed groups) into what one scrape serves.
//
// The rule, deterministic and documented in docs/agent.md: sources are taken in id order (byte
// order of the full path, as node_exporter reads files). For each family name the first source
// that defines it fixes the TYPE; a later source with another TYPE loses that family (only that
// family) and the conflict is attributed to it. A series already served by an earlier source is
// dropped from the later one, again attributed to the later one. HELP conflicts drop nothing: the
// first HELP is served and the later source is flagged. One source's mistake never removes an
// earlier source's series.
//
// The output is normalised as client_golang's Gather normalises it: families sorted by name,
// label pairs sorted by name, metrics sorted by label values, buckets and quantiles by bound.
import { compareCodePoints } from './compare.js';
import { seriesIdentity } from './parse.js';
import { expandedNames } from './validate.js';
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

export function mergeSources(sources: readonly Source[], options: MergeOptions = {}): MergeResult {
  const missingHelp = options.missingHelp ?? nodeExporterHelp;
  const ordered = [...sources].sort((a, b) => compareCodePoints(a.id, b.id));
  const byName = new Map<string, MergedFamily>();
  const conflicts: Conflict[] = [];
  // Series identities are only needed for families that more than one source defines: a source's
  // own duplicates are validation's business, and a 500,000-series file should not pay twice.
  const definitions = new Map<string, number>();
  for (const source of ordered) {
    for (const family of source.families) definitions.set(family.name, (definitions.get(family.name) ?? 0) + 1);
  }

  for (const source of ordered) {
    for (const family of source.families) {
      const line = family.metrics[0]?.line ?? family.firstLine;
      let merged = byName.get(family.name);
      if (merged === undefined) {
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
      } else if (merged.type !== family.type) {
        conflicts.push({
          source: source.id,
          family: family.name,
          kind: 'type',
          severity: 'error',
          message: `${family.name} is a ${family.type} here but a ${merged.type} in ${merged.typeSource}, which is served; this file's ${family.name} series are not`,
          line,
          winner: merged.typeSource,
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
            message: `HELP of ${family.name} differs from the one in ${merged.helpSource}, which is served`,
            line,
            winner: merged.helpSource,
          });
        }
      }
      const padded = padLabels(family.metrics);
      if (definitions.get(family.name) === 1) {
        for (const metric of padded) merged.metrics.push(normaliseMetric(metric));
        if (family.metrics.length > 0) merged.sources.push(source.id);
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

  dropNameCollisions(byName, conflicts);
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

/** A family named like another's `_sum`/`_count`/`_bucket` series, from different sources: the
 *  family first defined in source order stays, the other is dropped and flagged. */
function dropNameCollisions(byName: Map<string, MergedFamily>, conflicts: Conflict[]): void {
  for (const aggregate of [...byName.values()]) {
    if (!byName.has(aggregate.name)) continue;
    const family = { name: aggregate.name, type: aggregate.type, help: undefined, metrics: [], firstLine: 0 };
    for (const expanded of expandedNames(family)) {
      const other = byName.get(expanded);
      if (other === undefined || other.metrics.length === 0) continue;
      const aggregateWins = compareCodePoints(aggregate.typeSource, other.typeSource) <= 0;
      const [winner, loser] = aggregateWins ? [aggregate, other] : [other, aggregate];
      for (const source of loser.sources) {
        conflicts.push({
          source,
          family: loser.name,
          kind: 'name_collision',
          severity: 'error',
          message: `${loser.name} collides with series of ${winner.type} ${winner.name} from ${winner.typeSource}, which is served; this file's ${loser.name} is not`,
          line: loser.firstLine,
          winner: winner.typeSource,
        });
      }
      byName.delete(loser.name);
      if (!aggregateWins) break;
    }
  }
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
