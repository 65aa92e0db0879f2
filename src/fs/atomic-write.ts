// The one way promdrop replaces a file in a textfile directory. Every step closes a failure
// that hand-rolled "write then mv" scripts hit in practice (docs/writing.md has the story):
//
//   1. temp file in the TARGET directory: rename() is atomic only within one file system
//      (sponge's $TMPDIR fallback silently rewrites in place when it is not);
//   2. temp name dot-prefixed and ending in `.tmp`: neither promdrop (no dot files) nor
//      node_exporter (`*.prom` only) ever reads a half-written temp file;
//   3. fsync the data before the rename: otherwise a power loss can leave the new name
//      pointing at an empty or partial file;
//   4. chmod to an explicit mode: temp-file APIs create 0600 files the exporter user cannot read;
//   5. rename over the target: readers see the complete old or the complete new file, never
//      a mix;
//   6. fsync the directory: makes the rename itself survive a power loss.
// On any failure before the rename the temp file is removed and the target is left untouched.
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { identityOf, type FileIdentity } from './textfile-reader.js';

/** Readable by the exporter's user whatever the writer's umask; writable by the writer only. */
export const DEFAULT_FILE_MODE = 0o644;

export type WriteStep = 'create-temp' | 'write' | 'fsync' | 'chmod' | 'before-commit' | 'rename' | 'fsync-directory' | 'unlink';

const STEP_TEXT: Record<WriteStep, string> = {
  'create-temp': 'cannot create a temporary file next to it',
  write: 'cannot write the temporary file',
  fsync: 'cannot flush the temporary file to disk',
  chmod: 'cannot set the file mode',
  'before-commit': 'gave up before replacing it',
  rename: 'cannot rename the temporary file over it',
  'fsync-directory': 'replaced, but cannot flush the directory to disk',
  unlink: 'cannot remove it',
};

/** A failed write or removal, naming the file and the step that failed. */
export class AtomicWriteError extends Error {
  /** The errno code (`EACCES`, `ENOSPC`, ...) when the cause is a system error. */
  readonly code: string | undefined;

  constructor(
    readonly path: string,
    readonly step: WriteStep,
    cause: unknown,
  ) {
    super(`${path}: ${STEP_TEXT[step]}: ${describeCause(cause)}`, { cause });
    this.name = 'AtomicWriteError';
    this.code = errnoCode(cause);
  }
}

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0644). */
  readonly mode?: number;
  /**
   * Called after the data is durable and just before the rename; throwing aborts the write
   * (temp file removed, target untouched) and the thrown error is passed on as is. Lock
   * holders use it to make sure the lock is still theirs at the moment of the commit.
   */
  readonly beforeCommit?: () => void;
  /** Modification time to give the new file instead of now (ms since the epoch): the push API
   *  rewrites a group to record a failed push without restarting the TTL counted from it. */
  readonly mtimeMs?: number;
}

const TEMP_SUFFIX = '.tmp';

/** `.NAME.PID.RANDOM.tmp`: dot-prefixed and not ending in `.prom`, so no reader picks it up. */
function tempPathFor(targetPath: string): string {
  const random = Math.floor(Math.random() * 0x100000000).toString(36);
  return join(dirname(targetPath), `.${basename(targetPath)}.${process.pid}.${random}${TEMP_SUFFIX}`);
}

/**
 * Replaces `targetPath` with `data` so that no reader, crash or power loss sees a partial file.
 * Resolves to the new file's identity as a stat right after the rename sees it (the rename sets
 * its ctime), for a reader that must know this version without reading it; undefined when that
 * stat fails, which does not make the write fail.
 */
export async function writeAtomically(targetPath: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<FileIdentity | undefined> {
  const mode = options.mode ?? DEFAULT_FILE_MODE;
  const tempPath = tempPathFor(targetPath);
  let handle: FileHandle;
  try {
    // 'wx': O_EXCL, so a leftover with the same name is never written through.
    handle = await open(tempPath, 'wx', mode);
  } catch (error) {
    throw new AtomicWriteError(targetPath, 'create-temp', error);
  }
  let step: WriteStep = 'write';
  try {
    await handle.writeFile(data);
    step = 'fsync';
    await handle.sync();
    // open()'s mode is filtered by the umask; chmod is not.
    step = 'chmod';
    await handle.chmod(mode);
    if (options.mtimeMs !== undefined) {
      const seconds = options.mtimeMs / 1000;
      await handle.utimes(seconds, seconds);
    }
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await removeQuietly(tempPath);
    throw new AtomicWriteError(targetPath, step, error);
  }
  if (options.beforeCommit !== undefined) {
    try {
      options.beforeCommit();
    } catch (error) {
      await removeQuietly(tempPath);
      throw error;
    }
  }
  try {
    await rename(tempPath, targetPath);
  } catch (error) {
    await removeQuietly(tempPath);
    throw new AtomicWriteError(targetPath, 'rename', error);
  }
  const identity = await stat(targetPath, { bigint: true }).then(identityOf, () => undefined);
  await syncDirectoryOf(targetPath);
  return identity;
}

/** Removes `targetPath` durably; false when it did not exist. */
export async function removeDurably(targetPath: string): Promise<boolean> {
  try {
    await unlink(targetPath);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw new AtomicWriteError(targetPath, 'unlink', error);
  }
  await syncDirectoryOf(targetPath);
  return true;
}

/**
 * Removes temp files of `targetPath` left by writers that were killed mid-write (their process
 * is gone). Call it while holding the target's lock; a temp file of a live process is kept.
 * Returns how many were removed.
 */
export async function removeAbandonedTempFiles(targetPath: string): Promise<number> {
  const directory = dirname(targetPath);
  const prefix = `.${basename(targetPath)}.`;
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0; // the write that follows reports the directory problem
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const pid = Number(name.slice(prefix.length, name.indexOf('.', prefix.length)));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isProcessAlive(pid)) continue;
    if (await removeQuietly(join(directory, name))) removed++;
  }
  return removed;
}

/** True if `path` is a temp file name writeAtomically could have made. */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(error) === 'EPERM';
  }
}

async function syncDirectoryOf(targetPath: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dirname(targetPath), 'r');
    await handle.sync();
  } catch (error) {
    const code = errnoCode(error);
    // Some file systems cannot fsync a directory at all; the rename is as durable as they allow.
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') {
      throw new AtomicWriteError(targetPath, 'fsync-directory', error);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function removeQuietly(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch {
    return false;
  }
}

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
