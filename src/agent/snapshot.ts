// An immutable view of everything the agent serves at one moment: the rendered text (put together
// once per change from the families' cached parts), the OpenMetrics rendering and gzip bodies
// (built on first use, then kept), and the per-file reports. Scrapes only ever read a snapshot,
// so concurrent scrapes share the work and a scrape's cost does not depend on the number of files.
import { constants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import type { EscapingScheme } from '../core/escaping.js';
import { OPENMETRICS_EOF, withoutEof } from '../core/render.js';
import type { FamilyPart } from './compose.js';
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

/** A body compressed as raw DEFLATE that ends byte-aligned without a final block. */
export interface DeflatedBody {
  readonly deflated: Buffer;
  /** CRC-32 and length of the uncompressed body, for the gzip trailer. */
  readonly crc: number;
  readonly length: number;
}

export interface Snapshot {
  /** Grows by one each time the served content or any report changes. */
  readonly generation: number;
  /** The body in `format` as the chunks it is served as (their concatenation is the body):
   *  large families' bytes are shared with the store, never copied per snapshot. Text 0.0.4:
   *  every served family plus the node_textfile_* and promdrop_textfile_* families; OpenMetrics
   *  1.0.0 of the same families, ending in `# EOF`, built on first call. */
  body(format: ExpositionFormat, escaping?: EscapingScheme): readonly Buffer[];
  /** The text body as one buffer: a copy made on each use, for `promdrop cat` and tests. */
  readonly text: Buffer;
  /** The OpenMetrics body as one buffer (a copy, as `text`). */
  openMetrics(): Buffer;
  /** Either body without OpenMetrics' `# EOF`, as raw DEFLATE ending in a sync flush (so that
   *  the per-scrape self metrics and `# EOF` can follow it in the same gzip member; see
   *  http/gzip-splice.ts), compressed once (text: started in the background when large).
   *  `escaping` (of body too): how names that are not legacy-valid are written, default
   *  allow-utf-8 (as the files have them). Without such names every scheme gives one body. */
  deflated(format: ExpositionFormat, escaping?: EscapingScheme): Promise<DeflatedBody>;
  /** Every *.prom entry, sorted by path. */
  readonly files: readonly FileReport[];
  readonly directories: readonly DirectoryReport[];
  /** Wall-clock time the snapshot was built at (the store's clock). */
  readonly builtAtMs: number;
}

/** Bodies at least this large are gzipped off the event loop (zlib's thread pool), and the
 *  text body as soon as the snapshot exists: compressing tens of megabytes takes a while. */
const BACKGROUND_GZIP_MIN_BYTES = 256 * 1024;
/** Parts at least this large are served as chunks of their own; smaller neighbours are joined,
 *  so that a scrape of a thousand small files writes a few buffers, not thousands. */
const OWN_CHUNK_MIN_BYTES = 64 * 1024;
const EOF_CHUNK = Buffer.from(OPENMETRICS_EOF);

export class BuiltSnapshot implements Snapshot {
  private readonly textChunks: readonly Buffer[];
  private openMetricsChunks: readonly Buffer[] | undefined;
  private readonly deflatedBodies: { text?: Promise<DeflatedBody>; openmetrics?: Promise<DeflatedBody> } = {};
  /** True when some served name is not legacy-valid. */
  readonly hasUtf8Names: boolean;
  /** Bodies under the escaping schemes, by `format scheme`, built on first use (only when
   *  hasUtf8Names: otherwise every scheme is served the one body). */
  private escapedBodies: Map<string, { chunks: readonly Buffer[]; deflated?: Promise<DeflatedBody> }> | undefined;

  constructor(
    readonly generation: number,
    private readonly parts: readonly FamilyPart[],
    readonly files: readonly FileReport[],
    readonly directories: readonly DirectoryReport[],
    readonly builtAtMs: number,
  ) {
    this.textChunks = joinSmallChunks(parts.flatMap((part) => part.text));
    this.hasUtf8Names = parts.some((part) => part.utf8Family !== undefined);
  }

  body(format: ExpositionFormat, escaping: EscapingScheme = 'allow-utf-8'): readonly Buffer[] {
    if (escaping !== 'allow-utf-8' && this.hasUtf8Names) return this.escaped(format, escaping).chunks;
    if (format === 'text') return this.textChunks;
    this.openMetricsChunks ??= joinSmallChunks([...this.parts.flatMap((part) => part.openMetrics()), EOF_CHUNK]);
    return this.openMetricsChunks;
  }

  get text(): Buffer {
    return Buffer.concat(this.textChunks);
  }

  openMetrics(): Buffer {
    return Buffer.concat(this.body('openmetrics'));
  }

  deflated(format: ExpositionFormat, escaping: EscapingScheme = 'allow-utf-8'): Promise<DeflatedBody> {
    if (escaping !== 'allow-utf-8' && this.hasUtf8Names) {
      const escaped = this.escaped(format, escaping);
      escaped.deflated ??= deflateChunks(withoutEof(format, escaped.chunks));
      return escaped.deflated;
    }
    let body = this.deflatedBodies[format];
    if (body === undefined) {
      body = deflateChunks(withoutEof(format, this.body(format)));
      this.deflatedBodies[format] = body;
    }
    return body;
  }

  private escaped(format: ExpositionFormat, escaping: EscapingScheme): { chunks: readonly Buffer[]; deflated?: Promise<DeflatedBody> } {
    const key = `${format} ${escaping}`;
    this.escapedBodies ??= new Map();
    let body = this.escapedBodies.get(key);
    if (body === undefined) {
      const pieces = this.parts.flatMap((part) => part.chunks(format, escaping));
      if (format === 'openmetrics') pieces.push(EOF_CHUNK);
      body = { chunks: joinSmallChunks(pieces) };
      this.escapedBodies.set(key, body);
    }
    return body;
  }

  /** Starts compressing the text body in the background when it is large. */
  prepareGzip(): void {
    if (lengthOf(this.textChunks) >= BACKGROUND_GZIP_MIN_BYTES) void this.deflated('text').catch(() => undefined);
  }
}

function lengthOf(chunks: readonly Buffer[]): number {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  return length;
}

function joinSmallChunks(pieces: readonly Buffer[]): Buffer[] {
  const chunks: Buffer[] = [];
  let run: Buffer[] = [];
  const flush = (): void => {
    if (run.length === 1) chunks.push(run[0]!);
    else if (run.length > 1) chunks.push(Buffer.concat(run));
    run = [];
  };
  for (const piece of pieces) {
    if (piece.length >= OWN_CHUNK_MIN_BYTES) {
      flush();
      chunks.push(piece);
    } else if (piece.length > 0) {
      run.push(piece);
    }
  }
  flush();
  return chunks;
}

/** Raw DEFLATE of the chunks' concatenation, ending in a sync flush, without making that
 *  concatenation: small bodies at once, large ones streamed through zlib's thread pool. */
function deflateChunks(chunks: readonly Buffer[]): Promise<DeflatedBody> {
  let crc = 0;
  for (const chunk of chunks) crc = crc32(chunk, crc);
  const length = lengthOf(chunks);
  if (length === 0) return Promise.resolve({ deflated: Buffer.alloc(0), crc, length });
  if (length < BACKGROUND_GZIP_MIN_BYTES) {
    return Promise.resolve({ deflated: deflateRawSync(Buffer.concat(chunks), { finishFlush: constants.Z_SYNC_FLUSH }), crc, length });
  }
  return new Promise((resolve, reject) => {
    const compressed: Buffer[] = [];
    const deflate = createDeflateRaw({ finishFlush: constants.Z_SYNC_FLUSH });
    deflate.on('data', (chunk: Buffer) => compressed.push(chunk));
    deflate.once('end', () => resolve({ deflated: Buffer.concat(compressed), crc, length }));
    deflate.once('error', reject);
    for (const chunk of chunks) deflate.write(chunk);
    deflate.end();
  });
}
