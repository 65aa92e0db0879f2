// The agent's store: every textfile's last judged content and state, and the snapshot that
// scrapes serve. All file-system work happens here, serialised, on change: a watcher hint, a
// directory that changed since the last scan (checked when a scrape asks for the snapshot,
// O(directories) stats: a scrape after a write waits for that write's file to be read, never
// for unchanged files), a periodic rescan, SIGHUP, or a timer for the next time-based change
// (expiry, end of grace, settling). A scrape never renders: it gets an immutable Snapshot.
// A file's content is judged by core/verdict.ts and what the files serve together by
// core/merge.ts (through compose.ts), the same two functions `promdrop check` uses.
import type { NameValidationScheme } from '../core/parse.js';
import { basename, dirname, join, normalize } from 'node:path';
import { compareCodePoints } from '../core/compare.js';
import { nodeExporterHelp, type Conflict } from '../core/merge.js';
import { expandDirectoryPatterns, isTextfileName, listTextfiles, sameDirectoryIdentity, statDirectory, type DirectoryIdentity } from '../fs/directory-scan.js';
import { fileAccessFor, threadPoolAccess, type FileAccess } from '../fs/file-access.js';
import { isTransientErrorCode, readTextfile, sameIdentity, statTextfile, type FileIdentity, type TextfileRead } from '../fs/textfile-reader.js';
import type { TextfileWatcher, WatchHint } from '../fs/watcher.js';
import {
  decideAfterStat,
  judgeFile,
  mtimeMsOf,
  newFileEntry,
  settlingFor,
  type ContentOptions,
  type ContentVerdict,
  type FileEntry,
  type FileErrorReason,
  type GoodContent,
  type Judgement,
  type JudgementOptions,
} from './file-state.js';
import { ExpositionComposer, type ComposeSource } from './compose.js';
import { judgeContentOffThread } from './judge-off-thread.js';
import { buildMetaFamilies } from './meta-metrics.js';
import { BuiltSnapshot, type DirectoryReport, type FileReport, type Snapshot } from './snapshot.js';

export type { FileErrorReason, FileState } from './file-state.js';
export type { DirectoryReport, ExpositionFormat, FileReport, Snapshot } from './snapshot.js';

import { DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_SERIES_PER_FILE, DEFAULT_RESCAN_INTERVAL_MS, DEFAULT_SETTLE_MS } from '../defaults.js';

export { DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_SERIES_PER_FILE, DEFAULT_RESCAN_INTERVAL_MS, DEFAULT_SETTLE_MS };

export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface StoreOptions {
  /** Directories or globs (Go filepath.Match syntax), expanded by the store at every rescan. */
  directories: string[];
  maxFileSize: number;
  maxSeriesPerFile: number;
  /** TTL for files without a `# promdrop: ttl=` directive; undefined: never expire. */
  defaultTtlMs?: number | undefined;
  gracePeriodMs: number;
  settleMs: number;
  rescanIntervalMs: number;
  usePolling: boolean;
  allowTimestamps: boolean;
  /** --textfile.name-validation-scheme; utf8 when not given. */
  nameValidation?: NameValidationScheme | undefined;
  /** Wall clock in ms for TTL, grace and settling; Date.now by default. */
  now?: (() => number) | undefined;
  logger: StoreLogger;
  /** Extra names files may not define, e.g. the agent's self-metrics. */
  reservedMetricNames?: ReadonlySet<string> | undefined;
  /** Directories whose files are never watched, only read when a scrape finds them changed and
   *  at rescans: the push directory, written only by the agent itself, always by rename. */
  unwatchedDirectories?: readonly string[] | undefined;
  /** Directories of pushed groups: a family none of whose sources has HELP is served without a
   *  HELP line when only pushed groups define it, as the Pushgateway serves it, rather than with
   *  node_exporter's `Metric read from <internal file name>`. */
  pushedDirectories?: readonly string[] | undefined;
}

/** A directory whose mtime is this close to the time it was listed may have changed within the
 *  same tick of the kernel's coarse clock after the listing: trust its mtime only once it is
 *  older than that (git's "racily clean" rule). */
