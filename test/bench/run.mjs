// Entry point of `npm run bench`. The harness is TypeScript like the rest of the project; Node
// 20 cannot run it directly, so it is bundled here with esbuild (already a dev dependency) into
// a temporary directory, then imported. dist/core.js is loaded at run time, not bundled: the
// benchmark measures the build that ships.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(benchDir, '..', '..');
const bundleDir = mkdtempSync(join(tmpdir(), 'promdrop-bench-bundle-'));
try {
  await build({
    entryPoints: {
      main: join(benchDir, 'main.ts'),
      // Child processes, started by path from bundleDir.
      'parse-peak': join(benchDir, 'children', 'parse-peak.ts'),
    },
    outdir: bundleDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    logLevel: 'warning',
  });
  const { main } = await import(pathToFileURL(join(bundleDir, 'main.js')).href);
  process.exitCode = await main({ argv: process.argv.slice(2), repoRoot, bundleDir });
} finally {
  rmSync(bundleDir, { recursive: true, force: true });
}
