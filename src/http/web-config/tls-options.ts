// tls_server_config → Node's TLS server options, with every setting Node cannot honour refused
// here (with the line of its key) rather than dropped: a cipher or curve this Node's OpenSSL
// lacks, a certificate that does not match its key, a CA file with no certificate in it.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { PemSource, TlsServerSettings } from './schema.js';
import { WebConfigError } from './schema.js';
import { CURVES, TLS12_CIPHER_SUITES, TLS13_CIPHER_SUITES, TLS_VERSIONS, type ClientAuthType } from './tls-names.js';

/** What a TLS server needs from the web config: the context options, and who may connect. */
export interface TlsServerOptions {
  /** Given whole to tls.createServer / setSecureContext. */
  readonly secureContext: SecureContextOptions;
  /** tls.Server's own per-connection settings (not part of a secure context). */
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly clientAuthType: ClientAuthType;
  readonly clientAllowedSans: readonly string[];
}

export type TlsOptionsResult = { readonly ok: true; readonly options: TlsServerOptions } | { readonly ok: false; readonly error: WebConfigError };

/** Reads a PEM file; throws the fs error (the caller words it). */
export type ReadPem = (path: string) => string;

/** Builds the server options for `settings` from config file `file`, reading PEM files with `readPem`. */
export function buildTlsOptions(settings: TlsServerSettings, file: string, readPem: ReadPem): TlsOptionsResult {
  const fail = (line: number | undefined, detail: string): TlsOptionsResult => ({ ok: false, error: new WebConfigError(file, line, detail) });
  const pems: { cert?: string; key?: string; ca?: string } = {};
  for (const [name, source] of [
    ['cert', settings.cert],
    ['key', settings.key],
    ['ca', settings.clientCa],
  ] as const) {
    if (source === undefined) continue;
    const text = readSource(source, readPem);
    if (typeof text !== 'string') return fail(source.line, text.error);
    pems[name] = text;
  }

  const secureContext: SecureContextOptions & { honorCipherOrder?: boolean } = {
    cert: pems.cert,
    key: pems.key,
    minVersion: TLS_VERSIONS[settings.minVersion],
    maxVersion: TLS_VERSIONS[settings.maxVersion],
    honorCipherOrder: settings.preferServerCipherSuites,
  };
  if (settings.cipherSuites !== undefined) {
    const openssl = settings.cipherSuites.map((name) => TLS12_CIPHER_SUITES[name]!);
    for (let i = 0; i < openssl.length; i++) {
      if (!contextAccepts({ ciphers: openssl[i]! })) {
        return fail(
          settings.lines.cipherSuites,
          `cipher ${settings.cipherSuites[i]} (OpenSSL ${openssl[i]}) is not available in this Node's OpenSSL ${process.versions.openssl}`,
        );
      }
    }
    // Node takes the TLS 1.3 suites from the same option and turns TLS 1.3 off when none is
    // listed; Go never lets the TLS 1.3 suites be configured, so all of them stay on.
    secureContext.ciphers = [...openssl, ...TLS13_CIPHER_SUITES].join(':');
  }
  if (settings.curvePreferences !== undefined) {
    for (const name of settings.curvePreferences) {
      if (!contextAccepts({ ecdhCurve: CURVES[name]! })) {
        return fail(settings.lines.curvePreferences, `curve ${name} is not available in this Node's OpenSSL ${process.versions.openssl}`);
      }
    }
    secureContext.ecdhCurve = settings.curvePreferences.map((name) => CURVES[name]!).join(':');
  }
  if (!contextAccepts({ minVersion: secureContext.minVersion, maxVersion: secureContext.maxVersion })) {
    return fail(
      settings.lines.minVersion,
      `TLS versions ${settings.minVersion}..${settings.maxVersion} are not available in this Node's OpenSSL ${process.versions.openssl}`,
    );
  }
  if (pems.ca !== undefined) {
    if (!/-----BEGIN CERTIFICATE-----/.test(pems.ca))
      return fail(settings.clientCa?.line, 'client CA: no certificate found (expected PEM "BEGIN CERTIFICATE" blocks)');
    secureContext.ca = pems.ca;
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pems.cert!);
  } catch (error) {
    return fail(settings.cert.line, `certificate: not a PEM certificate (${messageOf(error)})`);
  }
  // OpenSSL takes a key that does not match the certificate without a word, and every
  // handshake fails later: checked here instead.
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(pems.key!))) return fail(settings.key.line, 'the key does not match the certificate');
  } catch (error) {
    return fail(settings.key.line, `key: not a PEM private key (${messageOf(error)})`);
  }
  try {
    createSecureContext(secureContext);
  } catch (error) {
    return fail(settings.cert.line, `the certificate and key do not load: ${messageOf(error)}`);
  }

  const verifies = settings.clientAuthType === 'RequireAndVerifyClientCert';
  return {
    ok: true,
    options: {
      secureContext,
      requestCert: settings.clientAuthType !== 'NoClientCert',
      // The other policies are enforced once the handshake is done (clientCertificateRefusal).
      rejectUnauthorized: verifies,
      clientAuthType: settings.clientAuthType,
      clientAllowedSans: settings.clientAllowedSans,
    },
  };
}

/**
 * Why a finished TLS connection must be closed under `options`, or undefined when it may go on.
 * Node's handshake can only "verify or not"; Go's in-between policies (require any certificate,
 * verify one only if given) and the SAN allow-list are checked here instead.
 */
export function clientCertificateRefusal(socket: TLSSocket, options: TlsServerOptions): string | undefined {
  if (options.clientAuthType === 'NoClientCert' || options.clientAuthType === 'RequestClientCert') return undefined;
  const certificate = socket.getPeerCertificate();
  const given = certificate !== null && Object.keys(certificate).length > 0;
  if (options.clientAuthType === 'RequireAnyClientCert') return given ? undefined : 'no client certificate';
  if (options.clientAuthType === 'VerifyClientCertIfGiven')
    return !given || socket.authorized ? undefined : `client certificate not verified: ${String(socket.authorizationError)}`;
  if (!socket.authorized) return `client certificate not verified: ${String(socket.authorizationError)}`;
  if (options.clientAllowedSans.length === 0) return undefined;
  const sans = subjectAltNames(certificate.subjectaltname ?? '');
  return options.clientAllowedSans.some((allowed) => sans.includes(allowed)) ? undefined : 'client certificate has none of client_allowed_sans';
}

/** `DNS:a, IP Address:127.0.0.1, email:x@y, URI:spiffe://z` → the values. */
function subjectAltNames(text: string): string[] {
  if (text === '') return [];
  return text.split(', ').map((entry) => entry.slice(entry.indexOf(':') + 1));
}

function readSource(source: PemSource, readPem: ReadPem): string | { error: string } {
  if (source.kind === 'inline') return source.pem;
  try {
    return readPem(source.path);
  } catch (error) {
    return { error: `cannot read ${source.path}: ${messageOf(error)}` };
  }
}

function contextAccepts(options: SecureContextOptions): boolean {
  try {
    createSecureContext(options);
    return true;
  } catch {
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