const RACY_MARGIN_NS = 50_000_000n;
/** Watch events arriving together are handled together. */
const HINT_DELAY_MS = 20;
/** Rescan interval once watching has failed. */
const DEGRADED_RESCAN_INTERVAL_MS = 5_000;
/** Files stat'ed at once during a scan; reads and parses are one at a time to bound memory. */
const STAT_CONCURRENCY = 16;
/** One-shot loads retry a file caught mid-write this many times before leaving it out. */
const ONE_SHOT_READ_ATTEMPTS = 4;
const ONE_SHOT_RETRY_DELAY_MS = 25;
/** The longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After a look failed for want of descriptors or memory (EMFILE, ...), a full rescan this much
 *  later; meanwhile what was served stays served. */
const TRANSIENT_RETRY_MS = 1_000;

interface DirectoryState {
  readonly path: string;
  readonly pattern: string;
  /** Set while the directory lists fine. */
  listing: { identity: DirectoryIdentity; listedAtNs: bigint } | undefined;
  /** The listing the current snapshot reflects: `listing` as it was when the last task that
   *  scanned finished. A scan under way has listed the directory but not yet built its
   *  snapshot, so a scrape must compare against this one, not `listing`. */
  servedListing: { identity: DirectoryIdentity; listedAtNs: bigint } | undefined;
  error: { code: string | undefined; message: string } | undefined;
  /** Textfile paths found in it at the last listing (plus hinted additions since). */
  paths: Set<string>;
  /** Inode of the directory its files were watched in; another one means the directory was
   *  replaced and the watches follow files that are no longer there. */
  watchedIno: bigint | undefined;
  /** How to make system calls there: synchronous on a local file system (see fs/file-access). */
  access: FileAccess;
  /** Device the access was chosen for: another file system mounted there is judged again. */
  accessDev: bigint | undefined;
}

interface FileView {
  readonly entry: FileEntry;
  readonly judgement: Judgement;
}

export class TextfileStore {
  private readonly now: () => number;
  private readonly logger: StoreLogger;
  private readonly judgementOptions: JudgementOptions;
  private readonly contentOptions: ContentOptions;
  private readonly entries = new Map<string, FileEntry>();
  private readonly composer: ExpositionComposer;
  /** By normalised path, in the order the patterns name them. */
  private directories = new Map<string, DirectoryState>();
  private current: BuiltSnapshot;
  private generation = 0;
  private lastViews = new Map<string, Judgement>();
  private previousReports = new Map<string, FileReport>();
  private contentChanged = true;
  private nextChangeAtMs: number | undefined;
  /** The sources the current snapshot was merged from (see servedSources). */
  private lastSources: readonly ComposeSource[] = [];

  private tail: Promise<unknown> = Promise.resolve();
  private readonly readLock = new Mutex();
  private freshnessRunning: Promise<void> | undefined;
  private freshnessQueued: Promise<void> | undefined;
  private readonly pendingPaths = new Set<string>();
  private hintTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanQueued = false;
  private watcher: TextfileWatcher | undefined;
  private watchDegraded = false;
  /** Set while looks fail for want of the agent's own resources (EMFILE, ...); logged once. */
  private shortage: string | undefined;
  private shortageSeenInScan = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private started = false;
  private ready = false;
  private closed = false;
  private oneShot = false;
  private readonly unwatched: ReadonlySet<string>;
  /** Whether a path is a pushed group's file (see StoreOptions.pushedDirectories). */
  private readonly isPushed: (path: string) => boolean;

