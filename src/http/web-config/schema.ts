// The web configuration file (--web.config.file): exporter-toolkit's schema, read as strictly as
// the toolkit reads it (yaml.UnmarshalStrict: an unknown key is an error), plus promdrop's one
// extension, `push_basic_auth_users`. Pure: text in, a typed config or one error carrying the
// file and line out. The YAML tree is walked node by node rather than converted to plain
// objects first, so that every error, including the later ones about a certificate file that
// will not load, can name the line of the key that is wrong.
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import {
  CLIENT_AUTH_TYPES,
  CONFIGURABLE_HEADERS,
  CURVES,
  HTTP2_REQUIRED_CIPHER_SUITES,
  TLS12_CIPHER_SUITES,
  TLS13_CIPHER_SUITES,
  TLS_VERSIONS,
  type ClientAuthType,
  type TlsVersionName,
} from './tls-names.js';

/** A problem with a web config file, at a line when one is to blame. */
export class WebConfigError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
  ) {}

  get message(): string {
    return this.line === undefined ? `${this.file}: ${this.detail}` : `${this.file}:${this.line}: ${this.detail}`;
  }
}

/** PEM text given inline in the config, or a file (absolute: relative paths are resolved against the config's directory). */
export type PemSource =
  { readonly kind: 'inline'; readonly pem: string; readonly line: number } | { readonly kind: 'file'; readonly path: string; readonly line: number };

export interface TlsServerSettings {
  readonly cert: PemSource;
  readonly key: PemSource;
  /** Undefined: client certificates are verified against Node's root store, as Go uses the system's. */
  readonly clientCa: PemSource | undefined;
  readonly clientAuthType: ClientAuthType;
  /** Exact SANs (DNS, IP, e-mail or URI) one of which a client certificate must carry; empty: any. */
  readonly clientAllowedSans: readonly string[];
  readonly minVersion: TlsVersionName;
  readonly maxVersion: TlsVersionName;
  /** Go names, TLS 1.2 suites only (TLS 1.3 names are accepted and dropped, as Go ignores them); undefined: Node's defaults. */
  readonly cipherSuites: readonly string[] | undefined;
  readonly preferServerCipherSuites: boolean;
  /** Go names; undefined: Node's defaults. */
  readonly curvePreferences: readonly string[] | undefined;
  /** Lines of the keys whose values are only checked later (against OpenSSL), for those errors. */
  readonly lines: { readonly cipherSuites: number | undefined; readonly curvePreferences: number | undefined; readonly minVersion: number | undefined };
}

export interface WebConfig {
  /** The config file, absolute. */
  readonly file: string;
  readonly tls: TlsServerSettings | undefined;
  /** Only meaningful with TLS (HTTP/2 is negotiated by ALPN); fixed at start-up, as in the toolkit. */
  readonly http2: boolean;
  readonly headers: Readonly<Record<string, string>>;
  /** user → bcrypt hash; empty: no basic auth for scraping. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** promdrop's extension: user → bcrypt hash of the users allowed to push; undefined when the key is absent. */
  readonly pushBasicAuthUsers: ReadonlyMap<string, string> | undefined;
  /** exporter-toolkit's auth_excluded_paths: exact request paths answered without basic auth. */
  readonly authExcludedPaths: ReadonlySet<string>;
  /** exporter-toolkit's rate_limit (v0.15+); undefined when absent or its interval is 0 (no limit). */
  readonly rateLimit: RateLimitSettings | undefined;
}

/** A token bucket over every request, as golang.org/x/time/rate's Limiter the toolkit uses: one
 *  token per `intervalMs`, at most `burst` saved; a request without a token gets 429. */
export interface RateLimitSettings {
  readonly intervalMs: number;
  readonly burst: number;
}

export type WebConfigResult = { readonly ok: true; readonly config: WebConfig } | { readonly ok: false; readonly error: WebConfigError };

const TOP_LEVEL_KEYS = ['tls_server_config', 'http_server_config', 'basic_auth_users', 'auth_excluded_paths', 'rate_limit', 'push_basic_auth_users'];
const RATE_LIMIT_KEYS = ['interval', 'burst'];
const TLS_KEYS = [
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'client_allowed_sans',
  'min_version',
  'max_version',
  'cipher_suites',
  'prefer_server_cipher_suites',
  'curve_preferences',
];
const HTTP_KEYS = ['http2', 'headers'];
const VERSION_ORDER = Object.keys(TLS_VERSIONS);
/** Keys of newer toolkit releases that promdrop cannot honour: refused by name rather than as unknown. */
const UNSUPPORTED_TOP_LEVEL_KEYS: Readonly<Record<string, string>> = {};

