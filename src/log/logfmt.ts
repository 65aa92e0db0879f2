// logfmt lines in the shape Prometheus components print them (go-kit log / promslog):
//   ts=2026-11-20T12:00:00.000Z level=info msg="file became invalid" file=/var/lib/promdrop/a.prom
// so that operators can grep and parse promdrop's log with the tools they use for node_exporter's.

/** Keys that lead every line, in this order; the rest follow in the order they were logged. */
const LEADING_KEYS = ['ts', 'level', 'msg'] as const;

/** One log record (pino's JSON object, parsed) as one logfmt line, without the newline. */
export function formatLogfmt(record: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const key of LEADING_KEYS) {
    if (key in record) parts.push(`${key}=${formatValue(record[key])}`);
  }
  for (const key of Object.keys(record)) {
    if ((LEADING_KEYS as readonly string[]).includes(key)) continue;
    const value = record[key];
    if (value === undefined) continue;
    parts.push(`${formatKey(key)}=${formatValue(value)}`);
  }
  return parts.join(' ');
}

/** Keys cannot hold spaces, `=` or quotes in logfmt; replace them rather than lose the field. */
function formatKey(key: string): string {
  if (key === '') return '_';
  // eslint-disable-next-line no-control-regex -- logfmt must escape the control characters
  return /^[^\s="\\\x00-\x1f\x7f]+$/.test(key) ? key : key.replace(/[\s="\\\x00-\x1f\x7f]/g, '_');
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return formatString(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (isSerializedError(value)) return formatString(value.message);
  return formatString(JSON.stringify(value));
}

/** pino's error serializer turns an Error into {type, message, stack}; a log line wants the message. */
function isSerializedError(value: unknown): value is { message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { stack?: unknown }).stack === 'string'
  );
}

/** Bare when safe, else double-quoted with Go-style escapes (as go-logfmt does). */
function formatString(value: string): string {
  // eslint-disable-next-line no-control-regex -- logfmt must quote the control characters
  if (value !== '' && !/[\s="\\\x00-\x1f\x7f]/.test(value)) return value;
  let out = '"';
  for (const char of value) {
    switch (char) {
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default: {
        const code = char.codePointAt(0)!;
        out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : char;
      }
    }
  }
  return `${out}"`;
}