  constructor(private readonly options: StoreOptions) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.judgementOptions = { defaultTtlMs: options.defaultTtlMs, gracePeriodMs: options.gracePeriodMs, settleMs: options.settleMs };
    this.contentOptions = {
      maxSeriesPerFile: options.maxSeriesPerFile,
      allowTimestamps: options.allowTimestamps,
      extraReservedMetricNames: [...(options.reservedMetricNames ?? [])],
      nameValidation: options.nameValidation ?? 'utf8',
    };
    this.unwatched = new Set((options.unwatchedDirectories ?? []).map((directory) => normalize(directory)));
    const pushed = new Set((options.pushedDirectories ?? []).map((directory) => normalize(directory)));
    const isPushed = (sourceId: string): boolean => pushed.has(dirname(sourceId));
    this.isPushed = isPushed;
    this.composer = new ExpositionComposer((sourceIds) => {
      const textfiles = sourceIds.filter((id) => !isPushed(id));
      return textfiles.length === 0 ? undefined : nodeExporterHelp(textfiles);
    });
    this.current = this.build(this.now(), new Map());
  }

  /** First full scan, then the watcher; resolves once both are done. */
  async start(): Promise<void> {
    if (this.started) throw new Error('TextfileStore.start() called twice');
    this.started = true;
    await this.exclusive(() => this.scanAll());
    if (this.closed) return;
    const { TextfileWatcher } = await import('../fs/watcher.js');
    // Closed while chokidar was loading: a watcher made now would keep the process alive.
    if (this.closed) return;
    this.watcher = new TextfileWatcher({
      usePolling: this.options.usePolling,
      pollIntervalMs: Math.min(1_000, this.options.rescanIntervalMs),
      logger: this.logger,
      onHint: (hint) => this.onHint(hint),
    });
    // Watches every file found so far; each watch, once set up, hints its file to be looked at
    // again, which covers whatever changed in between.
    this.watchKnownFiles();
    this.scheduleRescans();
    this.ready = true;
    const files = this.current.files;
    this.logger.info(
      {
        directories: this.current.directories.length,
        files: files.length,
        served: files.filter((file) => file.served).length,
        series: files.reduce((sum, file) => sum + (file.served ? file.series : 0), 0),
      },
      'textfile store ready',
    );
  }

  /** True once the first scan is done and watching is set up. */
  isReady(): boolean {
    return this.ready;
  }

  /**
   * The snapshot to serve now. Read-your-writes: every directory is stat'ed (O(directories),
   * not O(files)); one that changed, or changed too recently to trust its mtime, is rescanned
   * first. A caller joins a check that has not started yet, never one already under way (it
   * could have stat'ed a directory before this caller's writer renamed into it).
   */
  async snapshot(): Promise<Snapshot> {
    if (!this.closed) await this.freshen();
    return this.current;
  }

  /** A full rescan: glob expansion, every directory, every file (SIGHUP). */
  async rescan(): Promise<void> {
    await this.exclusive(() => this.scanAll());
  }

  /** Stops the watcher and timers; the last snapshot stays readable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of [this.hintTimer, this.deadlineTimer, this.rescanTimer, this.retryTimer]) if (timer !== undefined) clearTimeout(timer);
    this.hintTimer = this.deadlineTimer = this.rescanTimer = this.retryTimer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
    await this.tail.catch(() => undefined);
  }

  /** One full scan without watcher or timers, for `promdrop list` and `promdrop cat`. */
  async scanOnce(): Promise<Snapshot> {
    this.oneShot = true;
    await this.exclusive(() => this.scanAll());
    return this.current;
  }

  // -------------------------------------------------------------------------------------------
  // For the push API's consistency index (src/push/pushed-groups.ts)

  /** Path and families of every file the current snapshot serves. A new array after every
   *  rebuild; a file's `families` stay the same object while its content is unchanged. */
  servedSources(): readonly ComposeSource[] {
    return this.lastSources;
  }

  /**
   * Takes `content` as the judged content of the file at `path`, which its writer (the push API)
   * has just written as `content.identity`: the next look finds that identity unchanged and does
   * not read the file. Queued like any store work, so a look that started earlier cannot put back
   * what it read before; and only while a stat still finds that version (not after a later write
   * or a removal). A path outside the listed directories is left to the next look.
   */
  adopt(path: string, content: GoodContent): Promise<void> {
    return this.exclusive(async () => {
      const state = this.directories.get(normalize(dirname(path)));
      if (state === undefined || state.listing === undefined) return;
      const filePath = join(state.path, basename(path));
      const stat = await statTextfile(filePath, state.access);
      if (stat.kind === 'stat' && sameIdentity(stat.identity, content.identity)) this.adoptEntry(state, filePath, content);
    });
  }

  private adoptEntry(state: DirectoryState, path: string, content: GoodContent): void {
    state.paths.add(path);
    let entry = this.entries.get(path);
    if (entry === undefined) this.entries.set(path, (entry = newFileEntry(path)));
    // As a stable read of that identity judged good leaves the entry (refreshPath).
    entry.judgedIdentity = content.identity;
    entry.seenIdentity = content.identity;
    entry.settling = undefined;
    entry.good = content;
    entry.problem = undefined;
    entry.warnings = content.warnings;
    this.contentChanged = true;
  }

  /** Hands the watcher every textfile the store knows (outside the unwatched directories). */
  private watchKnownFiles(): void {
    if (this.watcher === undefined) return;
    const paths: string[] = [];
    for (const [key, state] of this.directories) if (!this.unwatched.has(key)) for (const path of state.paths) paths.push(path);
    this.watcher.watchFiles(paths);
  }

  // -------------------------------------------------------------------------------------------
  // Serialisation and triggers

  /** Runs store work one task at a time; a failing task is logged and never blocks the next. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch((error: unknown) => {
      this.logger.error({ err: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 'textfile store task failed');
    });
    return result;
  }

  private freshen(): Promise<void> {
    if (this.freshnessQueued !== undefined) return this.freshnessQueued;
    if (this.freshnessRunning === undefined) {
      const running = this.checkFreshness().finally(() => {
        if (this.freshnessRunning === running) this.freshnessRunning = undefined;
      });
      this.freshnessRunning = running;
      return running;
    }
    const queued = this.freshnessRunning.then(() => {
      this.freshnessQueued = undefined;
      return this.freshen();
    });
    this.freshnessQueued = queued;
    return queued;
  }

  private async checkFreshness(): Promise<void> {
    const states = [...this.directories.values()];
    const stats = await Promise.all(states.map((state) => statDirectory(state.path, state.access)));
    const changed: DirectoryState[] = [];
    states.forEach((state, index) => {
      const result = stats[index]!;
      if (directoryMayHaveChanged(state, result)) changed.push(state);
    });
    const due = this.nextChangeAtMs !== undefined && this.now() >= this.nextChangeAtMs;
    if (changed.length === 0 && !due) return;
    await this.exclusive(async () => {
      for (const state of changed) {
        if (this.directories.get(normalize(state.path)) === state) await this.scanDirectory(state);
      }
      await this.finishBatch();
    }).catch(() => undefined);
  }

  private onHint(hint: WatchHint): void {
    if (this.closed) return;
    if (hint.kind === 'degraded') {
      this.watchDegraded = true;
      this.scheduleRescans();
      return;
    }
    this.pendingPaths.add(hint.path);
    if (this.hintTimer === undefined) {
      this.hintTimer = setTimeout(() => {
        this.hintTimer = undefined;
        void this.exclusive(() => this.processHints()).catch(() => undefined);
      }, HINT_DELAY_MS);
      this.hintTimer.unref();
    }
  }

  private async processHints(): Promise<void> {
    const paths = [...this.pendingPaths];
    this.pendingPaths.clear();
    await forEachLimited(paths, STAT_CONCURRENCY, async (path) => {
      const key = normalize(dirname(path));
      const state = this.directories.get(key);
      if (state === undefined || state.listing === undefined || !isTextfileName(basename(path))) return;
      const filePath = join(state.path, basename(path));
      state.paths.add(filePath);
      await this.refreshPath(filePath, state);
    });
    await this.finishBatch();
  }

  private scheduleRescans(): void {
    if (this.closed || this.oneShot) return;
    if (this.rescanTimer !== undefined) clearInterval(this.rescanTimer);
    const interval = this.watchDegraded ? Math.min(this.options.rescanIntervalMs, DEGRADED_RESCAN_INTERVAL_MS) : this.options.rescanIntervalMs;
    this.rescanTimer = setInterval(() => {
      if (this.rescanQueued) return;
      this.rescanQueued = true;
      void this.exclusive(async () => {
        this.rescanQueued = false;
        await this.scanAll();
      }).catch(() => undefined);
    }, interval);
    this.rescanTimer.unref();
  }

  private scheduleDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (this.closed || this.oneShot || this.nextChangeAtMs === undefined) return;
    // One millisecond late rather than early: the judgement uses `now >= deadline`.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, this.nextChangeAtMs - this.now()) + 1);
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      void this.exclusive(() => this.tick()).catch(() => undefined);
    }, delay);
    this.deadlineTimer.unref();
  }

  /** Time-based work: re-stat files waiting to settle, then re-judge every file. */
  private async tick(): Promise<void> {
    const settling: Array<[string, FileEntry]> = [];
    for (const [path, entry] of this.entries) if (entry.settling !== undefined) settling.push([path, entry]);
    await forEachLimited(settling, STAT_CONCURRENCY, async ([path]) => {
      const state = this.directories.get(normalize(dirname(path)));
      if (state !== undefined) await this.refreshPath(path, state);
    });
    await this.finishBatch();
  }

  // -------------------------------------------------------------------------------------------
  // Scanning

  private async scanAll(): Promise<void> {
    this.shortageSeenInScan = false;
    const expansions = await expandDirectoryPatterns(this.options.directories);
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
            watchedIno: undefined,
            access: threadPoolAccess,
            accessDev: undefined,
          },
        );
        if (expansion.error !== undefined && existing === undefined) {
          this.logger.warn({ pattern: expansion.pattern }, expansion.error);
        }
      }
    }
    for (const [key, state] of this.directories) {
      if (!next.has(key)) {
        for (const path of state.paths) this.removeEntry(path);
        this.contentChanged = true;
      }
    }
    const changedSet = this.directories.size !== next.size || [...next.keys()].some((key) => !this.directories.has(key));
    this.directories = next;
    if (changedSet) this.contentChanged = true;
    for (const state of next.values()) await this.scanDirectory(state);
    if (this.shortage !== undefined && !this.shortageSeenInScan) {
      this.logger.info({}, 'textfile store: descriptors and memory available again; every file looked at');
      this.shortage = undefined;
    }
    await this.finishBatch();
  }

  /**
   * A look failed for want of the agent's own resources (too many open files, no memory): that
   * says nothing about the file or directory, so nothing is dropped or marked bad; a full rescan
   * retries shortly. Logged once per shortage, not once per file.
   */
  private retryAfterShortage(message: string): void {
    this.shortageSeenInScan = true;
    if (this.shortage === undefined) {
      this.shortage = message;
      this.logger.warn({}, `${message}; serving what was read before and retrying`);
    }
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.exclusive(() => this.scanAll()).catch(() => undefined);
    }, TRANSIENT_RETRY_MS);
    this.retryTimer.unref();
  }

  private async scanDirectory(state: DirectoryState): Promise<void> {
    const listedAtNs = BigInt(Date.now()) * 1_000_000n;
    const listing = await listTextfiles(state.path, state.access);
    if (!listing.ok && isTransientErrorCode(listing.code) && state.listing !== undefined && !this.oneShot) {
      this.retryAfterShortage(`cannot list ${state.path} now: ${listing.message}`);
      return;
    }
    if (!listing.ok) {
      const previous = state.error;
      state.listing = undefined;
      state.watchedIno = undefined;
      state.error = { code: listing.code, message: listing.message };
      if (previous === undefined || previous.message !== listing.message) {
        this.logger.warn({ directory: state.path }, `cannot read textfile directory: ${listing.message}`);
        this.contentChanged = true;
      }
      for (const path of state.paths) this.removeEntry(path);
      state.paths = new Set();
      return;
    }
    if (state.error !== undefined) {
      this.logger.info({ directory: state.path }, 'textfile directory is readable again');
      this.contentChanged = true;
    }
    state.error = undefined;
    state.listing = { identity: listing.identity, listedAtNs };
    if (state.accessDev !== listing.identity.dev) {
      state.access = await fileAccessFor(state.path);
      state.accessDev = listing.identity.dev;
    }
    if (state.watchedIno !== undefined && state.watchedIno !== listing.identity.ino) this.watcher?.unwatchFiles(state.paths);
    state.watchedIno = listing.identity.ino;
    const paths = listing.names.map((name) => join(state.path, name));
    const present = new Set(paths);
    for (const path of state.paths) if (!present.has(path)) this.removeEntry(path);
    state.paths = present;
    await forEachLimited(paths, STAT_CONCURRENCY, (path) => this.refreshPath(path, state));
  }

  private removeEntry(path: string): void {
    if (this.entries.delete(path)) this.contentChanged = true;
  }

  /** Looks at one textfile again: stat, and read it if it changed and may be read now. */
  private async refreshPath(path: string, state: DirectoryState): Promise<void> {
    const existing = this.entries.get(path);
    const entry = existing ?? newFileEntry(path);
    const stat = await statTextfile(path, state.access);
    if (stat.kind === 'gone') {
      state.paths.delete(path);
      this.removeEntry(path);
      return;
    }
    // A one-shot load (list, cat) has no later look: it reports the failure as it is.
    if (stat.kind === 'failed' && stat.transient === true && !this.oneShot) {
      this.retryAfterShortage(stat.message);
      return;
    }
    if (existing === undefined) this.entries.set(path, entry);
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
    if (read.kind === 'failed' && read.transient === true && !this.oneShot) {
      this.retryAfterShortage(read.message);
      return;
    }
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
    entry.judgedIdentity = read.identity;
    entry.seenIdentity = read.identity;
    entry.settling = undefined;
    this.contentChanged = true;
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
   *  files on a worker thread), so that one file's bytes at most are in memory at once; a
   *  one-shot load retries a file caught mid-write. */
  private readWhole(path: string, access: FileAccess): Promise<JudgedRead> {
    return this.readLock.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const read = await readTextfile(path, { maxFileSize: this.options.maxFileSize }, access);
        if (read.kind === 'read' && read.stable) {
          return { ...read, verdict: await judgeContentOffThread(path, read.bytes, read.identity, this.contentOptions) };
        }
        if (read.kind !== 'read') return read;
        if (!this.oneShot || attempt >= ONE_SHOT_READ_ATTEMPTS) return { ...read, verdict: undefined };
        await new Promise((resolve) => setTimeout(resolve, ONE_SHOT_RETRY_DELAY_MS));
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
    this.contentChanged = true;
  }

  // -------------------------------------------------------------------------------------------
  // Judging and building snapshots

  /** Re-judges every file; builds a new snapshot when content or any judgement changed. */
  private async finishBatch(): Promise<void> {
    const now = this.now();
    const views = new Map<string, Judgement>();
    let changed = this.contentChanged;
    let next: number | undefined;
    for (const [path, entry] of this.entries) {
      const judgement = judgeFile(entry, now, this.judgementOptions);
      if (judgement.nextChangeAtMs !== undefined && (next === undefined || judgement.nextChangeAtMs < next)) next = judgement.nextChangeAtMs;
      // A new file caught mid-write is only waited for (its settle deadline), not reported yet.
      if (entry.good === undefined && entry.problem === undefined) continue;
      views.set(path, judgement);
      if (!changed) {
        const before = this.lastViews.get(path);
        if (before === undefined || !sameJudgement(before, judgement)) changed = true;
      }
    }
    if (!changed && views.size !== this.lastViews.size) changed = true;
    this.nextChangeAtMs = next;
    if (changed) {
      this.current = this.build(now, views);
      this.lastViews = views;
      this.contentChanged = false;
    }
    // Everything listed so far is in the current snapshot now.
    for (const state of this.directories.values()) state.servedListing = state.listing;
    this.watchKnownFiles();
    this.scheduleDeadline();
  }

  private build(now: number, views: ReadonlyMap<string, Judgement>): BuiltSnapshot {
    const paths = [...views.keys()].sort(compareCodePoints);
    const sources: ComposeSource[] = [];
    const fileViews: FileView[] = [];
    for (const path of paths) {
      const entry = this.entries.get(path)!;
      const judgement = views.get(path)!;
      fileViews.push({ entry, judgement });
      if (judgement.served && entry.good !== undefined) sources.push({ id: path, families: entry.good.families });
    }
    this.lastSources = sources;
    const merged = this.composer.merge(sources);
    const conflictsBySource = new Map<string, Conflict[]>();
    for (const conflict of merged.conflicts) {
      const list = conflictsBySource.get(conflict.source);
      if (list === undefined) conflictsBySource.set(conflict.source, [conflict]);
      else list.push(conflict);
    }
    const files = fileViews.map((view) => reportOf(view, conflictsBySource.get(view.entry.path)));
    const directories: DirectoryReport[] = [...this.directories.values()].map((state) =>
      state.error === undefined
        ? { path: state.path, pattern: state.pattern, ok: true }
        : { path: state.path, pattern: state.pattern, ok: false, message: state.error.message },
    );
    const meta = buildMetaFamilies(
      files.map((file, index) => ({
        path: file.path,
        served: file.served,
        servedMtimeNs: file.served ? fileViews[index]!.entry.good?.identity.mtimeNs : undefined,
        errorReason: file.reason,
      })),
      directories,
    );
    const exposition = merged.finish(meta);
    this.logTransitions(files);
    const snapshot = new BuiltSnapshot(this.generation++, exposition.parts, files, directories, now);
    if (!this.oneShot) snapshot.prepareGzip();
    return snapshot;
  }

  /** One log line per file whose state, reason or message changed; never one per scrape. */
  private logTransitions(files: readonly FileReport[]): void {
    const next = new Map<string, FileReport>();
    const quietAdds = !this.ready;
    for (const file of files) {
      next.set(file.path, file);
      const before = this.previousReports.get(file.path);
      if (before !== undefined && before.state === file.state && before.reason === file.reason && before.message === file.message) continue;
      // A pushed group is not the user's file to touch: the push API deletes it once expired
      // (pushed-groups.ts logs that), so the advice for textfiles would mislead.
      const told =
        file.state === 'expired' && this.isPushed(file.path)
          ? { message: 'pushed group expired (its ttl since the last push); it is deleted', position: {} }
          : withoutPath(file.path, file.message);
      const fields = { file: file.path, state: file.state, ...(file.reason === undefined ? {} : { reason: file.reason }), ...told.position };
      if (file.state === 'ok' && told.message !== undefined) {
        // Served in full, with a warning (a HELP that differs from the served one).
        this.logger.warn(fields, told.message);
      } else if (file.state === 'ok') {
        if (before === undefined) {
          if (quietAdds) this.logger.debug(fields, 'textfile added');
          else this.logger.info(fields, 'textfile added');
        } else if (before.state !== 'stale_grace' || before.reason !== undefined) {
          this.logger.info(fields, 'textfile is served again');
        }
      } else if (file.state === 'stale_grace' && file.reason === undefined) {
        // An in-place writer at work: expected, frequent, and harmless.
        this.logger.debug(fields, told.message ?? 'textfile is being rewritten');
      } else {
        this.logger.warn(fields, told.message ?? `textfile is ${file.state}`);
      }
    }
    if (!this.oneShot) {
      for (const path of this.previousReports.keys()) {
        if (!next.has(path)) this.logger.info({ file: path }, 'textfile removed');
      }
    }
    this.previousReports = next;
  }
}

