// The push API's consistency check, incremental. The Pushgateway re-gathers everything it stores
// on every push (O(all series) per push); here every source (pushed group or served textfile)
// is indexed once when its content changes, and a push is checked in O(its own series):
//   - family name → how many sources define it with each TYPE (a TYPE conflict is another
//     source's family of the same name with a different TYPE);
//   - expanded names of histograms and summaries (`x_bucket`, `x_sum`, `x_count`) → how many
//     sources define them (a family named like another's expanded series cannot be served);
//   - series identity, the series as its sample line writes it up to the value with empty labels
//     left out (as Prometheus ignores them) → how many sources serve it (a duplicate series).
// Counts rather than owners: the check subtracts the pushing group's own current content, so a
// group may change the TYPE of its own family or push the same series again. HELP is not
// checked: the core's merge rule resolves it (the first source by path is served).
// A textfile family the store keeps as rendered lines (core/rendered-series.ts) is indexed by
// name only; its series are counted the first time a push names that family (rare, and it keeps
// a large textfile's series out of memory otherwise), by the identities its lines already spell
// out: no Metric is built for them. Pure.
import { seriesIdentityTexts } from '../core/render.js';
import { renderedSeriesIdentities } from '../core/rendered-series.js';
import { expandedNames } from '../core/validate.js';
import type { MetricFamily, MetricType } from '../core/types.js';

export interface Inconsistency {
  readonly kind: 'type' | 'duplicate_series' | 'name_collision';
  readonly message: string;
}

export class ConsistencyIndex {
  private readonly types = new Map<string, Map<MetricType, number>>();
  private readonly expanded = new Map<string, number>();
  private readonly series = new Map<string, number>();
  /** Per source: its families and their series keys (computed once per content). */
  private readonly sources = new Map<string, IndexedSource>();
  /** Series keys per content (families array): a push's keys are computed once for the check
   *  and the update that follows it. */
  private readonly keyCache = new WeakMap<readonly MetricFamily[], readonly string[]>();
  /** Family name → the sources that define it as rendered lines, series not yet counted. */
  private readonly unexpanded = new Map<string, Set<string>>();

  /** Replaces what `source` contributes. */
  set(source: string, families: readonly MetricFamily[]): void {
    this.remove(source);
    const indexed: IndexedSource = { families, seriesKeys: this.seriesKeysOf(families), expandedKeys: [] };
    this.sources.set(source, indexed);
    this.count(indexed, 1);
    for (const family of families) {
      if (family.rendered === undefined) continue;
      let holders = this.unexpanded.get(family.name);
      if (holders === undefined) {
        holders = new Set();
        this.unexpanded.set(family.name, holders);
      }
      holders.add(source);
    }
  }

  remove(source: string): void {
    const indexed = this.sources.get(source);
    if (indexed === undefined) return;
    this.sources.delete(source);
    this.count(indexed, -1);
    for (const family of indexed.families) {
      const holders = this.unexpanded.get(family.name);
      if (holders?.delete(source) === true && holders.size === 0) this.unexpanded.delete(family.name);
    }
  }

  /** The first way `families`, replacing `source`'s current content, would clash with another source. */
  check(source: string, families: readonly MetricFamily[]): Inconsistency | undefined {
    const ownSource = this.sources.get(source);
    const own = ownSource?.families ?? [];
    const ownTypes = new Map<string, MetricType>();
    const ownExpanded = new Set<string>();
    for (const family of own) {
      ownTypes.set(family.name, family.type);
      for (const name of expandedNames(family)) ownExpanded.add(name);
    }
    let ownSeries: Set<string> | undefined;
    const keys = this.seriesKeysOf(families);
    let next = 0;
    for (const family of families) {
      const byType = this.types.get(family.name);
      if (byType !== undefined) {
        for (const [type, count] of byType) {
          const others = count - (ownTypes.get(family.name) === type ? 1 : 0);
          if (type !== family.type && others > 0) {
            return {
              kind: 'type',
              message: `metric family ${family.name} is ${/^[AEIOU]/.test(type.toUpperCase()) ? 'an' : 'a'} ${type.toUpperCase()} in another group or textfile, pushed as ${family.type.toUpperCase()}`,
            };
          }
        }
      }
      if ((this.expanded.get(family.name) ?? 0) - (ownExpanded.has(family.name) ? 1 : 0) > 0) {
        return {
          kind: 'name_collision',
          message: `metric family ${family.name} collides with the series of a histogram or summary in another group or textfile`,
        };
      }
      for (const name of expandedNames(family)) {
        const byTypeExpanded = this.types.get(name);
        if (byTypeExpanded === undefined) continue;
        let others = 0;
        for (const count of byTypeExpanded.values()) others += count;
        if (ownTypes.has(name)) others--;
        if (others > 0)
          return {
            kind: 'name_collision',
            message: `the ${name} series of ${family.type} ${family.name} collide with metric family ${name} in another group or textfile`,
          };
      }
      this.expandRendered(family.name);
      for (const metric of family.metrics) {
        const key = keys[next++]!;
        const count = this.series.get(key);
        if (count === undefined) continue;
        ownSeries ??= new Set([...(ownSource?.seriesKeys ?? []), ...(ownSource?.expandedKeys ?? [])]);
        if (count - (ownSeries.has(key) ? 1 : 0) > 0) {
          return { kind: 'duplicate_series', message: `series ${family.name}${formatLabels(metric.labels)} is already served by another group or textfile` };
        }
      }
    }
    return undefined;
  }

  /** Counts the series of every rendered-lines family named `name`, once. */
  private expandRendered(name: string): void {
    const holders = this.unexpanded.get(name);
    if (holders === undefined) return;
    this.unexpanded.delete(name);
    for (const source of holders) {
      const indexed = this.sources.get(source);
      const rendered = indexed?.families.find((candidate) => candidate.name === name)?.rendered;
      if (indexed === undefined || rendered === undefined) continue;
      for (const key of renderedSeriesIdentities(rendered)) {
        indexed.expandedKeys.push(key);
        adjust(this.series, key, 1);
      }
    }
  }

  private seriesKeysOf(families: readonly MetricFamily[]): readonly string[] {
    let keys = this.keyCache.get(families);
    if (keys === undefined) {
      const computed: string[] = [];
      for (const family of families) for (const text of seriesIdentityTexts(family)) computed.push(text);
      keys = computed;
      this.keyCache.set(families, keys);
    }
    return keys;
  }

  private count(source: IndexedSource, delta: 1 | -1): void {
    for (const key of source.seriesKeys) adjust(this.series, key, delta);
    for (const key of source.expandedKeys) adjust(this.series, key, delta);
    for (const family of source.families) {
      let byType = this.types.get(family.name);
      if (byType === undefined) {
        byType = new Map();
        this.types.set(family.name, byType);
      }
      const typeCount = (byType.get(family.type) ?? 0) + delta;
      if (typeCount > 0) byType.set(family.type, typeCount);
      else byType.delete(family.type);
      if (byType.size === 0) this.types.delete(family.name);
      for (const name of expandedNames(family)) adjust(this.expanded, name, delta);
    }
  }
}

function adjust(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next > 0) map.set(key, next);
  else map.delete(key);
}

interface IndexedSource {
  readonly families: readonly MetricFamily[];
  readonly seriesKeys: readonly string[];
  /** Keys of rendered-lines families counted since (expandRendered). */
  readonly expandedKeys: string[];
}

function formatLabels(labels: readonly string[]): string {
  if (labels.length === 0) return '';
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) parts.push(`${labels[i]}=${JSON.stringify(labels[i + 1])}`);
  return `{${parts.join(',')}}`;
}
