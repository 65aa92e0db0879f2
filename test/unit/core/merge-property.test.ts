// Issue 14: the merge of any set of files, each valid alone, is a valid exposition with no family
// or series written twice; a file reported fully served has every series in it; and who loses is
// independent of the order the files are listed in. The agent's composer must agree with it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpositionComposer } from '../../../src/agent/compose.js';
import { mergeSources, ownedNames, type Source } from '../../../src/core/merge.js';
import { parseExposition, seriesIdentity } from '../../../src/core/parse.js';
import { renderText } from '../../../src/core/render.js';
import type { MetricFamily } from '../../../src/core/types.js';
import { judgeTextfileContent } from '../../../src/core/verdict.js';
import { fileSet } from '../../fixtures/merge-sets.js';

function sourcesOf(files: ReadonlyArray<{ name: string; text: string }>, form: 'metrics' | 'kept'): Source[] {
  return files.map(({ name, text }) => {
    const verdict = judgeTextfileContent(Buffer.from(text), { seriesForm: form });
    if (!verdict.accepted) throw new Error(`generated file ${name} is not valid alone`);
    return { id: `/d/${name}`, families: verdict.families };
  });
}

/** `family{labels}` for every series a family serves (histogram/summary: one per label set). */
function seriesKeys(families: readonly MetricFamily[]): string[] {
  return families.flatMap((family) => family.metrics.map((metric) => `${family.name}${JSON.stringify(seriesIdentity(metric.labels))}`));
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('merging random sets of valid files', () => {
  it('serves a valid exposition, every series of a fully served file, whatever the listing order', () => {
    fc.assert(
      fc.property(fileSet, fc.nat(), (files, seed) => {
        const sources = sourcesOf(files, 'metrics');
        const merged = mergeSources(sources);
        const body = renderText(merged.families);

        // Parses, with each family once and no family using a name another owns.
        const parsed = parseExposition(Buffer.from(body));
        expect(parsed.ok, body).toBe(true);
        if (!parsed.ok) return;
        const names = parsed.families.map((family) => family.name);
        expect(new Set(names).size).toBe(names.length);
        const owner = new Map<string, string>();
        for (const family of parsed.families) {
          for (const name of ownedNames(family)) {
            expect(owner.get(name), `${name} owned by ${owner.get(name)} and ${family.name}\n${body}`).toBeUndefined();
            owner.set(name, family.name);
          }
        }
        const served = seriesKeys(parsed.families);
        expect(new Set(served).size, body).toBe(served.length);

        // Every series of a file that lost nothing is served.
        const servedSet = new Set(served);
        for (const source of sources) {
          if (merged.conflicts.some((conflict) => conflict.source === source.id && conflict.severity === 'error')) continue;
          for (const key of seriesKeys(source.families)) expect(servedSet.has(key), `${key} of ${source.id}\n${body}`).toBe(true);
        }

        // Listing order does not matter: same body, same losers.
        const again = mergeSources(shuffled(sources, seed));
        expect(renderText(again.families)).toBe(body);
        const attribution = (conflicts: typeof merged.conflicts) => conflicts.map((c) => `${c.source} ${c.family} ${c.kind} ${c.series}`).sort();
        expect(attribution(again.conflicts)).toEqual(attribution(merged.conflicts));

        // The agent's composer (families kept as rendered lines, merged only where shared)
        // serves the same bytes with the same conflicts.
        const composed = new ExpositionComposer().merge(shuffled(sourcesOf(files, 'kept'), seed).sort((a, b) => (a.id < b.id ? -1 : 1)));
        expect(Buffer.concat(composed.finish([]).parts.flatMap((part) => part.text)).toString('utf8')).toBe(body);
        expect(attribution([...composed.conflicts])).toEqual(attribution(merged.conflicts));
      }),
      { numRuns: 300 },
    );
  });
});
