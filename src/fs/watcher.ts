// Watches the textfile directories with chokidar and turns its events into hints for the store.
// A hint only says "look here again": the store always re-stats before believing anything, so a
// missed, coalesced or reordered event costs latency, never correctness (the periodic rescan and
// the per-scrape directory check catch up). Loaded with a dynamic import by the store, so that
// `promdrop list` and `cat` never load chokidar.
import { watch, type FSWatcher } from 'chokidar';
import { basename, dirname, normalize } from 'node:path';
import { isTextfileName } from './directory-scan.js';
import { describeError, errorCode } from './textfile-reader.js';

export type WatchHint =
  /** Something happened to this textfile path: stat it again. */
  | { readonly kind: 'file'; readonly path: string }
  /** The directory itself was removed or replaced: list it again. */
  | { readonly kind: 'directory'; readonly path: string }
  /** Watching stopped working (e.g. inotify limits); only rescans remain. */
  | { readonly kind: 'degraded'; readonly message: string };

export interface WatcherLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface DirectoryWatcherOptions {
  readonly usePolling: boolean;
  /** Poll interval when usePolling is set. */
  readonly pollIntervalMs: number;
  readonly logger: WatcherLogger;
  readonly onHint: (hint: WatchHint) => void;
}

const READY_TIMEOUT_MS = 10_000;

/** Errors that mean the kernel will not give us more watches: retrying cannot help. */
const EXHAUSTION_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

export class DirectoryWatcher {
  private readonly watcher: FSWatcher;
  /** Normalised directory path → the path as the store spells it. */
  private readonly directories = new Map<string, string>();
  private degradedMessage: string | undefined;

  private constructor(
    directories: readonly string[],
    private readonly options: DirectoryWatcherOptions,
  ) {
    for (const directory of directories) this.directories.set(normalize(directory), directory);
    this.watcher = watch([...directories], {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: true,
      ignorePermissionErrors: true,
      usePolling: options.usePolling,
      interval: options.pollIntervalMs,
      binaryInterval: options.pollIntervalMs,
      // Only the directories and their textfiles: every other name would cost a watch per file.
      ignored: (path: string) => !this.directories.has(normalize(path)) && !isTextfileName(basename(path)),
    });
    this.watcher.on('all', (event, path) => this.onEvent(event, path));
    this.watcher.on('error', (error) => this.onError(error));
  }

  /** Starts watching; resolves once chokidar has set up its watches, or after a bounded wait
   *  (a huge or slow directory must not keep the agent from becoming ready: rescans cover it). */
  static async start(directories: readonly string[], options: DirectoryWatcherOptions): Promise<DirectoryWatcher> {
    const instance = new DirectoryWatcher(directories, options);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        options.logger.warn({ waitedMs: READY_TIMEOUT_MS }, 'the textfile watcher is slow to start; carrying on, rescans cover the gap');
        resolve();
      }, READY_TIMEOUT_MS);
      timer.unref();
      instance.watcher.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return instance;
  }

  /** True once watching has failed for good and only rescans keep the store current. */
  get degraded(): boolean {
    return this.degradedMessage !== undefined;
  }

  /** Follows a change of the directory list (a glob now matching other directories). */
  setDirectories(directories: readonly string[]): void {
    if (this.degraded) return;
    const wanted = new Map(directories.map((directory) => [normalize(directory), directory]));
    for (const [key, directory] of this.directories) {
      if (!wanted.has(key)) {
        this.directories.delete(key);
        this.watcher.unwatch(directory);
      }
    }
    for (const [key, directory] of wanted) {
      if (!this.directories.has(key)) {
        this.directories.set(key, directory);
        this.watcher.add(directory);
      }
    }
  }

  /**
   * Watches a directory afresh: needed when it was deleted and created again (the old watch
   * died with the old inode) or appeared after start (chokidar does not wait for a missing
   * path to be created).
   */
  rewatch(directory: string): void {
    if (this.degraded) return;
    this.directories.set(normalize(directory), directory);
    this.watcher.unwatch(directory);
    this.watcher.add(directory);
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
    const key = normalize(path);
    const directory = this.directories.get(key);
    if (directory !== undefined) {
      if (event === 'unlinkDir' || event === 'addDir') this.options.onHint({ kind: 'directory', path: directory });
      return;
    }
    if (event === 'addDir' || event === 'unlinkDir') {
      // A subdirectory named *.prom: the store reports it as not_regular.
      if (!isTextfileName(basename(path))) return;
    }
    if (this.directories.has(normalize(dirname(path)))) this.options.onHint({ kind: 'file', path });
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
