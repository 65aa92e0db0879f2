// One gzip member holding a large body that was compressed once (per snapshot) followed by a
// small per-scrape suffix, without decompressing or re-compressing the body.
//
// Why not simply two gzip members back to back (valid per RFC 1952)? Because many readers stop
// after the first member: curl 7.88's --compressed and some browsers show only the first one.
//
// How: a gzip member is a 10-byte header, a raw DEFLATE stream and a trailer (CRC-32 and length
// of the uncompressed data). The body is compressed as raw DEFLATE ending in a sync flush, so it
// ends on a byte boundary without a final block; the suffix, compressed per scrape as a raw
// DEFLATE stream of its own (it never refers back before its own start), is then a valid
// continuation that ends the stream. Only the trailer must be new: its CRC-32 is combined from
// the two parts' CRCs arithmetically, so the body is never read again.
import { constants, crc32, deflateRawSync } from 'node:zlib';

const GZIP_TRAILER_LENGTH = 8;
/** ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown): the minimal header. */
const PLAIN_GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** The start of a gzip member's content, compressed for gzipWithSuffix (the snapshot body: src/agent/snapshot.ts makes the same shape in the background for large bodies). */
export interface DeflatedPrefix {
  /** Raw DEFLATE ending in a sync flush (byte-aligned, no final block); empty for an empty prefix. */
  readonly deflated: Buffer;
  readonly crc: number;
  readonly length: number;
}

export function deflatePrefix(prefix: Buffer): DeflatedPrefix {
  return {
    deflated: prefix.length === 0 ? Buffer.alloc(0) : deflateRawSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH }),
    crc: crc32(prefix),
    length: prefix.length,
  };
}

/**
 * The chunks of one gzip member whose content is `body` (raw DEFLATE ending in a sync flush,
 * such as deflatePrefix makes, compressed once per snapshot) followed by `suffix` (the small
 * per-scrape part, compressed here as the stream's end). Serving the textfiles first and the
 * agent's own metrics after them keeps the scrape reading as node_exporter's does.
 */
export function gzipWithSuffix(body: DeflatedPrefix, suffix: Buffer): Buffer[] {
  const trailer = Buffer.allocUnsafe(GZIP_TRAILER_LENGTH);
  trailer.writeUInt32LE(crc32Combine(body.crc, crc32(suffix), suffix.length), 0);
  trailer.writeUInt32LE((body.length + suffix.length) % 2 ** 32, 4);
  return [PLAIN_GZIP_HEADER, body.deflated, deflateRawSync(suffix), trailer];
}

// CRC-32 (the reflected polynomial 0xEDB88320 of gzip) of a concatenation A‖B from crc(A),
// crc(B) and len(B): crc(A‖B) = crc(A)·x^(8·len(B)) mod P  xor  crc(B), in GF(2) polynomials
// where bit 31 is x^0 (reflected). Multiplying by x^(8n) uses x^(2^k) mod P for the bits of 8n,
// so the cost is O(log n) 32-bit steps, independent of the body's size.

const REFLECTED_POLYNOMIAL = 0xedb88320;

/** a·b mod P for reflected 32-bit polynomials. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  let factor = b >>> 0;
  // Walk a's coefficients from x^0 (bit 31) upwards; factor holds b·x^i mod P.
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= factor;
    factor = factor & 1 ? (factor >>> 1) ^ REFLECTED_POLYNOMIAL : factor >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) mod P for k = 0..31, computed once at load (32 multiplications). */
const X_POW_2_POW_K: readonly number[] = (() => {
  const table: number[] = [];
  let power = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    table.push(power);
    power = multiplyModP(power, power);
  }
  return table;
})();

/** x^(8·bytes) mod P. */
function xPowBytes(bytes: number): number {
  let result = 0x80000000; // x^0
  // 8·bytes = bytes·2^3: start at x^(2^3) and step through the bits of `bytes`.
  let k = 3;
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) result = multiplyModP(X_POW_2_POW_K[k % 32]!, result);
  }
  return result;
}

/** CRC-32 of A‖B given crc(A), crc(B) and len(B) in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xPowBytes(lengthB), crcA) ^ crcB) >>> 0;
}
