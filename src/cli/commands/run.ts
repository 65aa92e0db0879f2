// `promdrop run --name NAME -- COMMAND [ARGS...]`: wraps a cron job or timer so that its outcome
// is always recorded (see src/job/), without changing how the job runs or what it exits with.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { DEFAULT_KILL_AFTER_MS, textfileDirectoryFromEnv } from '../../defaults.js';
import { CliError } from '../errors.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { DEFAULT_HISTORY_LENGTH } from '../../job/job-history.js';
import type { Schedule } from '../../job/schedule.js';
import { addWriterOptions, parsePositiveDuration, textfileNameProblem, writeStderrLine, type WriterOptions } from '../writer-options.js';

interface RunOptions extends WriterOptions {
  readonly name: string;
  readonly ttl?: number;
  readonly timeout?: number;
  readonly killAfter: number;
  readonly schedule?: string;
  readonly every?: number;
  readonly onCalendar?: string;
  readonly timezone?: string;
  readonly grace?: number;
  readonly history: number;
  readonly keepOutput?: number;
}

const EXAMPLES = `
Examples:
  # crontab: record every run of the nightly backup in /var/lib/promdrop/backup.job.prom
  15 2 * * * root promdrop run --name backup -- /usr/local/bin/backup --all

  # the same, with its schedule: the file then says by when the next run must have started
  15 2 * * * root promdrop run --name backup --schedule '15 2 * * *' -- /usr/local/bin/backup

  # a systemd timer's job (OnCalendar=Mon..Fri 09:00), keeping the last 4 KiB of its output
  promdrop run --name report --on-calendar 'Mon..Fri 09:00' --keep-output 4KiB -- /usr/local/bin/report

  # stop it after 2 hours (SIGTERM, then SIGKILL 10s later): exits 124, result="timeout"
  promdrop run --name backup --timeout 2h -- /usr/local/bin/backup

  # a shell pipeline
  promdrop run --name rotate -- sh -c 'find /srv/logs -mtime +7 -delete'

Metrics, each with the label name="NAME" (never job or instance, which belong to Prometheus):
  batch_job_running                           1 while the command runs, else 0
  batch_job_last_start_timestamp_seconds      start of the last run
  batch_job_last_end_timestamp_seconds        end of the last completed run
  batch_job_last_duration_seconds             duration of the last completed run
  batch_job_last_exit_code                    its exit status
  batch_job_last_success_timestamp_seconds    end of the last successful run (kept on failure)
  batch_job_last_result{result}               1 for how the last run ended, 0 for the others
  batch_job_runs_total{result}                result: success, failure, timeout, killed, not_found
With --schedule, --every or --on-calendar, also:
  batch_job_next_run_deadline_timestamp_seconds   next scheduled time after this start + grace
  batch_job_expected_interval_seconds             time between two scheduled runs
  batch_job_schedule_info{kind,schedule,timezone} 1
The default grace is a tenth of the interval, at least 1m and at most 1h. The last runs (start,
end, duration, exit status, result, signal, and with --keep-output the output's tail) are kept
in NAME.job.json: see them with \`promdrop jobs NAME\`. The output may hold secrets: the agent
serves it (/api/v1/jobs) behind the same authentication as /metrics.

The command gets promdrop's stdin, stdout and stderr, and the signals INT, TERM, HUP, QUIT,
USR1 and USR2 sent to promdrop. promdrop exits with the command's status: 128+N when it was
killed by signal N, 127 when it was not found, 126 when it could not be executed, and 124 when
--timeout stopped it (as coreutils timeout, whatever the command then exited with). If the outcome cannot be recorded, the command runs
anyway and promdrop says why on stderr. Put "--" before the command.`;

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('run a command and record its outcome as batch_job_* metrics in NAME.job.prom')
    .argument('<COMMAND>', 'the command to run (after "--")')
    .argument('[ARGS...]', 'its arguments')
    .requiredOption('--name <NAME>', 'name of the job: the "name" label and the file NAME.job.prom')
    .option('--ttl <DURATION>', 'add a "# promdrop: ttl=DURATION" line to the outcome file', parsePositiveDuration)
    .option('--timeout <DURATION>', 'stop the command after this long (SIGTERM, then SIGKILL)', parsePositiveDuration)
    .addOption(
      new Option('--kill-after <DURATION>', 'with --timeout: wait this long after SIGTERM before SIGKILL')
        .argParser(parsePositiveDuration)
        .default(DEFAULT_KILL_AFTER_MS, `${DEFAULT_KILL_AFTER_MS / 1000}s`),
    )
    .option('--schedule <CRON>', "the job's cron schedule (5 fields, or @daily, @hourly, ...): writes its next run's deadline")
    .option('--timezone <TZ>', 'with --schedule: the time zone of the cron expression (default: the local time zone)')
    .option('--every <DURATION>', "the job runs every DURATION (a loop, OnUnitActiveSec=): writes its next run's deadline", parsePositiveDuration)
    .option('--on-calendar <EXPR>', "the systemd timer's OnCalendar= expression, evaluated by systemd-analyze: writes its next run's deadline")
    .option('--grace <DURATION>', 'how late the next run may start (default: a tenth of the interval, within 1m..1h)', parseDurationOrZero)
    .option('--history <N>', 'runs kept in NAME.job.json, 0 for none', parseCount, DEFAULT_HISTORY_LENGTH)
    .option('--keep-output <SIZE>', "keep the tail of the command's stdout and stderr in the history (e.g. 4KiB); may hold secrets", parseSize);
  addWriterOptions(command, true)
    .showHelpAfterError('(put "--" before the command: promdrop run --name NAME -- COMMAND [ARGS...])')
    .addHelpText('after', EXAMPLES)
    .action(async (commandName: string, args: string[], options: RunOptions) => {
      const problem = textfileNameProblem(options.name, true);
      if (problem !== undefined || options.name.endsWith('.prom')) {
        throw new CliError(problem ?? `invalid job name ${JSON.stringify(options.name)}: leave out ".prom"`, EXIT_USAGE);
      }
      const schedule = await scheduleFrom(options);
      // A missing directory must not stop the job itself: runJob reports that it cannot record.
      const directory = options.dir ?? textfileDirectoryFromEnv();
      // Loaded here: child_process and the job code cost every other command start-up time.
      const { runJob } = await import('../../job/run-job.js');
      const run = await runJob({
        name: options.name,
        directory,
        command: commandName,
        args,
        killAfterMs: options.killAfter,
        lockTimeoutMs: options.lockTimeout,
        ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }),
        ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        ...(schedule === undefined ? {} : { schedule }),
        ...(options.grace === undefined ? {} : { graceMs: options.grace }),
        historyLength: options.history,
        ...(options.keepOutput === undefined ? {} : { keepOutputBytes: options.keepOutput }),
        warn: (message) => writeStderrLine(`promdrop: ${message}`),
      });
      process.exitCode = run.outcome.status;
    });
}

