// Builds the served exposition from the files' contents, re-rendering only what changed. A
// family none of whose names (ownedNames: a histogram's `_bucket`, `_sum`, ...) another served
// file uses comes out of the merge exactly as that file's family alone would, so its rendered
// bytes are kept with the file's content and reused until the content changes. Only families
// that share a name with another file's are merged (core/merge.ts decides who wins) and
// rendered again on every change. Without this, a 500,000-series file would be
// re-rendered (about a second of blocked event loop) each time any small file changed.
//
// Names that are not legacy-valid (Prometheus 3's UTF-8 names) are written as each scraper asks
// (core/escaping.ts): a part whose names are all legacy-valid (nearly every part) is the same
// bytes under every scheme and costs nothing more; the others render their variants on first
// use. Two families that become one name under some scheme (`a.b` and `a_b` under underscores)
// are a conflict: one is served under every scheme, the other reported (escape-collisions.ts).
//
// A family kept as rendered lines (RenderedSeries, core/rendered-series.ts) is served from
// those very bytes: its part is its header plus the lines, never a copy of them.
import { compareCodePoints } from '../core/compare.js';
import { mergeSources, nodeExporterHelp, ownedNames, type Conflict, type Source } from '../core/merge.js';
import { renderOpenMetricsFamilyBytes, renderOpenMetricsHeader, renderTextBytes, renderTextHeader, type FamilyHeader } from '../core/render.js';
import { escapeFamily, familyNeedsEscaping, type EscapingScheme } from '../core/escaping.js';
import { expandRenderedSeries, openMetricsLines } from '../core/rendered-series.js';
import type { MetricFamily, RenderedSeries } from '../core/types.js';
import { countSeries } from '../core/verdict.js';
import { escapeCollisions, type CollisionCandidate } from './escape-collisions.js';

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
  /** Renderings under the escaping schemes, by `format scheme`, made on first use. */
  private variants: Map<string, readonly Buffer[]> | undefined;

  constructor(
    readonly name: string,
    readonly text: readonly Buffer[],
    private readonly renderOpenMetrics: () => Buffer[],
    /** Set when some name is not legacy-valid: the family, to render it for each scheme. */
    readonly utf8Family?: MetricFamily,
  ) {}

  openMetrics(): readonly Buffer[] {
    this.openMetricsChunks ??= this.renderOpenMetrics();
    return this.openMetricsChunks;
  }

  /** The part in `format` with names as `escaping` writes them. */
  chunks(format: 'text' | 'openmetrics', escaping: EscapingScheme): readonly Buffer[] {
    const family = this.utf8Family;
    if (family === undefined) return format === 'text' ? this.text : this.openMetrics();
    const key = `${format} ${escaping}`;
    this.variants ??= new Map();
    let chunks = this.variants.get(key);
    if (chunks === undefined) {
      const options = { utf8Names: escaping === 'allow-utf-8' };
      const escaped = escapeFamily(family, escaping);
      chunks = [format === 'text' ? renderTextBytes([escaped], options) : renderOpenMetricsFamilyBytes(escaped, options)];
      this.variants.set(key, chunks);
    }
    return chunks;
  }

  static ofFamily(family: MetricFamily): FamilyPart {
    if (familyNeedsEscaping(family)) {
      // The unescaped bytes (text and openMetrics()) are the allow-utf-8 ones.
      const options = { utf8Names: true };
      return new FamilyPart(family.name, [renderTextBytes([family], options)], () => [renderOpenMetricsFamilyBytes(family, options)], family);
    }
    const legacy = { utf8Names: false };
    return new FamilyPart(family.name, [renderTextBytes([family], legacy)], () => [renderOpenMetricsFamilyBytes(family, legacy)]);
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
    // Only UTF-8 names can collide once escaped: nothing more to do in the common case.
    if (!parts.some((part) => part.utf8Family !== undefined)) return new MergedSources(parts, merged.conflicts);
    const collisions = escapeCollisions(collisionCandidates(sources, parts));
    const dropped = new Set(collisions.map((conflict) => conflict.family));
    return new MergedSources(
      parts.filter((part) => !dropped.has(part.name)),
      [...merged.conflicts, ...collisions],
    );
  }
}

/** The served parts with every source that defines each (the sources' own families). */
function collisionCandidates(sources: readonly ComposeSource[], parts: readonly FamilyPart[]): CollisionCandidate[] {
  const origins = new Map<string, { name: string; type: MetricFamily['type']; sources: Array<{ id: string; line: number; series: number }> }>();
  for (const source of sources) {
    for (const family of source.families) {
      let origin = origins.get(family.name);
      if (origin === undefined) {
        origin = { name: family.name, type: family.type, sources: [] };
        origins.set(family.name, origin);
      }
      origin.sources.push({ id: source.id, line: family.firstLine, series: countSeries([family]) });
    }
  }
  const candidates: CollisionCandidate[] = [];
  for (const part of parts) {
    const origin = origins.get(part.name);
    if (origin !== undefined) candidates.push(origin);
  }
  return candidates;
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
