// The Pushgateway's grouping key, read from a push URL exactly as Pushgateway 1.5.1's handlers
// read it (handler/push.go, handler/misc.go): `/metrics/job/<job>{/<name>/<value>}`, where
// `job@base64` and `<name>@base64` mark base64url values (padding optional, `=` alone is the
// empty value). The path is percent-decoded before it is split, so `%2F` is a separator, as in
// Go's router. With UTF-8 names (Pushgateway 1.11's --push.enable-utf8-names), a label name may
// be any UTF-8 text, written in the path in the `values` escaping (`U__http_2e_method` for
// `http.method`), as the Pushgateway README describes; without, `U__...` is a literal legacy name.
// Pure: no I/O.
import { Buffer, isUtf8 } from 'node:buffer';
import { compareCodePoints } from './compare.js';
import { unescapeName } from './escaping.js';

export interface GroupingPathOptions {
  /** --push.enable-utf8-names: label names in the `U__` encoding stand for UTF-8 names. */
  readonly utf8Names?: boolean;
}

/** A grouping key: label pairs sorted by name, `job` always among them. */
export interface GroupingKey {
  /** [name0, value0, name1, value1, ...], sorted by name. */
  readonly labels: readonly string[];
}

export type GroupingKeyResult = { readonly ok: true; readonly key: GroupingKey } | { readonly ok: false; readonly message: string };

const BASE64_SUFFIX = '@base64';
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const BASE64URL_VALUE = new Map<string, number>([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].map((c, i) => [c, i]));

/**
 * Reads the grouping key from the part of a (percent-decoded) path after `/metrics/`, i.e.
 * `job/<job>/...` or `job@base64/<job>/...`. Error texts are the Pushgateway's.
 */
export function parseGroupingPath(afterMetrics: string, options: GroupingPathOptions = {}): GroupingKeyResult {
  let rest: string;
  let jobIsBase64: boolean;
  if (afterMetrics.startsWith('job/')) {
    rest = afterMetrics.slice(4);
    jobIsBase64 = false;
  } else if (afterMetrics.startsWith(`job${BASE64_SUFFIX}/`)) {
    rest = afterMetrics.slice(4 + BASE64_SUFFIX.length);
    jobIsBase64 = true;
  } else {
    return { ok: false, message: 'expected /metrics/job/<job>{/<label>/<value>}' };
  }
  const slash = rest.indexOf('/');
  let job = slash < 0 ? rest : rest.slice(0, slash);
  const labelString = slash < 0 ? '' : rest.slice(slash);
  if (jobIsBase64) {
    const decoded = decodeBase64Url(job);
    if (!decoded.ok) return { ok: false, message: `invalid base64 encoding in job name ${goQuote(job)}: ${decoded.message}` };
    if (!isUtf8(decoded.bytes)) return { ok: false, message: 'job name is not valid UTF-8' };
    job = decoded.bytes.toString('utf8');
  }
  if (job === '') return { ok: false, message: 'job name is required' };
  const labels = splitLabels(labelString, options.utf8Names === true);
  if (!labels.ok) return labels;
  // As the Pushgateway: a `job` pair in the path is overwritten by the job segment.
  labels.map.set('job', job);
  return { ok: true, key: { labels: sortedPairs(labels.map) } };
}

function splitLabels(labelString: string, utf8Names: boolean): { ok: true; map: Map<string, string> } | { ok: false; message: string } {
  const map = new Map<string, string>();
  if (labelString.length <= 1) return { ok: true, map };
  const components = labelString.split('/');
  if (components.length % 2 === 0) return { ok: false, message: `odd number of components in label string ${goQuote(labelString)}` };
  for (let i = 1; i < components.length - 1; i += 2) {
    const name = components[i]!;
    const value = components[i + 1]!;
    const base64 = name.endsWith(BASE64_SUFFIX);
    const escaped = base64 ? name.slice(0, -BASE64_SUFFIX.length) : name;
    const trimmed = utf8Names ? unescapeName(escaped, 'values') : escaped;
    const valid = utf8Names ? trimmed.length > 0 && !/\p{Cs}/u.test(trimmed) : LEGACY_LABEL_NAME.test(trimmed);
    if (!valid || trimmed.startsWith('__')) return { ok: false, message: `improper label name ${goQuote(trimmed)}` };
    if (!base64) {
      map.set(trimmed, value);
      continue;
    }
    const decoded = decodeBase64Url(value);
    if (!decoded.ok) return { ok: false, message: `invalid base64 encoding for label ${trimmed}=${goQuote(value)}: ${decoded.message}` };
    // The Pushgateway accepts such a key and then fails every scrape (bug B1); refused here.
    if (!isUtf8(decoded.bytes)) return { ok: false, message: `label ${goQuote(trimmed)} has a base64 value that is not valid UTF-8` };
    map.set(trimmed, decoded.bytes.toString('utf8'));
  }
  return { ok: true, map };
}

/** Go's base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")), with its error text. */
export function decodeBase64Url(text: string): { ok: true; bytes: Buffer } | { ok: false; message: string } {
  let end = text.length;
  while (end > 0 && text[end - 1] === '=') end--;
  const trimmed = text.slice(0, end);
  for (let i = 0; i < trimmed.length; i++) {
    if (!BASE64URL_VALUE.has(trimmed[i]!)) return { ok: false, message: `illegal base64 data at input byte ${i}` };
  }
  if (trimmed.length % 4 === 1) return { ok: false, message: `illegal base64 data at input byte ${trimmed.length - 1}` };
  return { ok: true, bytes: Buffer.from(trimmed, 'base64url') };
}

function sortedPairs(map: ReadonlyMap<string, string>): string[] {
  const names = [...map.keys()].sort(compareCodePoints);
  const pairs: string[] = [];
  for (const name of names) pairs.push(name, map.get(name)!);
  return pairs;
}

/** The key as one string (the Pushgateway's groupingKeyFor: sorted `name\xffvalue` joined by \xff). */
export function canonicalKey(key: GroupingKey): string {
  return key.labels.join('\xff');
}

/** Go's %q for the ASCII texts these messages quote. */
function goQuote(text: string): string {
  return JSON.stringify(text);
}
