// Ordering as Go orders strings: by UTF-8 bytes, which is code point order. JavaScript's `<`
// compares UTF-16 code units, which differs for characters beyond U+FFFF versus U+E000–U+FFFF.

export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only surrogates (0xD800–0xDFFF) sort differently: they stand for code points above 0xFFFF.
    if (x >= 0xd800 && x <= 0xdfff && y >= 0xe000) return 1;
    if (y >= 0xd800 && y <= 0xdfff && x >= 0xe000) return -1;
    return x - y;
  }
  return a.length - b.length;
}
