import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeAtomically } from '../../../src/fs/atomic-write.js';
import { LOCK_STALE_MS, LOCK_UPDATE_MS, LockError, lockPathFor, withLock } from '../../../src/fs/lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('withLock', () => {
  it('locks a file that does not exist yet, next to it under a name no reader picks up, and cleans up', async () => {
    const target = join(dir, 'new.prom');
    let during: string[] = [];
    await withLock(target, async () => {
      during = readdirSync(dir);
    });
    expect(during).toEqual(['.new.prom.lock']);
    expect(lockPathFor(target)).toBe(join(dir, '.new.prom.lock'));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never lets two critical sections on one file overlap', async () => {
    const target = join(dir, 'a.prom');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(target, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it('gives up after the bounded wait with a typed error naming the file', async () => {
    const target = join(dir, 'a.prom');
    const holding = deferred();
    const held = deferred();
    const holder = withLock(target, async () => {
      held.resolve();
      await holding.promise;
    });
    await held.promise;
    const error = await withLock(target, async () => 'never', { timeoutMs: 200 }).catch((caught: unknown) => caught);
    holding.resolve();
    await holder;
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).failure).toBe('timeout');
    expect((error as LockError).message).toContain(target);
    expect((error as LockError).message).toContain('--lock-timeout');
  });

  it('takes over a stale lock left by a writer that was killed', async () => {
    const target = join(dir, 'a.prom');
    const lockPath = lockPathFor(target);
    mkdirSync(lockPath);
    const longAgo = (Date.now() - LOCK_STALE_MS - 5_000) / 1000;
    utimesSync(lockPath, longAgo, longAgo);
    const result = await withLock(target, async () => 'mine', { timeoutMs: 1_000 });
    expect(result).toBe('mine');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('does not take over a fresh lock', async () => {
    const target = join(dir, 'a.prom');
    mkdirSync(lockPathFor(target));
    const error = await withLock(target, async () => 'stolen', { timeoutMs: 100 }).catch((caught: unknown) => caught);
    expect((error as LockError).failure).toBe('timeout');
  });

  it('reports a lock that cannot be created (missing directory) as a typed failure', async () => {
    const error = await withLock(join(dir, 'missing', 'a.prom'), async () => 'x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).failure).toBe('failed');
  });

  it('notices a removed lock before the commit, so the target stays untouched', async () => {
    const target = join(dir, 'a.prom');
    writeFileSync(target, 'old 1\n');
    const error = await withLock(target, async (lock) => {
      rmdirSync(lockPathFor(target));
      await writeAtomically(target, 'new 1\n', { beforeCommit: () => lock.assertHeld() });
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).failure).toBe('lost');
    expect(readFileSync(target, 'utf8')).toBe('old 1\n');
    expect(readdirSync(dir)).toEqual(['a.prom']);
  });

  it('turns a lock taken over by someone else into an error at the commit, not a crash from a timer', async () => {
    const target = join(dir, 'a.prom');
    const lockPath = lockPathFor(target);
    const error = await withLock(target, async (lock) => {
      // Another writer "takes over": same directory name, but not our mtime.
      rmdirSync(lockPath);
      mkdirSync(lockPath);
      const past = (Date.now() - 60_000) / 1000;
      utimesSync(lockPath, past, past);
      // proper-lockfile notices at its next update and calls onCompromised from a timer.
      await new Promise((r) => setTimeout(r, LOCK_UPDATE_MS + 1_000));
      lock.assertHeld();
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).failure).toBe('lost');
  });
});
