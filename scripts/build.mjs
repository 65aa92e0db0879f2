// Bundles promdrop into dist/ with esbuild.
// - dist/cli.cjs: the command line. CommonJS because Node starts a CommonJS bundle about 10 ms
//   faster than the same code as ESM, and a cron job pays that on every run (target: within
//   1.5x of `node -e 0`).
// - dist/agent-serve.cjs: the agent (fastify, chokidar, pino, prom-client), loaded only by
//   `serve`; dist/agent-store.cjs (+ agent-watcher.cjs): the store without a watcher, for
//   `list` and `cat`. The writer commands load none of them. dist/agent-judge-worker.cjs: the
//   worker thread that judges large files (src/agent/judge-off-thread.ts).
// - dist/core.js: the exposition core as an ES module, for the benchmark and for embedding.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

/** The CLI's dynamic imports of the agent become requires of the separate agent bundles. */
const agentBundles = {
  name: 'agent-bundles',
  setup(builder) {
    builder.onResolve({ filter: /\/agent\/(serve|store)\.js$/ }, (args) => {
      if (!args.importer.includes('/src/cli/')) return undefined;
      const name = args.path.endsWith('serve.js') ? 'serve' : 'store';
      return { path: `./agent-${name}.cjs`, external: true };
    });
  },
};

/** The store's lazy import of the watcher becomes a require of its own bundle, so that `list`
 *  and `cat` (which use the store without watching) never load chokidar's code. */
const watcherBundle = {
  name: 'watcher-bundle',
  setup(builder) {
    builder.onResolve({ filter: /\/fs\/watcher\.js$/ }, (args) =>
      args.importer.endsWith('/src/agent/store.ts') ? { path: './agent-watcher.cjs', external: true } : undefined,
    );
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  define: { PROMDROP_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', format: 'cjs', outExtension: { '.js': '.cjs' }, plugins: [agentBundles] }),
  build({
    ...common,
    entryPoints: { 'agent-serve': 'src/agent/serve.ts', 'agent-watcher': 'src/fs/watcher.ts', 'agent-judge-worker': 'src/agent/judge-worker.ts' },
    outdir: 'dist',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
  }),
  build({ ...common, entryPoints: { 'agent-store': 'src/agent/store.ts' }, outdir: 'dist', format: 'cjs', outExtension: { '.js': '.cjs' }, plugins: [watcherBundle] }),
  build({ ...common, entryPoints: { core: 'src/core/index.ts' }, outdir: 'dist', format: 'esm' }),
]);
