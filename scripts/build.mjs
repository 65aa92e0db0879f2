// Bundles promdrop into dist/ with esbuild.
// - dist/cli.cjs: the command line. CommonJS because Node starts a CommonJS bundle about 10 ms
//   faster than the same code as ESM, and a cron job pays that on every run (target: within
//   1.5x of `node -e 0`); dist/cli.cjs.v8-cache: V8's code cache for it (bin/load-cli.cjs).
// - dist/agent-serve.cjs: the agent's program (src/program/serve.ts: fastify, chokidar, pino,
//   prom-client), loaded only by `serve`; dist/agent-load.cjs: the one-shot load of `list` and
//   `cat` (src/agent/load-once.ts: the store's file table and snapshot builder, without the
//   store, its watcher or timers). The writer commands load none of them.
//   dist/agent-judge-worker.cjs: the worker thread that judges large files
//   (src/agent/judge-off-thread.ts).
// - dist/core.js: the exposition core as an ES module, for the benchmark and for embedding.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

/** The CLI's dynamic imports of the agent (the program's serve wiring, the one-shot load) become requires
 *  of the separate agent bundles: each import() resolves to a stand-in module whose one line
 *  requires the bundle, so the CLI bundle has no real import() (which V8's code cache cannot
 *  carry; see bin/load-cli.cjs). */
const agentBundles = {
  name: 'agent-bundles',
  setup(builder) {
    builder.onResolve({ filter: /\/(program\/serve|agent\/load-once)\.js$/ }, (args) => {
      if (!args.importer.includes('/src/cli/')) return undefined;
      const name = args.path.endsWith('serve.js') ? 'serve' : 'load';
      return { path: `agent-${name}`, namespace: 'agent-bundle' };
    });
    builder.onLoad({ filter: /.*/, namespace: 'agent-bundle' }, (args) => ({ contents: `module.exports = require('./${args.path}.cjs');\n`, loader: 'js' }));
    builder.onResolve({ filter: /^\.\/agent-(serve|load)\.cjs$/ }, (args) =>
      args.namespace === 'agent-bundle' ? { path: args.path, external: true } : undefined,
    );
  },
};

/** commander requires child_process when it loads, for executable subcommands (`git-style`
 *  commands in files of their own), which promdrop does not have. Loading it costs a cron job
 *  about 3 ms per run (child_process pulls in net, dgram and the stream machinery): in the CLI
 *  bundle, commander gets a stand-in that loads the real module on first use. */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let real;\nmodule.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:child_process'))[key] });\n",
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  // Below engines (>= 22) on purpose: the test suite must still run on a development machine's
  // Node 20 (README, Tests), and the bundle needs nothing newer.
  target: 'node20.19',
  sourcemap: 'linked',
  define: { PROMDROP_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

await Promise.all([
  build({
    ...common,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: 'dist',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    plugins: [agentBundles, lazyChildProcessForCommander],
  }),
  build({
    ...common,
    entryPoints: { 'agent-serve': 'src/program/serve.ts', 'agent-load': 'src/agent/load-once.ts', 'agent-judge-worker': 'src/agent/judge-worker.ts' },
    outdir: 'dist',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
  }),
  build({ ...common, entryPoints: { core: 'src/core/index.ts' }, outdir: 'dist', format: 'esm' }),
]);

// V8's code cache for the CLI bundle, made by the node that builds (bin/load-cli.cjs).
execFileSync(process.execPath, [fileURLToPath(new URL('./make-code-cache.cjs', import.meta.url))], { stdio: 'ignore' });
