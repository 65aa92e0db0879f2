// The agent keeps scalar families as their rendered lines (rendered-series.ts) instead of
// Metrics. What it serves must be byte for byte what the full model merges and renders, in both
// formats, alone or merged with other files, with the same conflicts.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExpositionComposer, type ComposeSource } from '../../../src/agent/compose.js';
import { checkExposition } from '../../../src/core/check.js';
import { mergeSources } from '../../../src/core/merge.js';
import { expandRenderedSeries, familiesToKeep, openMetricsLines, renderedSeriesIdentities } from '../../../src/core/rendered-series.js';
import { renderOpenMetricsBytes, renderTextBytes, seriesIdentityTexts } from '../../../src/core/render.js';
import type { MetricFamily } from '../../../src/core/types.js';
import { cases } from '../../fixtures/differential/cases.js';

const RENDER_PARITY = join(import.meta.dirname, '../../fixtures/differential/render-parity');

/** The agent's kept families for `input`, or undefined when the agent would not serve it. */
function kept(input: Uint8Array, allowTimestamps = false): MetricFamily[] | undefined {
  const check = checkExposition(input, { retainSeries: false, allowTimestamps });
  return check.accepted ? familiesToKeep(input, check.families) : undefined;
}

function full(input: Uint8Array, allowTimestamps = false): MetricFamily[] {
  return checkExposition(input, { allowTimestamps }).families;
}

/** Serves `files` the agent's way and the full model's way; expects the same bytes and conflicts. */
function expectSameExposition(files: ReadonlyArray<{ id: string; input: Uint8Array }>, allowTimestamps = false): void {
  const agentSources: ComposeSource[] = [];
  const fullSources: ComposeSource[] = [];
  for (const file of files) {
    const families = kept(file.input, allowTimestamps);
    if (families === undefined) continue;
    agentSources.push({ id: file.id, families });
    fullSources.push({ id: file.id, families: full(file.input, allowTimestamps) });
  }
  const expected = mergeSources(fullSources);
  const merged = new ExpositionComposer().merge(agentSources);
  const parts = merged.finish([]).parts;
  expect(Buffer.concat(parts.flatMap((part) => part.text)).toString()).toBe(renderTextBytes(expected.families, { utf8Names: true }).toString());
  expect(Buffer.concat([...parts.flatMap((part) => part.openMetrics()), Buffer.from('# EOF\n')]).toString()).toBe(
    renderOpenMetricsBytes(expected.families, { utf8Names: true }).toString(),
  );
  expect([...merged.conflicts]).toEqual(expected.conflicts);
}

describe('families kept as rendered lines', () => {
  it.each(cases.map((c) => [c.name, c.input] as const))('serve as the full model does: %s', (_name, input) => {
    const bytes = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input);
    for (const allowTimestamps of [false, true]) expectSameExposition([{ id: '/d/a.prom', input: bytes }], allowTimestamps);
  });

  it('take a value that follows the name or the labels without a blank, as expfmt does (found by fuzzing: the scan ran past the buffer)', () => {
    for (const text of ['req_seconds_cou0.25\n', 'a.25\nb+Inf\nc-1\n', 'a{b="c"}.5\na{b="d"}-2\n', '# TYPE g gauge\ng.5\n']) {
      expectSameExposition([{ id: '/d/a.prom', input: Buffer.from(text) }]);
    }
  });

  it('serve the render-parity directory as the full model does, files alone and all together', () => {
    const files = readdirSync(RENDER_PARITY)
      .filter((name) => name.endsWith('.prom'))
      .map((name) => ({ id: join('/textfiles', name), input: readFileSync(join(RENDER_PARITY, name)) }));
    for (const file of files) expectSameExposition([file]);
    expectSameExposition(files);
  });

  it('give back exactly the parsed Metrics when expanded', () => {
    const input = Buffer.from(
      [
        '# HELP b_total B.',
        '# TYPE b_total counter',
        'b_total{a="z",b="1"} 3',
        'b_total{a="y\\\\x",b="\\"q\\""} 1e3 1700000000000',
        'b_total { a = "x" , b = "é\\n" , } -0.5',
        'd{z="1",a="2"} 1',
        'd{z="0",a="3"} 1',
        'c 1',
        '',
      ].join('\n'),
    );
    const families = kept(input, true)!;
    expect(families.map((family) => family.rendered !== undefined)).toEqual([true, true, true]);
    expect(families.map(expandRenderedSeries)).toEqual(full(input, true));
  });

  it('sort series by code point with escapes decoded, as the merge sorts the values', () => {
    // Raw bytes would put `\n` (0x5c 0x6e) after `!`; decoded, the newline (0x0a) comes first.
    const input = Buffer.from('m{v="a!"} 1\nm{v="a\\n"} 2\nm{v="a\\\\"} 3\nm{v="a"} 4\nm{v="aé"} 5\nm{v="a\\""} 6\n');
    expect(kept(input)![0]!.rendered).toBeDefined();
    expectSameExposition([{ id: '/d/m.prom', input }]);
  });

  it('share the text lines as OpenMetrics lines when no line differs, and copy up to the first that does', () => {
    const floats = kept(Buffer.from('m{v="a"} 1.5\nm{v="b"} 2e+09\nm{v="c"} NaN\n'))![0]!.rendered!;
    expect(openMetricsLines(floats)).toBe(floats.text);
    for (const text of ['m{v="a"} 1.5\nm{v="b"} 2\nm{v="c"} 0.5\n', 'm{v="a"} 1.5\nm{v="b"} 2.5 1700000000000\n']) {
      const input = Buffer.from(text);
      const rendered = kept(input, true)![0]!.rendered!;
      expect(openMetricsLines(rendered)).not.toBe(rendered.text);
      expectSameExposition([{ id: '/d/m.prom', input }], true);
    }
  });

  it('take labels listed in another order than by name, the same order in every series', () => {
    const input = Buffer.from('m{path="/b",method="GET"} 1\nm{path="/a",method="PUT"} 2\nm{path="/a",method="GET"} 3\n');
    expect(kept(input)![0]!.rendered).toBeDefined();
    expect(kept(input)!.map(expandRenderedSeries)).toEqual(full(input));
    expectSameExposition([{ id: '/d/m.prom', input }]);
    expectSameExposition([
      { id: '/d/m.prom', input },
      { id: '/d/n.prom', input: Buffer.from('m{method="GET",path="/a"} 9\n') },
    ]);
  });

  it('are not used where the order of labels varies or the merge would pad labels, with the same output', () => {
    for (const text of ['m{b="1",a="2"} 1\nm{a="3",b="4"} 2\n', 'm{a="1"} 1\nm{b="2"} 2\n', 'm{a="1"} 1\nm 2\n']) {
      const input = Buffer.from(text);
      expect(kept(input)![0]!.rendered).toBeUndefined();
      expectSameExposition([{ id: '/d/m.prom', input }]);
    }
  });
});

