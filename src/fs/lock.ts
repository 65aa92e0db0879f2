// Cross-process locking of one textfile, so that two cron jobs doing read-modify-write on the
// same file (`inc`, `set`, `run`) never lose each other's update. A thin wrapper around
// proper-lockfile 4.1.2 that fixes its sharp edges for this use:
//   - the target need not exist yet (realpath: false, and the lock lives next to it);
//   - every promdrop writer uses the same stale/update timings, which the library requires
//     but cannot check;
//   - waiting is bounded by a deadline instead of a retry count;
//   - a lost lock becomes a typed error at the next commit instead of an exception thrown
//     from a timer that would crash the process;
//   - a lock left by a killed writer is taken over once it is stale.
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { lock as acquireLockfile } from 'proper-lockfile';
import { errnoCode } from './atomic-write.js';
import { explainDirectoryProblem } from './directory-permission.js';

/**
 * A lock whose directory has not been touched for this long belongs to a dead writer and is
 * taken over. Holders touch it every LOCK_UPDATE_MS, so only a holder frozen for several
 * update periods can lose a live lock. All promdrop versions must agree on these values.
 */
export const LOCK_STALE_MS = 10_000;
export const LOCK_UPDATE_MS = 2_000;
/** Longer than LOCK_STALE_MS, so that by default a killed writer's lock is always recovered. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

const FIRST_RETRY_DELAY_MS = 5;
const MAX_RETRY_DELAY_MS = 100;

export type LockFailure = 'timeout' | 'lost' | 'failed';

/** The lock on `path` could not be had (`timeout`, `failed`) or was taken away (`lost`). */
export class LockError extends Error {
  constructor(
    readonly path: string,
    readonly failure: LockFailure,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'LockError';
  }
}

export interface HeldLock {
  /** The locked file. */
  readonly path: string;
  /** Throws a LockError('lost') if the lock is no longer ours; call right before committing. */
  assertHeld(): void;
}

export interface LockOptions {
  /** How long to wait for another writer to finish (default DEFAULT_LOCK_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** `.NAME.lock` next to the target: dot-prefixed, so neither the agent nor `list` shows it. */
export function lockPathFor(targetPath: string): string {
  return join(dirname(targetPath), `.${basename(targetPath)}.lock`);
}

/** Runs `critical` while holding the lock on `targetPath` (which need not exist). */
export async function withLock<T>(targetPath: string, critical: (lock: HeldLock) => Promise<T>, options: LockOptions = {}): Promise<T> {
  const path = resolve(targetPath);
  const lockPath = lockPathFor(path);
  let lostBecause: unknown;
  const release = await acquire(path, lockPath, options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, (error) => {
    lostBecause = error;
  });
  const held: HeldLock = {
    path,
    assertHeld() {
      if (lostBecause === undefined && !lockDirectoryExists(lockPath)) lostBecause = new Error('lock directory removed');
      if (lostBecause !== undefined) {
        throw new LockError(
          path,
          'lost',
          `${path}: lost the lock (${lockPath}) before writing; another writer may have taken it over: ${describe(lostBecause)}`,
          { cause: lostBecause },
        );
      }
    },
  };
  try {
    return await critical(held);
  } finally {
    // A lost lock cannot be released (ERELEASED), and a lock directory we fail to remove is
    // taken over once stale: neither is worth hiding the outcome of `critical` for.
    await release().catch(() => undefined);
  }
}

async function acquire(path: string, lockPath: string, timeoutMs: number, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let delay = FIRST_RETRY_DELAY_MS;
  for (;;) {
    try {
      return await acquireLockfile(path, {
        stale: LOCK_STALE_MS,
        update: LOCK_UPDATE_MS,
        realpath: false,
        retries: 0,
        lockfilePath: lockPath,
        onCompromised,
      });
    } catch (error) {
      if (errnoCode(error) !== 'ELOCKED') {
        // A missing or unwritable directory shows first here, as the lock is the first thing made.
        const explained = explainDirectoryProblem(dirname(path), errnoCode(error));
        throw new LockError(path, 'failed', explained ?? `${path}: cannot lock (${lockPath}): ${describe(error)}`, { cause: error });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new LockError(
          path,
          'timeout',
          `${path}: another writer still holds the lock (${lockPath}) after ${timeoutMs} ms; ` +
            `raise --lock-timeout, or wait: a lock left by a killed writer is taken over after ${LOCK_STALE_MS / 1000} s`,
          { cause: error },
        );
      }
      // Jitter keeps many waiting writers from retrying in lockstep.
      await sleep(Math.min(remaining, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  }
}

function lockDirectoryExists(lockPath: string): boolean {
  try {
    return statSync(lockPath).isDirectory();
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
