// promdrop directives: comment lines of the form `# promdrop: key=value ...` that tell the agent
// something about the file itself. To every other parser (promtool, node_exporter, Prometheus)
// they are plain comments, so a file keeps working when it is read by something else.
//
// The only key today is `ttl=<Prometheus duration>`: how long after its mtime the file's
// content stays valid. A directive that is misspelt or malformed is an error, not a silently
// ignored comment, because a TTL that quietly does nothing is worse than none.
import { Buffer } from 'node:buffer';
import { parseDuration } from './duration.js';
import type { Finding } from './types.js';

/** A finding about a directive line. Shaped like a core Finding so callers can sort and print
 *  both together; its reason is its own until the core's FindingReason lists it. */
export type DirectiveFinding = Omit<Finding, 'reason'> & { readonly reason: 'directive' };

export interface Directives {
  /** Milliseconds after the file's mtime at which its content expires; undefined if not set. */
  readonly ttlMs?: number;
  readonly findings: DirectiveFinding[];
}

/** The token that starts a directive, right after the comment's `#` and optional blanks. */
export const DIRECTIVE_PREFIX = 'promdrop:';

const NL = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const PREFIX_BYTES = Buffer.from(DIRECTIVE_PREFIX, 'latin1');

function isBlank(byte: number | undefined): boolean {
  return byte === SPACE || byte === TAB;
}

/**
 * Reads every `# promdrop:` directive in a file. Pure and never throws. Scans with the native
 * Buffer.indexOf for `#`, so a 50 MB file without comments costs one memchr pass.
 */
export function readDirectives(input: Uint8Array): Directives {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const findings: DirectiveFinding[] = [];
  let ttlMs: number | undefined;
  let ttlLine = 0;
  let from = 0;
  const lines = new LineCounter(bytes);
  for (;;) {
    // A single byte is searched with memchr, several times faster than the prefix itself
    // (whose first letter is common in label values): every directive has a `#` before it.
    const hash = bytes.indexOf(HASH, from);
    if (hash < 0) break;
    let hit = hash + 1;
    while (isBlank(bytes[hit])) hit++;
    if (!hasPrefixAt(bytes, hit)) {
      from = hash + 1;
      continue;
    }
    const lineStart = bytes.lastIndexOf(NL, hit - 1) + 1;
    let lineEnd = bytes.indexOf(NL, hit);
    if (lineEnd < 0) lineEnd = bytes.length;
    from = lineEnd;
    if (!isDirectiveStart(bytes, lineStart, hit)) continue;
    const line = lines.lineAt(lineStart);
    let items = 0;
    for (const item of splitItems(bytes, hit + PREFIX_BYTES.length, lineEnd)) {
      items++;
      const column = item.start - lineStart + 1;
      const text = bytes.toString('utf8', item.start, item.end);
      const equals = text.indexOf('=');
      if (equals <= 0) {
        findings.push(directiveError(`malformed promdrop directive ${JSON.stringify(text)}: expected key=value, e.g. ttl=15m`, line, column));
        continue;
      }
      const key = text.slice(0, equals);
      const value = text.slice(equals + 1);
      if (key !== 'ttl') {
        findings.push(directiveError(`unknown promdrop directive ${JSON.stringify(key)}: the only directive is ttl=<duration>`, line, column));
        continue;
      }
      const valueColumn = column + equals + 1;
      const parsed = parseDuration(value);
      if (parsed === undefined) {
        findings.push(
          directiveError(`invalid ttl ${JSON.stringify(value)}: expected a Prometheus duration such as 90s, 15m, 26h, 7d or 1h30m`, line, valueColumn),
        );
      } else if (parsed === 0) {
        findings.push(directiveError(`invalid ttl ${JSON.stringify(value)}: a ttl must be longer than 0s`, line, valueColumn));
      } else if (ttlMs !== undefined) {
        findings.push(directiveError(`second ttl directive (the first is on line ${ttlLine})`, line, column));
      } else {
        ttlMs = parsed;
        ttlLine = line;
      }
    }
    if (items === 0) {
      findings.push(directiveError('empty promdrop directive: expected key=value, e.g. ttl=15m', line, hit - lineStart + 1));
    }
  }
  return ttlMs === undefined ? { findings } : { ttlMs, findings };
}

function hasPrefixAt(bytes: Buffer, at: number): boolean {
  if (at + PREFIX_BYTES.length > bytes.length) return false;
  for (let i = 0; i < PREFIX_BYTES.length; i++) if (bytes[at + i] !== PREFIX_BYTES[i]) return false;
  return true;
}

/** True when `prefixAt` is the first token of a comment line: `[ \t]*#[ \t]*promdrop:`. The
 *  same rule expfmt uses to find a comment's first token, so HELP text or a label value that
 *  happens to contain "promdrop:" is never read as a directive. */
function isDirectiveStart(bytes: Buffer, lineStart: number, prefixAt: number): boolean {
  let i = lineStart;
  while (i < prefixAt && isBlank(bytes[i])) i++;
  if (i >= prefixAt || bytes[i] !== HASH) return false;
  i++;
  while (i < prefixAt && isBlank(bytes[i])) i++;
  return i === prefixAt;
}

function* splitItems(bytes: Buffer, from: number, to: number): Generator<{ start: number; end: number }> {
  let i = from;
  while (i < to) {
    while (i < to && isBlank(bytes[i])) i++;
    if (i >= to) return;
    const start = i;
    while (i < to && !isBlank(bytes[i])) i++;
    yield { start, end: i };
  }
}

/** Line numbers for increasing offsets, counting each newline once: directives are rare, so
 *  this is cheaper than tracking lines during the scan and never quadratic. */
class LineCounter {
  private offset = 0;
  private line = 1;
  constructor(private readonly bytes: Buffer) {}

  /** 1-based line of `offset`; offsets must not decrease between calls. */
  lineAt(offset: number): number {
    let i = this.bytes.indexOf(NL, this.offset);
    while (i >= 0 && i < offset) {
      this.line++;
      i = this.bytes.indexOf(NL, i + 1);
    }
    this.offset = offset;
    return this.line;
  }
}

function directiveError(message: string, line: number, column: number): DirectiveFinding {
  return { severity: 'error', reason: 'directive', message, line, column };
}
