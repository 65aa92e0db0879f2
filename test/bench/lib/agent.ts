// promdrop's agent as a benchmark peer: `promdrop serve` from the built CLI, on 127.0.0.1 and a
// port of the kernel's choosing (learnt from its start-up log line, so there is no race for a
// "free" port), with its memory and CPU readable from /proc while it runs. The process is node
// itself (process.execPath running bin/promdrop, or the single executable with --executable), so
// /proc/<pid> is the agent's and not a wrapper's.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { hasExited, stopChild } from './child.js';
import { httpGet } from './http-get.js';
import { readProcessCpu, readProcessMemory, type ProcessCpu, type ProcessMemory } from './proc.js';

export interface AgentOptions {
  readonly repoRoot: string;
  readonly directories: readonly string[];
  /** Flags besides the directories and the listen address. */
  readonly flags?: readonly string[];
  /** How long the first scan may take before /-/ready must answer 200. */
  readonly readyTimeoutMs?: number;
}

export interface BenchAgent {
  readonly pid: number;
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly metricsUrl: string;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  /** From spawn to the first 200 from /-/ready, polled every few milliseconds. */
  readonly spawnToReadyMs: number;
  memory(): ProcessMemory | undefined;
  cpu(): ProcessCpu | undefined;
  /** The tail of what the agent logged (stdout and stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Enough log to explain a failure; an agent at debug level must not fill the harness's memory. */
const OUTPUT_KEPT = 32 * 1024;
const POLL_MS = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The single executable the agent runs from instead of `node bin/promdrop` (`npm run bench --
 *  --executable FILE`), or undefined. */
export function benchExecutable(): string | undefined {
  return process.env['PROMDROP_BENCH_EXECUTABLE'] || undefined;
}

/** How the report names the promdrop the agent scenarios ran. */
export function agentProgramDescription(): string {
  const executable = benchExecutable();
  return executable === undefined
    ? '`promdrop serve` from the built CLI (`bin/promdrop` on the same node)'
    : `\`promdrop serve\` from the single executable ${executable}`;
}

export async function startAgent(options: AgentOptions): Promise<BenchAgent> {
  const cli = join(options.repoRoot, 'bin', 'promdrop');
  const executable = benchExecutable();
  const program = executable ?? process.execPath;
  const args = [
    ...(executable === undefined ? [cli] : []),
    'serve',
    '--web.listen-address=127.0.0.1:0',
    ...options.directories.map((directory) => `--textfile.directory=${directory}`),
    ...(options.flags ?? []),
  ];
  const started = performance.now();
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const pid = child.pid;
  const deadline = started + (options.readyTimeoutMs ?? 60_000);
  const fail = async (why: string): Promise<never> => {
    await stopChild(child);
    throw new Error(`promdrop serve ${why}; its log:\n${output.slice(-2000)}`);
  };
  if (pid === undefined) return fail(`could not be spawned (${program} ${args[0] ?? ''})`);

  let baseUrl: string | undefined;
  for (;;) {
    if (spawnError !== undefined) return fail(`could not be spawned: ${spawnError.message}`);
    if (hasExited(child)) return fail(`exited early (${String(child.exitCode ?? child.signalCode)})`);
    if (performance.now() > deadline) return fail('was not ready in time');
    if (baseUrl === undefined) {
      // logfmt: `listen_address=127.0.0.1:41234` (several addresses are comma-separated).
      const address = / listen_address=([^\s,]+)/.exec(output)?.[1];
      if (address !== undefined) baseUrl = `http://${address}`;
    }
    if (baseUrl !== undefined) {
      const ready = await httpGet(`${baseUrl}/-/ready`, { timeoutMs: 10_000 }).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) break;
    }
    await sleep(POLL_MS);
  }
  const spawnToReadyMs = performance.now() - started;
  return {
    pid,
    baseUrl,
    metricsUrl: `${baseUrl}/metrics`,
    spawnedAt: started,
    spawnToReadyMs,
    memory: () => readProcessMemory(pid),
    cpu: () => readProcessCpu(pid),
    output: () => output,
    stop: () => stopChild(child),
  };
}
