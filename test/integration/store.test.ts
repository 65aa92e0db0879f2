// The store over real directories: what it serves, how a file's state follows its content and
// the clock, and that it logs state changes once.
import { mkdirSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TextfileStore } from '../../src/agent/store.js';
import { removeDirectory, sleep, tempDirectory, testStore, waitFor, writeAtomically, type RecordingLogger } from './store-helpers.js';

let dir: string;
let store: TextfileStore | undefined;

beforeEach(() => {
  dir = tempDirectory('store');
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  removeDirectory(dir);
});

async function started(overrides: Parameters<typeof testStore>[1] = {}): Promise<{ store: TextfileStore; logger: RecordingLogger }> {
  const made = testStore([dir], overrides);
  store = made.store;
  await made.store.start();
  return made;
}

async function text(): Promise<string> {
  return (await store!.snapshot()).text.toString();
}

async function fileReport(name: string) {
  return (await store!.snapshot()).files.find((f) => f.path === join(dir, name));
}

describe('TextfileStore', () => {
  it('serves every valid file merged, with node_exporter meta metrics, once started', async () => {
    writeFileSync(join(dir, 'a.prom'), '# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{job="a"} 3\n');
    writeFileSync(join(dir, 'b.prom'), '# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{job="b"} 4\n');
    const { store: s } = await started();
    expect(s.isReady()).toBe(true);
    const body = await text();
    expect(body).toContain('# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{job="a"} 3\njobs_total{job="b"} 4\n');
    expect(body).toContain(`node_textfile_mtime_seconds{file="${join(dir, 'a.prom')}"}`);
    expect(body).toContain('node_textfile_scrape_error 0\n');
    const snapshot = await s.snapshot();
    expect(snapshot.files.map((f) => [f.state, f.served, f.series])).toEqual([
      ['ok', true, 1],
      ['ok', true, 1],
    ]);
  });

  it('gives concurrent callers the same snapshot and does no work when nothing changed', async () => {
    writeFileSync(join(dir, 'a.prom'), 'a 1\n');
    const { store: s } = await started();
    await sleep(80); // let the directory's mtime become old enough to trust
    const first = await s.snapshot();
    const many = await Promise.all(Array.from({ length: 20 }, () => s.snapshot()));
    for (const snapshot of many) expect(snapshot).toBe(first);
  });

  it('shows a file written by rename on the very next snapshot, and drops a deleted one', async () => {
    const { store: s } = await started();
    writeAtomically(join(dir, 'new.prom'), 'fresh_metric 42\n');
    expect(await text()).toContain('fresh_metric 42\n');
    unlinkSync(join(dir, 'new.prom'));
    const after = await s.snapshot();
    expect(after.text.toString()).not.toContain('fresh_metric');
    expect(after.files).toEqual([]);
  });

  it('rejects a bad file alone: the others stay served and the error is attributed to it', async () => {
    writeFileSync(join(dir, 'ok.prom'), 'ok_metric 1\n');
    writeFileSync(join(dir, 'bad.prom'), 'bad_metric{job="a" 1\n');
    await started();
    const body = await text();
    expect(body).toContain('ok_metric 1\n');
    expect(body).not.toContain('bad_metric');
    expect(body).toContain('node_textfile_scrape_error 1\n');
    expect(body).toContain(`promdrop_textfile_error{file="${join(dir, 'bad.prom')}",reason="parse"} 1\n`);
    expect(body).toContain(`promdrop_textfile_up{file="${join(dir, 'bad.prom')}"} 0\n`);
    const bad = await fileReport('bad.prom');
    expect(bad).toMatchObject({ state: 'invalid', served: false, reason: 'parse' });
    expect(bad!.message).toMatch(new RegExp(`^${join(dir, 'bad.prom')}:1:\\d+: `));
  });

  it('logs a state change once, not once per scrape', async () => {
    writeFileSync(join(dir, 'bad.prom'), 'bad_metric{job="a" 1\n');
    const { logger } = await started();
    for (let i = 0; i < 30; i++) await text();
    expect(logger.problems('bad.prom')).toHaveLength(1);
    writeAtomically(join(dir, 'bad.prom'), 'bad_metric{job="a"} 1\n');
    await text();
    for (let i = 0; i < 30; i++) await text();
    expect(logger.records.filter((r) => r.msg === 'textfile is served again')).toHaveLength(1);
  });

  it('flags cross-file conflicts on the file that lost, deterministically', async () => {
    writeFileSync(join(dir, 'a.prom'), '# TYPE fam gauge\nfam{src="a"} 1\ndup{x="1"} 1\n');
    writeFileSync(join(dir, 'b.prom'), '# TYPE fam counter\nfam{src="b"} 2\nother 1\n');
    writeFileSync(join(dir, 'c.prom'), 'dup{x="1"} 3\n');
    await started();
    const body = await text();
    expect(body).toContain('fam{src="a"} 1\n');
    expect(body).not.toContain('fam{src="b"}');
    expect(body).toContain('other 1\n'); // only the conflicting family is dropped
    expect(body).toContain('dup{x="1"} 1\n');
    expect(body).not.toContain('dup{x="1"} 3');
    expect(body).toContain('node_textfile_scrape_error 1\n');
    expect(await fileReport('a.prom')).toMatchObject({ state: 'ok' });
    expect(await fileReport('b.prom')).toMatchObject({ state: 'conflict', served: true, reason: 'conflict' });
    // c's only series is the duplicate: it is flagged and, serving nothing, not served.
    expect(await fileReport('c.prom')).toMatchObject({ state: 'conflict', served: false, series: 0, reason: 'duplicate' });
    expect(await fileReport('b.prom')).toMatchObject({ series: 1 });
    expect((await fileReport('b.prom'))!.message).toContain(join(dir, 'a.prom'));
  });

  it('expires a file at mtime + ttl on time, even when nobody scrapes, and never deletes it', async () => {
    writeFileSync(join(dir, 'short.prom'), '# promdrop: ttl=2s\nshort_lived 1\n');
    writeFileSync(join(dir, 'long.prom'), 'long_lived 1\n');
    const { logger } = await started();
    expect(await text()).toContain('short_lived 1\n');
    // No snapshot() calls from here: only the store's own timer can notice the expiry.
    await waitFor('the expiry to be logged', () => logger.problems('expired').length > 0, 8_000);
    const snapshot = await store!.snapshot();
    expect(snapshot.text.toString()).not.toContain('short_lived');
    expect(snapshot.text.toString()).toContain('long_lived 1\n');
    expect(snapshot.text.toString()).toContain(`promdrop_textfile_error{file="${join(dir, 'short.prom')}",reason="expired"} 1\n`);
    expect(snapshot.files.find((f) => f.path.endsWith('short.prom'))).toMatchObject({ state: 'expired', served: false, ttlMs: 2_000 });
    // Rewriting the file brings it back.
    writeAtomically(join(dir, 'short.prom'), '# promdrop: ttl=1h\nshort_lived 2\n');
    expect(await text()).toContain('short_lived 2\n');
  });

  it('applies --textfile.max-age to files without their own ttl', async () => {
    const old = Date.now() / 1000 - 7_200;
    writeFileSync(join(dir, 'stale.prom'), 'stale_metric 1\n');
    utimesSync(join(dir, 'stale.prom'), old, old);
    writeFileSync(join(dir, 'own.prom'), '# promdrop: ttl=1d\nown_metric 1\n');
    utimesSync(join(dir, 'own.prom'), old, old);
    await started({ defaultTtlMs: 3_600_000 });
    const body = await text();
    expect(body).not.toContain('stale_metric');
    expect(body).toContain('own_metric 1\n');
  });

  it('keeps serving the last good content during the grace period, then drops it', async () => {
    const path = join(dir, 'g.prom');
    writeFileSync(path, 'graceful 1\n');
    const { logger } = await started({ gracePeriodMs: 3_000, settleMs: 100 });
    expect(await text()).toContain('graceful 1\n');
    await sleep(80);
    writeFileSync(path, 'graceful{broken 2\n'); // in place, invalid
    await waitFor('the broken content to be judged', async () => (await fileReport('g.prom'))?.reason === 'parse');
    const during = await store!.snapshot();
    expect(during.text.toString()).toContain('graceful 1\n');
    expect(during.files[0]).toMatchObject({ state: 'stale_grace', served: true, reason: 'parse' });
    expect(during.text.toString()).toContain('node_textfile_scrape_error 1\n');
    await waitFor('the grace period to end', async () => (await fileReport('g.prom'))?.state === 'invalid', 8_000);
    expect(await text()).not.toContain('graceful 1');
    expect(logger.problems('g.prom').length).toBeGreaterThanOrEqual(2);
  });

  it('does not serve a truncated in-place rewrite; shows the new content once it settles', async () => {
    const path = join(dir, 'inplace.prom');
    writeFileSync(path, '# TYPE line_one gauge\nline_one 1\n# TYPE line_two gauge\nline_two 2\n');
    await started({ settleMs: 1_000 });
    expect(await text()).toContain('line_two 2\n');
    await sleep(80);
    truncateSync(path, 0); // what `> file` does first
    const whileWriting = await store!.snapshot();
    expect(whileWriting.text.toString()).toContain('line_one 1\n');
    expect(whileWriting.text.toString()).toContain('line_two 2\n');
    writeFileSync(path, '# TYPE line_one gauge\nline_one 10\n', { flag: 'a' }); // cut at a line boundary
    await sleep(100);
    const midWrite = await store!.snapshot();
    expect(midWrite.text.toString()).toContain('line_two 2\n');
    expect(midWrite.text.toString()).not.toContain('line_one 10');
    writeFileSync(path, '# TYPE line_two gauge\nline_two 20\n', { flag: 'a' });
    await waitFor('the rewrite to settle', async () => (await text()).includes('line_two 20\n'), 5_000);
    expect(await text()).toContain('line_one 10\n');
  });

  it('reports directories and files it cannot use, without failing', async () => {
    mkdirSync(join(dir, 'dir.prom'));
    writeFileSync(join(dir, 'big.prom'), `${'m{a="x"} 1\n'.repeat(200)}`);
    writeFileSync(join(dir, 'many.prom'), 'm{a="1"} 1\nm{a="2"} 1\nm{a="3"} 1\n');
    writeFileSync(join(dir, 'own.prom'), 'node_textfile_scrape_error 5\n');
    const missing = join(dir, 'missing');
    const made = testStore([dir, missing], { maxFileSize: 1_000, maxSeriesPerFile: 2 });
    store = made.store;
    await store.start();
    const snapshot = await store.snapshot();
    const reasons = Object.fromEntries(snapshot.files.map((f) => [f.path.slice(dir.length + 1), f.reason]));
    expect(reasons).toEqual({ 'big.prom': 'too_large', 'dir.prom': 'not_regular', 'many.prom': 'too_many_series', 'own.prom': 'reserved_metric' });
    expect(snapshot.directories).toEqual([
      { path: dir, pattern: dir, ok: true },
      { path: missing, pattern: missing, ok: false, message: 'no such directory' },
    ]);
    const body = snapshot.text.toString();
    expect(body).toContain('node_textfile_scrape_error 1\n');
    expect(body).not.toContain('node_textfile_scrape_error 5');
    expect(body).toContain(`promdrop_textfile_directory_up{directory="${missing}"} 0\n`);
  });

  it('picks up a directory that appears later, and a glob match after a rescan', async () => {
    const later = join(dir, 'later');
    const made = testStore([later, join(dir, 'glob-*')]);
    store = made.store;
    await store.start();
    expect((await store.snapshot()).directories.map((d) => d.ok)).toEqual([false, false]);
    mkdirSync(later);
    writeFileSync(join(later, 'x.prom'), 'appeared 1\n');
    expect(await text()).toContain('appeared 1\n');
    mkdirSync(join(dir, 'glob-a'));
    writeFileSync(join(dir, 'glob-a', 'y.prom'), 'globbed 1\n');
    await store.rescan();
    expect(await text()).toContain('globbed 1\n');
  });
});
