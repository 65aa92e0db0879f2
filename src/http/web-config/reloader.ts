// Keeps the web config current, as exporter-toolkit does by re-reading it for every request and
// every TLS handshake: a new password or certificate applies to the next request or connection,
// without a restart. Rather than re-reading, current() stats the config file and the files it
// names (one stat each, microseconds) and reloads only when one of them changed. A watcher
// (fs.watch, chokidar) was not used: it would apply a change some time after it happened, while
// the toolkit's promise, and the tests', is "the next connection"; and certificates are often
// replaced by renaming a directory (certbot, Kubernetes secrets), which a stat sees and a watch
// on the old file does not. A change that does not load keeps the last good config, logged once.
import { statSync } from 'node:fs';
import type { Logger } from '../../log/logger.js';
import { loadWebConfig, type LoadedWebConfig } from './load.js';

export type StatSignature = (path: string) => string;

export class WebConfigReloader {
  private loaded: LoadedWebConfig;
  private signature: string;
  private readonly listeners: Array<(loaded: LoadedWebConfig) => void> = [];

  constructor(
    private readonly path: string,
    initial: LoadedWebConfig,
    private readonly logger: Logger,
    private readonly statFile: StatSignature = fileSignature,
  ) {
    this.loaded = initial;
    this.signature = this.signatureOf(initial.files);
  }

  /** The config as it is on disk now, or the last one that loaded. */
  current(): LoadedWebConfig {
    const signature = this.signatureOf(this.loaded.files);
    if (signature === this.signature) return this.loaded;
    this.signature = signature;
    const result = loadWebConfig(this.path);
    if (!result.ok) {
      this.logger.error({ err: result.error.message }, 'web config changed but does not load; keeping the previous one');
      return this.loaded;
    }
    const next = result.loaded;
    if ((next.tls === undefined) !== (this.loaded.tls === undefined) || next.config.http2 !== this.loaded.config.http2) {
      this.logger.error({ file: this.path }, 'web config changed TLS on/off or http2, which only a restart can apply; keeping the previous one');
      return this.loaded;
    }
    this.loaded = next;
    // The new config may name other files: their state is the baseline from now on.
    this.signature = this.signatureOf(next.files);
    this.logger.info({ file: this.path }, 'web config reloaded');
    for (const listener of this.listeners) listener(next);
    return next;
  }

  /** Called with each config that replaces the current one (the TLS server swaps its context). */
  onReload(listener: (loaded: LoadedWebConfig) => void): void {
    this.listeners.push(listener);
  }

  private signatureOf(files: readonly string[]): string {
    return files.map(this.statFile).join('|');
  }
}

/** Changes whenever the file is replaced (inode), rewritten (size, mtime, ctime) or removed. */
function fileSignature(path: string): string {
  try {
    const stats = statSync(path, { bigint: true });
    return `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}
