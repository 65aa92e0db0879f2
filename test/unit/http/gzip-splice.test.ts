import { constants, crc32, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Combine, deflatePrefix, gzipWithPrefix } from '../../../src/http/gzip-splice.js';

const bytes = fc.uint8Array({ maxLength: 4096 }).map((array) => Buffer.from(array));
// Text-like input compresses with back-references, the case where a wrong splice would show.
const textish = fc.array(fc.constantFrom('metric_a{job="x"} 1\n', 'metric_b 2.5\n', '# HELP m h\n', 'z'), { maxLength: 400 }).map((parts) => Buffer.from(parts.join('')));

function splice(prefix: Buffer, body: Buffer, level = constants.Z_DEFAULT_COMPRESSION): Buffer {
  const chunks = gzipWithPrefix(deflatePrefix(prefix), gzipSync(body, { level }), body.length);
  expect(chunks).toBeDefined();
  return Buffer.concat(chunks!);
}

describe('crc32Combine', () => {
  it('equals the CRC-32 of the concatenation', () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
    );
  });
});

describe('gzipWithPrefix', () => {
  it('makes one gzip member whose content is prefix then body', () => {
    fc.assert(
      fc.property(textish, textish, fc.constantFrom(1, 6, 9), (prefix, body, level) => {
        const gzip = splice(prefix, body, level);
        const expected = Buffer.concat([prefix, body]);
        expect(gunzipSync(gzip).equals(expected)).toBe(true);
        // A single DEFLATE stream: a reader that stops at the first member gets it all.
        expect(inflateRawSync(gzip.subarray(10, gzip.length - 8)).equals(expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('works with an empty prefix and an empty body', () => {
    expect(gunzipSync(splice(Buffer.alloc(0), Buffer.from('body\n'))).toString()).toBe('body\n');
    expect(gunzipSync(splice(Buffer.from('head\n'), Buffer.alloc(0))).toString()).toBe('head\n');
  });

  it('refuses a member it cannot splice (header flags, wrong length), so the caller falls back', () => {
    const member = gzipSync('body\n');
    const withName = Buffer.from(member);
    withName[3] = 0x08; // FNAME
    expect(gzipWithPrefix(deflatePrefix(Buffer.from('x')), withName, 5)).toBeUndefined();
    expect(gzipWithPrefix(deflatePrefix(Buffer.from('x')), member, 6)).toBeUndefined();
    expect(gzipWithPrefix(deflatePrefix(Buffer.from('x')), Buffer.from('not gzip at all'), 15)).toBeUndefined();
  });
});
