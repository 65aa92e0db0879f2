// Loading the built core (dist/core.js) the way users get it: the bundle, not the sources, so
// that the benchmark measures what ships. Its types come from the sources it is built from.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as CoreModule from '../../../src/core/index.js';

export type Core = typeof CoreModule;

/** The exports the benchmarks call; a core without them is reported as not measurable yet. */
const REQUIRED_EXPORTS = ['checkExposition', 'parseExposition', 'mergeSources', 'renderText'] as const;

export type CoreLoad = { readonly ok: true; readonly core: Core; readonly url: string } | { readonly ok: false; readonly reason: string };

export function coreBundleUrl(repoRoot: string): string {
  return pathToFileURL(join(repoRoot, 'dist', 'core.js')).href;
}

export async function loadCore(repoRoot: string): Promise<CoreLoad> {
  const path = join(repoRoot, 'dist', 'core.js');
  if (!existsSync(path)) return { ok: false, reason: `${path} does not exist (run \`npm run build\`)` };
  const url = coreBundleUrl(repoRoot);
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    return { ok: false, reason: `${path} failed to load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const missing = REQUIRED_EXPORTS.filter((name) => typeof module[name] !== 'function');
  if (missing.length > 0) return { ok: false, reason: `${path} does not export ${missing.join(', ')} yet` };
  return { ok: true, core: module as unknown as Core, url };
}
