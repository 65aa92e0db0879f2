// Running a program to completion while measuring its wall time and peak RSS. Node's
// child_process does not expose the child's rusage, so the peak comes from GNU time's %M
// (wait4's ru_maxrss, exact) when /usr/bin/time exists, else from sampling /proc/<pid>/status
// VmHWM until the process exits (can miss growth in the last few milliseconds; flagged).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { findProgram } from '../../helpers/peers.js';
import { readProcessMemory } from './proc.js';

export type PeakRssMethod = 'rusage' | 'sampled';

export interface MeasuredRun {
  readonly wallMs: number;
  readonly peakRssBytes: number | undefined;
  readonly peakRssMethod: PeakRssMethod;
  /** User + system CPU time of the program (all its threads); only known with GNU time. */
  readonly cpuMs: number | undefined;
  /** The program's exit code; null when it was killed by a signal. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface MeasureOptions {
  /** A file connected to the program's stdin (opened read-only); /dev/null when absent. */
  readonly stdinFile?: string;
  /** Where GNU time may write its report. */
  readonly scratchDir: string;
  readonly timeoutMs: number;
}

/** Output beyond this is dropped: a benchmark only needs the start of an error message. */
const OUTPUT_LIMIT = 64 * 1024;

const GNU_TIME = '/usr/bin/time';

export function peakRssMethod(): PeakRssMethod {
  return findProgram(GNU_TIME) === undefined ? 'sampled' : 'rusage';
}

export async function runMeasured(command: string, args: readonly string[], options: MeasureOptions): Promise<MeasuredRun> {
  const method = peakRssMethod();
  const timeReport = join(options.scratchDir, `time-${randomUUID()}.txt`);
  const [program, programArgs] = method === 'rusage' ? [GNU_TIME, ['--format=%M %U %S', `--output=${timeReport}`, command, ...args]] : [command, [...args]];
  const stdinFd = openSync(options.stdinFile ?? '/dev/null', 'r');
  try {
    const started = process.hrtime.bigint();
    // A process group of its own, so that a timeout kills the program and not only GNU time.
    const child = spawn(program, programArgs, { stdio: [stdinFd, 'pipe', 'pipe'], detached: true });
    const { stdout: stdoutPipe, stderr: stderrPipe } = child;
    if (stdoutPipe === null || stderrPipe === null) throw new Error('spawn gave no output pipes');
    let stdout = '';
    let stderr = '';
    stdoutPipe.on('data', (chunk: Buffer) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += chunk.toString('utf8');
    });
    stderrPipe.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += chunk.toString('utf8');
    });
    let sampledPeak = 0;
    const sampler =
      method === 'sampled'
        ? setInterval(() => {
            const memory = child.pid === undefined ? undefined : readProcessMemory(child.pid);
            if (memory !== undefined) sampledPeak = Math.max(sampledPeak, memory.peakRssBytes);
          }, 2)
        : undefined;
    const killTimer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, options.timeoutMs);
    const { code, signal, endedAt } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; endedAt: bigint }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal, endedAt: process.hrtime.bigint() }));
    });
    clearTimeout(killTimer);
    if (sampler !== undefined) clearInterval(sampler);
    // Let the pipes drain: 'exit' can come before the last output chunk.
    await new Promise<void>((resolve) => (stdoutPipe.readableEnded ? resolve() : stdoutPipe.once('close', () => resolve())));
    const wallMs = Number(endedAt - started) / 1e6;
    if (signal === 'SIGKILL' && wallMs >= options.timeoutMs) {
      throw new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs} ms`);
    }
    let peakRssBytes: number | undefined = sampledPeak > 0 ? sampledPeak : undefined;
    let exitCode = code;
    let cpuMs: number | undefined;
    if (method === 'rusage') {
      const report = readFileSync(timeReport, 'utf8').trim().split('\n');
      rmSync(timeReport, { force: true });
      // GNU time prints "Command exited with non-zero status N" or "Command terminated by
      // signal N" before the format line; its own exit code mirrors the program's.
      const [kilobytes, userSeconds, systemSeconds] = (report.at(-1) ?? '').split(' ').map(Number);
      peakRssBytes = kilobytes !== undefined && Number.isFinite(kilobytes) && kilobytes > 0 ? kilobytes * 1024 : undefined;
      const cpuSeconds = (userSeconds ?? Number.NaN) + (systemSeconds ?? Number.NaN);
      cpuMs = Number.isFinite(cpuSeconds) ? cpuSeconds * 1e3 : undefined;
      if (report.some((line) => line.startsWith('Command terminated by signal'))) exitCode = null;
    }
    return { wallMs, peakRssBytes, peakRssMethod: method, cpuMs, exitCode, stdout, stderr };
  } finally {
    closeSync(stdinFd);
  }
}