/** bcrypt as htpasswd -B, Go's x/crypto/bcrypt and bcryptjs write it: $2a$, $2b$ or $2y$, a two-digit cost, 53 characters of salt and hash. */
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** Thrown only inside this module, to unwind the walk; parseWebConfig turns it into a result. */
class Invalid {
  constructor(
    readonly line: number | undefined,
    readonly detail: string,
  ) {}
}

/** Parses and validates the text of the web config file at `file` (an absolute path). */
export function parseWebConfig(text: string, file: string): WebConfigResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range === undefined || node.range === null ? undefined : lineCounter.linePos(node.range[0]).line;
  const syntaxError = document.errors[0];
  if (syntaxError !== undefined) {
    const detail = `invalid YAML: ${syntaxError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    return { ok: false, error: new WebConfigError(file, syntaxError.linePos?.[0].line, detail) };
  }
  try {
    return { ok: true, config: readTopLevel(document.contents, file, lineOf) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, error: new WebConfigError(file, error.line, error.detail) };
    throw error;
  }
}

type LineOf = (node: Node | null | undefined) => number | undefined;

function readTopLevel(root: unknown, file: string, lineOf: LineOf): WebConfig {
  const directory = dirname(file);
  const top = mapEntries(root, 'the web config', TOP_LEVEL_KEYS, lineOf, UNSUPPORTED_TOP_LEVEL_KEYS);
  const http = mapEntries(top.get('http_server_config')?.value, 'http_server_config', HTTP_KEYS, lineOf);
  const http2 = optionalBoolean(http.get('http2'), 'http_server_config.http2', lineOf) ?? true;
  const tls = readTls(top.get('tls_server_config'), directory, lineOf);
  if (tls?.cipherSuites !== undefined && http2 && !tls.cipherSuites.some((name) => HTTP2_REQUIRED_CIPHER_SUITES.includes(name))) {
    throw new Invalid(
      tls.lines.cipherSuites,
      `cipher_suites is missing a cipher HTTP/2 requires (one of ${HTTP2_REQUIRED_CIPHER_SUITES.join(', ')}); add one, or set http_server_config.http2: false`,
    );
  }
  return {
    file,
    tls,
    http2,
    headers: readHeaders(http.get('headers'), lineOf),
    basicAuthUsers: readUsers(top.get('basic_auth_users'), 'basic_auth_users', lineOf) ?? new Map(),
    pushBasicAuthUsers: readUsers(top.get('push_basic_auth_users'), 'push_basic_auth_users', lineOf),
    authExcludedPaths: readExcludedPaths(top.get('auth_excluded_paths'), tls, lineOf),
    rateLimit: readRateLimit(top.get('rate_limit'), lineOf),
  };
}

function readExcludedPaths(pair: Pair<unknown, unknown> | undefined, tls: TlsServerSettings | undefined, lineOf: LineOf): ReadonlySet<string> {
  const paths = optionalStringList(pair, 'auth_excluded_paths', lineOf) ?? [];
  // A client certificate is asked for during the TLS handshake, before any path is known:
  // promdrop cannot exempt a path from it (the toolkit moves that check into the HTTP layer).
  if (paths.length > 0 && tls !== undefined && tls.clientAuthType !== 'NoClientCert') {
    throw new Invalid(
      lineOf(pair?.key as Node),
      `auth_excluded_paths exempts paths from basic auth only; with client_auth_type ${tls.clientAuthType} every connection needs its certificate before a path is known, which promdrop does not support`,
    );
  }
  for (const path of paths) {
    if (!path.startsWith('/'))
      throw new Invalid(lineOf(pair?.key as Node), `auth_excluded_paths: ${JSON.stringify(path)} is not a path (it must start with /)`);
  }
  return new Set(paths);
}

function readRateLimit(pair: Pair<unknown, unknown> | undefined, lineOf: LineOf): RateLimitSettings | undefined {
  const entries = mapEntries(pair?.value, 'rate_limit', RATE_LIMIT_KEYS, lineOf);
  const intervalPair = entries.get('interval');
  const burstPair = entries.get('burst');
  const intervalMs = intervalPair === undefined ? 0 : goDurationMs(intervalPair, lineOf);
  let burst = 0;
  if (burstPair !== undefined && !isNull(burstPair.value)) {
    const value = burstPair.value;
    if (!isScalar(value) || typeof value.value !== 'number' || !Number.isInteger(value.value) || value.value < 0) {
      throw new Invalid(lineOf(value as Node), 'rate_limit.burst: expected a whole number of requests, 0 or more');
    }
    burst = value.value;
  }
  // As the toolkit: no interval, no limiter.
  return intervalMs === 0 ? undefined : { intervalMs, burst };
}

/** A Go time.Duration as yaml.v2 reads one: a duration string ("1s", "1m30s", "250ms") or an
 *  integer count of nanoseconds. In milliseconds. */
function goDurationMs(pair: Pair<unknown, unknown>, lineOf: LineOf): number {
  const value = pair.value;
  if (isNull(value)) return 0;
  if (isScalar(value) && typeof value.value === 'number') {
    if (!Number.isInteger(value.value) || value.value < 0)
      throw new Invalid(lineOf(value as Node), 'rate_limit.interval: expected a duration such as 1s or 100ms');
    return value.value / 1e6;
  }
  const text = isScalar(value) && typeof value.value === 'string' ? value.value : undefined;
  const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  const match = text === undefined ? null : /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))*$/u.exec(text);
  if (text === '0') return 0;
  if (match === null || text === undefined) {
    throw new Invalid(lineOf(value as Node), `rate_limit.interval: ${JSON.stringify(text ?? '')} is not a duration (Go syntax: 1s, 100ms, 1m30s)`);
  }
  let ms = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gu)) ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  return ms;
}

function readTls(pair: Pair<unknown, unknown> | undefined, directory: string, lineOf: LineOf): TlsServerSettings | undefined {
  const entries = mapEntries(pair?.value, 'tls_server_config', TLS_KEYS, lineOf);
  // As the toolkit: TLS is on as soon as any of its keys is set, and then needs a certificate and a key.
  if (entries.size === 0) return undefined;
  const sectionLine = lineOf(pair?.key as Node);
  const cert = pemSource(entries, 'cert', 'cert_file', directory, lineOf);
  if (cert === undefined) throw new Invalid(sectionLine, 'tls_server_config: missing one of cert or cert_file');
  const key = pemSource(entries, 'key', 'key_file', directory, lineOf);
  if (key === undefined) throw new Invalid(sectionLine, 'tls_server_config: missing one of key or key_file');
  const clientCa = pemSource(entries, 'client_ca', 'client_ca_file', directory, lineOf);

  const authPair = entries.get('client_auth_type');
  const authName = optionalString(authPair, 'client_auth_type', lineOf) ?? '';
  const clientAuthType = authName === '' ? 'NoClientCert' : CLIENT_AUTH_TYPES.find((type) => type === authName);
  if (clientAuthType === undefined) {
    throw new Invalid(lineOf(authPair?.value as Node), `invalid ClientAuth "${authName}": expected one of ${CLIENT_AUTH_TYPES.join(', ')}`);
  }
  if (clientCa !== undefined && clientAuthType === 'NoClientCert') {
    throw new Invalid(clientCa.line, "client CA's have been configured without a Client Auth Policy: set client_auth_type");
  }
  const sansPair = entries.get('client_allowed_sans');
  const clientAllowedSans = optionalStringList(sansPair, 'client_allowed_sans', lineOf) ?? [];
  if (clientAllowedSans.length > 0 && clientAuthType !== 'RequireAndVerifyClientCert') {
    throw new Invalid(lineOf(sansPair?.key as Node), 'client_allowed_sans needs client_auth_type RequireAndVerifyClientCert');
  }

  const minPair = entries.get('min_version');
  const maxPair = entries.get('max_version');
  const minVersion = tlsVersion(minPair, 'TLS12', lineOf);
  const maxVersion = tlsVersion(maxPair, 'TLS13', lineOf);
  if (VERSION_ORDER.indexOf(maxVersion) < VERSION_ORDER.indexOf(minVersion)) {
    throw new Invalid(lineOf(maxPair?.value as Node) ?? lineOf(minPair?.value as Node), `max_version ${maxVersion} is below min_version ${minVersion}`);
  }

  const cipherPair = entries.get('cipher_suites');
  const cipherNames = optionalStringList(cipherPair, 'cipher_suites', lineOf);
  for (const name of cipherNames ?? []) {
    if (TLS12_CIPHER_SUITES[name] === undefined && !TLS13_CIPHER_SUITES.includes(name)) {
      throw new Invalid(lineOf(cipherPair?.value as Node), `unknown cipher: ${name} (expected Go's names, such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`);
    }
  }
  const cipherSuites = cipherNames?.filter((name) => !TLS13_CIPHER_SUITES.includes(name));
  if (cipherNames !== undefined && cipherNames.length > 0 && cipherSuites?.length === 0 && minVersion !== 'TLS13') {
    throw new Invalid(
      lineOf(cipherPair?.value as Node),
      'cipher_suites lists only TLS 1.3 suites, which cannot be configured; list TLS 1.2 suites or set min_version: TLS13',
    );
  }
  const curvePair = entries.get('curve_preferences');
  const curvePreferences = optionalStringList(curvePair, 'curve_preferences', lineOf);
  for (const name of curvePreferences ?? []) {
    if (CURVES[name] === undefined) {
      throw new Invalid(lineOf(curvePair?.value as Node), `unknown curve: ${name} (expected one of ${Object.keys(CURVES).join(', ')})`);
    }
  }
  return {
    cert,
    key,
    clientCa,
    clientAuthType,
    clientAllowedSans,
    minVersion,
    maxVersion,
    // An empty list means "not configured" in Go as well; so does a TLS 1.3-only one (with min_version TLS13).
    cipherSuites: cipherSuites === undefined || cipherSuites.length === 0 ? undefined : cipherSuites,
    preferServerCipherSuites: optionalBoolean(entries.get('prefer_server_cipher_suites'), 'prefer_server_cipher_suites', lineOf) ?? true,
    curvePreferences: curvePreferences === undefined || curvePreferences.length === 0 ? undefined : curvePreferences,
    lines: { cipherSuites: lineOf(cipherPair?.key as Node), curvePreferences: lineOf(curvePair?.key as Node), minVersion: lineOf(minPair?.key as Node) },
  };
}

