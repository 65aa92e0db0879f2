// --web.config.file, valid and invalid, mirroring exporter-toolkit's own test matrix
// (web/testdata/*.good.yml and *.bad.yml in prometheus/exporter-toolkit): every good file loads,
// every bad one fails with its own message and the line of the key that is wrong. Certificates
// are made with openssl into a temporary directory, next to the config files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../../src/http/web-config/load.js';

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
const TLS = 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n';

let dir: string;
let serverCert: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-web-config-'));
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.crt', '-days', '2', '-subj', '/CN=localhost');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
  writeFileSync(join(dir, 'nocerts.pem'), 'this is not a certificate\n');
  mkdirSync(join(dir, 'conf.d'));
  serverCert = execFileSync('cat', [join(dir, 'server.crt')]).toString();
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function load(name: string, text: string) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return loadWebConfig(file);
}

const GOOD: Record<string, () => string> = {
  'empty.yml': () => '',
  'noAuth.good.yml': () => TLS,
  'tlsInline.good.yml': () => {
    const indent = (pem: string) =>
      pem
        .trimEnd()
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n');
    const key = execFileSync('cat', [join(dir, 'server.key')]).toString();
    return `tls_server_config:\n  cert: |\n${indent(serverCert)}\n  key: |\n${indent(key)}\n`;
  },
  'requireanyclientcert.good.yml': () => `${TLS}  client_auth_type: RequireAnyClientCert\n`,
  'requireandverifyclientcert.good.yml': () => `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.crt\n`,
  'verifyclientcertifgiven_noCA.good.yml': () => `${TLS}  client_auth_type: VerifyClientCertIfGiven\n`,
  'client_san.good.yml': () =>
    `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.crt\n  client_allowed_sans: [client.example, 127.0.0.1]\n`,
  'allCiphers.good.yml': () =>
    `${TLS}  cipher_suites:\n${[
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
      'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
      'TLS_RSA_WITH_AES_128_CBC_SHA',
      'TLS_RSA_WITH_AES_256_CBC_SHA',
      'TLS_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_RSA_WITH_AES_256_GCM_SHA384',
    ]
      .map((name) => `    - ${name}\n`)
      .join('')}`,
  'someCiphers.good.yml': () => `${TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n  max_version: TLS12\n`,
  'someCiphers_noOrder.good.yml': () =>
    `${TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n  prefer_server_cipher_suites: false\n`,
  'tls13_only_ciphers.good.yml': () => `${TLS}  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  min_version: TLS13\n`,
  'allCurves.good.yml': () => `${TLS}  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n`,
  'someCurves.good.yml': () => `${TLS}  curve_preferences: [CurveP521]\n`,
  'noHTTP2.good.yml': () => `${TLS}  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n  max_version: TLS12\nhttp_server_config:\n  http2: false\n`,
  'headers.good.yml': () =>
    [
      'http_server_config:',
      '  headers:',
      "    Content-Security-Policy: default-src 'self'",
      '    X-Frame-Options: SAMEORIGIN',
      '    X-Content-Type-Options: nosniff',
      '    X-XSS-Protection: 1; mode=block',
      '    Strict-Transport-Security: max-age=31536000; includeSubDomains',
      '',
    ].join('\n'),
  'users.good.yml': () => `${TLS}basic_auth_users:\n  alice: ${HASH}\n  bob: '$2a$04$zfLfB7eM7Y5Yq0h3E1yMPe3cDqCqQ6c8m1bXQ4XcJjVQb1C1r7p7W'\n`,
  'users_noTLS.good.yml': () => `basic_auth_users:\n  alice: ${HASH}\n  carol: $2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay\n`,
  'push_users.good.yml': () => `basic_auth_users:\n  alice: ${HASH}\npush_basic_auth_users:\n  ci: ${HASH}\n`,
};