/** The schedule the flags give, checked before the job runs (a typo must not wait for the run). */
async function scheduleFrom(options: RunOptions): Promise<Schedule | undefined> {
  const given = [options.schedule, options.every, options.onCalendar].filter((value) => value !== undefined);
  if (given.length > 1) throw new CliError('give one of --schedule, --every and --on-calendar', EXIT_USAGE);
  if (options.timezone !== undefined && options.schedule === undefined) {
    throw new CliError('--timezone goes with --schedule (an OnCalendar= expression carries its own time zone)', EXIT_USAGE);
  }
  if (options.grace !== undefined && given.length === 0) throw new CliError('--grace needs --schedule, --every or --on-calendar', EXIT_USAGE);
  if (options.schedule !== undefined) {
    // Loaded here: croner costs every other command start-up time.
    const { cronFor, ScheduleError } = await import('../../job/schedule.js');
    try {
      cronFor(options.schedule, options.timezone);
    } catch (error) {
      if (error instanceof ScheduleError) throw new CliError(`--schedule: ${error.message}`, EXIT_USAGE);
      throw error;
    }
    return { kind: 'cron', expression: options.schedule, timezone: options.timezone };
  }
  if (options.every !== undefined) return { kind: 'every', intervalMs: options.every };
  if (options.onCalendar !== undefined) {
    const schedule: Schedule = { kind: 'calendar', expression: options.onCalendar };
    const { nextScheduledTimes, ScheduleError } = await import('../../job/schedule.js');
    try {
      await nextScheduledTimes(schedule, Date.now(), 2);
    } catch (error) {
      // Without systemd the job still runs; runJob says why it has no deadline.
      if (error instanceof ScheduleError && error.kind === 'invalid') throw new CliError(`--on-calendar: ${error.message}`, EXIT_USAGE);
      if (!(error instanceof ScheduleError)) throw error;
    }
    return schedule;
  }
  return undefined;
}

function parseDurationOrZero(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidArgumentError('expected a Prometheus duration, such as 0, 90s, 15m or 1h');
  return ms;
}

function parseCount(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 10_000) throw new InvalidArgumentError('expected a whole number from 0 to 10000');
  return Number(text);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KiB: 1024, KB: 1000, MiB: 1024 * 1024, MB: 1000 * 1000 };
// 20 runs of 64 KiB: a history file the page and the API can read at every refresh.
const MAX_KEPT_OUTPUT = 64 * 1024;

function parseSize(text: string): number {
  const match = /^(\d+)(B|KiB|KB|MiB|MB)?$/.exec(text);
  const bytes = match === null ? undefined : Number(match[1]) * SIZE_UNITS[match[2] ?? '']!;
  if (bytes === undefined || bytes <= 0 || bytes > MAX_KEPT_OUTPUT) {
    throw new InvalidArgumentError('expected a size from 1 byte to 64KiB, such as 4096, 4KiB or 64KiB');
  }
  return bytes;
}