function pemSource(entries: Entries, inlineKey: string, fileKey: string, directory: string, lineOf: LineOf): PemSource | undefined {
  const inlinePair = entries.get(inlineKey);
  const filePair = entries.get(fileKey);
  const pem = optionalString(inlinePair, inlineKey, lineOf) ?? '';
  const path = optionalString(filePair, fileKey, lineOf) ?? '';
  if (pem !== '' && path !== '') throw new Invalid(lineOf(filePair?.key as Node), `at most one of ${inlineKey} and ${fileKey} must be configured`);
  if (pem !== '') return { kind: 'inline', pem, line: lineOf(inlinePair?.key as Node) ?? 1 };
  if (path !== '') return { kind: 'file', path: resolve(directory, path), line: lineOf(filePair?.key as Node) ?? 1 };
  return undefined;
}

function tlsVersion(pair: Pair<unknown, unknown> | undefined, fallback: TlsVersionName, lineOf: LineOf): TlsVersionName {
  const name = optionalString(pair, String(keyOf(pair)), lineOf);
  if (name === undefined || name === '') return fallback;
  if (!(name in TLS_VERSIONS)) throw new Invalid(lineOf(pair?.value as Node), `unknown TLS version: ${name} (expected TLS10, TLS11, TLS12 or TLS13)`);
  return name as TlsVersionName;
}

