import { describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import { mergeSources, type Source } from '../../../src/core/merge.js';
import { renderOpenMetrics, renderText } from '../../../src/core/render.js';

function source(id: string, text: string): Source {
  const result = checkExposition(Buffer.from(text));
  if (!result.accepted) throw new Error(`${id}: ${JSON.stringify(result.findings)}`);
  return { id, families: result.families };
}

describe('mergeSources', () => {
  it('merges one family across files with node_exporter ordering and HELP text', () => {
    const merged = mergeSources([source('/d/b.prom', '# TYPE up_x gauge\nup_x{src="b"} 2\n'), source('/d/a.prom', '# TYPE up_x gauge\nup_x{src="a"} 1\n')]);
    expect(merged.conflicts).toEqual([]);
    expect(renderText(merged.families)).toBe('# HELP up_x Metric read from /d/a.prom, /d/b.prom\n# TYPE up_x gauge\nup_x{src="a"} 1\nup_x{src="b"} 2\n');
  });

  it("keeps the first file's family on a TYPE conflict and blames the later file", () => {
    const merged = mergeSources([source('/d/b.prom', '# TYPE f counter\nf{s="b"} 2\n'), source('/d/a.prom', '# TYPE f gauge\nf{s="a"} 1\n')]);
    expect(renderText(merged.families)).toContain('f{s="a"} 1');
    expect(renderText(merged.families)).not.toContain('f{s="b"}');
    expect(merged.conflicts).toMatchObject([{ source: '/d/b.prom', kind: 'type', severity: 'error', winner: '/d/a.prom' }]);
  });

  it('keeps every series on a HELP conflict, serving the first HELP', () => {
    const merged = mergeSources([
      source('/d/a.prom', '# HELP f One\nf{s="a"} 1\n'),
      source('/d/b.prom', '# HELP f Two\nf{s="b"} 2\n'),
      source('/d/c.prom', 'f{s="c"} 3\n'),
    ]);
    const text = renderText(merged.families);
    expect(text).toBe('# HELP f One\n# TYPE f untyped\nf{s="a"} 1\nf{s="b"} 2\nf{s="c"} 3\n');
    expect(merged.conflicts).toMatchObject([{ source: '/d/b.prom', kind: 'help', severity: 'warning' }]);
  });

  it('drops only the later duplicate series, not the rest of its file', () => {
    const merged = mergeSources([source('/d/a.prom', 'f{s="x"} 1\n'), source('/d/b.prom', 'f{s="x"} 2\nf{s="y"} 3\ng 4\n')]);
    const text = renderText(merged.families);
    expect(text).toContain('f{s="x"} 1\n');
    expect(text).not.toContain('f{s="x"} 2');
    expect(text).toContain('f{s="y"} 3\n');
    expect(text).toContain('g 4\n');
    expect(merged.conflicts).toMatchObject([{ source: '/d/b.prom', kind: 'duplicate_series', line: 1 }]);
  });

  it("drops a family colliding with a summary's series from a later file", () => {
    const merged = mergeSources([
      source('/d/a.prom', '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n'),
      source('/d/b.prom', 's_sum 9\nother 1\n'),
    ]);
    expect(renderText(merged.families)).not.toContain('s_sum 9');
    expect(merged.conflicts).toMatchObject([{ source: '/d/b.prom', kind: 'name_collision' }]);
  });

  it('is independent of the order sources are given in', () => {
    const a = source('/d/a.prom', '# TYPE f gauge\nf{s="a"} 1\n');
    const b = source('/d/b.prom', '# TYPE f counter\nf{s="b"} 2\n');
    expect(renderText(mergeSources([a, b]).families)).toBe(renderText(mergeSources([b, a]).families));
  });

  it("pads missing labels within one file's family as node_exporter does, and sorts labels", () => {
    const merged = mergeSources([source('/d/a.prom', 'fam{b="2"} 2\nfam{a="1"} 1\n')]);
    expect(renderText(merged.families)).toContain('fam{a="",b="2"} 2\nfam{a="1",b=""} 1\n');
  });

  it('leaves HELP out when asked to', () => {
    const merged = mergeSources([source('x', 'f 1\n')], { missingHelp: () => undefined });
    expect(renderText(merged.families)).toBe('# TYPE f untyped\nf 1\n');
  });
});

describe('render', () => {
  const text = [
    '# HELP h Latency with a \\\\ backslash and \\n newline.',
    '# TYPE h histogram',
    'h_bucket{path="/a\\"b",le="+Inf"} 3',
    'h_bucket{path="/a\\"b",le="0.5"} 1',
    'h_sum{path="/a\\"b"} 1.5',
    'h_count{path="/a\\"b"} 3',
    '# TYPE c_total counter',
    'c_total 1e21',
    '# TYPE s summary',
    's{quantile="0.99"} 0.00001',
    's{quantile="0.5"} NaN',
    's_sum 2',
    's_count 7',
    '',
  ].join('\n');
  const families = mergeSources([source('x', text)], { missingHelp: () => undefined }).families;

  it('renders text 0.0.4 with sorted buckets, escaping and Go float formatting', () => {
    expect(renderText(families)).toBe(
      [
        '# TYPE c_total counter',
        'c_total 1e+21',
        '# HELP h Latency with a \\\\ backslash and \\n newline.',
        '# TYPE h histogram',
        'h_bucket{path="/a\\"b",le="0.5"} 1',
        'h_bucket{path="/a\\"b",le="+Inf"} 3',
        'h_sum{path="/a\\"b"} 1.5',
        'h_count{path="/a\\"b"} 3',
        '# TYPE s summary',
        's{quantile="0.5"} NaN',
        's{quantile="0.99"} 1e-05',
        's_sum 2',
        's_count 7',
        '',
      ].join('\n'),
    );
  });

  it('renders OpenMetrics with _total counters, .0 floats, integer counts and # EOF', () => {
    const om = renderOpenMetrics(families);
    expect(om).toContain('# TYPE c counter\nc_total 1e+21\n');
    expect(om).toContain('h_bucket{path="/a\\"b",le="0.5"} 1\n');
    expect(om).toContain('h_sum{path="/a\\"b"} 1.5\n');
    expect(om).toContain('s_sum 2.0\ns_count 7\n');
    expect(om.endsWith('s_count 7\n# EOF\n')).toBe(true);
    expect(om.match(/# EOF/g)).toHaveLength(1);
  });

  it('renders untyped and suffix-less counters as OpenMetrics unknown', () => {
    const om = renderOpenMetrics(mergeSources([source('x', '# TYPE c counter\nc 1\nu 2\n')]).families);
    expect(om).toContain('# TYPE c unknown\nc 1.0\n');
    expect(om).toContain('# TYPE u unknown\nu 2.0\n');
  });
});
