// Numbers exactly as Go reads and writes them: values are parsed like expfmt's parseFloat
// (strconv.ParseFloat minus hex and underscores) and written like expfmt's writeFloat
// (strconv.FormatFloat(f, 'g', -1, 64) with special spellings), which is what node_exporter
// serves. JavaScript's Number() and toString() differ from both in many corners.

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_DOT = 46;
const CODE_PLUS = 43;
const CODE_MINUS = 45;

function isDigit(code: number): boolean {
  return code >= CODE_0 && code <= CODE_9;
}

/**
 * Parses a sample value (or an `le`/`quantile` label value) with Go's rules; undefined when
 * Go would reject it. Accepts decimal notation with optional sign and exponent, and
 * case-insensitive `Inf`/`Infinity` (optionally signed) and `NaN` (unsigned); rejects hex,
 * underscores, and values that overflow float64.
 */
export function parseGoFloat(text: string): number | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  let i = 0;
  const first = text.charCodeAt(0);
  const signed = first === CODE_PLUS || first === CODE_MINUS;
  if (signed) i = 1;
  if (i >= n) return undefined;
  const lead = text.charCodeAt(i) | 0x20; // lower-case ASCII letters
  if (lead === 0x69 /* i */) {
    const word = text.slice(i).toLowerCase();
    if (word !== 'inf' && word !== 'infinity') return undefined;
    return first === CODE_MINUS ? -Infinity : Infinity;
  }
  if (lead === 0x6e /* n */) {
    return !signed && text.toLowerCase() === 'nan' ? NaN : undefined;
  }
  let digits = 0;
  while (i < n && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && text.charCodeAt(i) === CODE_DOT) {
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (i < n && (text.charCodeAt(i) | 0x20) === 0x65 /* e */) {
    i++;
    if (i < n && (text.charCodeAt(i) === CODE_PLUS || text.charCodeAt(i) === CODE_MINUS)) i++;
    let expDigits = 0;
    while (i < n && isDigit(text.charCodeAt(i))) {
      i++;
      expDigits++;
    }
    if (expDigits === 0) return undefined;
  }
  if (i !== n) return undefined;
  const value = Number(text);
  // Go reports overflow as an error (ErrRange); Number() silently gives ±Infinity.
  return Number.isFinite(value) ? value : undefined;
}

/** Formats like expfmt's writeFloat: `1`, `0`, `-1`, `NaN`, `+Inf`, `-Inf`, else Go's %g shortest. */
export function formatGoFloat(value: number): string {
  if (value === 0) return '0';
  if (value === 1) return '1';
  if (value === -1) return '-1';
  if (value !== value) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  // Between 1e-4 and 1e6 both languages print the same shortest digits without an exponent:
  // the common case, and much faster than the general path.
  const magnitude = value < 0 ? -value : value;
  if (magnitude >= 1e-4 && magnitude < 1e6) return String(value);
  const exponential = value.toExponential(); // shortest round-trip digits, e.g. "1.5e+6"
  const ePos = exponential.indexOf('e');
  const exp = Number(exponential.slice(ePos + 1));
  const negative = value < 0;
  const mantissa = exponential.slice(negative ? 1 : 0, ePos);
  const digits = mantissa.length > 1 ? mantissa[0]! + mantissa.slice(2) : mantissa;
  return (negative ? '-' : '') + formatG(digits, exp);
}

/**
 * Go's %g layout for shortest digits `digits` (no dot) and decimal exponent `exp`. With the
 * shortest precision strconv fixes the switch point at 6: exponent form when exp < -4 or
 * exp >= 6 (so 1500000 is `1.5e+06`), with at least two exponent digits.
 */
function formatG(digits: string, exp: number): string {
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const absExp = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${absExp < 10 ? '0' : ''}${absExp}`;
  }
  const pointPos = exp + 1; // digits before the decimal point
  if (pointPos <= 0) return `0.${'0'.repeat(-pointPos)}${digits}`;
  if (pointPos >= digits.length) return digits + '0'.repeat(pointPos - digits.length);
  return `${digits.slice(0, pointPos)}.${digits.slice(pointPos)}`;
}
