// Wall times of short commands with hyperfine, read from its JSON export. hyperfine corrects
// for the shell's own start-up, runs warm-ups, and reports medians over many runs, which is
// what a "≤ 1.5× node -e 0" comparison needs.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface HyperfineCommand {
  /** The name shown in the report. */
  readonly name: string;
  /** A shell command line (or, with shell 'none', a command split on spaces by hyperfine). */
  readonly command: string;
}

export interface HyperfineOptions {
  readonly runs: number;
  readonly warmup: number;
  /** 'none' skips the shell (hyperfine -N): only for commands without redirections. */
  readonly shell: 'sh' | 'none';
  readonly scratchDir: string;
  readonly timeoutMs?: number;
}

export interface HyperfineResult {
  readonly name: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly meanMs: number;
  readonly stddevMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Mean user + system CPU time of a run: less disturbed than wall time by other work. */
  readonly cpuMs: number;
}

interface ExportedResult {
  command: string;
  mean: number;
  stddev: number | null;
  median: number;
  min: number;
  max: number;
  times: number[];
  user: number;
  system: number;
}

export async function runHyperfine(commands: readonly HyperfineCommand[], options: HyperfineOptions): Promise<HyperfineResult[]> {
  const exportPath = join(options.scratchDir, `hyperfine-${randomUUID()}.json`);
  const args = [
    '--style=none',
    `--runs=${options.runs}`,
    `--warmup=${options.warmup}`,
    `--export-json=${exportPath}`,
    ...(options.shell === 'none' ? ['--shell=none'] : ['--shell=sh']),
    ...commands.flatMap(({ name, command }) => ['--command-name', name, command]),
  ];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('hyperfine', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output: text });
    });
  });
  if (code !== 0) throw new Error(`hyperfine exited with ${String(code)}:\n${output}`);
  const exported = JSON.parse(readFileSync(exportPath, 'utf8')) as { results: ExportedResult[] };
  rmSync(exportPath, { force: true });
  return exported.results.map((result) => ({
    name: result.command,
    runs: result.times.length,
    medianMs: result.median * 1e3,
    meanMs: result.mean * 1e3,
    stddevMs: (result.stddev ?? 0) * 1e3,
    minMs: result.min * 1e3,
    maxMs: result.max * 1e3,
    cpuMs: (result.user + result.system) * 1e3,
  }));
}
