// Running the built CLI (bin/promdrop → dist/cli.cjs) from the writer tests, in a private
// directory, with a bounded time and its exit status and output.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { inject } from 'vitest';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promdropArgv } from '../helpers/promdrop-command.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The bundle under test: the run's private copy of dist/, made once by the integration project's
 * global setup (test/helpers/cli-copy-setup.ts) and removed by its teardown, so that a rebuild
 * running meanwhile (it empties dist/ first) cannot make a spawned CLI fail half-way.
 * bin/promdrop only imports dist/cli.cjs, so running the copy's cli.cjs is running the
 * installed command.
 */
export function requireBuiltCli(): string {
  const cli = inject('promdropCli');
  if (cli === undefined || !existsSync(cli))
    throw new Error('no copy of dist/cli.cjs: run the integration tests through vitest.config.ts (its globalSetup makes it)');
  return cli;
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
