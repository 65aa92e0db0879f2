// Vitest global setup of the integration project: one private copy of dist/ for the whole run
// (the writer tests spawn it; a rebuild meanwhile empties dist/ first), removed in teardown.
// One copy per run instead of one per test file, and none left behind by a worker that did not
// exit normally: the copy belongs to the main process.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** dist/cli.cjs of the run's private copy of the bundle. */
    promdropCli: string;
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export default function setup(project: TestProject): () => void {
  const dist = join(REPO_ROOT, 'dist');
  if (!existsSync(join(dist, 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `npm run build` before the integration tests');
  const copy = mkdtempSync(join(tmpdir(), 'promdrop-cli-'));
  const remove = (): void => rmSync(copy, { recursive: true, force: true });
  // Also on an abrupt end of the main process (Ctrl-C), where teardown does not run.
  process.once('exit', remove);
  cpSync(dist, join(copy, 'dist'), { recursive: true });
  const cli = join(copy, 'dist', 'cli.cjs');
  if (spawnSync(process.execPath, [cli, '--version'], { timeout: 60_000 }).status !== 0) {
    remove();
    throw new Error('the copy of dist/cli.cjs does not run: was dist/ being rebuilt? run `npm run build` and try again');
  }
  project.provide('promdropCli', cli);
  return remove;
}