describe('valid web config files', () => {
  for (const [name, text] of Object.entries(GOOD)) {
    it(`loads ${name}`, () => {
      const result = load(name, text());
      if (!result.ok) throw new Error(result.error.message);
      expect(result.ok).toBe(true);
    });
  }

  it('reads what the files say: TLS settings, headers, users', () => {
    const result = load(
      'all.yml',
      `${TLS}  client_auth_type: RequireAnyClientCert\n  min_version: TLS13\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: ${HASH}\n`,
    );
    if (!result.ok) throw new Error(result.error.message);
    const { config, tls, files } = result.loaded;
    expect(config.http2).toBe(false);
    expect(config.headers).toEqual({ 'X-Frame-Options': 'deny' });
    expect([...config.basicAuthUsers]).toEqual([['alice', HASH]]);
    expect(config.pushBasicAuthUsers).toBeUndefined();
    expect(tls?.requestCert).toBe(true);
    expect(tls?.rejectUnauthorized).toBe(false);
    expect(tls?.secureContext.minVersion).toBe('TLSv1.3');
    expect(files).toEqual([join(dir, 'all.yml'), join(dir, 'server.crt'), join(dir, 'server.key')]);
  });

  it('maps Go cipher and curve names to OpenSSL names, keeping TLS 1.3 on', () => {
    const result = load(
      'mapped.yml',
      `${TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA]\n  curve_preferences: [X25519, CurveP256]\n`,
    );
    if (!result.ok) throw new Error(result.error.message);
    expect(result.loaded.tls?.secureContext.ciphers).toBe(
      'ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
    );
    expect(result.loaded.tls?.secureContext.ecdhCurve).toBe('X25519:P-256');
  });

  it('resolves cert_file and key_file against the config file, not the working directory', () => {
    const result = load(join('conf.d', 'web.yml'), 'tls_server_config:\n  cert_file: ../server.crt\n  key_file: ../server.key\n');
    if (!result.ok) throw new Error(result.error.message);
    expect(result.loaded.files).toEqual([join(dir, 'conf.d', 'web.yml'), join(dir, 'server.crt'), join(dir, 'server.key')]);
  });
});

