// The textfiles as the agent knows them: the directories the patterns expand to, what each one
// listed, and per file what was last read and judged (a FileEntry, file-state.ts). The table
// makes every file-system call the agent makes on textfiles (glob expansion, list, stat, read)
// and judges what it reads (judge-off-thread.ts); it has no timers and never decides when to
// look. Its owner does: the agent's TextfileStore (store.ts) on watcher hints, scrapes, rescans
// and deadlines, or loadOnce (load-once.ts) once for `promdrop list` and `cat`. What differs
// between the two, whether there will be a later look, the owner says with a LookPolicy.
import { basename, dirname, join, normalize } from 'node:path';
import type { ContentOptions } from '../core/verdict.js';
import { expandDirectoryPatterns, isTextfileName, listTextfiles, sameDirectoryIdentity, statDirectory, type DirectoryIdentity } from '../fs/directory-scan.js';
import { fileAccessFor, threadPoolAccess, type FileAccess } from '../fs/file-access.js';
import { isTransientErrorCode, readTextfile, sameIdentity, statTextfile, type FileIdentity, type TextfileRead } from '../fs/textfile-reader.js';
import { decideAfterStat, newFileEntry, settlingFor, type ContentVerdict, type FileEntry, type FileErrorReason, type GoodContent } from './file-state.js';
import { judgeContentOffThread } from './judge-off-thread.js';
import type { DirectoryReport } from './snapshot.js';

/** What the table logs: a pattern that is not a valid glob, a directory that cannot be read. */
export interface TableLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How the table's owner wants the looks handled whose outcome a later look could change. */
export interface LookPolicy {
  /**
   * A look failed for want of the agent's own resources (EMFILE, ENFILE, ENOMEM), which says
   * nothing about the file or directory. True: the owner will look again, and the table leaves
   * the entry or directory as it was; false: the failure is recorded as the file's (or the
   * directory's) own, as there is no later look to wait for.
   */
  deferShortage(message: string): boolean;
  /** Reads of a file caught mid-write in one look; after the last, the file is left to settle
   *  (and is not reported until a later look reads it whole). */
  readonly readAttempts: number;
  /** The pause between two of those reads. */
  readonly readRetryDelayMs: number;
}

export interface FileTableOptions {
  /** Directories or globs (Go filepath.Match syntax), expanded again at every scanAll(). */
  readonly patterns: readonly string[];
  readonly maxFileSize: number;
  /** How long an in-place change must be quiet before it is read. */
  readonly settleMs: number;
  /** From core's agentContentOptions. */
  readonly contentOptions: ContentOptions;
  readonly policy: LookPolicy;
  /** Wall clock in ms for settling. */
  readonly now: () => number;
  readonly logger: TableLogger;
  /** Told the paths last listed in a directory that has since been replaced by another (a new
   *  inode): whatever follows those files (the watcher) follows files that are gone. */
  readonly onDirectoryReplaced?: ((paths: ReadonlySet<string>) => void) | undefined;
  /** How to make system calls in a directory: fs/file-access.ts's choice unless given. */
  readonly fileAccessFor?: ((directory: string) => Promise<FileAccess>) | undefined;
}

/** One directory the patterns expand to. */
export interface DirectoryState {
  readonly path: string;
  readonly pattern: string;
  /** Set while the directory lists fine. */
  listing: Listing | undefined;
  /** The listing the current snapshot reflects: `listing` as it was when the owner last built
   *  one (markServed). A scan under way has listed the directory but not yet built its
   *  snapshot, so a scrape must compare against this one, not `listing`. */
  servedListing: Listing | undefined;
  error: { code: string | undefined; message: string } | undefined;
  /** Textfile paths found in it at the last listing (plus looked-at additions since). */
  paths: Set<string>;
  /** Inode of the directory `paths` were listed in; another one means the directory was
   *  replaced and those paths name files that are no longer there. */
  listedIno: bigint | undefined;
  /** How to make system calls there: synchronous on a local file system (see fs/file-access). */
  access: FileAccess;
  /** Device the access was chosen for: another file system mounted there is judged again. */
  accessDev: bigint | undefined;
}

interface Listing {
  readonly identity: DirectoryIdentity;
  readonly listedAtNs: bigint;
}

/** A directory whose mtime is this close to the time it was listed may have changed within the
 *  same tick of the kernel's coarse clock after the listing: trust its mtime only once it is
 *  older than that (git's "racily clean" rule). */
