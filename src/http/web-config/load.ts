// Loading --web.config.file: read, parse, validate, and load the TLS material it names, into
// one value the HTTP layer uses as a whole. Synchronous on purpose: it runs at start-up and,
// on a change, between accepting a connection and starting its handshake (reloader.ts), where
// the new certificate must already be in place. The files are a few kilobytes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseWebConfig, WebConfigError, type WebConfig } from './schema.js';
import { buildTlsOptions, type TlsServerOptions } from './tls-options.js';

export interface LoadedWebConfig {
  readonly config: WebConfig;
  /** Undefined when the config does not turn TLS on. */
  readonly tls: TlsServerOptions | undefined;
  /** Every file this config was read from (the config first), to notice a change. */
  readonly files: readonly string[];
}

export type LoadResult = { readonly ok: true; readonly loaded: LoadedWebConfig } | { readonly ok: false; readonly error: WebConfigError };

export function loadWebConfig(path: string): LoadResult {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { ok: false, error: new WebConfigError(file, undefined, `cannot read the web config: ${error instanceof Error ? error.message : String(error)}`) };
  }
  const parsed = parseWebConfig(text, file);
  if (!parsed.ok) return parsed;
  const { config } = parsed;
  const files = [file];
  if (config.tls === undefined) return { ok: true, loaded: { config, tls: undefined, files } };
  for (const source of [config.tls.cert, config.tls.key, config.tls.clientCa]) if (source?.kind === 'file') files.push(source.path);
  const tls = buildTlsOptions(config.tls, file, (pemPath) => readFileSync(pemPath, 'utf8'));
  if (!tls.ok) return tls;
  return { ok: true, loaded: { config, tls: tls.options, files } };
}
