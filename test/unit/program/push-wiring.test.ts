// The push wiring hands every group file the push API writes to the store as already judged: a
// scrape after a push serves it without the store reading and parsing the file again (CPU per
// push), and serves exactly what a store that reads the directory serves.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { families, key } from '../../helpers/push-input.js';
import { TextfileStore, type Snapshot, type StoreOptions } from '../../../src/agent/store.js';
import { createLogger } from '../../../src/log/logger.js';
import { openPush, type PushWiring } from '../../../src/program/push-wiring.js';
import { SelfMetrics } from '../../../src/program/self-metrics.js';
import { identityOf } from '../../../src/fs/textfile-reader.js';
import type * as TextfileReader from '../../../src/fs/textfile-reader.js';

/** Whole reads of each path by the store (readTextfile is the store's only way to read a file). */
const reads = vi.hoisted(() => new Map<string, number>());
vi.mock('../../../src/fs/textfile-reader.js', async (importOriginal) => {
  const original = await importOriginal<typeof TextfileReader>();
  return {
    ...original,
    readTextfile: (path: string, ...rest: Parameters<typeof original.readTextfile> extends [string, ...infer R] ? R : never) => {
      reads.set(path, (reads.get(path) ?? 0) + 1);
      return original.readTextfile(path, ...rest);
    },
  };
});

function text(snapshot: Snapshot): string {
  return Buffer.concat(snapshot.body('text')).toString('utf8');
}

async function body(store: TextfileStore): Promise<string> {
  return text(await store.snapshot());
}

describe('push wiring', () => {
  let root: string;
  let pushDirectory: string;
  let store: TextfileStore;
  let storeOptions: StoreOptions;
  let push: PushWiring;

  beforeEach(async () => {
    reads.clear();
    root = await mkdtemp(join(tmpdir(), 'promdrop-push-wiring-'));
    pushDirectory = join(root, 'push');
    const textfiles = join(root, 'textfiles');
    await Promise.all([mkdir(pushDirectory), mkdir(textfiles)]);
    await writeFile(join(textfiles, 'other.prom'), '# TYPE other gauge\nother 1\n');
    const logger = createLogger({ level: 'error', format: 'json', write: () => undefined });
    const selfMetrics = new SelfMetrics({ version: 'test', exporterMetrics: false, push: true });
    storeOptions = {
      directories: [textfiles, pushDirectory],
      maxFileSize: 1024 * 1024,
      maxSeriesPerFile: 1000,
      gracePeriodMs: 60_000,
      settleMs: 300,
      rescanIntervalMs: 3_600_000,
      usePolling: false,
      allowTimestamps: false,
      logger,
      reservedMetricNames: selfMetrics.reservedNames(),
      unwatchedDirectories: [pushDirectory],
      pushedDirectories: [pushDirectory],
    };
    store = new TextfileStore(storeOptions);
    await store.start();
    push = await openPush(
      {
        directory: pushDirectory,
        defaultTtlMs: undefined,
        allowedNetworks: [],
        maxBodyBytes: 1024 * 1024,
        bodyTimeoutMs: 1000,
        maxGroups: 10,
        adminApi: false,
      },
      { store, selfMetrics, logger, maxFileSize: 1024 * 1024, textfileMaxAgeMs: undefined, version: 'test' },
    );
  });

  afterEach(async () => {
    push.groups.close();
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  const groupReads = async (): Promise<number> => {
    const [name] = await readdir(pushDirectory);
    return reads.get(join(pushDirectory, name!)) ?? 0;
  };

  it('serves a pushed group after the push without the store reading its file', async () => {
    expect(
      await push.groups.push('PUT', key('job/j'), families('# HELP pushed_value A value.\n# TYPE pushed_value gauge\npushed_value{s="1"} 1\n'), 600_000),
    ).toEqual({
      ok: true,
    });
    expect(await body(store)).toContain('pushed_value{instance="",job="j",s="1"} 1\n');
    expect(await push.groups.push('PUT', key('job/j'), families('pushed_value{s="1"} 2\npushed_value{s="2"} 3\n'), undefined)).toEqual({ ok: true });
    const served = await body(store);
    expect(served).toContain('pushed_value{instance="",job="j",s="1"} 2\npushed_value{instance="",job="j",s="2"} 3\n');
    // A failed push rewrites the group (push_failure_time_seconds): handed over the same way.
    expect(await push.groups.push('POST', key('job/j'), families('pushed_value 1 1700000000000\n'), undefined)).toMatchObject({ ok: false });
    expect(await body(store)).toMatch(/push_failure_time_seconds\{instance="",job="j"\} [1-9]/);
    expect(await groupReads()).toBe(0);
    await store.rescan();
    expect(await groupReads()).toBe(0);
    // What a store that reads the directory serves, byte for byte.
    const reading = new TextfileStore(storeOptions);
    try {
      await reading.start();
      expect(await body(store)).toBe(await body(reading));
    } finally {
      await reading.close();
    }
    expect(await groupReads()).toBe(1);
  });

  it('takes a handed-over file only while it is still that version: a group deleted before the store got to it is not served', async () => {
    expect(await push.groups.push('PUT', key('job/gone'), families('ghost_value 1\n'), undefined)).toEqual({ ok: true });
    const [name] = await readdir(pushDirectory);
    const path = join(pushDirectory, name!);
    const identity = identityOf(await stat(path, { bigint: true }));
    await push.groups.delete(key('job/gone'));
    // Past the racy-clean margin, so that the listing below is trusted until the directory changes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await body(store)).not.toContain('ghost_value');
    // A hand-over that comes late, after the file is gone (the store's queue was busy).
    await store.adopt(path, { families: families('ghost_value 1\n'), series: 1, ttlMs: undefined, warnings: 0, identity });
    // Any change makes a new snapshot, which would show an entry taken for the gone file.
    await writeFile(join(root, 'textfiles', 'later.prom'), 'later_value 1\n');
    const served = await body(store);
    expect(served).toContain('later_value 1\n');
    expect(served).not.toContain('ghost_value');
  });
});