const RACY_MARGIN_NS = 50_000_000n;
/** Files stat'ed at once during a scan; reads and parses are one at a time to bound memory. */
const STAT_CONCURRENCY = 16;

export class FileTable {
  private readonly entryMap = new Map<string, FileEntry>();
  /** By normalised path, in the order the patterns name them. */
  private directories = new Map<string, DirectoryState>();
  /** Set when an entry or directory changed in a way only a new snapshot shows (content read,
   *  a failure, a file or directory gone); cleared by the owner once it has built one. */
  private changed = true;
  private readonly readLock = new Mutex();
  private readonly policy: LookPolicy;
  private readonly now: () => number;
  private readonly accessFor: (directory: string) => Promise<FileAccess>;

  constructor(private readonly options: FileTableOptions) {
    this.policy = options.policy;
    this.now = options.now;
    this.accessFor = options.fileAccessFor ?? fileAccessFor;
  }

  /** Every file looked at, by path: those judged, those that failed, those caught mid-write. */
  get entries(): ReadonlyMap<string, FileEntry> {
    return this.entryMap;
  }

  get contentChanged(): boolean {
    return this.changed;
  }

  /** The owner has built a snapshot of everything the table holds now. */
  markServed(): void {
    this.changed = false;
    for (const state of this.directories.values()) state.servedListing = state.listing;
  }

  directoryReports(): DirectoryReport[] {
    return [...this.directories.values()].map((state) =>
      state.error === undefined
        ? { path: state.path, pattern: state.pattern, ok: true }
        : { path: state.path, pattern: state.pattern, ok: false, message: state.error.message },
    );
  }

  /** The textfile paths listed in every directory but those in `except` (normalised paths). */
  listedPaths(except: ReadonlySet<string>): string[] {
    const paths: string[] = [];
    for (const [key, state] of this.directories) if (!except.has(key)) for (const path of state.paths) paths.push(path);
    return paths;
  }

  // -------------------------------------------------------------------------------------------
  // Looks

  /** Glob expansion, then every directory and every file. */
  async scanAll(): Promise<void> {
    const expansions = await expandDirectoryPatterns(this.options.patterns);
    const next = new Map<string, DirectoryState>();
    for (const expansion of expansions) {
      for (const directory of expansion.directories) {
        const key = normalize(directory);
        const existing = this.directories.get(key);
        next.set(
          key,
          existing ?? {
            path: directory,
            pattern: expansion.pattern,
            listing: undefined,
            servedListing: undefined,
            error: undefined,
            paths: new Set(),
            listedIno: undefined,
            access: threadPoolAccess,
            accessDev: undefined,
          },
        );
        if (expansion.error !== undefined && existing === undefined) {
          this.options.logger.warn({ pattern: expansion.pattern }, expansion.error);
        }
      }
    }
    for (const [key, state] of this.directories) {
      if (!next.has(key)) {
        for (const path of state.paths) this.removeEntry(path);
        this.changed = true;
      }
    }
    const changedSet = this.directories.size !== next.size || [...next.keys()].some((key) => !this.directories.has(key));
    this.directories = next;
    if (changedSet) this.changed = true;
    for (const state of next.values()) await this.scanDirectory(state);
  }

  /**
   * The directories whose listing may differ from the one the current snapshot reflects: one
   * stat per directory, never one per file. A directory changed too recently to trust its mtime
   * counts as changed.
   */
  async changedDirectories(): Promise<DirectoryState[]> {
    const states = [...this.directories.values()];
    const stats = await Promise.all(states.map((state) => statDirectory(state.path, state.access)));
    return states.filter((state, index) => directoryMayHaveChanged(state, stats[index]!));
  }

  /** Lists again those of `states` that are still the table's (a rescan may have replaced the
   *  set since they were found changed) and looks at their files. */
  async rescanDirectories(states: readonly DirectoryState[]): Promise<void> {
    for (const state of states) {
      if (this.directories.get(normalize(state.path)) === state) await this.scanDirectory(state);
    }
  }

  /** Looks at these paths again (watcher hints): textfiles in a directory that lists fine. */
  async lookAt(paths: readonly string[]): Promise<void> {
    await forEachLimited(paths, STAT_CONCURRENCY, async (path) => {
      const state = this.directories.get(normalize(dirname(path)));
      if (state === undefined || state.listing === undefined || !isTextfileName(basename(path))) return;
      const filePath = join(state.path, basename(path));
      state.paths.add(filePath);
      await this.refreshPath(filePath, state);
    });
  }

