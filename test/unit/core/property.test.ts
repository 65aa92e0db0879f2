// Properties of the core over generated input: what renders parses back to the same families,
// and no byte sequence makes the parser or the checker throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import { mergeSources } from '../../../src/core/merge.js';
import { parseExposition } from '../../../src/core/parse.js';
import { renderText } from '../../../src/core/render.js';
import type { MetricFamily } from '../../../src/core/types.js';

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,12}$/);
const labelName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,8}$/).filter((n) => n !== 'le' && n !== 'quantile');
const labelValue = fc.string({ unit: 'binary', maxLength: 12 });
const value = fc.oneof(fc.double(), fc.integer().map(Number), fc.constantFrom(NaN, Infinity, -Infinity, 0, 1, -1));
const labelSet = fc.uniqueArray(fc.tuple(labelName, labelValue), { selector: ([name]) => name, maxLength: 4 });

/** One family as text, valid by construction: unique series, cumulative integer buckets. */
const familyText = fc
  .record({
    name: metricName,
    help: fc.option(fc.string({ unit: 'binary', maxLength: 20 }), { nil: undefined }),
    type: fc.constantFrom('counter', 'gauge', 'untyped', 'histogram', 'summary'),
    series: fc.uniqueArray(labelSet, { selector: (set) => JSON.stringify(set.filter(([, v]) => v !== '').sort()), minLength: 1, maxLength: 4 }),
    values: fc.array(value, { minLength: 4, maxLength: 4 }),
    counts: fc.array(fc.nat(1000), { minLength: 3, maxLength: 3 }),
  })
  .map(({ name, help, type, series, values, counts }) => {
    const escape = (v: string) => v.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
    const lines: string[] = [];
    if (help !== undefined) lines.push(`# HELP ${name} ${help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))}`);
    lines.push(`# TYPE ${name} ${type}`);
    const [a, b, c] = [...counts].sort((x, y) => x - y) as [number, number, number];
    for (const set of series) {
      const body = set.map(([n, v]) => `${n}="${escape(v)}"`).join(',');
      const with_ = (extra: string) => `{${[body, extra].filter((part) => part !== '').join(',')}}`;
      const plain = body === '' ? '' : `{${body}}`;
      if (type === 'histogram') {
        lines.push(`${name}_bucket${with_('le="0.5"')} ${a}`, `${name}_bucket${with_('le="10"')} ${b}`, `${name}_bucket${with_('le="+Inf"')} ${c}`);
        lines.push(`${name}_sum${plain} ${values[1]}`, `${name}_count${plain} ${c}`);
      } else if (type === 'summary') {
        lines.push(`${name}${with_('quantile="0.5"')} ${values[0]}`, `${name}${with_('quantile="0.9"')} ${values[1]}`);
        lines.push(`${name}_sum${plain} ${values[2]}`, `${name}_count${plain} ${c}`);
      } else {
        lines.push(`${name}${plain} ${values[0]}`);
      }
    }
    return { name, text: `${lines.join('\n')}\n` };
  });

/** Several families with distinct names whose expanded series names cannot collide. */
const exposition = fc
  .uniqueArray(familyText, { selector: (f) => f.name.replace(/_(sum|count|bucket)$/, ''), minLength: 1, maxLength: 5 })
  .map((families) => families.map((f) => f.text).join(''));

/** Families without the positions, which legitimately change when text is re-rendered. */
function shape(families: readonly MetricFamily[]): unknown {
  return families.map((family) => ({
    name: family.name,
    help: family.help,
    type: family.type,
    metrics: family.metrics.map((metric) => {
      if (metric.kind === 'scalar') return { labels: metric.labels, value: metric.value };
      if (metric.kind === 'histogram')
        return { labels: metric.labels, buckets: metric.buckets.map((b) => [b.upperBound, b.count]), sum: metric.sum, count: metric.count };
      return { labels: metric.labels, quantiles: metric.quantiles.map((q) => [q.quantile, q.value]), sum: metric.sum, count: metric.count };
    }),
  }));
}

function normalised(text: string): MetricFamily[] {
  const result = checkExposition(Buffer.from(text));
  if (!result.accepted) throw new Error(`generated text was rejected: ${JSON.stringify(result.findings)}\n${text}`);
  return mergeSources([{ id: 'generated', families: result.families }], { missingHelp: () => undefined }).families;
}

describe('render and parse agree', () => {
  it('rendering parsed families and parsing again gives the same families', () => {
    fc.assert(
      fc.property(exposition, (text) => {
        const first = normalised(text);
        const rendered = renderText(first);
        const second = normalised(rendered);
        expect(shape(second)).toEqual(shape(first));
        expect(renderText(second)).toBe(rendered);
      }),
      { numRuns: 300 },
    );
  });
});

describe('no input makes the parser throw', () => {
  const isWellFormedFailure = (bytes: Uint8Array) => {
    const result = parseExposition(bytes);
    if (result.ok) return true;
    const { line, column, message } = result.error;
    return line >= 1 && column >= 1 && message.length > 0;
  };

  it('random bytes give a result or a positioned failure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(isWellFormedFailure(bytes)).toBe(true);
        checkExposition(bytes, { lint: true });
      }),
      { numRuns: 2000 },
    );
  });

  it('random edits of valid files give a result or a positioned failure', () => {
    const edit = fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'replace'),
        fc.constantFrom(0x0a, 0x0d, 0x20, 0x22, 0x23, 0x2c, 0x3d, 0x5c, 0x7b, 0x7d, 0x30, 0x41, 0xc3, 0xff, 0x00),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    );
    fc.assert(
      fc.property(exposition, edit, (text, edits) => {
        const bytes = [...Buffer.from(text)];
        for (const [position, kind, byte] of edits) {
          const at = position % (bytes.length + 1);
          if (kind === 'insert') bytes.splice(at, 0, byte);
          else if (kind === 'delete') bytes.splice(at, 1);
          else bytes[at] = byte;
        }
        const mutated = Uint8Array.from(bytes);
        expect(isWellFormedFailure(mutated)).toBe(true);
        const checked = checkExposition(mutated, { lint: true });
        expect(checked.accepted).toBe(checked.findings.every((f) => f.severity !== 'error'));
      }),
      { numRuns: 1000 },
    );
  });
});
