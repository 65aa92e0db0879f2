// Load generation with wrk, reading its results through a Lua done() hook that prints JSON,
// rather than scraping wrk's human-readable summary (whose units change with magnitude).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  /** wrk threads; at most `connections`. Default: min(connections, CPU count). */
  readonly threads?: number;
  readonly durationSeconds: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Where the Lua reporting script is written. */
  readonly scratchDir: string;
}

export interface WrkResult {
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly bytesRead: number;
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** Socket errors and responses with status > 399; a measurement with any is suspect. */
  readonly errors: { readonly connect: number; readonly read: number; readonly write: number; readonly status: number; readonly timeout: number };
}

const MARKER = 'PROMDROP_WRK_JSON ';

// Durations in the hook are microseconds; %.0f/%.3f keep LuaJIT from choking on floats.
const REPORT_SCRIPT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARKER}{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,' ..
    '"mean":%.3f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

type Raw = Record<string, number>;

/** Extracts the hook's JSON from wrk's stdout; throws when it is absent or malformed. */
export function parseWrkReport(stdout: string): WrkResult {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(MARKER));
  if (line === undefined) throw new Error(`wrk printed no report:\n${stdout}`);
  const raw = JSON.parse(line.slice(MARKER.length)) as Raw;
  const field = (name: string): number => {
    const value = raw[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`wrk report lacks ${name}: ${line}`);
    return value;
  };
  const durationSeconds = field('duration_us') / 1e6;
  return {
    requests: field('requests'),
    durationSeconds,
    requestsPerSecond: field('requests') / durationSeconds,
    bytesRead: field('bytes'),
    latencyMs: {
      mean: field('mean') / 1e3,
      p50: field('p50') / 1e3,
      p90: field('p90') / 1e3,
      p99: field('p99') / 1e3,
      max: field('max') / 1e3,
    },
    errors: { connect: field('connect'), read: field('read'), write: field('write'), status: field('status'), timeout: field('timeout') },
  };
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const script = join(options.scratchDir, 'wrk-report.lua');
  writeFileSync(script, REPORT_SCRIPT);
  const threads = Math.min(options.threads ?? cpus().length, options.connections);
  const args = [
    `--connections=${options.connections}`,
    `--threads=${threads}`,
    `--duration=${options.durationSeconds}s`,
    '--timeout=30s',
    `--script=${script}`,
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
    options.url,
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.durationSeconds + 60) * 1000);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout: out, stderr: err });
    });
  });
  if (code !== 0) throw new Error(`wrk exited with ${String(code)}:\n${stderr}${stdout}`);
  return parseWrkReport(stdout);
}