function readHeaders(pair: Pair<unknown, unknown> | undefined, lineOf: LineOf): Record<string, string> {
  const headers: Record<string, string> = {};
  if (pair === undefined || isNull(pair.value)) return headers;
  if (!isMap(pair.value))
    throw new Invalid(lineOf(pair.value as Node) ?? lineOf(pair.key as Node), 'http_server_config.headers: expected a mapping of header names to values');
  for (const entry of pair.value.items) {
    const name = keyOf(entry);
    const allowed = CONFIGURABLE_HEADERS[name];
    if (!Object.hasOwn(CONFIGURABLE_HEADERS, name)) {
      throw new Invalid(lineOf(entry.key as Node), `HTTP header "${name}" can not be configured (only ${Object.keys(CONFIGURABLE_HEADERS).join(', ')})`);
    }
    const value = requiredString(entry, `http_server_config.headers.${name}`, lineOf);
    if (allowed !== undefined && !allowed.includes(value.toLowerCase())) {
      throw new Invalid(lineOf(entry.value as Node), `invalid value for ${name}: "${value}" (expected one of: ${allowed.join(', ')})`);
    }
    headers[name] = value;
  }
  return headers;
}

function readUsers(pair: Pair<unknown, unknown> | undefined, section: string, lineOf: LineOf): Map<string, string> | undefined {
  if (pair === undefined) return undefined;
  const users = new Map<string, string>();
  // An empty push list would read as "anyone may push" (as an empty basic_auth_users means no
  // auth) to some and "nobody may" to others: it is refused instead.
  const empty = isNull(pair.value) || (isMap(pair.value) && pair.value.items.length === 0);
  if (empty && section === 'push_basic_auth_users')
    throw new Invalid(lineOf(pair.key as Node), 'push_basic_auth_users is empty: list the users who may push, or remove the key');
  if (isNull(pair.value)) return users;
  if (!isMap(pair.value))
    throw new Invalid(lineOf(pair.value as Node) ?? lineOf(pair.key as Node), `${section}: expected a mapping of user names to bcrypt hashes`);
  for (const entry of pair.value.items) {
    const user = keyOf(entry);
    const hash = requiredString(entry, `${section}.${user}`, lineOf);
    if (!BCRYPT_HASH.test(hash)) {
      throw new Invalid(
        lineOf(entry.value as Node) ?? lineOf(entry.key as Node),
        `${section}.${user}: not a bcrypt hash; expected $2y$, $2a$ or $2b$ as \`htpasswd -nBC 10 "" | tr -d ':\\n'\` prints`,
      );
    }
    users.set(user, hash);
  }
  return users;
}

