// Builds build/sea/linux-ARCH/promdrop: promdrop as one self-contained executable, a Node.js
// single executable application (SEA) around the pinned LTS runtime of scripts/node-runtime.mjs.
//
//   node scripts/build-sea.mjs [x64|arm64]     prints the executable's path
//
// - One CommonJS bundle of the whole program (CLI and agent): an executable's main script can
//   require only Node's built-in modules, so the agent is not split off as in dist/ (esbuild
//   turns the CLI's lazy imports of the agent into requires within the bundle).
// - The judge worker's own bundle is embedded as an asset: a worker thread cannot start from a
//   file that is not on disk (src/agent/judge-off-thread.ts starts it from the code).
// - The blob is made by the pinned runtime itself (a blob only runs on the Node version that made
//   it) with V8's code cache for the bundle (`useCodeCache`). A V8 start-up snapshot
//   (`useSnapshot`) is not used: it requires the program to be rewritten around
//   v8.startupSnapshot.setDeserializeMainFunction and the code cache already brings `--version`
//   and `write` under `node -e 0` (docs/benchmarks.md).
// - The blob goes into a copy of the runtime with postject, at the fuse Node looks for.
// An arm64 executable is built the same way; the blob is made by the x64 runtime of the same
// version (blobs are portable across architectures only without code cache, so arm64 goes
// without it: the x64 V8 cannot make arm64 code cache).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_VERSION, fetchRuntime } from './node-runtime.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const WORKER_ASSET = 'agent-judge-worker.cjs'; // EMBEDDED_WORKER_ASSET in src/agent/judge-off-thread.ts

export async function buildSea(arch = 'x64') {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const out = join(REPO, 'build', 'sea', `linux-${arch}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const common = {
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${EMBEDDED_VERSION.split('.')[0]}`,
    define: { PROMDROP_VERSION: JSON.stringify(pkg.version) },
    legalComments: 'none',
    logLevel: 'warning',
  };
  const main = join(out, 'promdrop.cjs');
  const worker = join(out, WORKER_ASSET);
  await Promise.all([
    build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: main }),
    build({ ...common, entryPoints: ['src/agent/judge-worker.ts'], outfile: worker }),
  ]);
  // The code cache cannot carry a real import(); esbuild leaves none in a CommonJS bundle, but a
  // dependency could bring one.
  const code = readFileSync(main, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/)/.test(line));
  if (code.some((line) => /\bimport\(/.test(line))) throw new Error(`${main}: a dynamic import() is left in the bundle`);

  const buildRuntime = join(fetchRuntime(EMBEDDED_VERSION, 'x64'), 'bin', 'node');
  const targetRuntime = join(fetchRuntime(EMBEDDED_VERSION, arch), 'bin', 'node');
  const blob = join(out, 'promdrop.blob');
  const config = join(out, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify(
      {
        main,
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: arch === 'x64',
        assets: { [WORKER_ASSET]: worker },
      },
      null,
      2,
    ),
  );
  execFileSync(buildRuntime, ['--experimental-sea-config', config], { cwd: out, stdio: ['ignore', 'ignore', 'pipe'] });

  const executable = join(out, 'promdrop');
  copyFileSync(targetRuntime, executable);
  chmodSync(executable, 0o755);
  // postject warns about every ELF note section it does not know; its errors make this throw.
  execFileSync(
    process.execPath,
    [join(REPO, 'node_modules', 'postject', 'dist', 'cli.js'), executable, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return executable;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await buildSea(process.argv[2] ?? 'x64')}\n`);
}
