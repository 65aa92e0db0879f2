// What the HTTP layer reads from the store, declared here so that src/http depends on no other
// layer's types: the store's Snapshot (src/agent/snapshot.ts) satisfies these interfaces
// structurally, which the compiler checks where src/program/serve.ts hands the store to the app.
import type { EscapingScheme } from '../core/escaping.js';
import type { ExpositionFormat } from './negotiate.js';

/** A file's state as the landing page and /api/v1/files show it. */
export type FileState = 'ok' | 'invalid' | 'expired' | 'conflict' | 'stale_grace';

/** One *.prom entry: a row of the landing page, an element of /api/v1/files (sent whole). */
export interface FileReport {
  readonly path: string;
  readonly state: FileState;
  /** True when some of the file's content is in the scrape output. */
  readonly served: boolean;
  readonly reason?: string;
  readonly message?: string;
  readonly mtimeMs?: number;
  readonly sizeBytes?: number;
  readonly series: number;
  readonly ttlMs?: number;
  readonly expiresAtMs?: number;
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

/** A body compressed as raw DEFLATE that ends byte-aligned (a sync flush) without a final block. */
export interface DeflatedBody {
  readonly deflated: Buffer;
  /** CRC-32 and length of the uncompressed body, for the gzip trailer. */
  readonly crc: number;
  readonly length: number;
}

/** The immutable state one request is answered from. */
export interface Snapshot {
  readonly generation: number;
  /** The scrape body as the chunks it is written as (their concatenation is the body), with
   *  names that are not legacy-valid written as `escaping` asks (default allow-utf-8). */
  body(format: ExpositionFormat, escaping?: EscapingScheme): readonly Buffer[];
  /** The body without OpenMetrics' `# EOF`, compressed once per snapshot, for gzip-splice.ts. */
  deflated(format: ExpositionFormat, escaping?: EscapingScheme): Promise<DeflatedBody>;
  readonly files: readonly FileReport[];
  readonly directories: readonly DirectoryReport[];
}

/** What the HTTP layer needs from the store: the current snapshot (after the store's cheap
 *  freshness check, so a scrape sees a file renamed into place just before it) and readiness. */
export interface SnapshotSource {
  isReady(): boolean;
  snapshot(): Promise<Snapshot>;
}
