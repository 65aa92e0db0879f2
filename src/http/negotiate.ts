// Content negotiation for /metrics, modelled on expfmt's NegotiateIncludingOpenMetrics (the Go
// exposer every Prometheus server has been tested against): walk the Accept header in order of
// preference and take the first media range we can produce; anything else gets text 0.0.4.
// Runs on every scrape, so it splits the header by hand instead of with regular expressions.
//
// The escaping scheme (how names that are not legacy-valid are written) comes from the
// `escaping=` parameter as expfmt v0.62 reads it: the parameter of every media range looked at
// before the chosen one counts, the last one wins, and a scraper that names none (Prometheus
// 2.x, curl) gets `underscores`. The Content-Type always says the scheme, as client_golang's.
import { isEscapingScheme, type EscapingScheme } from '../core/escaping.js';

export type ExpositionFormat = 'text' | 'openmetrics';

export interface NegotiatedFormat {
  readonly format: ExpositionFormat;
  /** The exact Content-Type to answer with. */
  readonly contentType: string;
  readonly escaping: EscapingScheme;
}

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
/** expfmt answers a request for OpenMetrics 0.0.1 (or OpenMetrics without a version) with the same
 *  bytes labelled 0.0.1; the two versions share one Go encoder, so we do the same. */
export const OPENMETRICS_0_0_1_CONTENT_TYPE = 'application/openmetrics-text; version=0.0.1; charset=utf-8';

/** model.NameEscapingScheme's default: what a scraper that does not ask gets. */
export const DEFAULT_ESCAPING: EscapingScheme = 'underscores';

type Base = 'text' | 'openmetrics-1.0.0' | 'openmetrics-0.0.1';
const BASES: Readonly<Record<Base, { format: ExpositionFormat; contentType: string }>> = {
  text: { format: 'text', contentType: TEXT_CONTENT_TYPE },
  'openmetrics-1.0.0': { format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE },
  'openmetrics-0.0.1': { format: 'openmetrics', contentType: OPENMETRICS_0_0_1_CONTENT_TYPE },
};

/** Every answer there is, made once: negotiation runs on every scrape. */
const ANSWERS = new Map<string, NegotiatedFormat>();
for (const base of Object.keys(BASES) as Base[]) {
  for (const escaping of ['allow-utf-8', 'underscores', 'dots', 'values'] as const) {
    const { format, contentType } = BASES[base];
    ANSWERS.set(`${base} ${escaping}`, { format, contentType: `${contentType}; escaping=${escaping}`, escaping });
  }
}

function answer(base: Base, escaping: EscapingScheme): NegotiatedFormat {
  return ANSWERS.get(`${base} ${escaping}`)!;
}

const TEXT = answer('text', DEFAULT_ESCAPING);

/** One media range of an Accept header, as goautoneg reads it. */
export interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly params: ReadonlyMap<string, string>;
  /** Position in the header, to keep equal preferences in the client's order. */
  readonly index: number;
}

/**
 * The media ranges of an Accept header, most preferred first: by q-value, then specific types
 * before wildcards (goautoneg's order), then in header order. Ranges with q=0 are left out, since
 * RFC 9110 makes them "not acceptable" (goautoneg keeps them; no Prometheus sends one).
 */
export function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  let index = 0;
  for (const part of header.split(',')) {
    const pieces = part.split(';');
    const mediaType = pieces[0]!.trim().toLowerCase();
    if (mediaType === '') continue;
    const slash = mediaType.indexOf('/');
    let type: string;
    let subtype: string;
    if (slash === -1) {
      // goautoneg accepts a bare "*" as "*/*" and skips anything else without a slash.
      if (mediaType !== '*') continue;
      type = '*';
      subtype = '*';
    } else {
      type = mediaType.slice(0, slash).trim();
      subtype = mediaType.slice(slash + 1).trim();
    }
    let q = 1;
    const params = new Map<string, string>();
    for (let i = 1; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const eq = piece.indexOf('=');
      if (eq === -1) continue;
      const key = piece.slice(0, eq).trim().toLowerCase();
      const value = unquote(piece.slice(eq + 1).trim());
      if (key === 'q') {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      } else {
        params.set(key, value);
      }
    }
    if (q > 0) ranges.push({ type, subtype, q, params, index: index++ });
  }
  return ranges.sort(byPreference);
}

function byPreference(a: MediaRange, b: MediaRange): number {
  if (a.q !== b.q) return b.q - a.q;
  const specificity = wildcardRank(a) - wildcardRank(b);
  return specificity !== 0 ? specificity : a.index - b.index;
}

function wildcardRank(range: MediaRange): number {
  return (range.type === '*' ? 2 : 0) + (range.subtype === '*' ? 1 : 0);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** The format to answer a request with this Accept header (undefined or empty: text 0.0.4). */
export function negotiateFormat(accept: string | undefined): NegotiatedFormat {
  if (accept === undefined || accept === '') return TEXT;
  let escaping = DEFAULT_ESCAPING;
  for (const range of parseAccept(accept)) {
    // expfmt takes the parameter of each range it looks at, matched or not; unknown values are
    // ignored.
    const requested = range.params.get('escaping');
    if (requested !== undefined && isEscapingScheme(requested)) escaping = requested;
    const version = range.params.get('version') ?? '';
    if (range.type === 'text' && range.subtype === 'plain' && (version === '0.0.4' || version === '')) return answer('text', escaping);
    if (range.type === 'application' && range.subtype === 'openmetrics-text') {
      if (version === '1.0.0') return answer('openmetrics-1.0.0', escaping);
      if (version === '0.0.1' || version === '') return answer('openmetrics-0.0.1', escaping);
    }
    // Wildcards, protobuf and text 1.0.0 are not matched, as in expfmt: keep looking, and fall
    // back to text 0.0.4, which every scraper reads.
  }
  return answer('text', escaping);
}

/**
 * Whether the response may be gzip-compressed: `gzip` (or `x-gzip`) with a non-zero q-value, or
 * `*` with a non-zero q-value when gzip is not named at all.
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined || acceptEncoding === '') return false;
  // Fast path for what Prometheus, curl --compressed and browsers send.
  if (acceptEncoding === 'gzip' || acceptEncoding === 'gzip, deflate' || acceptEncoding === 'gzip, deflate, br') return true;
  let gzipQ: number | undefined;
  let wildcardQ: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const pieces = part.split(';');
    const coding = pieces[0]!.trim().toLowerCase();
    let q = 1;
    for (let i = 1; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const eq = piece.indexOf('=');
      if (eq !== -1 && piece.slice(0, eq).trim().toLowerCase() === 'q') {
        const parsed = Number(piece.slice(eq + 1).trim());
        q = Number.isFinite(parsed) ? parsed : 0;
      }
    }
    if (coding === 'gzip' || coding === 'x-gzip') gzipQ = Math.max(gzipQ ?? 0, q);
    else if (coding === '*') wildcardQ = q;
  }
  if (gzipQ !== undefined) return gzipQ > 0;
  return wildcardQ !== undefined && wildcardQ > 0;
}
