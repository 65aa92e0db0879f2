// `promdrop run` as a crontab line uses it: the command behaves as if run directly (stdio,
// signals, exit status), and its outcome is recorded in NAME.job.prom across runs.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExposition } from '../../src/core/check.js';
import { makeTempDir, promdrop, requireBuiltCli } from './writer-support.js';
import { promdropArgv } from '../helpers/promdrop-command.js';

let dir: string;
beforeAll(() => {
  requireBuiltCli();
  dir = makeTempDir('run');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const NODE = process.execPath;

/** The samples of job NAME's outcome file as `series → value`, after checking the file is valid. */
function outcome(name: string): Map<string, number> {
  const bytes = readFileSync(join(dir, `${name}.job.prom`));
  expect(checkExposition(bytes).accepted).toBe(true);
  const values = new Map<string, number>();
  for (const line of bytes.toString('utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space).replace(`{name="${name}"}`, '').replace(`name="${name}",`, ''), Number(line.slice(space + 1)));
  }
  return values;
}

describe('promdrop run', () => {
  it('passes stdin, stdout and stderr through, exits 0, and records a success', async () => {
    const before = Date.now() / 1000;
    const result = await promdrop(['run', '--name', 'ok', '--', NODE, '-e', "process.stdin.pipe(process.stdout); process.stderr.write('to stderr')"], {
      dir,
      input: 'to stdout',
    });
    expect(result).toMatchObject({ code: 0, stdout: 'to stdout', stderr: 'to stderr' });
    const values = outcome('ok');
    expect(values.get('batch_job_running')).toBe(0);
    expect(values.get('batch_job_last_exit_code')).toBe(0);
    expect(values.get('batch_job_runs_total{result="success"}')).toBe(1);
    expect(values.get('batch_job_runs_total{result="failure"}')).toBe(0);
    const start = values.get('batch_job_last_start_timestamp_seconds')!;
    const end = values.get('batch_job_last_end_timestamp_seconds')!;
    expect(start).toBeGreaterThanOrEqual(Math.floor(before));
    expect(end).toBeGreaterThanOrEqual(start);
    expect(values.get('batch_job_last_success_timestamp_seconds')).toBe(end);
    expect(values.get('batch_job_last_duration_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('shows batch_job_running 1 while the command runs', async () => {
    const result = await promdrop(['run', '--name', 'visible', '--', 'cat', join(dir, 'visible.job.prom')], { dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('batch_job_running{name="visible"} 1\n');
    expect(result.stdout).toMatch(/^batch_job_last_start_timestamp_seconds\{name="visible"\} \S+$/m);
    expect(outcome('visible').get('batch_job_running')).toBe(0);
  });

  it("exits with a failing command's status and records a failure without a success", async () => {
    const result = await promdrop(['run', '--name', 'fails', '--', 'sh', '-c', 'exit 3'], { dir });
    expect(result.code).toBe(3);
    const values = outcome('fails');
    expect(values.get('batch_job_last_exit_code')).toBe(3);
    expect(values.get('batch_job_runs_total{result="failure"}')).toBe(1);
    expect(values.get('batch_job_runs_total{result="success"}')).toBe(0);
    expect(values.has('batch_job_last_success_timestamp_seconds')).toBe(false);
  });

  it('keeps the last success when a later run fails', async () => {
    expect((await promdrop(['run', '--name', 'flaky', '--', 'true'], { dir })).code).toBe(0);
    const success = outcome('flaky').get('batch_job_last_success_timestamp_seconds');
    expect(success).toBeGreaterThan(0);
    expect((await promdrop(['run', '--name', 'flaky', '--', 'false'], { dir })).code).toBe(1);
    const values = outcome('flaky');
    expect(values.get('batch_job_last_success_timestamp_seconds')).toBe(success);
    expect(values.get('batch_job_last_exit_code')).toBe(1);
    expect(values.get('batch_job_last_end_timestamp_seconds')).toBeGreaterThanOrEqual(success!);
    expect(values.get('batch_job_runs_total{result="success"}')).toBe(1);
    expect(values.get('batch_job_runs_total{result="failure"}')).toBe(1);
  });

  it('reports a missing command like a shell: exit 127, recorded as not_found', async () => {
    const result = await promdrop(['run', '--name', 'missing', '--', 'promdrop-no-such-command-xyz'], { dir });
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('promdrop-no-such-command-xyz: command not found');
    const values = outcome('missing');
    expect(values.get('batch_job_last_exit_code')).toBe(127);
    expect(values.get('batch_job_runs_total{result="not_found"}')).toBe(1);
    expect(values.get('batch_job_runs_total{result="failure"}')).toBe(0);
  });

  it('reports a command killed by signal N as 128+N, recorded as killed', async () => {
    const result = await promdrop(['run', '--name', 'killed', '--', 'sh', '-c', 'kill -KILL $$'], { dir });
    expect(result.code).toBe(137);
    expect(outcome('killed').get('batch_job_last_exit_code')).toBe(137);
    expect(outcome('killed').get('batch_job_runs_total{result="killed"}')).toBe(1);
    expect(outcome('killed').get('batch_job_last_result{result="killed"}')).toBe(1);
  });

  it('forwards SIGTERM to the command and records how it ended', async () => {
    const script =
      "process.on('SIGTERM', () => { process.stdout.write('got TERM'); process.exit(42); }); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);";
    const child = spawn(
      promdropArgv(requireBuiltCli())[0],
      [...promdropArgv(requireBuiltCli()).slice(1), 'run', '--name', 'termed', '--', NODE, '-e', script],
      {
        env: { ...process.env, PROMDROP_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
    expect(stdout).toContain('got TERM');
    expect(code).toBe(42);
    expect(outcome('termed').get('batch_job_last_exit_code')).toBe(42);
    expect(outcome('termed').get('batch_job_running')).toBe(0);
  });

  it('--timeout stops the command with SIGTERM, exits 124 as coreutils timeout does, and records a timeout', async () => {
    const result = await promdrop(['run', '--name', 'slow', '--timeout', '300ms', '--', 'sleep', '30'], { dir });
    expect(result.code).toBe(124);
    expect(result.stderr).toContain('--timeout');
    expect(result.stderr).toContain('result="timeout"');
    const values = outcome('slow');
    expect(values.get('batch_job_last_exit_code')).toBe(124);
    expect(values.get('batch_job_runs_total{result="timeout"}')).toBe(1);
    expect(values.get('batch_job_runs_total{result="failure"}')).toBe(0);
    expect(values.get('batch_job_last_result{result="timeout"}')).toBe(1);
    expect(values.has('batch_job_last_success_timestamp_seconds')).toBe(false);
  });

  it('--timeout follows with SIGKILL when the command ignores SIGTERM, and still exits 124', async () => {
    const result = await promdrop(
      // sh ignores TERM within milliseconds of its start (node would need longer than the timeout
      // on a loaded machine), and sleep inherits the ignored signal.
      ['run', '--name', 'stubborn', '--timeout', '1s', '--kill-after', '300ms', '--', 'sh', '-c', 'trap "" TERM; exec sleep 30'],
      { dir },
    );
    expect(result.code).toBe(124);
    expect(result.stderr).toContain('SIGKILL');
    expect(outcome('stubborn').get('batch_job_runs_total{result="timeout"}')).toBe(1);
    expect(outcome('stubborn').get('batch_job_runs_total{result="killed"}')).toBe(0);
  });

  it('a timeout that fires before the command installed its handler is still a timeout (124)', async () => {
    // 1 ms: SIGTERM reaches node before `process.on('SIGTERM')` ran, so node dies of the signal.
    const result = await promdrop(
      ['run', '--name', 'early', '--timeout', '1ms', '--', NODE, '-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"],
      { dir },
    );
    expect(result.code).toBe(124);
    expect(outcome('early').get('batch_job_runs_total{result="timeout"}')).toBe(1);
  });

  it('a command that exits 0 after the timeout stopped it is a timeout (status 124)', async () => {
    const result = await promdrop(
      ['run', '--name', 'graceful', '--timeout', '300ms', '--', NODE, '-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"],
      { dir },
    );
    expect(result.code).toBe(124);
    expect(outcome('graceful').get('batch_job_runs_total{result="timeout"}')).toBe(1);
    expect(outcome('graceful').get('batch_job_runs_total{result="success"}')).toBe(0);
  });

  it('--ttl writes the directive; `write NAME` does not touch the outcome file', async () => {
    expect((await promdrop(['run', '--name', 'nightly', '--ttl', '26h', '--', 'true'], { dir })).code).toBe(0);
    expect((await promdrop(['write', 'nightly'], { dir, input: 'other_metric 1\n' })).code).toBe(0);
    const text = readFileSync(join(dir, 'nightly.job.prom'), 'utf8');
    expect(text.startsWith('# promdrop: ttl=1d2h\n')).toBe(true);
    expect(outcome('nightly').get('batch_job_runs_total{result="success"}')).toBe(1);
    expect(readFileSync(join(dir, 'nightly.prom'), 'utf8')).toBe('other_metric 1\n');
  });

  it('counts every one of several concurrent runs of the same job', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, () => promdrop(['run', '--name', 'parallel', '--', 'true'], { dir })));
    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(outcome('parallel').get('batch_job_runs_total{result="success"}')).toBe(6);
  });

  it('still runs the command and returns its status when the outcome cannot be recorded', async () => {
    const result = await promdrop(['run', '--name', 'nowhere', '--', 'sh', '-c', 'echo ran; exit 5'], { dir: join(dir, 'missing') });
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('ran\n');
    expect(result.stderr).toContain('cannot record');
  });

  it('starts counting again from an outcome file someone broke, and says so', async () => {
    writeFileSync(join(dir, 'broken.job.prom'), 'not valid\n');
    const result = await promdrop(['run', '--name', 'broken', '--', 'true'], { dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('not a valid textfile');
    expect(outcome('broken').get('batch_job_runs_total{result="success"}')).toBe(1);
  });

  it('refuses a bad job name or a missing command with exit 2, running nothing', async () => {
    expect((await promdrop(['run', '--name', 'a/b', '--', 'true'], { dir })).code).toBe(2);
    expect((await promdrop(['run', '--name', 'x'], { dir })).code).toBe(2);
    expect((await promdrop(['run', '--', 'true'], { dir })).code).toBe(2);
  });
});
