// The few system calls the agent makes on textfiles and their directories, in two flavours.
//
// Why two: a scrape is answered only after the directories have been checked again
// (read-your-writes), and a rename into a directory of 1,000 files means 1,000 stats. Through
// libuv's thread pool each call also waits behind whatever else is queued there (chokidar's
// stats, gzip of a large body), and the JavaScript callbacks of the two interleave: measured,
// the scrape paid tens of milliseconds for a few milliseconds of work. On a local file system
// these calls take microseconds and cannot hang, so there they run
// synchronously (wrapped in promises, so callers have one code path). On network and FUSE file
// systems, where a single call can block for as long as a server is unreachable, they stay in
// the thread pool and the event loop stays free.
import { close, closeSync, fstat, fstatSync, lstatSync, open, openSync, read, readSync, readdirSync, statSync, type BigIntStats } from 'node:fs';
import { lstat, readdir, stat, statfs } from 'node:fs/promises';
import { promisify } from 'node:util';

export interface FileAccess {
  /** True when calls run synchronously (a local file system). */
  readonly local: boolean;
  stat(path: string): Promise<BigIntStats>;
  lstat(path: string): Promise<BigIntStats>;
  readdir(path: string): Promise<string[]>;
  open(path: string, flags: number): Promise<number>;
  fstat(fd: number): Promise<BigIntStats>;
  /** Bytes read into buffer[offset, offset + length) from the current position; 0 at end of file. */
  read(fd: number, buffer: Buffer, offset: number, length: number): Promise<number>;
  close(fd: number): Promise<void>;
}

const BIGINT = { bigint: true } as const;
// File descriptors rather than FileHandles, so that both flavours share one interface.
const openAsync = (path: string, flags: number): Promise<number> =>
  new Promise((resolve, reject) => open(path, flags, (error, fd) => (error === null ? resolve(fd) : reject(error))));
const readAsync = promisify(read);
const closeAsync = promisify(close);
const fstatAsync = (fd: number): Promise<BigIntStats> =>
  new Promise((resolve, reject) => fstat(fd, BIGINT, (error, stats) => (error === null ? resolve(stats) : reject(error))));

/** Every call through libuv's thread pool: safe on any file system. */
export const threadPoolAccess: FileAccess = {
  local: false,
  stat: (path) => stat(path, BIGINT),
  lstat: (path) => lstat(path, BIGINT),
  readdir: (path) => readdir(path),
  open: (path, flags) => openAsync(path, flags),
  fstat: (fd) => fstatAsync(fd),
  read: async (fd, buffer, offset, length) => (await readAsync(fd, buffer, offset, length, null)).bytesRead,
  close: (fd) => closeAsync(fd),
};

/** Every call synchronous, its result (or error) delivered as a settled promise: awaiting it
 *  continues in a microtask, so no other I/O callback runs in between. Local file systems only. */
export const synchronousAccess: FileAccess = {
  local: true,
  stat: async (path) => statSync(path, BIGINT),
  lstat: async (path) => lstatSync(path, BIGINT),
  readdir: async (path) => readdirSync(path),
  open: async (path, flags) => openSync(path, flags),
  fstat: async (fd) => fstatSync(fd, BIGINT),
  read: async (fd, buffer, offset, length) => readSync(fd, buffer, offset, length, null),
  close: async (fd) => closeSync(fd),
};

/**
 * statfs(2) f_type values of file systems whose calls are served by this kernel from local
 * storage or memory. Anything else (NFS, CIFS/SMB, FUSE, 9p, virtiofs, Ceph, unknown) is
 * treated as possibly remote.
 */
const LOCAL_FILE_SYSTEM_TYPES: ReadonlySet<number> = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (container root file systems)
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
  0x52654973, // reiserfs
  0x3153464a, // jfs
  0x4d44, // vfat
]);

/** The access to use for a directory: synchronous on a known local file system, the thread
 *  pool otherwise (or when the file system cannot be told). Never throws. */
export async function fileAccessFor(directory: string): Promise<FileAccess> {
  try {
    const info = await statfs(directory);
    return LOCAL_FILE_SYSTEM_TYPES.has(Number(info.type)) ? synchronousAccess : threadPoolAccess;
  } catch {
    return threadPoolAccess;
  }
}
