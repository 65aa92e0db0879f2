// Finding and starting the real Prometheus programs that tests compare against. A test that
// needs one must fail, not skip, under CI (CI=true) when the program is missing: a skipped
// comparison would look like a passing one.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export const PEERS = {
  promtool: 'promtool',
  prometheus: 'prometheus',
  nodeExporter: 'prometheus-node-exporter',
  pushgateway: 'prometheus-pushgateway',
  /** Debian's python3, which has python3-prometheus-client (a pyenv python3 may shadow it). */
  debianPython: '/usr/bin/python3',
} as const;

/** Absolute path of an executable, or undefined. */
export function findProgram(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The program's path; when it is missing: throws under CI, returns undefined elsewhere so that
 * the caller can `describe.skipIf(!path)` on a developer machine without the package.
 */
export function requireProgram(name: string, debianPackage: string): string | undefined {
  const path = findProgram(name);
  if (path === undefined && process.env['CI']) {
    throw new Error(`${name} is required in CI (apt-get install ${debianPackage}) but was not found on PATH`);
  }
  return path;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a long-running program and waits until `ready(url)` resolves true (bounded). */
export async function startProcess(
  command: string,
  args: (port: number) => string[],
  ready: (url: string) => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<RunningProcess> {
  const port = await freePort();
  const child = spawn(command, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const running: RunningProcess = {
    child,
    port,
    url,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited early (${child.exitCode}):\n${output}`);
    if (await ready(url).catch(() => false)) return running;
    await new Promise((r) => setTimeout(r, 100));
  }
  await running.stop();
  throw new Error(`${command} was not ready within ${timeoutMs} ms:\n${output}`);
}

/** node_exporter with only the textfile collector, reading `directory` (a path or glob). */
export async function startNodeExporter(binary: string, directory: string): Promise<RunningProcess> {
  return startProcess(
    binary,
    (port) => [
      '--collector.disable-defaults',
      '--collector.textfile',
      `--collector.textfile.directory=${directory}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.disable-exporter-metrics',
    ],
    async (url) => (await fetch(`${url}/metrics`)).ok,
  );
}

/**
 * A real Prometheus scraping `targets` every second, with its config and TSDB under `directory`;
 * with `ruleFiles`, it evaluates them every second too.
 */
export async function startPrometheus(
  binary: string,
  directory: string,
  targets: readonly string[],
  ruleFiles: readonly string[] = [],
): Promise<RunningProcess> {
  const config = join(directory, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      ...(ruleFiles.length === 0 ? [] : ['  evaluation_interval: 1s', 'rule_files:', ...ruleFiles.map((file) => `  - ${file}`)]),
      'scrape_configs:',
      '  - job_name: promdrop',
      '    static_configs:',
      `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  return startProcess(
    binary,
    (port) => [`--config.file=${config}`, `--storage.tsdb.path=${join(directory, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    async (url) => (await fetch(`${url}/-/ready`)).ok,
    30_000,
  );
}

/** Runs a program to completion with stdin (and extra environment variables), returning its
 *  exit code and output. */
export function runProgram(
  command: string,
  args: readonly string[],
  input?: string | Uint8Array,
  timeoutMs = 60_000,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Families node_exporter adds on its own (build info, collector and textfile meta metrics). */
const NODE_EXPORTER_META = /^(?:# (?:HELP|TYPE) )?(node_exporter_build_info|node_scrape_collector_\w+|node_textfile_\w+|promhttp_\w+)[ {]/;

/** node_exporter's output without the metrics it adds about itself, to compare with promdrop's. */
export function withoutMetaMetrics(text: string): string {
  return text
    .split('\n')
    .filter((line) => !NODE_EXPORTER_META.test(line))
    .join('\n');
}
