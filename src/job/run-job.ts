// `promdrop run`: record the start, run the command, record the end and the run's line in the
// history. Recording never changes what the job does: if the outcome file cannot be written, the
// command still runs and its status is still returned, and the problem is reported on stderr
// (cron mails it).
import { formatDuration } from '../core/duration.js';
import { editTextfile, type TextfileContent } from '../fs/textfile-edit.js';
import { appendRun, jobHistoryPath, type RunRecord } from './job-history.js';
import { jobFilePath } from './job-file.js';
import { jobFamilies, jobStateFromFamilies, withRunEnded, withRunStarted, type JobState, type RunResult, type ScheduleRecord } from './job-metrics.js';
import { deadlineAfter, describeSchedule, type Schedule } from './schedule.js';
import { EXIT_NOT_FOUND, runCommand, type CommandOutcome } from './spawn-command.js';

export interface RunJobOptions {
  readonly name: string;
  readonly directory: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Written as the outcome file's `# promdrop: ttl=` directive; the file's own is kept otherwise. */
  readonly ttlMs?: number;
  readonly timeoutMs?: number;
  readonly killAfterMs?: number;
  readonly lockTimeoutMs?: number;
  readonly mode?: number;
  /** When the job is scheduled: its next run's deadline is written at the start. */
  readonly schedule?: Schedule;
  /** Added to the next scheduled time; undefined: the default (see schedule.ts). */
  readonly graceMs?: number;
  /** Runs kept in NAME.job.json (0: none, and no history file is written). */
  readonly historyLength: number;
  /** Keep this many bytes of the output's tail in the history; undefined: none. */
  readonly keepOutputBytes?: number;
  /** One line for the user (stderr), for problems that do not stop the job. */
  readonly warn: (message: string) => void;
}

export interface JobRun {
  readonly outcome: CommandOutcome;
  readonly result: RunResult;
  readonly succeeded: boolean;
  /** The outcome file. */
  readonly path: string;
}

interface EndedRun {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly durationSeconds: number;
  readonly result: RunResult;
  readonly outcome: CommandOutcome;
}

/** How a command's outcome counts (see RUN_RESULTS). */
export function resultOf(outcome: CommandOutcome): RunResult {
  if (outcome.timedOut) return 'timeout';
  if (outcome.startError !== undefined) return outcome.status === EXIT_NOT_FOUND ? 'not_found' : 'failure';
  if (outcome.signal !== undefined) return 'killed';
  return outcome.status === 0 ? 'success' : 'failure';
}

/** Runs the job and records it; resolves with the command's outcome (never rejects for it). */
export async function runJob(options: RunJobOptions): Promise<JobRun> {
  const path = jobFilePath(options.directory, options.name);
  const startMs = Date.now();
  const startSeconds = toMilliseconds(startMs / 1000);
  const startedAt = performance.now();

  const schedule = await scheduleRecord(options, startMs);
  await record(options, path, 'start', (state) => withRunStarted(state, startSeconds, schedule));

  const outcome = await runCommand(options.command, options.args, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.killAfterMs === undefined ? {} : { killAfterMs: options.killAfterMs }),
    ...(options.keepOutputBytes === undefined ? {} : { keepOutputBytes: options.keepOutputBytes }),
  });
  const durationSeconds = toMilliseconds((performance.now() - startedAt) / 1000);
  const result = resultOf(outcome);
  if (outcome.startError !== undefined) {
    options.warn(outcome.status === EXIT_NOT_FOUND ? `${options.command}: command not found` : `${options.command}: cannot run: ${outcome.startError.message}`);
  } else if (outcome.timedOut) {
    options.warn(
      `${options.command}: stopped after the --timeout of ${formatDuration(options.timeoutMs ?? 0)}` +
        `${outcome.signal === undefined ? '' : ` (ended by ${outcome.signal})`}; exiting 124, recorded as result="timeout"`,
    );
  }

  const endSeconds = toMilliseconds(startSeconds + durationSeconds);
  // Two files, each with its own lock: written side by side, their fsyncs overlap.
  await Promise.all([
    record(options, path, 'end', (state) => withRunEnded(state, { startSeconds, endSeconds, durationSeconds, exitCode: outcome.status, result })),
    recordHistory(options, { startSeconds, endSeconds, durationSeconds, result, outcome }),
  ]);
  return { outcome, result, succeeded: result === 'success', path };
}

/** Appends the run to NAME.job.json (`promdrop jobs`); a failure is reported, never thrown. */
async function recordHistory(options: RunJobOptions, ended: EndedRun): Promise<void> {
  if (options.historyLength <= 0) return;
  const { startSeconds, endSeconds, durationSeconds, result, outcome } = ended;
  const run: RunRecord = {
    start: startSeconds,
    end: endSeconds,
    durationSeconds,
    exitCode: outcome.status,
    result,
    ...(outcome.signal === undefined ? {} : { signal: outcome.signal }),
    ...(outcome.outputTail === undefined ? {} : { output: outcome.outputTail.toString('utf8') }),
  };
  const historyPath = jobHistoryPath(options.directory, options.name);
  try {
    await appendRun(historyPath, options.name, run, {
      keep: options.historyLength,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
      replaceInvalid: options.warn,
    });
  } catch (error) {
    options.warn(`cannot record the run of job ${options.name} in ${historyPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The schedule's series for a run that started at `startMs`; a schedule that cannot be
 *  evaluated is reported and left out, the job still runs. */
async function scheduleRecord(options: RunJobOptions, startMs: number): Promise<ScheduleRecord | undefined> {
  const schedule = options.schedule;
  if (schedule === undefined) return undefined;
  try {
    const deadline = await deadlineAfter(schedule, startMs, options.graceMs);
    // The file must outlive the deadline it carries by far: expired, its series are no longer
    // served and an alert on the deadline alone would resolve while the job keeps missing.
    if (options.ttlMs !== undefined && startMs + options.ttlMs < deadline.deadlineMs + deadline.intervalMs) {
      options.warn(
        `--ttl ${formatDuration(options.ttlMs)} ends before the next run's deadline plus one interval: ` +
          `job ${options.name}'s file will expire while it is late (BatchJobMissedRun still fires on the expired file)`,
      );
    }
    return {
      schedule: describeSchedule(schedule),
      kind: schedule.kind,
      timezone: schedule.kind === 'cron' ? (schedule.timezone ?? '') : '',
      expectedIntervalSeconds: deadline.intervalMs / 1000,
      nextRunDeadlineSeconds: deadline.deadlineMs / 1000,
    };
  } catch (error) {
    options.warn(`cannot compute the next run of job ${options.name}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

async function record(options: RunJobOptions, path: string, moment: 'start' | 'end', update: (state: JobState) => JobState): Promise<void> {
  try {
    await editTextfile(
      path,
      (current): TextfileContent => ({
        families: jobFamilies(options.name, update(jobStateFromFamilies(current.families, options.name))),
        ttlMs: options.ttlMs ?? current.ttlMs,
      }),
      {
        ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        replaceInvalid: (error) => options.warn(`${error.message}; starting its counts again`),
      },
    );
  } catch (error) {
    options.warn(`cannot record the ${moment} of job ${options.name} in ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Seconds rounded to the millisecond: finer digits are noise and make the file harder to read. */
function toMilliseconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
