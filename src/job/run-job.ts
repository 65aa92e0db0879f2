// `promdrop run`: record the start, run the command, record the end. Recording never changes
// what the job does: if the outcome file cannot be written, the command still runs and its
// status is still returned, and the problem is reported on stderr (cron mails it).
import { formatDuration } from '../core/duration.js';
import { editTextfile, type TextfileContent } from '../fs/textfile-edit.js';
import { jobFilePath } from './job-file.js';
import { jobFamilies, jobStateFromFamilies, withRunEnded, withRunStarted, type JobState } from './job-metrics.js';
import { runCommand, type CommandOutcome } from './spawn-command.js';

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
  /** One line for the user (stderr), for problems that do not stop the job. */
  readonly warn: (message: string) => void;
}

export interface JobRun {
  readonly outcome: CommandOutcome;
  readonly succeeded: boolean;
  /** The outcome file. */
  readonly path: string;
}

/** Runs the job and records it; resolves with the command's outcome (never rejects for it). */
export async function runJob(options: RunJobOptions): Promise<JobRun> {
  const path = jobFilePath(options.directory, options.name);
  const startSeconds = toMilliseconds(Date.now() / 1000);
  const startedAt = performance.now();

  await record(options, path, 'start', (state) => withRunStarted(state, startSeconds));

  const outcome = await runCommand(options.command, options.args, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.killAfterMs === undefined ? {} : { killAfterMs: options.killAfterMs }),
  });
  const durationSeconds = toMilliseconds((performance.now() - startedAt) / 1000);
  const succeeded = outcome.status === 0 && !outcome.timedOut;
  if (outcome.startError !== undefined) {
    options.warn(
      outcome.status === 127
        ? `${options.command}: command not found`
        : `${options.command}: cannot run: ${outcome.startError.message}`,
    );
  } else if (outcome.timedOut) {
    options.warn(`${options.command}: stopped after the --timeout of ${formatDuration(options.timeoutMs ?? 0)}`);
  }

  await record(options, path, 'end', (state) =>
    withRunEnded(state, {
      startSeconds,
      endSeconds: toMilliseconds(startSeconds + durationSeconds),
      durationSeconds,
      exitCode: outcome.status,
      succeeded,
    }),
  );
  return { outcome, succeeded, path };
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
