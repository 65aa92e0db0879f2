// The agent's store: when to look at the textfiles, one look at a time, and the snapshot that
// scrapes serve. It looks on change: a watcher hint, a directory that changed since the last
// scan (checked when a scrape asks for the snapshot, O(directories) stats: a scrape after a
// write waits for that write's file to be read, never for unchanged files), a periodic rescan,
// SIGHUP, a timer for the next time-based change (expiry, end of grace, settling), or a retry
// after the agent ran short of descriptors or memory. A scrape never renders: it gets an
// immutable Snapshot. The looks themselves are file-table.ts's (list, stat, read, judge, by
// core/verdict.ts); what the files serve together and what is said about them are
// snapshot-builder.ts's (by core/merge.ts through compose.ts), the same two functions
// `promdrop check` uses.
import type { NameValidationScheme } from '../core/parse.js';
import { normalize } from 'node:path';
import { agentContentOptions, type ContentOptions } from '../core/verdict.js';
import { DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_SERIES_PER_FILE, DEFAULT_RESCAN_INTERVAL_MS, DEFAULT_SETTLE_MS } from '../defaults.js';
import type { FileAccess } from '../fs/file-access.js';
import { TextfileWatcher, type WatchHint } from '../fs/watcher.js';
import type { ComposeSource } from './compose.js';
import type { GoodContent } from './file-state.js';
import { FileTable, type LookPolicy } from './file-table.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import type { Snapshot } from './snapshot.js';

export type { FileErrorReason, FileState } from './file-state.js';
export type { DirectoryReport, ExpositionFormat, FileReport, Snapshot } from './snapshot.js';

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
  /** How to make system calls in a directory: fs/file-access.ts's choice unless given. */
  fileAccessFor?: ((directory: string) => Promise<FileAccess>) | undefined;
}

/** Watch events arriving together are handled together. */
const HINT_DELAY_MS = 20;
/** Rescan interval once watching has failed. */
const DEGRADED_RESCAN_INTERVAL_MS = 5_000;
/** The longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After a look failed for want of descriptors or memory (EMFILE, ...), a full rescan this much
 *  later; meanwhile what was served stays served. */
const TRANSIENT_RETRY_MS = 1_000;

export class TextfileStore {
  /** The rules a file's content is judged by (core's agentContentOptions of the store's
   *  settings): the push API judges a group by the same, so that what it accepts is served. */
  readonly contentOptions: ContentOptions;
  private readonly now: () => number;
  private readonly logger: StoreLogger;
  private readonly table: FileTable;
  private readonly builder: SnapshotBuilder;
  private readonly unwatched: ReadonlySet<string>;

  private tail: Promise<unknown> = Promise.resolve();
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

  constructor(private readonly options: StoreOptions) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.contentOptions = agentContentOptions(options);
    this.unwatched = new Set((options.unwatchedDirectories ?? []).map((directory) => normalize(directory)));
    // The store always looks again (a rescan, the next hint or scrape), so a look that failed
    // for want of its own resources is retried rather than reported, and a file caught mid-write
    // is read once and then left to settle.
    const policy: LookPolicy = {
      deferShortage: (message) => {
        this.retryAfterShortage(message);
        return true;
      },
      readAttempts: 1,
      readRetryDelayMs: 0,
    };
    this.table = new FileTable({
      patterns: options.directories,
      maxFileSize: options.maxFileSize,
      settleMs: options.settleMs,
      contentOptions: this.contentOptions,
      policy,
      now: this.now,
      logger: this.logger,
      onDirectoryReplaced: (paths) => this.watcher?.unwatchFiles(paths),
      fileAccessFor: options.fileAccessFor,
    });
    this.builder = new SnapshotBuilder(
      {
        judgement: { defaultTtlMs: options.defaultTtlMs, gracePeriodMs: options.gracePeriodMs, settleMs: options.settleMs },
        logger: this.logger,
        pushedDirectories: options.pushedDirectories,
        // The first scan finds every file: "added" is news only once the store is running.
        quietAdds: () => !this.ready,
      },
      this.now(),
    );
  }

  /** First full scan, then the watcher; resolves once both are done. */
  async start(): Promise<void> {
    if (this.started) throw new Error('TextfileStore.start() called twice');
    this.started = true;
    await this.exclusive(() => this.scanAll());
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
    const current = this.builder.current;
    const files = current.files;
    this.logger.info(
      {
        directories: current.directories.length,
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
    return this.builder.current;
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

  // -------------------------------------------------------------------------------------------
  // For the push API's consistency index (src/push/pushed-groups.ts)

  /** Path and families of every file the current snapshot serves. A new array after every
   *  rebuild; a file's `families` stay the same object while its content is unchanged. */
  servedSources(): readonly ComposeSource[] {
    return this.builder.sources;
  }

  /** Takes a file the push API has just written as judged (FileTable.adopt). Queued like any store
   *  work, so a look that started earlier cannot put back what it read before. */
  adopt(path: string, content: GoodContent): Promise<void> {
    return this.exclusive(() => this.table.adopt(path, content));
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
    const changed = await this.table.changedDirectories();
    const next = this.builder.nextChangeAtMs;
    const due = next !== undefined && this.now() >= next;
    if (changed.length === 0 && !due) return;
    await this.exclusive(async () => {
      await this.table.rescanDirectories(changed);
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
    await this.table.lookAt(paths);
    await this.finishBatch();
  }

  private scheduleRescans(): void {
    if (this.closed) return;
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
    const next = this.builder.nextChangeAtMs;
    if (this.closed || next === undefined) return;
    // One millisecond late rather than early: the judgement uses `now >= deadline`.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.now()) + 1);
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      void this.exclusive(() => this.tick()).catch(() => undefined);
    }, delay);
    this.deadlineTimer.unref();
  }

  /** Time-based work: re-stat files waiting to settle, then re-judge every file. */
  private async tick(): Promise<void> {
    await this.table.lookAtSettling();
    await this.finishBatch();
  }

  private async scanAll(): Promise<void> {
    this.shortageSeenInScan = false;
    await this.table.scanAll();
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

  /** After every batch of looks: a new snapshot if anything changed, then the watches and the
   *  timer for the next time-based change. */
  private async finishBatch(): Promise<void> {
    if (this.builder.refresh(this.now(), this.table, this.table.contentChanged)) this.builder.current.prepareGzip();
    // Everything listed so far is in the current snapshot now.
    this.table.markServed();
    this.watchKnownFiles();
    this.scheduleDeadline();
  }

  /** Hands the watcher every textfile the store knows (outside the unwatched directories). */
  private watchKnownFiles(): void {
    if (this.watcher === undefined) return;
    this.watcher.watchFiles(this.table.listedPaths(this.unwatched));
  }
}
