// Entry point of `npm run soak`. The harness is TypeScript; Node 20 cannot run it directly, so it
// is bundled with esbuild (as the benchmark is) into a temporary directory, then imported. The
// agent and the CLI under load are the built ones (bin/promdrop → dist/).
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const soakDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(soakDir, '..', '..');
const bundleDir = mkdtempSync(join(tmpdir(), 'promdrop-soak-bundle-'));
try {
  await build({
    entryPoints: { main: join(soakDir, 'main.ts') },
    outdir: bundleDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    logLevel: 'warning',
  });
  const { main } = await import(pathToFileURL(join(bundleDir, 'main.js')).href);
  process.exitCode = await main({ argv: process.argv.slice(2), repoRoot });
} finally {
  rmSync(bundleDir, { recursive: true, force: true });
}
