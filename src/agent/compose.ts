// Builds the served exposition from the files' contents, re-rendering only what changed. A
// family none of whose names (ownedNames: a histogram's `_bucket`, `_sum`, ...) another served
// file uses comes out of the merge exactly as that file's family alone would, so its rendered
// bytes are kept with the file's content and reused until the content changes. Only families
// that share a name with another file's are merged (core/merge.ts decides who wins) and
// rendered again on every change. Without this, a 500,000-series file would be
// re-rendered (about a second of blocked event loop) each time any small file changed.
//
// A family kept as rendered lines (RenderedSeries, core/rendered-series.ts) is served from
// those very bytes: its part is its header plus the lines, never a copy of them.
import { compareCodePoints } from '../core/compare.js';
import { mergeSources, nodeExporterHelp, ownedNames, type Conflict, type Source } from '../core/merge.js';
import {
  renderOpenMetricsFamilyBytes,
  renderOpenMetricsHeader,
  renderTextBytes,
  renderTextHeader,
  type FamilyHeader,
} from '../core/render.js';
import { expandRenderedSeries, openMetricsLines } from '../core/rendered-series.js';
import type { MetricFamily, RenderedSeries } from '../core/types.js';

/** One served file: its path (the merge's source id) and its families. */
export interface ComposeSource {
  readonly id: string;
  /** Must be the same array object for as long as the content is the same: it keys the cache. */
  readonly families: readonly MetricFamily[];
}

/** One family's share of the exposition: its text 0.0.4 bytes, and its OpenMetrics bytes
 *  rendered on first use (then kept, like the text, for as long as the content is the same). */
export class FamilyPart {
  private openMetricsChunks: readonly Buffer[] | undefined;

  constructor(
    readonly name: string,
    readonly text: readonly Buffer[],
    private readonly renderOpenMetrics: () => Buffer[],
  ) {}

  openMetrics(): readonly Buffer[] {
    this.openMetricsChunks ??= this.renderOpenMetrics();
    return this.openMetricsChunks;
  }

  static ofFamily(family: MetricFamily): FamilyPart {
    return new FamilyPart(family.name, [renderTextBytes([family])], () => [renderOpenMetricsFamilyBytes(family)]);
  }

  static ofRenderedSeries(header: FamilyHeader, rendered: RenderedSeries): FamilyPart {
    return new FamilyPart(header.name, [renderTextHeader(header), rendered.text], () => [renderOpenMetricsHeader(header), openMetricsLines(rendered)]);
  }
}

export interface Composition {
  /** Every served family's part after merging, sorted by name. Text 0.0.4 is their `text`
   *  chunks in order; OpenMetrics their `openMetrics()` chunks, then `# EOF`. */
  readonly parts: readonly FamilyPart[];
}

/** HELP for a family no source documents (undefined: no HELP line); see MergeOptions. */
export type MissingHelp = (sourceIds: readonly string[]) => string | undefined;

export class ExpositionComposer {
  /** Per file content: the part of each family it alone defines, by name. */
  private readonly rendered = new WeakMap<readonly MetricFamily[], Map<string, FamilyPart | null>>();

  constructor(private readonly missingHelp: MissingHelp = nodeExporterHelp) {}

  /**
   * Merges the sources (in id order, the core's rule). The conflicts are known at once; the
   * output is put together by `finish`, which adds families no source may define (the meta
   * metrics, which depend on the conflicts).
   */
  merge(sources: readonly ComposeSource[]): MergedSources {
    // Which sources use each sample name: a family is merged alone only when no other source
    // uses any of its names.
    const users = new Map<string, string | null>();
    for (const source of sources) {
      for (const family of source.families) {
        for (const name of ownedNames(family)) {
          const user = users.get(name);
          if (user === undefined) users.set(name, source.id);
          else if (user !== source.id) users.set(name, null);
        }
      }
    }
    const isShared = (family: MetricFamily): boolean => ownedNames(family).some((name) => users.get(name) === null);
    const parts: FamilyPart[] = [];
    const shared: Source[] = [];
    for (const source of sources) {
      let cache = this.rendered.get(source.families);
      if (cache === undefined) {
        cache = new Map();
        this.rendered.set(source.families, cache);
      }
      const sharedFamilies: MetricFamily[] = [];
      for (const family of source.families) {
        if (isShared(family)) {
          // Rare, and only for as long as another file defines the same family: worth a parse
          // of the rendered lines rather than keeping every series as an object meanwhile.
          sharedFamilies.push(expandRenderedSeries(family));
          continue;
        }
        let part = cache.get(family.name);
        if (part === undefined) {
          part = partAlone(source.id, family, this.missingHelp);
          cache.set(family.name, part);
        }
        if (part !== null) parts.push(part);
      }
      if (sharedFamilies.length > 0) shared.push({ id: source.id, families: sharedFamilies });
    }
    const merged = mergeSources(shared, { missingHelp: this.missingHelp });
    for (const family of merged.families) parts.push(FamilyPart.ofFamily(family));
    return new MergedSources(parts, merged.conflicts);
  }
}

/** What mergeSources makes of a family no other source defines, as a part; null if nothing. */
function partAlone(sourceId: string, family: MetricFamily, missingHelp: MissingHelp): FamilyPart | null {
  const rendered = family.rendered;
  if (rendered !== undefined) {
    const help = family.help ?? missingHelp([sourceId]);
    return FamilyPart.ofRenderedSeries({ name: family.name, help, type: family.type }, rendered);
  }
  const merged = mergeSources([{ id: sourceId, families: [family] }], { missingHelp }).families[0];
  return merged === undefined ? null : FamilyPart.ofFamily(merged);
}

export class MergedSources {
  constructor(
    private readonly parts: readonly FamilyPart[],
    readonly conflicts: readonly Conflict[],
  ) {}

  /** The exposition: the merged families plus `extra` ones, sorted by name. */
  finish(extra: readonly MetricFamily[]): Composition {
    const all = [...this.parts];
    for (const family of extra) all.push(FamilyPart.ofFamily(family));
    all.sort((a, b) => compareCodePoints(a.name, b.name));
    return { parts: all };
  }
}
