// Bundles the CLI into dist/ with esbuild. One bundle keeps a cron job's start-up close to
// `node -e 0` (ecosystem.md §3.1); the agent is a separate chunk that only `serve` loads, so
// the writer commands never pay for fastify or chokidar.
import { build } from 'esbuild';
import { rmSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

await build({
  entryPoints: { cli: 'src/cli/main.ts', core: 'src/core/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  define: { PROMDROP_VERSION: JSON.stringify(pkg.version) },
  // CommonJS dependencies (commander, proper-lockfile) call require() for built-ins.
  banner: { js: "import { createRequire as __promdropCreateRequire } from 'node:module'; const require = __promdropCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
