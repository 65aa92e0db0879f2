import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Combine, deflatePrefix, gzipWithSuffix } from '../../../src/http/gzip-splice.js';

const bytes = fc.uint8Array({ maxLength: 4096 }).map((array) => Buffer.from(array));
// Text-like input compresses with back-references, the case where a wrong splice would show.
const textish = fc
  .array(fc.constantFrom('metric_a{job="x"} 1\n', 'metric_b 2.5\n', '# HELP m h\n', 'z'), { maxLength: 400 })
  .map((parts) => Buffer.from(parts.join('')));

describe('crc32Combine', () => {
  it('equals the CRC-32 of the concatenation', () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
    );
  });
});

describe('gzipWithSuffix', () => {
  it('makes one gzip member whose content is body then suffix', () => {
    fc.assert(
      fc.property(textish, textish, (body, suffix) => {
        const gzip = Buffer.concat(gzipWithSuffix(deflatePrefix(body), suffix));
        const expected = Buffer.concat([body, suffix]);
        expect(gunzipSync(gzip).equals(expected)).toBe(true);
        // A single DEFLATE stream: a reader that stops at the first member gets it all.
        expect(inflateRawSync(gzip.subarray(10, gzip.length - 8)).equals(expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('works with an empty body and an empty suffix', () => {
    expect(gunzipSync(Buffer.concat(gzipWithSuffix(deflatePrefix(Buffer.alloc(0)), Buffer.from('tail\n')))).toString()).toBe('tail\n');
    expect(gunzipSync(Buffer.concat(gzipWithSuffix(deflatePrefix(Buffer.from('body\n')), Buffer.alloc(0)))).toString()).toBe('body\n');
  });
});
