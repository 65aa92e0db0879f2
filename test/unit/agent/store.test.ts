// The agent's store always looks again, so the faults a one-shot load reports as they are
// (load-once.test.ts) are waited out here: a read refused for want of descriptors keeps what was
// served and is retried a second later, and a file caught mid-write is read once, then left to
// settle. The store is not started: no watcher, no periodic rescan, so only its own retry and
// deadline timers (and the scrapes' directory check) look again.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TextfileStore, type StoreLogger } from '../../../src/agent/store.js';
import { faultyAccess, newFaults, type Faults } from '../../helpers/faulty-access.js';

interface LogLine {
  readonly level: string;
  readonly msg: string;
}

let dir: string;
let faults: Faults;
let lines: LogLine[];
let store: TextfileStore;

const logger: StoreLogger = {
  info: (_obj, msg) => lines.push({ level: 'info', msg }),
  warn: (_obj, msg) => lines.push({ level: 'warn', msg }),
  error: (_obj, msg) => lines.push({ level: 'error', msg }),
  debug: (_obj, msg) => lines.push({ level: 'debug', msg }),
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-store-'));
  faults = newFaults();
  lines = [];
  store = new TextfileStore({
    directories: [dir],
    maxFileSize: 1024 * 1024,
    maxSeriesPerFile: 1_000,
    gracePeriodMs: 60_000,
    settleMs: 50,
    rescanIntervalMs: 3_600_000,
    usePolling: false,
    allowTimestamps: false,
    logger,
    fileAccessFor: async () => faultyAccess(faults),
  });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Replaced by rename, as a careful writer does: a new inode, read at once. */
function replace(name: string, content: string): void {
  const temp = join(dir, `.${name}.tmp`);
  writeFileSync(temp, content);
  renameSync(temp, join(dir, name));
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('TextfileStore (the agent)', () => {
  it('keeps serving what it read when a read is refused for want of descriptors (EMFILE), says so once, and retries a second later', async () => {
    replace('a.prom', 'a_value 1\n');
    await store.rescan();
    replace('a.prom', 'a_value 2\n');
    faults.descriptorsExhausted = true;
    await store.rescan();
    await store.rescan();
    const during = await store.snapshot();
    expect(during.files).toMatchObject([{ path: join(dir, 'a.prom'), state: 'ok', served: true }]);
    expect(during.text.toString()).toContain('a_value 1');
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.msg)).toEqual([
      expect.stringMatching(/too many open files \(EMFILE\); serving what was read before and retrying$/),
    ]);

    faults.descriptorsExhausted = false;
    // Nothing but the store's own retry rescans now (the store is not started).
    await until('the retry', () => lines.some((line) => line.msg.includes('descriptors and memory available again')));
    expect((await store.snapshot()).text.toString()).toContain('a_value 2');
  });

  it('reads a file caught mid-write once, then waits for it to settle before serving it', async () => {
    faults.tornReads = 1;
    replace('a.prom', 'a_value 1\n');
    await store.rescan();
    expect(faults.opens).toBe(1);
    await until('the settled read', async () => (await store.snapshot()).text.toString().includes('a_value 1'));
    expect(faults.opens).toBe(2);
    expect((await store.snapshot()).files).toMatchObject([{ state: 'ok', served: true }]);
  });
});
