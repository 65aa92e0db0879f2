// Running the built CLI (bin/promdrop → dist/cli.cjs) from the writer tests, in a private
// directory, with a bounded time and its exit status and output.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promdropArgv } from '../helpers/promdrop-command.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let snapshotCli: string | undefined;

/**
 * The bundle under test: a private copy of dist/ taken once per test file, so that a rebuild
 * running meanwhile (it empties dist/ first) cannot make a spawned CLI fail half-way. bin/promdrop
 * only imports dist/cli.cjs, so running the copy's cli.cjs is running the installed command.
 * Fails loudly when dist/ is missing.
 */
export function requireBuiltCli(): string {
  if (snapshotCli !== undefined) return snapshotCli;
  const dist = join(REPO_ROOT, 'dist');
  for (let attempt = 1; attempt <= 5; attempt++) {
    if (!existsSync(join(dist, 'cli.cjs'))) {
      spawnSync('sleep', ['1']);
      continue;
    }
    const copy = mkdtempSync(join(tmpdir(), 'promdrop-cli-'));
    try {
      cpSync(dist, join(copy, 'dist'), { recursive: true });
      const cli = join(copy, 'dist', 'cli.cjs');
      const [program, ...leading] = promdropArgv(cli);
      if (spawnSync(program, [...leading, '--version'], { timeout: 30_000 }).status === 0) {
        process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
        snapshotCli = cli;
        return cli;
      }
    } catch {
      // dist/ changed while being copied; try again
    }
    rmSync(copy, { recursive: true, force: true });
    spawnSync('sleep', ['1']);
  }
  throw new Error('dist/cli.cjs is missing or broken: run `npm run build` before the integration tests');
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `promdrop-${prefix}-`));
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** PROMDROP_DIR for the child; -d on the command line wins over it. */
  readonly dir?: string;
  readonly input?: string | Uint8Array;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Run as this user and group (the test must be root); the bundle copy is opened to them. */
  readonly uid?: number;
  readonly gid?: number;
}

/** Runs `promdrop ARGS...` to completion (killed after timeoutMs). */
export function promdrop(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    if (options.dir !== undefined) env['PROMDROP_DIR'] = options.dir;
    const cli = requireBuiltCli();
    // The private copy of the bundle lives in a 0700 temporary directory: let the other user in.
    if (options.uid !== undefined) chmodSync(dirname(dirname(cli)), 0o755);
    const [program, ...leading] = promdropArgv(cli);
    const child = spawn(program, [...leading, ...args], {
      env,
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => undefined); // a command that does not read stdin may close it
    child.stdin.end(options.input);
  });
}
