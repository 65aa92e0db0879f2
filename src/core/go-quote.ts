// Go's %q, so that our reference messages read exactly like promtool's and node_exporter's logs
// (strconv.Quote for strings, strconv.QuoteRune for a single byte formatted with %q).

const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u;

function escapeRune(codePoint: number, quote: '"' | "'"): string {
  switch (codePoint) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
    case 0x5c:
      return '\\\\';
  }
  if (codePoint === quote.charCodeAt(0)) return `\\${quote}`;
  if (codePoint === 0x20) return ' ';
  const char = String.fromCodePoint(codePoint);
  if (codePoint > 0x20 && codePoint !== 0x7f && PRINTABLE.test(char)) return char;
  if (codePoint < 0x80) return `\\x${codePoint.toString(16).padStart(2, '0')}`;
  if (codePoint <= 0xffff) return `\\u${codePoint.toString(16).padStart(4, '0')}`;
  return `\\U${codePoint.toString(16).padStart(8, '0')}`;
}

/** Length of the valid UTF-8 sequence at `i`, or 0 if the byte there does not start one. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const next = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return next(1) ? 2 : 0;
  if (b0 === 0xe0) return next(1, 0xa0) && next(2) ? 3 : 0;
  if (b0 === 0xed) return next(1, 0x80, 0x9f) && next(2) ? 3 : 0;
  if (b0 >= 0xe1 && b0 <= 0xef) return next(1) && next(2) ? 3 : 0;
  if (b0 === 0xf0) return next(1, 0x90) && next(2) && next(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return next(1) && next(2) && next(3) ? 4 : 0;
  if (b0 === 0xf4) return next(1, 0x80, 0x8f) && next(2) && next(3) ? 4 : 0;
  return 0;
}

function decodeAt(bytes: Uint8Array, i: number, length: number): number {
  const b0 = bytes[i]!;
  if (length === 1) return b0;
  if (length === 2) return ((b0 & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
  if (length === 3) return ((b0 & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
  return ((b0 & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
}

/** strconv.Quote of raw bytes: invalid UTF-8 bytes come out as \xNN. */
export function goQuoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length;) {
    const length = utf8SequenceLength(bytes, i);
    if (length === 0) {
      out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    out += escapeRune(decodeAt(bytes, i, length), '"');
    i += length;
  }
  return out + '"';
}

/** strconv.Quote of a JavaScript string. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) out += escapeRune(char.codePointAt(0)!, '"');
  return out + '"';
}

/** %q of a Go byte: a rune literal of the code point with that byte's value. */
export function goQuoteByte(byte: number): string {
  return `'${escapeRune(byte, "'")}'`;
}
