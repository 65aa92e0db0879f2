// Reads one textfile safely: never blocks on a FIFO or device that happens to be named *.prom,
// never reads more than the size limit, and says whether the bytes it returns can be trusted
// to be one version of the file (nothing changed it while it was being read).
import { constants, type BigIntStats } from 'node:fs';
import { threadPoolAccess, type FileAccess } from './file-access.js';
import { currentUserName } from './directory-permission.js';

/** What identifies one version of a file's content without reading it. Two equal identities
 *  mean "same bytes" for any writer that does not forge timestamps. */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** Creation time (0 where the file system has none). ext4 gives a freed inode number to the
   *  next new file at once; the birth time tells that new file from the old one rewritten. */
  readonly birthtimeNs: bigint;
}

export type ReadFailureReason = 'permission' | 'not_regular' | 'too_large' | 'io';

export type TextfileRead =
  /** The path no longer exists (removed between listing and reading). Not an error. */
  | { readonly kind: 'gone' }
  | {
      readonly kind: 'failed';
      readonly reason: ReadFailureReason;
      readonly message: string;
      /** The agent is short of descriptors or memory (EMFILE, ENFILE, ENOMEM): says nothing
       *  about the file, and the same look may succeed a moment later. */
      readonly transient?: true;
      /** Known when the failure came after a successful stat. */
      readonly identity?: FileIdentity;
    }
  | {
      readonly kind: 'read';
      readonly bytes: Buffer;
      /** Identity after the read (what node_exporter's post-parse fstat would report). */
      readonly identity: FileIdentity;
      /** False when the file changed while it was read: the bytes may mix two versions. */
      readonly stable: boolean;
    };

/** The outcome of a stat alone: the identity of a regular file, or why there is none. */
export type TextfileStat = { readonly kind: 'stat'; readonly identity: FileIdentity } | Exclude<TextfileRead, { kind: 'read' }>;

export interface ReadLimits {
  readonly maxFileSize: number;
}

export function identityOf(stats: BigIntStats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs, birthtimeNs: stats.birthtimeNs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return sameInode(a, b) && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** The same file (possibly rewritten in place), not another file that reused its inode number. */
export function sameInode(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.birthtimeNs === b.birthtimeNs;
}

/** stat (following symlinks) of a textfile path, classified. Never throws. */
export async function statTextfile(path: string, access: FileAccess = threadPoolAccess): Promise<TextfileStat> {
  let stats: BigIntStats;
  try {
    stats = await access.stat(path);
  } catch (error) {
    return classifyStatError(path, error, access);
  }
  if (!stats.isFile()) return notRegular(path, stats);
  return { kind: 'stat', identity: identityOf(stats) };
}

/**
 * Reads a textfile whole. Order matters: stat first so that special files and oversized files
 * are never opened or read; open non-blocking so that a FIFO swapped in after the stat cannot
 * hang the agent; fstat the descriptor because the path may now name something else.
 */
export async function readTextfile(path: string, limits: ReadLimits, access: FileAccess = threadPoolAccess): Promise<TextfileRead> {
  const first = await statTextfile(path, access);
  if (first.kind !== 'stat') return first;
  if (first.identity.size > BigInt(limits.maxFileSize)) return tooLarge(path, first.identity, limits);

  let fd: number;
  try {
    fd = await access.open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const failure = await classifyStatError(path, error, access);
    // With the identity, an unreadable file is not retried until its mode or owner changes.
    return failure.kind === 'failed' ? { ...failure, identity: first.identity } : failure;
  }
  try {
    const before = await access.fstat(fd);
    if (!before.isFile()) return notRegular(path, before);
    const beforeIdentity = identityOf(before);
    if (before.size > BigInt(limits.maxFileSize)) return tooLarge(path, beforeIdentity, limits);
    const bytes = await readAll(access, fd, Number(before.size), limits.maxFileSize);
    if (bytes === undefined) return tooLarge(path, beforeIdentity, limits);
    const after = identityOf(await access.fstat(fd));
    const stable = sameIdentity(beforeIdentity, after) && BigInt(bytes.length) === after.size;
    return { kind: 'read', bytes, identity: after, stable };
  } catch (error) {
    const failure = { kind: 'failed', reason: 'io', message: `${path}: ${describeError(error)}` } as const;
    return isTransientErrorCode(errorCode(error)) ? { ...failure, transient: true } : failure;
  } finally {
    await access.close(fd).catch(() => undefined);
  }
}

/** Reads to end of file, allowing for a file that grew since the fstat; undefined when it
 *  grows past the limit. */
async function readAll(access: FileAccess, fd: number, expectedSize: number, maxFileSize: number): Promise<Buffer | undefined> {
  // One byte more than expected, so that growth is noticed without a second read call.
  let buffer = Buffer.allocUnsafe(Math.min(expectedSize, maxFileSize) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxFileSize) return undefined;
      const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxFileSize + 1));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const bytesRead = await access.read(fd, buffer, length, buffer.length - length);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  if (length > maxFileSize) return undefined;
  // Copy when most of the buffer is unused, so that a shrunken file does not pin its old size.
  return length * 2 < buffer.length ? Buffer.from(buffer.subarray(0, length)) : buffer.subarray(0, length);
}

async function classifyStatError(path: string, error: unknown, access: FileAccess): Promise<Exclude<TextfileRead, { kind: 'read' }>> {
  const code = errorCode(error);
  if (code === 'ENOENT') {
    // A dangling symlink is an error worth reporting (node_exporter does); a vanished file is not.
    const isLink = await access.lstat(path).then(
      (s) => s.isSymbolicLink(),
      () => false,
    );
    if (!isLink) return { kind: 'gone' };
    return { kind: 'failed', reason: 'io', message: `${path}: dangling symlink (its target does not exist)` };
  }
  if (code === 'ENOTDIR') return { kind: 'gone' };
  if (code === 'EACCES' || code === 'EPERM') {
    return { kind: 'failed', reason: 'permission', message: `${path}: permission denied (${code}); user ${currentUserName()} cannot read it` };
  }
  if (code === 'ELOOP') return { kind: 'failed', reason: 'io', message: `${path}: too many levels of symbolic links (ELOOP)` };
  if (isTransientErrorCode(code)) return { kind: 'failed', reason: 'io', message: `${path}: ${describeError(error)}`, transient: true };
  return { kind: 'failed', reason: 'io', message: `${path}: ${describeError(error)}` };
}

function notRegular(path: string, stats: BigIntStats): Exclude<TextfileRead, { kind: 'read' }> {
  return {
    kind: 'failed',
    reason: 'not_regular',
    message: `${path}: not a regular file (${describeFileType(stats)}); only regular files and symlinks to them are read`,
    identity: identityOf(stats),
  };
}

function tooLarge(path: string, identity: FileIdentity, limits: ReadLimits): Exclude<TextfileRead, { kind: 'read' }> {
  return {
    kind: 'failed',
    reason: 'too_large',
    message: `${path}: ${identity.size} bytes is over the limit of ${limits.maxFileSize} bytes (--textfile.max-file-size)`,
    identity,
  };
}

function describeFileType(stats: BigIntStats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/** Errors of the agent's own resources, not of the file or directory looked at. */
export function isTransientErrorCode(code: string | undefined): boolean {
  return code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM';
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    // Node's messages repeat the syscall and path; the code plus the OS text is enough.
    const text = error.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(error);
}
