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

  /** The bytes written, in a buffer of their own size. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
