// One gzip member holding a small per-scrape prefix followed by a large body that was
// compressed once, without decompressing or re-compressing the body.
//
// Why not simply two gzip members back to back (valid per RFC 1952)? Because many readers stop
// after the first member: curl 7.88's --compressed and some browsers show only the first one,
// which here would be the self metrics, with every textfile series silently missing.
//
// How: a gzip member is a 10-byte header, a raw DEFLATE stream and a trailer (CRC-32 and length
// of the uncompressed data). The prefix is compressed per scrape as raw DEFLATE ending in a sync
// flush, so it ends on a byte boundary without a final block; the body's cached DEFLATE stream
// is then a valid continuation (it never refers back before its own start). Only the trailer
// must be new: its CRC-32 is combined from the two parts' CRCs arithmetically, so the body is
// never read again.
import { constants, crc32, deflateRawSync } from 'node:zlib';

const GZIP_HEADER_LENGTH = 10;
const GZIP_TRAILER_LENGTH = 8;
/** ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown): the minimal header. */
const PLAIN_GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** A prefix compressed for gzipWithPrefix; reusable for as long as the prefix is the same. */
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
 * The chunks of one gzip member whose content is the prefix then the content of `member` (a
 * single, header-flag-free gzip member such as node:zlib writes, of `memberLength` bytes
 * uncompressed). Undefined if `member` is not such a member; the caller then falls back.
 */
export function gzipWithPrefix(prefix: DeflatedPrefix, member: Buffer, memberLength: number): Buffer[] | undefined {
  if (
    member.length < GZIP_HEADER_LENGTH + GZIP_TRAILER_LENGTH ||
    member[0] !== 0x1f ||
    member[1] !== 0x8b ||
    member[2] !== 0x08 ||
    // Any flag (FNAME, FEXTRA, FHCRC, ...) would make the header longer than 10 bytes.
    member[3] !== 0x00 ||
    member.readUInt32LE(member.length - 4) !== memberLength % 2 ** 32
  ) {
    return undefined;
  }
  const memberCrc = member.readUInt32LE(member.length - 8);
  const deflatedBody = member.subarray(GZIP_HEADER_LENGTH, member.length - GZIP_TRAILER_LENGTH);
  const trailer = Buffer.allocUnsafe(GZIP_TRAILER_LENGTH);
  trailer.writeUInt32LE(crc32Combine(prefix.crc, memberCrc, memberLength), 0);
  trailer.writeUInt32LE((prefix.length + memberLength) % 2 ** 32, 4);
  return prefix.length === 0 ? [PLAIN_GZIP_HEADER, deflatedBody, trailer] : [PLAIN_GZIP_HEADER, prefix.deflated, deflatedBody, trailer];
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
