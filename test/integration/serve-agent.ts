// Starting the real agent (the built CLI, `promdrop serve`) for integration tests, on 127.0.0.1
// and a free port, over a real temporary directory.
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { runProgram, type RunningProcess } from '../helpers/peers.js';
import { promdropArgv } from '../helpers/promdrop-command.js';

export const CLI = fileURLToPath(new URL('../../bin/promdrop', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/cli.cjs', import.meta.url));

export interface Agent extends RunningProcess {
  /** Every address the agent bound, as it logged them (`127.0.0.1:41234`). */
  readonly addresses: readonly string[];
  /** GET a path; the body as text. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: string }>;
  metrics(headers?: Record<string, string>): Promise<string>;
  /** Resolves with the exit code (null if killed by a signal) and how long the exit took. */
  terminate(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** How long one request of a test may take before it counts as hung. */
const REQUEST_CAP_MS = 300_000;

/**
 * Starts `promdrop serve` with `args` plus `--web.listen-address=127.0.0.1:0` (unless
 * `listen: false`), learns the ports the agent bound from its start-up log line (no race for a
 * "free" port), and waits until /-/ready answers 200 over plain HTTP, or until `ready(port)` is
 * true (an agent serving HTTPS).
 */
export async function startAgent(
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    listen?: boolean;
    ready?: (port: number) => Promise<boolean>;
    /** A command that execs the agent: setpriv, `bash -c 'ulimit …; exec "$@"'`. */
    wrapper?: readonly string[];
  } = {},
): Promise<Agent> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` before the integration tests`);
  const listen = options.listen === false ? [] : ['--web.listen-address=127.0.0.1:0'];
  const [command, ...commandArgs] = [...(options.wrapper ?? []), ...promdropArgv(CLI), 'serve', ...listen, ...args];
  const child = spawn(command!, commandArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const terminate: Agent['terminate'] = (signal = 'SIGTERM') =>
    new Promise((resolve) => {
      const started = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode, ms: 0 });
        return;
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', (code, exitSignal) => {
        clearTimeout(killer);
        resolve({ code, signal: exitSignal, ms: Date.now() - started });
      });
      child.kill(signal);
    });
  const deadline = Date.now() + 20_000;
  const fail = async (why: string): Promise<never> => {
    await terminate('SIGKILL');
    throw new Error(`promdrop serve ${why}:\n${output}`);
  };
  let addresses: string[] | undefined;
  while (addresses === undefined) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`promdrop serve exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    const match = / listen_address=(\S+)/.exec(output) ?? /"listen_address":"([^"]+)"/.exec(output);
    if (match !== null) addresses = match[1]!.split(',');
    else if (Date.now() > deadline) await fail('did not log its listen address within 20 s');
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = Number(/:(\d+)$/.exec(addresses[0]!)?.[1]);
  const url = `http://127.0.0.1:${port}`;
  const get: Agent['get'] = async (path, headers = {}) => {
    const once = async (): Promise<{ status: number; headers: Headers; body: string }> => {
      // A cap for a hung agent only: a scrape of a million-series agent on a loaded 2-core CI
      // machine can take far longer than the tens of milliseconds it takes idle.
      const response = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(REQUEST_CAP_MS) });
      return { status: response.status, headers: response.headers, body: await response.text() };
    };
    try {
      return await once();
    } catch (error) {
      // fetch reuses a keep-alive connection; when a test spent about the server's 5 s
      // keep-alive timeout computing its expectation, the agent may close that connection just
      // as the request goes out ("other side closed"). A GET is safe to send again, once.
      if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
      return once();
    }
  };
  const agent: Agent = {
    child,
    port,
    url,
    addresses,
    output: () => output,
    stop: async () => {
      await terminate('SIGTERM');
    },
    terminate,
    get,
    metrics: async (headers) => {
      const response = await get('/metrics', headers);
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${response.body}`);
      return response.body;
    },
  };
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`promdrop serve exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    const ready = options.ready === undefined ? fetch(`${url}/-/ready`).then((response) => response.ok) : options.ready(port);
    if (await ready.catch(() => false)) return agent;
    if (Date.now() > deadline) await fail('was not ready within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs the CLI to completion (for flag errors and the like). */
export function runCli(args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [program, ...leading] = promdropArgv(CLI);
  return runProgram(program, [...leading, ...args], undefined, timeoutMs);
}

export async function makeTempDir(prefix = 'promdrop-serve-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(path: string | undefined): Promise<void> {
  if (path !== undefined) await rm(path, { recursive: true, force: true });
}

/** Writes `content` to `dir/name` the safe way: a temp name the agent ignores, then rename(). */
export async function writeAtomically(dir: string, name: string, content: string | Buffer): Promise<void> {
  const temp = join(dir, `.${name}.tmp-${process.pid}`);
  await writeFile(temp, content);
  await rename(temp, join(dir, name));
}

/** The value of the first sample line `series` (exact name and labels) in an exposition. */
export function sampleValue(exposition: string, series: string): string | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${series} `)) return line.slice(series.length + 1).split(' ')[0];
  }
  return undefined;
}

/** Polls `check` until it returns true, for at most `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** About 12 MB of exposition: more than the socket buffers hold, so an unread answer is still
 *  being written when the agent is told to stop. `lastSeries` is its last sample line. */
export const IN_FLIGHT_FILE = {
  content: (): string => {
    const lines = ['# TYPE inflight_series gauge'];
    for (let i = 0; i < 120_000; i++) lines.push(`inflight_series{instance="host-${i}",path="/var/lib/some/long/path/${i}"} ${i}`);
    return `${lines.join('\n')}\n`;
  },
  lastSeries: 'inflight_series{instance="host-119999",path="/var/lib/some/long/path/119999"} 119999\n',
};

/**
 * Sends GET /metrics on a connected socket, leaves the answer unread, sends SIGTERM, then reads
 * it all. Returns the raw response, whether its body is as long as its Content-Length says, and
 * how the agent exited.
 */
export async function scrapeAcrossSigterm(
  agent: Agent,
  socket: Socket,
): Promise<{ response: string; complete: boolean; exit: Awaited<ReturnType<Agent['terminate']>> }> {
  socket.pause();
  socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  // Let the agent start answering, then ask it to stop while the answer is unread.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const exited = agent.terminate('SIGTERM');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.resume();
  await new Promise((resolve) => socket.once('close', resolve));
  const exit = await exited;
  const response = Buffer.concat(received).toString();
  const headerEnd = response.indexOf('\r\n\r\n');
  const length = Number(/content-length: (\d+)/i.exec(response.slice(0, headerEnd))?.[1]);
  return { response, complete: headerEnd > 0 && Buffer.byteLength(response.slice(headerEnd + 4)) === length, exit };
}