/** name, file content, what the error must say, the line it must name (undefined: none). */
const BAD: ReadonlyArray<readonly [string, string, RegExp, number | undefined]> = [
  ['junk.yml', 'tls_server_config:\n  cert_file: [a\n', /invalid YAML: Flow sequence/, 3],
  ['junk_structure.yml', '- a list\n- not a mapping\n', /the web config: expected a mapping/, 1],
  ['junk_key.yml', `${TLS}  cert_fil: other.crt\n`, /unknown key "cert_fil" in tls_server_config/, 4],
  ['junk_top_key.yml', 'basic_auth_user:\n  alice: x\n', /unknown key "basic_auth_user" in the web config/, 1],
  ['duplicate_key.yml', `basic_auth_users:\n  alice: ${HASH}\n  alice: ${HASH}\n`, /invalid YAML: Map keys must be unique/, 3],
  ['certPath_empty.bad.yml', 'tls_server_config:\n  cert_file: ""\n  key_file: server.key\n', /missing one of cert or cert_file/, 1],
  ['keyPath_empty.bad.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: ""\n', /missing one of key or key_file/, 1],
  [
    'cert_and_cert_file.bad.yml',
    `tls_server_config:\n  cert: x\n${TLS.slice('tls_server_config:\n'.length)}`,
    /at most one of cert and cert_file must be configured/,
    3,
  ],
  ['certPath_invalid.bad.yml', 'tls_server_config:\n  cert_file: somefile\n  key_file: server.key\n', /cannot read \S+somefile: ENOENT: no such file/, 2],
  ['keyPath_invalid.bad.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n', /cannot read \S+missing\.key: ENOENT/, 3],
  ['cert_not_pem.bad.yml', 'tls_server_config:\n  cert_file: nocerts.pem\n  key_file: server.key\n', /certificate: not a PEM certificate/, 2],
  ['key_mismatch.bad.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n', /the key does not match the certificate/, 3],
  ['key_not_pem.bad.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: nocerts.pem\n', /key: not a PEM private key/, 3],
  ['noAuth.bad.yml', `${TLS}  client_ca_file: server.crt\n`, /client CA's have been configured without a Client Auth Policy/, 4],
  [
    'clientCAs_invalid.bad.yml',
    `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: missing-ca.crt\n`,
    /cannot read \S+missing-ca\.crt: ENOENT/,
    5,
  ],
  ['clientCAs_nocerts.bad.yml', `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: nocerts.pem\n`, /client CA: no certificate found/, 5],
  ['clientAuth_invalid.bad.yml', `${TLS}  client_auth_type: RequireClientCert\n`, /invalid ClientAuth "RequireClientCert"/, 4],
  [
    'client_san_no_client_auth.bad.yml',
    `${TLS}  client_allowed_sans: [client.example]\n`,
    /client_allowed_sans needs client_auth_type RequireAndVerifyClientCert/,
    4,
  ],
  ['user_list_invalid.bad.yml', 'basic_auth_users:\n  alice: secret\n', /basic_auth_users\.alice: not a bcrypt hash/, 2],
  [
    'user_list_2x.bad.yml',
    'basic_auth_users:\n  bob: $2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n',
    /basic_auth_users\.bob: not a bcrypt hash/,
    2,
  ],
  ['push_users_empty.bad.yml', `basic_auth_users:\n  alice: ${HASH}\npush_basic_auth_users: {}\n`, /push_basic_auth_users is empty/, 3],
  ['inventedCiphers.bad.yml', `${TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_INVALID_CIPHER]\n`, /unknown cipher: TLS_INVALID_CIPHER/, 4],
  [
    'tls13_only_ciphers.bad.yml',
    `${TLS}  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  max_version: TLS13\nhttp_server_config:\n  http2: false\n`,
    /lists only TLS 1.3 suites/,
    4,
  ],
  [
    'unavailable_cipher.bad.yml',
    `${TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA]\n`,
    /cipher TLS_RSA_WITH_RC4_128_SHA \(OpenSSL RC4-SHA\) is not available in this Node's OpenSSL/,
    4,
  ],
  ['inventedCurves.bad.yml', `${TLS}  curve_preferences: [CurveP257]\n`, /unknown curve: CurveP257/, 4],
  ['wrongTLSVersion.bad.yml', `${TLS}  min_version: TLS111\n`, /unknown TLS version: TLS111/, 4],
  ['versions_reversed.bad.yml', `${TLS}  min_version: TLS13\n  max_version: TLS12\n`, /max_version TLS12 is below min_version TLS13/, 5],
  [
    'noHTTP2Cipher.bad.yml',
    `${TLS}  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n  max_version: TLS12\n`,
    /cipher_suites is missing a cipher HTTP\/2 requires/,
    4,
  ],
  [
    'headers_content_type_options.bad.yml',
    'http_server_config:\n  headers:\n    X-Content-Type-Options: foo\n',
    /invalid value for X-Content-Type-Options: "foo"/,
    3,
  ],
  ['headers_frame_options.bad.yml', 'http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n', /invalid value for X-Frame-Options: "allow-from"/, 3],
  ['headers_extra_header.bad.yml', 'http_server_config:\n  headers:\n    Foo: Bar\n', /HTTP header "Foo" can not be configured/, 3],
  ['http2_not_bool.bad.yml', 'http_server_config:\n  http2: sometimes\n', /http_server_config\.http2: expected true or false/, 2],
  ['rate_limit_interval.bad.yml', 'rate_limit:\n  interval: 1 second\n  burst: 10\n', /rate_limit\.interval: "1 second" is not a duration/, 2],
  ['rate_limit_burst.bad.yml', 'rate_limit:\n  interval: 1s\n  burst: -1\n', /rate_limit\.burst: expected a whole number/, 3],
  ['rate_limit_key.bad.yml', 'rate_limit:\n  every: 1s\n', /unknown key "every" in rate_limit \(expected one of: interval, burst\)/, 2],
  ['auth_excluded_paths_not_path.bad.yml', 'auth_excluded_paths: [metrics]\n', /auth_excluded_paths: "metrics" is not a path/, 1],
  [
    'auth_excluded_paths_client_cert.bad.yml',
    `${TLS}  client_auth_type: RequireAnyClientCert\nauth_excluded_paths: [/metrics]\n`,
    /auth_excluded_paths exempts paths from basic auth only; with client_auth_type RequireAnyClientCert/,
    5,
  ],
  ['unknown_top_level.bad.yml', 'socket_options:\n  dscp: 1\n', /unknown key "socket_options" in the web config/, 1],
];

describe('invalid web config files', () => {
  for (const [name, text, expected, line] of BAD) {
    it(`refuses ${name}${line === undefined ? '' : ` at line ${line}`}`, () => {
      const result = load(name, text);
      if (result.ok) throw new Error(`${name} loaded`);
      expect(result.error.message).toMatch(expected);
      expect(result.error.line).toBe(line);
      expect(result.error.message.startsWith(`${join(dir, name)}${line === undefined ? ':' : `:${line}:`} `)).toBe(true);
    });
  }

  it('gives each invalid file its own message', () => {
    const details = BAD.map(([name, text]) => {
      const result = load(name, text);
      return result.ok ? name : result.error.detail.replace(dir, '');
    });
    expect(new Set(details).size).toBe(BAD.length);
  });

  // The toolkit's allCurves lists X25519MLKEM768, which Node 20's OpenSSL 3.0 does not have.
  it.skipIf(!/^3\.[0-4]\./.test(process.versions.openssl))('refuses a curve Go knows but this OpenSSL lacks, rather than dropping it', () => {
    const result = load('mlkem.yml', `${TLS}  curve_preferences: [X25519, X25519MLKEM768]\n`);
    if (result.ok) throw new Error('loaded');
    expect(result.error.message).toMatch(/:4: curve X25519MLKEM768 is not available in this Node's OpenSSL/);
  });

  it('refuses a config file that does not exist, naming it', () => {
    const result = loadWebConfig(join(dir, 'missing.yml'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/missing\.yml: cannot read the web config: ENOENT/);
  });
});