  /**
   * Takes `content` as the judged content of the file at `path`, which its writer (the push API)
   * has just written as `content.identity`: the next look finds that identity unchanged and does
   * not read the file. Only while a stat still finds that version (not after a later write or a
   * removal); a path outside the listed directories is left to the next look.
   */
  async adopt(path: string, content: GoodContent): Promise<void> {
    const state = this.directories.get(normalize(dirname(path)));
    if (state === undefined || state.listing === undefined) return;
    const filePath = join(state.path, basename(path));
    const stat = await statTextfile(filePath, state.access);
    if (stat.kind !== 'stat' || !sameIdentity(stat.identity, content.identity)) return;
    state.paths.add(filePath);
    let entry = this.entryMap.get(filePath);
    if (entry === undefined) this.entryMap.set(filePath, (entry = newFileEntry(filePath)));
    this.applyVerdict(entry, content.identity, { ok: true, content }, this.now());
  }

  /** Looks again at every file waiting for an in-place change to settle. */
  async lookAtSettling(): Promise<void> {
    const settling: string[] = [];
    for (const [path, entry] of this.entryMap) if (entry.settling !== undefined) settling.push(path);
    await forEachLimited(settling, STAT_CONCURRENCY, async (path) => {
      const state = this.directories.get(normalize(dirname(path)));
      if (state !== undefined) await this.refreshPath(path, state);
    });
  }

  private async scanDirectory(state: DirectoryState): Promise<void> {
    const listedAtNs = BigInt(Date.now()) * 1_000_000n;
    const listing = await listTextfiles(state.path, state.access);
    if (
      !listing.ok &&
      isTransientErrorCode(listing.code) &&
      state.listing !== undefined &&
      this.policy.deferShortage(`cannot list ${state.path} now: ${listing.message}`)
    ) {
      return;
    }
    if (!listing.ok) {
      const previous = state.error;
      state.listing = undefined;
      state.listedIno = undefined;
      state.error = { code: listing.code, message: listing.message };
      if (previous === undefined || previous.message !== listing.message) {
        this.options.logger.warn({ directory: state.path }, `cannot read textfile directory: ${listing.message}`);
        this.changed = true;
      }
      for (const path of state.paths) this.removeEntry(path);
      state.paths = new Set();
      return;
    }
    if (state.error !== undefined) {
      this.options.logger.info({ directory: state.path }, 'textfile directory is readable again');
      this.changed = true;
    }
    state.error = undefined;
    state.listing = { identity: listing.identity, listedAtNs };
    if (state.accessDev !== listing.identity.dev) {
      state.access = await this.accessFor(state.path);
      state.accessDev = listing.identity.dev;
    }
    if (state.listedIno !== undefined && state.listedIno !== listing.identity.ino) this.options.onDirectoryReplaced?.(state.paths);
    state.listedIno = listing.identity.ino;
    const paths = listing.names.map((name) => join(state.path, name));
    const present = new Set(paths);
    for (const path of state.paths) if (!present.has(path)) this.removeEntry(path);
    state.paths = present;
    await forEachLimited(paths, STAT_CONCURRENCY, (path) => this.refreshPath(path, state));
  }

  private removeEntry(path: string): void {
    if (this.entryMap.delete(path)) this.changed = true;
  }