type Entries = Map<string, Pair<unknown, unknown>>;

/** The pairs of a mapping (null or absent: none), refusing keys not in `known`. */
function mapEntries(node: unknown, section: string, known: readonly string[], lineOf: LineOf, unsupported: Readonly<Record<string, string>> = {}): Entries {
  const entries: Entries = new Map();
  if (node === undefined || node === null || isNull(node)) return entries;
  if (!isMap(node)) throw new Invalid(lineOf(node as Node), `${section}: expected a mapping`);
  for (const pair of (node as YAMLMap<unknown, unknown>).items) {
    const key = keyOf(pair);
    const why = unsupported[key];
    if (why !== undefined) throw new Invalid(lineOf(pair.key as Node), why);
    if (!known.includes(key)) {
      throw new Invalid(lineOf(pair.key as Node), `unknown key "${key}" in ${section} (expected one of: ${known.join(', ')})`);
    }
    entries.set(key, pair);
  }
  return entries;
}

function keyOf(pair: Pair<unknown, unknown> | undefined): string {
  const key = pair?.key;
  return isScalar(key) ? String(key.value) : String(key);
}

function isNull(node: unknown): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** A scalar as a string: YAML may have read `1; mode=block` as a string but `0` as a number; Go's string fields take both. */
function scalarText(pair: Pair<unknown, unknown>, what: string, lineOf: LineOf): string | undefined {
  const value = pair.value;
  if (isNull(value)) return undefined;
  if (isScalar(value) && (typeof value.value === 'string' || typeof value.value === 'number')) {
    return typeof value.value === 'string' ? value.value : (value.source ?? String(value.value));
  }
  throw new Invalid(lineOf(value as Node) ?? lineOf(pair.key as Node), `${what}: expected a string`);
}

function optionalString(pair: Pair<unknown, unknown> | undefined, what: string, lineOf: LineOf): string | undefined {
  return pair === undefined ? undefined : scalarText(pair, what, lineOf);
}

function requiredString(pair: Pair<unknown, unknown>, what: string, lineOf: LineOf): string {
  const text = scalarText(pair, what, lineOf);
  if (text === undefined || text === '') throw new Invalid(lineOf(pair.key as Node), `${what}: expected a value`);
  return text;
}

function optionalBoolean(pair: Pair<unknown, unknown> | undefined, what: string, lineOf: LineOf): boolean | undefined {
  if (pair === undefined || isNull(pair.value)) return undefined;
  if (isScalar(pair.value) && typeof pair.value.value === 'boolean') return pair.value.value;
  throw new Invalid(lineOf(pair.value as Node), `${what}: expected true or false`);
}

function optionalStringList(pair: Pair<unknown, unknown> | undefined, what: string, lineOf: LineOf): string[] | undefined {
  if (pair === undefined || isNull(pair.value)) return undefined;
  if (!isSeq(pair.value)) throw new Invalid(lineOf(pair.value as Node), `${what}: expected a list`);
  return pair.value.items.map((item) => {
    if (isScalar(item) && typeof item.value === 'string') return item.value;
    throw new Invalid(lineOf(item as Node), `${what}: expected a list of strings`);
  });
}
