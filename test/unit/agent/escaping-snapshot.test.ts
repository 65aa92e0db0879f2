// What each kind of scraper is served for the same textfiles with UTF-8 names: the body under
// every escaping scheme (names as Go's EscapeName writes them, values never touched, the meta
// metrics' odd `file` values intact), the allow-utf-8 body read back, collisions of escaped
// names resolved as conflicts, and no extra work when every name is legacy-valid.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOnce } from '../../../src/agent/load-once.js';
import { escapeName, REWRITING_SCHEMES, type EscapingScheme } from '../../../src/core/escaping.js';
import { parseExposition } from '../../../src/core/parse.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-escaping-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const APP = [
  '# HELP "http.server.duration" Request time.',
  '# TYPE "http.server.duration" histogram',
  '{"http.server.duration_bucket","http.method"="GET",le="0.1"} 1',
  '{"http.server.duration_bucket","http.method"="GET",le="+Inf"} 2',
  '{"http.server.duration_sum","http.method"="GET"} 0.3',
  '{"http.server.duration_count","http.method"="GET"} 2',
  '# TYPE "my.gauge" gauge',
  '{"my.gauge",path="/a.b c"} 1',
  'plain_metric{"host.name"="h.example"} 2',
  '',
].join('\n');
const ODD_FILE = 'odd "quote" \\back.prom';

function text(snapshot: Awaited<ReturnType<typeof loadOnce>>, escaping: EscapingScheme): string {
  return Buffer.concat(snapshot.body('text', escaping)).toString('utf8');
}

function metaLines(body: string): string[] {
  return body.split('\n').filter((line) => line.startsWith('node_textfile_') || line.startsWith('promdrop_textfile_'));
}

describe('a textfile with UTF-8 names, served under each escaping scheme', () => {
  it('writes names as EscapeName does, label values untouched, for every scheme and both formats', async () => {
    writeFileSync(join(dir, 'app.prom'), APP);
    const snapshot = await loadOnce({ directories: [dir] });
    expect(snapshot.files.map((f) => f.state)).toEqual(['ok']);
    for (const scheme of REWRITING_SCHEMES) {
      const h = escapeName('http.server.duration', scheme);
      const m = escapeName('http.method', scheme);
      const body = text(snapshot, scheme);
      expect(body).toContain(
        `# TYPE ${h} histogram\n${h}_bucket{${m}="GET",le="0.1"} 1\n${h}_bucket{${m}="GET",le="+Inf"} 2\n${h}_sum{${m}="GET"} 0.3\n${h}_count{${m}="GET"} 2\n`,
      );
      expect(body).toContain(`${escapeName('my.gauge', scheme)}{path="/a.b c"} 1\n`);
      expect(body).toContain(`plain_metric{${escapeName('host.name', scheme)}="h.example"} 2\n`);
      expect(body).not.toContain('"http.server.duration"');
      // Every line is text 0.0.4 a Prometheus 2 parser reads.
      expect(parseExposition(Buffer.from(body), { nameValidation: 'legacy' }).ok).toBe(true);
      const om = Buffer.concat(snapshot.body('openmetrics', scheme)).toString('utf8');
      expect(om).toContain(`${h}_bucket{${m}="GET",le="0.1"} 1\n`);
      expect(om.endsWith('# EOF\n')).toBe(true);
    }
    // Go's values for the names here.
    expect(text(snapshot, 'underscores')).toContain('http_server_duration_bucket{http_method="GET",le="0.1"} 1');
    expect(text(snapshot, 'dots')).toContain('http_dot_server_dot_duration_bucket{http_dot_method="GET",le="0.1"} 1');
    expect(text(snapshot, 'values')).toContain('U__http_2e_server_2e_duration_bucket{U__http_2e_method="GET",le="0.1"} 1');
  });

  it('serves allow-utf-8 scrapers the names quoted, which parse back to the same families', async () => {
    writeFileSync(join(dir, 'app.prom'), APP);
    const snapshot = await loadOnce({ directories: [dir] });
    const body = text(snapshot, 'allow-utf-8');
    expect(body).toContain('{"http.server.duration_bucket","http.method"="GET",le="0.1"} 1\n');
    const served = parseExposition(Buffer.from(body));
    const original = parseExposition(Buffer.from(APP));
    expect(served.ok && original.ok).toBe(true);
    if (!served.ok || !original.ok) return;
    const byName = new Map(served.families.map((f) => [f.name, f]));
    for (const family of original.families) {
      const got = byName.get(family.name);
      expect(got?.type).toBe(family.type);
      expect(got?.metrics.map((m) => [...m.labels].sort())).toEqual(family.metrics.map((m) => [...m.labels].sort()));
    }
  });

  it("keeps the meta metrics' file labels of odd paths byte for byte under every scheme", async () => {
    writeFileSync(join(dir, 'app.prom'), APP);
    writeFileSync(join(dir, ODD_FILE), 'odd_metric 1\n');
    writeFileSync(join(dir, 'broken.prom'), '{"unterminated 1\n');
    const snapshot = await loadOnce({ directories: [dir] });
    const expected = metaLines(text(snapshot, 'allow-utf-8'));
    expect(expected.some((line) => line.includes('odd \\"quote\\" \\\\back.prom'))).toBe(true);
    for (const scheme of REWRITING_SCHEMES) expect(metaLines(text(snapshot, scheme))).toEqual(expected);
  });

  it('serves one of two families that escape to one name, under every scheme, and reports the other', async () => {
    writeFileSync(join(dir, 'b.prom'), 'a_b 1\n');
    writeFileSync(join(dir, 'c.prom'), '{"a.b"} 2\n');
    const snapshot = await loadOnce({ directories: [dir] });
    for (const scheme of ['allow-utf-8', ...REWRITING_SCHEMES] as const) {
      const body = text(snapshot, scheme);
      expect(body.match(/^a_b 1$/gm)).toHaveLength(1);
      expect(body).not.toContain(' 2\n{');
      expect(body).not.toMatch(/^(\{"a\.b"\}|a_b) 2$/m);
    }
    const c = snapshot.files.find((file) => file.path.endsWith('c.prom'))!;
    expect(c.state).toBe('conflict');
    expect(c.message).toMatch(/a\.b and a_b .*both a_b .*escaping=underscores/);
  });

  it('makes no second body when every name is legacy-valid', async () => {
    writeFileSync(join(dir, 'plain.prom'), 'plain 1\n');
    const snapshot = await loadOnce({ directories: [dir] });
    for (const scheme of REWRITING_SCHEMES) {
      expect(snapshot.body('text', scheme)).toBe(snapshot.body('text'));
      expect(snapshot.body('openmetrics', scheme)).toBe(snapshot.body('openmetrics'));
    }
  });

  it('refuses quoted names under the legacy scheme, as Prometheus 2 would', async () => {
    writeFileSync(join(dir, 'app.prom'), APP);
    const snapshot = await loadOnce({ directories: [dir], nameValidation: 'legacy' });
    expect(snapshot.files[0]!.state).toBe('invalid');
    expect(snapshot.files[0]!.message).toMatch(/app\.prom:1:8: invalid metric name in comment/);
  });
});
