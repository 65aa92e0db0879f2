// `retainSeries: false` checks scalar series from a compact digest instead of keeping them.
// It must reach exactly the verdict and findings of the full model, or `promdrop check` and the
// agent would disagree about a file.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import { cases } from '../../fixtures/differential/cases.js';

function bothWays(input: Uint8Array, options: { allowTimestamps?: boolean } = {}) {
  const kept = checkExposition(input, { ...options, lint: true });
  const digested = checkExposition(input, { ...options, lint: true, retainSeries: false });
  return { kept, digested };
}

describe('digest mode agrees with the full model', () => {
  it.each(cases.map((c) => [c.name, c.input] as const))('%s', (_name, input) => {
    const bytes = typeof input === 'string' ? Buffer.from(input) : input;
    for (const allowTimestamps of [false, true]) {
      const { kept, digested } = bothWays(bytes, { allowTimestamps });
      expect(digested.accepted).toBe(kept.accepted);
      expect(digested.findings).toEqual(kept.findings);
    }
  });

  it('on large files with many findings of each kind (capped lists, exact counts)', () => {
    const lines = ['# TYPE c_total counter'];
    for (let i = 0; i < 3000; i++) {
      lines.push(`c_total{i="${i % 1000}",__r="${i % 5}"} ${i % 5 === 0 ? -i : i}${i % 11 === 0 ? ' 1700000000000' : ''}`);
    }
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const { kept, digested } = bothWays(bytes);
    // 20 listed + a "more" line for each of reserved labels, duplicates and negative counters.
    expect(
      kept.findings
        .filter((f) => f.message.endsWith('not listed'))
        .map((f) => f.reason)
        .sort(),
    ).toEqual(['duplicate_series', 'negative_counter', 'reserved_label']);
    expect(digested.findings).toEqual(kept.findings);
  });

  it('on series whose label names repeat, change, or come back after another family', () => {
    const lines = [
      'a{x="1",y="1"} 1',
      'a{x="2",y="2"} 1',
      'a 1',
      'a{x="3",y="3"} 1',
      'a{x="4",__y="4"} 1',
      'a{x="5",__y="5"} 1',
      'b{x="1",y="1"} 1',
      'a{x="6",__y="6"} 1',
      'a{x="7",y="7"} 1',
      'a{y="8",x="8"} 1',
      'a{y="9",x="9",z="9"} 1',
      'c{x="1"} 1',
      'd{camelCase="1"} 1',
      'c{camelCase="2"} 1',
    ];
    const { kept, digested } = bothWays(Buffer.from(`${lines.join('\n')}\n`));
    expect(kept.findings.filter((f) => f.reason === 'reserved_label').map((f) => f.line)).toEqual([5, 6, 8]);
    expect(kept.findings.filter((f) => f.message.includes('snake_case')).map((f) => f.family)).toEqual(['c', 'd']);
    expect(digested.findings).toEqual(kept.findings);
  });

  it('on a family of many thousand series followed by another, with a repeat at the end', () => {
    const lines = ['# TYPE big gauge'];
    for (let i = 0; i < 40_000; i++) lines.push(`big{id="${i}",host="h${i % 7}"} ${i}`);
    lines.push('big{host="h3",id="10"} 1', 'small{x="1"} 1', 'small{x="2"} 2');
    const { kept, digested } = bothWays(Buffer.from(`${lines.join('\n')}\n`));
    expect(kept.findings.filter((f) => f.severity === 'error').map((f) => [f.reason, f.line])).toEqual([['duplicate_series', 40_002]]);
    expect(digested.findings).toEqual(kept.findings);
    expect(checkExposition(Buffer.from(`${lines.join('\n')}\n`), { retainSeries: false }).families.map((f) => f.digest?.count)).toEqual([40_001, 2]);
  });

  it('on random edits of small files', () => {
    const base = '# TYPE a counter\na{x="1"} 1\na{x="2"} -2\na{x="1"} 3 123\n# HELP b B\nb{__y="z",w="\\n"} 4\nb 5\n';
    const edit = fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x0a, 0x20, 0x22, 0x2c, 0x31, 0x5f, 0x7b, 0x7d)), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(edit, (edits) => {
        const bytes = [...Buffer.from(base)];
        for (const [position, byte] of edits) bytes.splice(position % (bytes.length + 1), 0, byte);
        const { kept, digested } = bothWays(Uint8Array.from(bytes));
        expect(digested.findings).toEqual(kept.findings);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps no scalar series objects', () => {
    const result = checkExposition(Buffer.from('a{x="1"} 1\na{x="2"} 2\n'), { retainSeries: false });
    expect(result.families[0]?.metrics).toEqual([]);
    expect(result.families[0]?.digest?.count).toBe(2);
  });
});
