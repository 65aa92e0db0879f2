// `promdrop jobs [NAME]`: the jobs `promdrop run` records in the directory, each with its verdict
// at this moment (overdue, running, failed, ok), and one job's last runs with their output. The
// same reader and verdict as the agent's /api/v1/jobs and landing page (src/job/job-reports.ts).
import type { Command } from 'commander';
import { formatDuration } from '../../core/duration.js';
import { DEFAULT_TEXTFILE_DIRECTORY, textfileDirectoryFromEnv } from '../../defaults.js';
import type { JobDetail, JobReport } from '../../job/job-reports.js';
import { CliError } from '../errors.js';
import { EXIT_INVALID, EXIT_OK } from '../exit-codes.js';

interface JobsOptions {
  readonly dir?: string[];
  readonly json: boolean;
}

const EXAMPLES = `
Columns: STATE (overdue: its next run did not start by the deadline; running; failed: the last
run did not succeed; ok; never_run), LAST (result of the last run, with its exit status),
SUCCESS (when the last success ended), DURATION (of the last run), DEADLINE (by when the next
run must start; only for jobs run with --schedule, --every or --on-calendar), RUNS (the last
runs kept in NAME.job.json, newest first: . success, F failure, T timeout, K killed, N not found)
and JOB.

Exit status: 0 when no job is overdue or failed, 1 otherwise (or when NAME is not found).

Examples:
  $ promdrop jobs
  $ promdrop jobs backup            # its last runs, and their output with --keep-output
  $ promdrop jobs --json | jq -r '.jobs[] | select(.overdue) | .name'`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerJobs(program: Command): void {
  program
    .command('jobs')
    .description('list the jobs recorded by `promdrop run`: last result, last success, next deadline, overdue or not')
    .argument('[NAME]', 'show this job: its last runs and their output')
    .option('-d, --dir <DIR>', `textfile directory, repeatable (default: $PROMDROP_DIR, else ${DEFAULT_TEXTFILE_DIRECTORY})`, collect)
    .option('--json', "print the same data as the agent's /api/v1/jobs", false)
    .addHelpText('after', EXAMPLES)
    .action(async (name: string | undefined, options: JobsOptions) => {
      const { findJob, readJobReports } = await import('../../job/job-reports.js');
      const directories = options.dir ?? [textfileDirectoryFromEnv()];
      const now = Date.now();
      if (name !== undefined) {
        const job = await findJob(directories, name, now);
        if (job === undefined) {
          throw new CliError(`no job ${JSON.stringify(name)} in ${directories.join(', ')} (no ${name}.job.prom or ${name}.job.json)`, EXIT_INVALID);
        }
        process.stdout.write(options.json ? `${JSON.stringify({ job }, null, 2)}\n` : formatJob(job, now));
        process.exitCode = isHealthy(job) ? EXIT_OK : EXIT_INVALID;
        return;
      }
      const jobs = await readJobReports(directories, now);
      process.stdout.write(options.json ? `${JSON.stringify({ jobs }, null, 2)}\n` : formatJobs(jobs, directories, now));
      process.exitCode = jobs.every(isHealthy) ? EXIT_OK : EXIT_INVALID;
    });
}

function isHealthy(job: JobReport): boolean {
  return job.state !== 'overdue' && job.state !== 'failed' && job.error === undefined;
}

const RESULT_MARK: Readonly<Record<string, string>> = { success: '.', failure: 'F', timeout: 'T', killed: 'K', not_found: 'N' };

/** "5m ago" / "in 2h" from unix seconds, to the second. */
function relative(seconds: number, nowMs: number): string {
  const deltaMs = Math.round(seconds - nowMs / 1000) * 1000;
  return deltaMs >= 0 ? `in ${formatDuration(deltaMs)}` : `${formatDuration(-deltaMs)} ago`;
}

function durationCell(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  return seconds < 10 ? `${seconds.toFixed(3)}s` : formatDuration(Math.round(seconds) * 1000);
}

function lastCell(job: JobReport): string {
  if (job.lastResult === undefined) return job.lastExitCode === undefined ? '-' : `exit ${job.lastExitCode}`;
  return job.lastResult === 'success' ? 'success' : `${job.lastResult} (${job.lastExitCode ?? '?'})`;
}

export function formatJobs(jobs: readonly JobReport[], directories: readonly string[], nowMs: number): string {
  if (jobs.length === 0) return `no jobs in ${directories.join(', ')} (promdrop run --name NAME writes NAME.job.prom)\n`;
  const header = ['STATE', 'LAST', 'SUCCESS', 'DURATION', 'DEADLINE', 'RUNS', 'JOB'];
  const rows = jobs.map((job) => [
    job.state,
    lastCell(job),
    job.lastSuccess === undefined ? 'never' : relative(job.lastSuccess, nowMs),
    durationCell(job.lastDurationSeconds),
    job.nextRunDeadline === undefined ? '-' : relative(job.nextRunDeadline, nowMs),
    job.recent.map((run) => RESULT_MARK[run.result] ?? '?').join('') || '-',
    directories.length > 1 ? `${job.directory}/${job.name}` : job.name,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  const out = [line(header)];
  jobs.forEach((job, index) => {
    out.push(line(rows[index]!));
    if (job.error !== undefined) out.push(`    error: ${job.error}`);
  });
  return `${out.join('\n')}\n`;
}

function isoSeconds(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatJob(job: JobDetail, nowMs: number): string {
  const out: string[] = [];
  const field = (label: string, value: string): void => {
    out.push(`${`${label}:`.padEnd(15)}${value}`);
  };
  field('job', job.name);
  field('file', job.file);
  field('state', job.state);
  if (job.error !== undefined) field('error', job.error);
  field(
    'last run',
    job.lastStart === undefined
      ? 'never'
      : `${lastCell(job)}, started ${isoSeconds(job.lastStart)} (${relative(job.lastStart, nowMs)}), took ${durationCell(job.lastDurationSeconds)}`,
  );
  field('last success', job.lastSuccess === undefined ? 'never' : `${isoSeconds(job.lastSuccess)} (${relative(job.lastSuccess, nowMs)})`);
  if (job.schedule !== undefined) {
    field('schedule', `${job.schedule}${job.timezone === undefined ? '' : ` (${job.timezone})`}, every ${durationCell(job.expectedIntervalSeconds)}`);
  }
  if (job.nextRunDeadline !== undefined) {
    field('next deadline', `${isoSeconds(job.nextRunDeadline)} (${relative(job.nextRunDeadline, nowMs)})${job.overdue ? ': OVERDUE' : ''}`);
  }
  field(
    'runs',
    Object.entries(job.runs)
      .map(([result, count]) => `${result} ${count}`)
      .join(', '),
  );
  if (job.history.length === 0) {
    out.push('', 'no run history (NAME.job.json) yet');
    return `${out.join('\n')}\n`;
  }
  out.push('', `last ${job.history.length} runs, newest first:`);
  for (const run of job.history) {
    const signal = run.signal === undefined ? '' : `, ${run.signal}`;
    out.push(`  ${isoSeconds(run.start)}  ${run.result.padEnd(9)} exit ${String(run.exitCode).padEnd(3)}${signal}  ${durationCell(run.durationSeconds)}`);
    if (run.output !== undefined && run.output !== '') {
      for (const outputLine of run.output.replace(/\n$/, '').split('\n')) out.push(`    | ${printable(outputLine)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** A job's output as text a terminal shows as is: no escape sequences from the job's output. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
