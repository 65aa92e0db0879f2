// Builds the served exposition from the files' contents, re-rendering only what changed. A
// family that only one served file defines comes out of the merge exactly as that file's family
// alone would (merging is per family name), so its rendered bytes are kept with the file's
// content and reused until the content changes. Only families that several files share are
// merged and rendered again on every change. Without this, a 500,000-series file would be
// re-rendered (about a second of blocked event loop) each time any small file changed.
import { compareCodePoints } from '../core/compare.js';
import { mergeSources, type Conflict, type Source } from '../core/merge.js';
import { renderTextBytes } from '../core/render.js';
import type { MetricFamily } from '../core/types.js';

/** One served file: its path (the merge's source id) and its families. */
export interface ComposeSource {
  readonly id: string;
  /** Must be the same array object for as long as the content is the same: it keys the cache. */
  readonly families: readonly MetricFamily[];
}

export interface Composition {
  /** Every served family after merging, sorted by name (for OpenMetrics, rendered lazily). */
  readonly families: MetricFamily[];
  /** Text format 0.0.4 of `families`, identical to renderTextBytes(families). */
  readonly text: Buffer;
}

interface RenderedFamily {
  readonly family: MetricFamily;
  readonly text: Buffer;
}

export class ExpositionComposer {
  /** Per file content: the merged form and bytes of its families, by name. */
  private readonly rendered = new WeakMap<readonly MetricFamily[], Map<string, RenderedFamily | null>>();

  /**
   * Merges the sources (in id order, the core's rule). The conflicts are known at once; the
   * output is put together by `finish`, which adds families no source may define (the meta
   * metrics, which depend on the conflicts).
   */
  merge(sources: readonly ComposeSource[]): MergedSources {
    const definitions = new Map<string, number>();
    for (const source of sources) {
      for (const family of source.families) definitions.set(family.name, (definitions.get(family.name) ?? 0) + 1);
    }
    const pieces: RenderedFamily[] = [];
    const shared: Source[] = [];
    for (const source of sources) {
      let cache = this.rendered.get(source.families);
      if (cache === undefined) {
        cache = new Map();
        this.rendered.set(source.families, cache);
      }
      const sharedFamilies: MetricFamily[] = [];
      for (const family of source.families) {
        if (definitions.get(family.name)! > 1) {
          sharedFamilies.push(family);
          continue;
        }
        let piece = cache.get(family.name);
        if (piece === undefined) {
          const merged = mergeSources([{ id: source.id, families: [family] }]).families[0];
          piece = merged === undefined ? null : { family: merged, text: renderTextBytes([merged]) };
          cache.set(family.name, piece);
        }
        if (piece !== null) pieces.push(piece);
      }
      if (sharedFamilies.length > 0) shared.push({ id: source.id, families: sharedFamilies });
    }
    const merged = mergeSources(shared);
    for (const family of merged.families) pieces.push({ family, text: renderTextBytes([family]) });
    return new MergedSources(pieces, merged.conflicts);
  }
}

export class MergedSources {
  constructor(
    private readonly pieces: readonly RenderedFamily[],
    readonly conflicts: readonly Conflict[],
  ) {}

  /** The exposition: the merged families plus `extra` ones, sorted by name, and its text. */
  finish(extra: readonly MetricFamily[]): Composition {
    const all = [...this.pieces];
    for (const family of extra) all.push({ family, text: renderTextBytes([family]) });
    all.sort((a, b) => compareCodePoints(a.family.name, b.family.name));
    return { families: all.map((piece) => piece.family), text: Buffer.concat(all.map((piece) => piece.text)) };
  }
}
