import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpositionComposer, type Composition } from '../../../src/agent/compose.js';
import { mergeSources } from '../../../src/core/merge.js';
import { renderTextBytes } from '../../../src/core/render.js';
import type { MetricFamily, MetricType } from '../../../src/core/types.js';

interface FamilySpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  readonly values: readonly string[];
}

function family(spec: FamilySpec, line: number): MetricFamily {
  return {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    firstLine: line,
    metrics: [...new Set(spec.values)].map((value, i) => ({ kind: 'scalar' as const, labels: ['v', value], value: i, timestampMs: undefined, line: line + i })),
  };
}

const familySpec = fc.record({
  name: fc.constantFrom('alpha', 'beta', 'gamma', 'delta'),
  type: fc.constantFrom<MetricType>('gauge', 'counter', 'untyped'),
  help: fc.constantFrom(undefined, 'Help one.', 'Help two.'),
  values: fc.array(fc.constantFrom('x', 'y', 'z'), { minLength: 1, maxLength: 3 }),
});

const sourcesSpec = fc.array(fc.uniqueArray(familySpec, { selector: (f) => f.name, maxLength: 4 }), { minLength: 1, maxLength: 5 });

function textOf(composition: Composition): Buffer {
  return Buffer.concat(composition.parts.flatMap((part) => part.text));
}

describe('ExpositionComposer', () => {
  it('gives exactly the full merge and render, with the same conflicts, cache or no cache', () => {
    const composer = new ExpositionComposer();
    // Contents persist across runs, as a store keeps unchanged files' families.
    const contents = new Map<string, MetricFamily[]>();
    fc.assert(
      fc.property(sourcesSpec, fc.nat(), (specs, changed) => {
        const sources = specs.map((families, index) => {
          const id = `/d/${index}.prom`;
          const key = `${id}:${JSON.stringify(families)}`;
          // Same content → same array object (cache hit); the `changed` source gets a new one.
          let built = contents.get(key);
          if (built === undefined || index === changed % specs.length) {
            built = families.map((spec, i) => family(spec, i * 10 + 1));
            contents.set(key, built);
          }
          return { id, families: built };
        });
        const expected = mergeSources(sources);
        const composed = composer.merge(sources);
        const out = composed.finish([]);
        expect(textOf(out).toString()).toBe(renderTextBytes(expected.families).toString());
        expect(out.parts.map((part) => part.name)).toEqual(expected.families.map((f) => f.name));
        expect([...composed.conflicts]).toEqual(expected.conflicts);
      }),
      { numRuns: 300 },
    );
  });

  it('places extra families in name order among the merged ones', () => {
    const composer = new ExpositionComposer();
    const merged = composer.merge([
      {
        id: '/d/a.prom',
        families: [
          family({ name: 'a_metric', type: 'gauge', help: 'A.', values: ['x'] }, 1),
          family({ name: 'z_metric', type: 'gauge', help: 'Z.', values: ['x'] }, 5),
        ],
      },
    ]);
    const out = merged.finish([family({ name: 'node_textfile_scrape_error', type: 'gauge', help: 'E.', values: ['x'] }, 0)]);
    expect(out.parts.map((part) => part.name)).toEqual(['a_metric', 'node_textfile_scrape_error', 'z_metric']);
    expect(textOf(out).toString()).toContain('# TYPE node_textfile_scrape_error gauge\nnode_textfile_scrape_error{v="x"} 0\n# HELP z_metric Z.\n');
  });
});