  /** Looks at one textfile again: stat, and read it if it changed and may be read now. */
  private async refreshPath(path: string, state: DirectoryState): Promise<void> {
    const existing = this.entryMap.get(path);
    const entry = existing ?? newFileEntry(path);
    const stat = await statTextfile(path, state.access);
    if (stat.kind === 'gone') {
      state.paths.delete(path);
      this.removeEntry(path);
      return;
    }
    if (stat.kind === 'failed' && stat.transient === true && this.policy.deferShortage(stat.message)) return;
    if (existing === undefined) this.entryMap.set(path, entry);
    if (stat.kind === 'failed') {
      this.applyFailure(entry, stat);
      return;
    }
    entry.seenIdentity = stat.identity;
    const decision = decideAfterStat(entry, stat.identity, this.now(), this.options.settleMs);
    if (decision === 'unchanged') {
      // Rewritten and restored (or touched back): nothing left to settle.
      entry.settling = undefined;
      return;
    }
    if (decision === 'settle') {
      entry.settling = settlingFor(entry, stat.identity, this.now());
      return;
    }
    const read = await this.readWhole(path, state.access);
    if (read.kind === 'gone') {
      state.paths.delete(path);
      this.removeEntry(path);
      return;
    }
    if (read.kind === 'failed' && read.transient === true && this.policy.deferShortage(read.message)) return;
    if (read.kind === 'failed') {
      this.applyFailure(entry, read);
      return;
    }
    const now = this.now();
    // The file may have changed between the stat and the read: judge what was read.
    const recheck = read.stable ? decideAfterStat(entry, read.identity, now, this.options.settleMs) : 'settle';
    if (recheck === 'unchanged') {
      entry.settling = undefined;
      return;
    }
    // A stable read was judged as soon as it was read (readWhole).
    const verdict = read.verdict;
    if (recheck === 'settle' || verdict === undefined) {
      entry.settling = settlingFor(entry, read.identity, now);
      return;
    }
    this.applyVerdict(entry, read.identity, verdict, now);
  }

  /** What the bytes of `identity` are worth becomes the entry's content, or its problem. */
  private applyVerdict(entry: FileEntry, identity: FileIdentity, verdict: ContentVerdict, now: number): void {
    entry.judgedIdentity = identity;
    entry.seenIdentity = identity;
    entry.settling = undefined;
    this.changed = true;
    if (verdict.ok) {
      entry.good = verdict.content;
      entry.problem = undefined;
      entry.warnings = verdict.content.warnings;
    } else {
      entry.problem = { reason: verdict.reason, message: verdict.message, sinceMs: entry.problem?.sinceMs ?? now };
      entry.warnings = verdict.warnings;
    }
  }

  /** Reads are one at a time, and a stable read is judged before the next read starts (large
   *  files on a worker thread), so that one file's bytes at most are in memory at once. */
  private readWhole(path: string, access: FileAccess): Promise<JudgedRead> {
    return this.readLock.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const read = await readTextfile(path, { maxFileSize: this.options.maxFileSize }, access);
        if (read.kind === 'read' && read.stable) {
          return { ...read, verdict: await judgeContentOffThread(path, read.bytes, read.identity, this.options.contentOptions) };
        }
        if (read.kind !== 'read') return read;
        if (attempt >= this.policy.readAttempts) return { ...read, verdict: undefined };
        await new Promise((resolve) => setTimeout(resolve, this.policy.readRetryDelayMs));
      }
    });
  }

  private applyFailure(entry: FileEntry, failure: { reason: FileErrorReason; message: string; identity?: FileIdentity }): void {
    // Without an identity (the stat itself failed) the next look tries again from scratch.
    entry.judgedIdentity = failure.identity;
    entry.seenIdentity = failure.identity ?? entry.seenIdentity;
    entry.settling = undefined;
    // The same failure as last time (a dangling symlink seen at every rescan) changes nothing.
    if (entry.problem?.reason === failure.reason && entry.problem.message === failure.message) return;
    entry.problem = { reason: failure.reason, message: failure.message, sinceMs: entry.problem?.sinceMs ?? this.now() };
    this.changed = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function directoryMayHaveChanged(state: DirectoryState, now: Awaited<ReturnType<typeof statDirectory>>): boolean {
  const listing = state.servedListing;
  if (!now.ok) return listing !== undefined || state.error?.message !== now.message;
  if (listing === undefined) return true;
  if (!sameDirectoryIdentity(listing.identity, now.identity)) return true;
  return isRacy(listing);
}

/** The directory changed so close to when it was listed that a later change within the same
 *  coarse clock tick would leave its mtime as it is (git's "racily clean" case). */
function isRacy(listing: Listing): boolean {
  return listing.identity.mtimeNs >= listing.listedAtNs - RACY_MARGIN_NS;
}

async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A read; whole ones come judged (the verdict is undefined when the file changed meanwhile). */
type JudgedRead = Exclude<TextfileRead, { kind: 'read' }> | (Extract<TextfileRead, { kind: 'read' }> & { readonly verdict: ContentVerdict | undefined });

/** Runs async sections one at a time. */
class Mutex {
  private last: Promise<void> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.last.then(section);
    // Chain on completion only, never on the value: the last section's result (a whole file's
    // bytes, for reads) must not stay reachable until the next section runs.
    this.last = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
