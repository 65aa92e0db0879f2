// The Node.js runtimes promdrop is built with and tested on, fetched from the npm registry's
// `node-linux-<arch>` packages (the official release binaries, repackaged) at pinned versions and
// checked against pinned integrity hashes, so that neither the build nor the test matrix depends
// on the node that runs them. Cached in build/node-runtimes/ (gitignored).
//
//   node scripts/node-runtime.mjs [MAJOR|embedded] [x64|arm64]   prints the runtime's directory
//                                                                 (bin/node, LICENSE)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
export const RUNTIME_CACHE = join(REPO, 'build', 'node-runtimes');

/** The maintained LTS lines, each at its latest release when pinned (Dec 2026). 26.12.1 still
 *  reports itself as a Current release (no `process.release.lts`), so the embedded runtime is the
 *  newest line that is LTS: 24 ("Krypton"). */
export const RUNTIMES = {
  x64: {
    '22.23.5': 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
    '24.22.3': 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    '26.12.1': 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
  },
  arm64: {
    '24.22.3': 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  },
};

/** The runtime inside the single executable. */
export const EMBEDDED_VERSION = '24.22.3';

/** The pinned version of a major line ("22") or "embedded". */
export function pinnedVersion(line, arch = 'x64') {
  if (line === 'embedded') return EMBEDDED_VERSION;
  const version = Object.keys(RUNTIMES[arch] ?? {}).find((candidate) => candidate.split('.')[0] === String(line));
  if (version === undefined) throw new Error(`no pinned node-linux-${arch} for Node ${line} (scripts/node-runtime.mjs)`);
  return version;
}

/** The directory holding bin/node and LICENSE of node-linux-ARCH@VERSION, downloaded (npm pack)
 *  and verified on first use. */
export function fetchRuntime(version, arch = 'x64') {
  const integrity = RUNTIMES[arch]?.[version];
  if (integrity === undefined) throw new Error(`node-linux-${arch}@${version} is not pinned (scripts/node-runtime.mjs)`);
  const directory = join(RUNTIME_CACHE, `node-linux-${arch}-${version}`);
  if (existsSync(join(directory, 'bin', 'node'))) return directory;
  mkdirSync(RUNTIME_CACHE, { recursive: true });
  const tarball = join(RUNTIME_CACHE, `node-linux-${arch}-${version}.tgz`);
  if (!existsSync(tarball)) {
    execFileSync('npm', ['pack', '--silent', `node-linux-${arch}@${version}`, '--pack-destination', RUNTIME_CACHE], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const [algorithm, expected] = integrity.split('-', 2);
  const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64');
  if (actual !== expected) {
    rmSync(tarball, { force: true });
    throw new Error(`${tarball}: ${algorithm} ${actual} is not the pinned ${expected}`);
  }
  // Extracted beside, then renamed: an interrupted extraction never looks like a runtime.
  const partial = `${directory}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1', 'package/bin/node', 'package/LICENSE']);
  renameSync(partial, directory);
  return directory;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [line = 'embedded', arch = 'x64'] = process.argv.slice(2);
  process.stdout.write(`${fetchRuntime(pinnedVersion(line, arch), arch)}\n`);
}
