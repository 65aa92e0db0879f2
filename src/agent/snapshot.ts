// An immutable view of everything the agent serves at one moment: the rendered text (built once
// per change), the OpenMetrics rendering and gzip bodies (built on first use, then kept), and the
// per-file reports. Scrapes only ever read a snapshot, so concurrent scrapes share the work and
// a scrape's cost does not depend on the number of files.
import { gzip as gzipAsync, gzipSync } from 'node:zlib';
import { renderOpenMetricsBytes } from '../core/render.js';
import type { MetricFamily } from '../core/types.js';
import type { FileErrorReason, FileState } from './file-state.js';

/** One *.prom entry, as the landing page, /api/v1/files and `promdrop list` show it. */
export interface FileReport {
  readonly path: string;
  readonly state: FileState;
  /** True when some of the file's content is in the scrape output (ok, conflict, stale_grace). */
  readonly served: boolean;
  readonly reason?: FileErrorReason;
  /** For parse and validation errors: `path:LINE:COL: message`. */
  readonly message?: string;
  /** mtime of the content that was last judged (the served content while stale_grace). */
  readonly mtimeMs?: number;
  readonly sizeBytes?: number;
  /** Series of the served (or last good) content: buckets, quantiles, _sum and _count count. */
  readonly series: number;
  /** Effective TTL: the file's directive, else --textfile.max-age. */
  readonly ttlMs?: number;
  readonly expiresAtMs?: number;
  /** Validation warnings of the latest content (served anyway). */
  readonly warnings: number;
}

/** One directory the store reads (after glob expansion). */
export interface DirectoryReport {
  readonly path: string;
  /** The --textfile.directory argument it came from. */
  readonly pattern: string;
  readonly ok: boolean;
  readonly message?: string;
}

export type ExpositionFormat = 'text' | 'openmetrics';

export interface Snapshot {
  /** Grows by one each time the served content or any report changes. */
  readonly generation: number;
  /** Text 0.0.4: every served family plus the node_textfile_* and promdrop_textfile_* families. */
  readonly text: Buffer;
  /** OpenMetrics 1.0.0 of the same families, ending in `# EOF`; built on first call. */
  openMetrics(): Buffer;
  /** gzip of either body; built on first call (text: usually already, in the background). */
  gzip(format: ExpositionFormat): Buffer;
  /** Every *.prom entry, sorted by path. */
  readonly files: readonly FileReport[];
  readonly directories: readonly DirectoryReport[];
  /** Wall-clock time the snapshot was built at (the store's clock). */
  readonly builtAtMs: number;
}

/** Bodies at least this large are gzipped in the background as soon as the snapshot exists, so
 *  the first gzip scrape does not stall the event loop compressing tens of megabytes. */
const BACKGROUND_GZIP_MIN_BYTES = 256 * 1024;

export class BuiltSnapshot implements Snapshot {
  private openMetricsBody: Buffer | undefined;
  private readonly gzipBodies: { text?: Buffer; openmetrics?: Buffer } = {};

  constructor(
    readonly generation: number,
    private readonly families: readonly MetricFamily[],
    readonly text: Buffer,
    readonly files: readonly FileReport[],
    readonly directories: readonly DirectoryReport[],
    readonly builtAtMs: number,
  ) {}

  openMetrics(): Buffer {
    this.openMetricsBody ??= renderOpenMetricsBytes(this.families);
    return this.openMetricsBody;
  }

  gzip(format: ExpositionFormat): Buffer {
    let body = this.gzipBodies[format];
    if (body === undefined) {
      body = gzipSync(format === 'text' ? this.text : this.openMetrics());
      this.gzipBodies[format] = body;
    }
    return body;
  }

  /** Starts compressing the text body on the thread pool when it is large; a gzip() call that
   *  comes first simply compresses synchronously and the background result is dropped. */
  prepareGzip(): void {
    if (this.text.length < BACKGROUND_GZIP_MIN_BYTES) return;
    gzipAsync(this.text, (error, result) => {
      if (error === null && this.gzipBodies.text === undefined) this.gzipBodies.text = result;
    });
  }
}
