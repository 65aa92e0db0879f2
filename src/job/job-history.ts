// A job's last runs, kept by `promdrop run` in NAME.job.json next to NAME.job.prom: what
// `promdrop jobs NAME`, /api/v1/jobs and the landing page show. The agent serves only `*.prom`
// files as metrics, so this file is never served as series. It is replaced atomically under its
// own lock, like every file promdrop writes. It may hold the tail of the job's output (only with
// --keep-output), which can contain secrets: it is written with the job file's mode and served
// only behind the same authentication as /metrics.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../fs/atomic-write.js';
import { withLock } from '../fs/lock.js';
import { isRunResult, type RunResult } from './job-metrics.js';

export const JOB_HISTORY_SUFFIX = '.job.json';
export const DEFAULT_HISTORY_LENGTH = 20;
const FORMAT_VERSION = 1;

export interface RunRecord {
  /** Unix seconds, millisecond precision. */
  readonly start: number;
  readonly end: number;
  readonly durationSeconds: number;
  readonly exitCode: number;
  readonly result: RunResult;
  /** The signal that ended the command (SIGTERM, SIGKILL, …), if one did. */
  readonly signal?: string;
  /** The tail of the combined stdout and stderr, only with --keep-output. */
  readonly output?: string;
}

export interface JobHistory {
  readonly name: string;
  /** Newest first. */
  readonly runs: readonly RunRecord[];
}

export function jobHistoryPath(directory: string, name: string): string {
  return join(directory, `${name}${JOB_HISTORY_SUFFIX}`);
}

/** Thrown for a history file promdrop did not write as it is (hand-edited, another version). */
export class JobHistoryError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'JobHistoryError';
  }
}

/** The history in `path`; an empty one when the file does not exist. */
export async function readJobHistory(path: string, name: string): Promise<JobHistory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { name, runs: [] };
    throw error;
  }
  return parseJobHistory(text, path, name);
}

export function parseJobHistory(text: string, path: string, name: string): JobHistory {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new JobHistoryError(path, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(data) || data['version'] !== FORMAT_VERSION || !Array.isArray(data['runs'])) {
    throw new JobHistoryError(path, `not a promdrop run history (version ${FORMAT_VERSION} with a "runs" list)`);
  }
  const runs: RunRecord[] = [];
  for (const [index, run] of (data['runs'] as unknown[]).entries()) {
    const record = toRunRecord(run);
    if (record === undefined) throw new JobHistoryError(path, `run ${index + 1} of the history is malformed`);
    runs.push(record);
  }
  return { name, runs };
}

function toRunRecord(value: unknown): RunRecord | undefined {
  if (!isObject(value)) return undefined;
  const { start, end, durationSeconds, exitCode, result, signal, output } = value;
  if (typeof start !== 'number' || typeof end !== 'number' || typeof durationSeconds !== 'number' || typeof exitCode !== 'number') return undefined;
  if (typeof result !== 'string' || !isRunResult(result)) return undefined;
  if (signal !== undefined && typeof signal !== 'string') return undefined;
  if (output !== undefined && typeof output !== 'string') return undefined;
  return {
    start,
    end,
    durationSeconds,
    exitCode,
    result,
    ...(signal === undefined ? {} : { signal }),
    ...(output === undefined ? {} : { output }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface AppendOptions {
  readonly keep: number;
  readonly mode?: number;
  readonly lockTimeoutMs?: number;
  /** Told why an unreadable history is started again rather than kept. */
  readonly replaceInvalid: (message: string) => void;
}

/** Adds `run` in front of the history in `path`, keeping the newest `keep` runs. */
export async function appendRun(path: string, name: string, run: RunRecord, options: AppendOptions): Promise<void> {
  await withLock(
    path,
    async (lock) => {
      let previous: readonly RunRecord[] = [];
      try {
        previous = (await readJobHistory(path, name)).runs;
      } catch (error) {
        // A history is a convenience: one promdrop cannot read must not stop recording.
        options.replaceInvalid(`${error instanceof Error ? error.message : String(error)}; starting the run history again`);
      }
      const runs = [run, ...previous].slice(0, options.keep);
      const text = `${JSON.stringify({ version: FORMAT_VERSION, name, runs }, null, 1)}\n`;
      await writeAtomically(path, text, { ...(options.mode === undefined ? {} : { mode: options.mode }), beforeCommit: () => lock.assertHeld() });
    },
    options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs },
  );
}