const labelValue = fc.oneof(
  fc.constantFrom('', 'a', 'b', 'a b', '}', 'x"y', 'back\\slash', 'new\nline', 'é', '😀', '\uffff'),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const value = fc.oneof(
  fc.constantFrom(
    '1',
    '0',
    '-0',
    '1.5',
    '1.50',
    '1e3',
    '+Inf',
    '-Inf',
    'NaN',
    '0x1p-2',
    '123456789012345678',
    '.5',
    '1E-7',
    '5.',
    '+5',
    '007',
    '-.5e-3',
    'Inf',
    '+inf',
    'nan',
    '1_0',
  ),
  fc.double({ noNaN: true }).map(String),
);
const blank = fc.constantFrom('', ' ', '\t', ' \t ');
const series = fc.record({
  values: fc.tuple(labelValue, labelValue),
  value,
  timestamp: fc.option(fc.constantFrom('1700000000000', '-5', '+12', '0'), { nil: undefined }),
  spacing: fc.tuple(blank, blank, blank),
  trailingComma: fc.boolean(),
  // Rarely, labels in another order than the family's other series (kept as Metrics then).
  reversed: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});
const family = fc.record({
  name: fc.constantFrom('alpha', 'beta_total', 'gamma'),
  type: fc.constantFrom('counter', 'gauge', 'untyped', undefined),
  help: fc.option(fc.constantFrom('Help.', 'Other help.', 'With \\\\ and \\n.'), { nil: undefined }),
  labels: fc.constantFrom(['a', 'b'], ['a'], [], ['b', 'a']),
  series: fc.array(series, { minLength: 1, maxLength: 8 }),
});

type FamilySpec = typeof family extends fc.Arbitrary<infer F> ? F : never;

function fileText(families: readonly FamilySpec[]): string {
  const escape = (v: string) => v.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const spec of families) {
    if (seen.has(spec.name)) continue;
    seen.add(spec.name);
    if (spec.help !== undefined) lines.push(`# HELP ${spec.name} ${spec.help}`);
    if (spec.type !== undefined) lines.push(`# TYPE ${spec.name} ${spec.type}`);
    for (const s of spec.series) {
      const pairs = spec.labels.map((label, i) => `${s.spacing[0]}${label}${s.spacing[1]}=${s.spacing[2]}"${escape(s.values[i]!)}"`);
      if (s.reversed) pairs.reverse();
      const labels = pairs.length === 0 ? '' : `{${pairs.join(',')}${s.trailingComma ? ',' : ''}}`;
      lines.push(`${spec.name}${labels}${s.spacing[0]} ${s.value}${s.timestamp === undefined ? '' : ` ${s.timestamp}`}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('families kept as rendered lines, generated files', () => {
  it('serve as the full model does, alone and merged with other files', () => {
    fc.assert(
      fc.property(fc.array(fc.array(family, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), (specs) => {
        const files = specs.map((families, index) => ({ id: `/d/${index}.prom`, input: Buffer.from(fileText(families)) }));
        expectSameExposition(files, true);
      }),
      { numRuns: 400 },
    );
  });

  it("give each series' identity as seriesIdentityTexts gives it for the series' Metric", () => {
    fc.assert(
      fc.property(fc.array(family, { minLength: 1, maxLength: 3 }), (specs) => {
        const input = Buffer.from(fileText(specs));
        const families = kept(input, true);
        if (families === undefined) return;
        const byName = new Map(full(input, true).map((f) => [f.name, f]));
        for (const family of families) {
          if (family.rendered === undefined) continue;
          expect(renderedSeriesIdentities(family.rendered).sort()).toEqual(seriesIdentityTexts(byName.get(family.name)!).sort());
        }
      }),
      { numRuns: 400 },
    );
  });
});