// ---------------------------------------------------------------------------------------------

export interface LoadOptions {
  directories: string[];
  maxFileSize?: number | undefined;
  maxSeriesPerFile?: number | undefined;
  defaultTtlMs?: number | undefined;
  allowTimestamps?: boolean | undefined;
  nameValidation?: NameValidationScheme | undefined;
  now?: (() => number) | undefined;
  logger?: StoreLogger | undefined;
}

const SILENT_LOGGER: StoreLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** One scan with the agent's judgement, without watcher or timers: `promdrop list` and `cat`. */
export async function loadOnce(options: LoadOptions): Promise<Snapshot> {
  const store = new TextfileStore({
    directories: options.directories,
    maxFileSize: options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
    maxSeriesPerFile: options.maxSeriesPerFile ?? DEFAULT_MAX_SERIES_PER_FILE,
    defaultTtlMs: options.defaultTtlMs,
    gracePeriodMs: DEFAULT_GRACE_PERIOD_MS,
    settleMs: DEFAULT_SETTLE_MS,
    rescanIntervalMs: DEFAULT_RESCAN_INTERVAL_MS,
    usePolling: false,
    allowTimestamps: options.allowTimestamps ?? false,
    nameValidation: options.nameValidation,
    now: options.now,
    logger: options.logger ?? SILENT_LOGGER,
  });
  try {
    return await store.scanOnce();
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * A file's message for the log, where `file=` names the file already: a leading `PATH:` goes,
 * and a `PATH:LINE:COL:` position becomes the fields line= and column=.
 */
function withoutPath(path: string, message: string | undefined): { message: string | undefined; position: { line?: number; column?: number } } {
  if (message === undefined || !message.startsWith(`${path}:`)) return { message, position: {} };
  const rest = message.slice(path.length + 1);
  const position = /^(\d+)(?::(\d+))?: /.exec(rest);
  if (position === null) return { message: rest.trimStart(), position: {} };
  return {
    message: rest.slice(position[0].length),
    position: { line: Number(position[1]), ...(position[2] === undefined ? {} : { column: Number(position[2]) }) },
  };
}

function directoryMayHaveChanged(state: DirectoryState, now: Awaited<ReturnType<typeof statDirectory>>): boolean {
  const listing = state.servedListing;
  if (!now.ok) return listing !== undefined || state.error?.message !== now.message;
  if (listing === undefined) return true;
  if (!sameDirectoryIdentity(listing.identity, now.identity)) return true;
  return isRacy(listing);
}

/** The directory changed so close to when it was listed that a later change within the same
 *  coarse clock tick would leave its mtime as it is (git's "racily clean" case). */
function isRacy(listing: { identity: DirectoryIdentity; listedAtNs: bigint }): boolean {
  return listing.identity.mtimeNs >= listing.listedAtNs - RACY_MARGIN_NS;
}

function sameJudgement(a: Judgement, b: Judgement): boolean {
  return (
    a.state === b.state && a.served === b.served && a.reason === b.reason && a.message === b.message && a.expiresAtMs === b.expiresAtMs && a.ttlMs === b.ttlMs
  );
}

/**
 * A file's report once the merge is known. Its series count is what the exposition really
 * holds of it: series lost to another file are not counted, and a file that loses every series
 * it has is not served (`promdrop_textfile_up 0`). A HELP that differs from the served one is a
 * warning: every series is served, under the first file's HELP (docs/agent.md).
 */
function reportOf(view: FileView, conflicts: readonly Conflict[] | undefined): FileReport {
  const { entry, judgement } = view;
  let state = judgement.state;
  let reason = judgement.reason;
  let message = judgement.message;
  const losses = conflicts?.filter((conflict) => conflict.severity === 'error') ?? [];
  const notes = conflicts?.filter((conflict) => conflict.severity !== 'error') ?? [];
  const good = judgement.served ? entry.good : undefined;
  let lost = 0;
  for (const conflict of losses) lost += conflict.series;
  const series = good === undefined ? 0 : Math.max(0, good.series - lost);
  const served = good !== undefined && !(good.series > 0 && series === 0);
  if (losses.length > 0 && reason === undefined) {
    const first = losses[0]!;
    state = judgement.state === 'ok' ? 'conflict' : judgement.state;
    reason = losses.every((c) => c.kind === 'duplicate_series') ? 'duplicate' : 'conflict';
    const more = losses.length > 1 ? ` (and ${losses.length - 1} more conflict${losses.length > 2 ? 's' : ''})` : '';
    message = `${entry.path}${first.line > 0 ? `:${first.line}` : ''}: ${first.message}${more}${served ? '' : '; nothing of this file is served'}`;
  } else if (notes.length > 0 && message === undefined) {
    const first = notes[0]!;
    message = `${entry.path}${first.line > 0 ? `:${first.line}` : ''}: warning: ${first.message}`;
  }
  const shown = judgement.served && entry.good !== undefined ? entry.good.identity : (entry.judgedIdentity ?? entry.seenIdentity);
  const report: {
    -readonly [K in keyof FileReport]: FileReport[K];
  } = {
    path: entry.path,
    state,
    served,
    series,
    warnings: entry.warnings + notes.length,
  };
  if (reason !== undefined) report.reason = reason;
  if (message !== undefined) report.message = message;
  if (shown !== undefined) {
    report.mtimeMs = mtimeMsOf(shown);
    report.sizeBytes = Number(shown.size);
  }
  if (judgement.ttlMs !== undefined) report.ttlMs = judgement.ttlMs;
  if (judgement.expiresAtMs !== undefined) report.expiresAtMs = judgement.expiresAtMs;
  return report;
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
