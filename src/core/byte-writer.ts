// A growable output buffer for rendering: writing each piece straight into bytes is several
// times faster than building a large string from hundreds of thousands of template literals,
// and the agent needs bytes anyway (it serves and gzips them).
import { Buffer } from 'node:buffer';

/** Buffer's own string writers (untyped, on Buffer.prototype since Node's first releases);
 *  `write(string, offset, encoding)` reaches the same native code after argument checks. */
interface WritableBuffer extends Buffer {
  latin1Write(text: string, offset: number): number;
  utf8Write(text: string, offset: number): number;
}

export class ByteWriter {
  private buf: WritableBuffer;
  private pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize) as WritableBuffer;
  }

  private reserve(bytes: number): void {
    const needed = this.pos + bytes;
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, Math.floor(this.buf.length * 1.5))) as WritableBuffer;
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** For text known to be ASCII: names, numbers, punctuation. */
  ascii(text: string): void {
    this.reserve(text.length);
    this.pos += this.buf.latin1Write(text, this.pos);
  }

  /** For text that may hold any character: label values, HELP. */
  utf8(text: string): void {
    this.reserve(text.length * 3);
    this.pos += this.buf.utf8Write(text, this.pos);
  }

  /** Raw bytes, e.g. a label value copied from the input as it was escaped there. */
  bytes(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buf.set(source.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written. Copied into a buffer of their own size unless little would be saved:
   *  a copy of a 50 MB rendering would double its cost at the moment of the peak. */
  finish(): Buffer {
    if (this.buf.length - this.pos <= this.buf.length >>> 4) return this.buf.subarray(0, this.pos);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
