// Watches the textfiles with chokidar and turns its events into hints for the store.
// A hint only says "look here again": the store always re-stats before believing anything, so a
// missed, coalesced or reordered event costs latency, never correctness (the periodic rescan and
// the per-scrape directory check catch up). Only the agent's store (agent/store.ts) imports it:
// `promdrop list` and `cat` read through agent/load-once.ts, and never load chokidar.
//
// The files are watched, not their directories. A watched directory makes chokidar list it
// again, with an lstat per entry, after every event in it, and under steady churn (renames,
// temporary files, in-place rewrites) it never stops: the soak measured 32 listings and 7,000
// lstats a second among 230 files, the larger part of the agent's allocations and a one-time RSS
// step each time that churn peaked (docs/reliability.md). What a directory watch would add, the
// store has already: every scrape stats each directory and lists one that changed, and the store
// hands every file it lists to watchFiles(), so each file is watched from the moment it is known.
import { watch, type FSWatcher } from 'chokidar';
import { basename } from 'node:path';
import { isTextfileName } from './directory-scan.js';
import { describeError, errorCode } from './textfile-reader.js';

export type WatchHint =
  /** Something happened to this textfile path (or its watch was just set up): stat it again. */
  | { readonly kind: 'file'; readonly path: string }
  /** Watching stopped working (e.g. inotify limits); only rescans remain. */
  | { readonly kind: 'degraded'; readonly message: string };

export interface WatcherLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface TextfileWatcherOptions {
  readonly usePolling: boolean;
  /** Poll interval when usePolling is set. */
  readonly pollIntervalMs: number;
  readonly logger: WatcherLogger;
  readonly onHint: (hint: WatchHint) => void;
}

/** Errors that mean the kernel will not give us more watches: retrying cannot help. */
const EXHAUSTION_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

export class TextfileWatcher {
  private readonly watcher: FSWatcher;
  /** The paths handed to chokidar and not since reported gone by it. */
  private readonly watched = new Set<string>();
  private degradedMessage: string | undefined;

  constructor(private readonly options: TextfileWatcherOptions) {
    this.watcher = watch([], {
      depth: 0,
      // 'add' is emitted once a file's watch is set up: the hint it becomes closes the window
      // between the store reading a file and the watch existing.
      ignoreInitial: false,
      followSymlinks: true,
      ignorePermissionErrors: true,
      usePolling: options.usePolling,
      interval: options.pollIntervalMs,
      binaryInterval: options.pollIntervalMs,
    });
    this.watcher.on('all', (event, path) => this.onEvent(event, path));
    this.watcher.on('error', (error) => this.onError(error));
  }

  /** True once watching has failed for good and only rescans keep the store current. */
  get degraded(): boolean {
    return this.degradedMessage !== undefined;
  }

  /**
   * Watches exactly these textfiles from now on: the ones not watched yet are added, the others
   * dropped. The store calls it with every textfile it knows after each batch of work.
   */
  watchFiles(paths: readonly string[]): void {
    if (this.degraded) return;
    const added: string[] = [];
    let stillWanted = 0;
    for (const path of paths) {
      if (this.watched.has(path)) stillWanted++;
      else if (isTextfileName(basename(path))) added.push(path);
    }
    // The usual case, after a batch that changed no file's presence: nothing to compare.
    if (added.length === 0 && stillWanted === this.watched.size) return;
    const wanted = new Set(paths);
    const dropped = [...this.watched].filter((path) => !wanted.has(path));
    for (const path of dropped) this.watched.delete(path);
    for (const path of added) this.watched.add(path);
    if (dropped.length > 0) this.watcher.unwatch(dropped);
    if (added.length > 0) this.watcher.add(added);
  }

  /** Forgets these files' watches (their directory was replaced): the next watchFiles() that
   *  names them watches them afresh. */
  unwatchFiles(paths: Iterable<string>): void {
    const dropped = [...paths].filter((path) => this.watched.delete(path));
    if (dropped.length > 0 && !this.degraded) this.watcher.unwatch(dropped);
  }

  async close(): Promise<void> {
    await this.closeWatcher();
  }

  private closeWatcher(): Promise<void> {
    const closing = this.watcher.close();
    // close() drops every listener, yet a watch that was still being set up can report an
    // error afterwards; an 'error' event without a listener would be thrown and kill the agent.
    this.watcher.on('error', () => undefined);
    return closing;
  }

  private onEvent(event: string, path: string): void {
    if (!this.watched.has(path)) return;
    // chokidar stops watching a path it finds gone: the store's next look drops the file, or
    // (if it is back already) hands it over again.
    if (event === 'unlink' || event === 'unlinkDir') this.watched.delete(path);
    this.options.onHint({ kind: 'file', path });
  }

  private onError(error: unknown): void {
    const code = errorCode(error);
    if (code !== undefined && EXHAUSTION_CODES.has(code)) {
      if (this.degradedMessage !== undefined) return;
      this.degradedMessage =
        `cannot watch the textfile directories (${code}: ${code === 'ENOSPC' ? 'inotify watch limit reached, see fs.inotify.max_user_watches' : 'too many open files'}); ` +
        'falling back to periodic rescans';
      this.options.logger.warn({ code }, this.degradedMessage);
      this.options.onHint({ kind: 'degraded', message: this.degradedMessage });
      // The watches that did work may still fire, but a partial watch is worse than a known
      // fallback: close it and let the store's rescans take over.
      void this.closeWatcher();
      return;
    }
    this.options.logger.debug({ err: describeError(error) }, 'textfile watcher error; relying on rescans');
  }
}
