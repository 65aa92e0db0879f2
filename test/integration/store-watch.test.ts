// The watcher is a hint, not the truth: these tests change files in place (which leaves the
// directory's mtime alone, so the per-scrape directory check cannot see it) and check that the
// store still notices through chokidar, for files that appear later, after a directory is replaced, in polling mode, and by
// rescans once watching has failed.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TextfileStore } from '../../src/agent/store.js';
import type { TextfileWatcher } from '../../src/fs/watcher.js';
import { removeDirectory, sleep, tempDirectory, testStore, waitFor, type RecordingLogger } from './store-helpers.js';

let root: string;
let store: TextfileStore | undefined;

beforeEach(() => {
  root = tempDirectory('watch');
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  removeDirectory(root);
});

async function served(): Promise<string> {
  return (await store!.snapshot()).text.toString();
}

/**
 * Rewrites in place once the store trusts the directory's mtime: after the racy window, and
 * after one more snapshot has re-listed it. From then on the per-scrape check rescans nothing,
 * so only the watcher (or a rescan) can reveal the rewrite.
 */
async function rewriteInPlace(path: string, content: string): Promise<void> {
  await sleep(100);
  await served();
  writeFileSync(path, content);
}

describe('watching', () => {
  it('notices an in-place rewrite through the watcher, without a rescan', async () => {
    const path = join(root, 'a.prom');
    writeFileSync(path, 'watched 1\n');
    const made = testStore([root], { settleMs: 50 });
    store = made.store;
    await store.start();
    expect(await served()).toContain('watched 1\n');
    await rewriteInPlace(path, 'watched 2\n');
    await waitFor('the watcher to report the rewrite', async () => (await served()).includes('watched 2\n'), 5_000);
  });

  it('watches a file that appeared after start: its in-place rewrites are noticed too', async () => {
    const made = testStore([root], { settleMs: 50 });
    store = made.store;
    await store.start();
    // Files are watched, not the directory: a new file must be watched once the store finds it.
    const path = join(root, 'late.prom');
    writeFileSync(`${path}.tmp`, 'late 1\n');
    renameSync(`${path}.tmp`, path);
    expect(await served()).toContain('late 1\n');
    await rewriteInPlace(path, 'late 2\n');
    await waitFor('the watcher to report the rewrite of the new file', async () => (await served()).includes('late 2\n'), 5_000);
  });

  it('recovers when the directory is deleted and created again', async () => {
    const dir = join(root, 'textfiles');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.prom'), 'phoenix 1\n');
    const made = testStore([dir], { settleMs: 50 });
    store = made.store;
    await store.start();
    expect(await served()).toContain('phoenix 1\n');

    // Delete it, let the deletion be noticed, then create it again (a package purge and
    // reinstall, or a tmpfs remounted): chokidar does not follow a path that comes back.
    removeDirectory(dir);
    await sleep(300);
    expect(await served()).not.toContain('phoenix');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.prom'), 'phoenix 2\n');
    expect(await served()).toContain('phoenix 2\n');

    // The old watch died with the old directory: an in-place change is only seen if the store
    // watches the new one.
    await rewriteInPlace(join(dir, 'a.prom'), 'phoenix 3\n');
    await waitFor('the new directory to be watched', async () => (await served()).includes('phoenix 3\n'), 5_000);
  });

  it('reports a directory that disappears and serves nothing from it', async () => {
    const dir = join(root, 'gone');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.prom'), 'vanishing 1\n');
    const made = testStore([dir]);
    store = made.store;
    await store.start();
    removeDirectory(dir);
    const body = await served();
    expect(body).not.toContain('vanishing');
    expect(body).toContain('node_textfile_scrape_error 1\n');
    expect(made.logger.problems('cannot read textfile directory')).toHaveLength(1);
  });

  it('notices in-place rewrites in polling mode', async () => {
    const path = join(root, 'polled.prom');
    writeFileSync(path, 'polled 1\n');
    const made = testStore([root], { usePolling: true, settleMs: 50, rescanIntervalMs: 3_600_000 });
    store = made.store;
    await store.start();
    await rewriteInPlace(path, 'polled 22\n'); // a different size, so the poller sees it
    await waitFor('the poller to report the rewrite', async () => (await served()).includes('polled 22\n'), 8_000);
  });

  it('falls back to rescans once inotify is exhausted, and says so once', async () => {
    const path = join(root, 'a.prom');
    writeFileSync(path, 'fallback 1\n');
    const made = testStore([root], { settleMs: 50, rescanIntervalMs: 300 });
    store = made.store;
    await store.start();
    const logger: RecordingLogger = made.logger;
    // What chokidar emits when inotify_add_watch fails with ENOSPC (max_user_watches reached).
    const watcher = store['watcher'] as TextfileWatcher;
    const exhausted = Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    watcher['watcher'].emit('error', exhausted);
    watcher['watcher'].emit('error', exhausted);
    expect(watcher.degraded).toBe(true);
    expect(logger.problems('inotify watch limit')).toHaveLength(1);
    await rewriteInPlace(path, 'fallback 2\n');
    await waitFor('a rescan to pick up the rewrite', async () => (await served()).includes('fallback 2\n'), 5_000);
  });
});
