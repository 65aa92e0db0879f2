// Every job of a set of directories as `promdrop jobs`, /api/v1/jobs and the landing page show
// it: the state its NAME.job.prom records, its runs from NAME.job.json, and the verdict at `now`.
// One reader for the three views, so that they never disagree on what "overdue" means.
import { readdir } from 'node:fs/promises';
import { readTextfile } from '../fs/textfile-edit.js';
import { JOB_HISTORY_SUFFIX, jobHistoryPath, readJobHistory, type RunRecord } from './job-history.js';
import { JOB_FILE_SUFFIX, jobFilePath } from './job-file.js';
import { EMPTY_JOB_STATE, jobStateFromFamilies, type JobState, type RunResult } from './job-metrics.js';
import { jobVerdict, type JobVerdict } from './job-verdict.js';

/** One run as the list shows it: no output (that is in the job's own view). */
export interface RunSummary {
  readonly start: number;
  readonly end: number;
  readonly durationSeconds: number;
  readonly exitCode: number;
  readonly result: RunResult;
  readonly signal?: string;
}

export interface JobReport {
  readonly name: string;
  readonly directory: string;
  /** NAME.job.prom */
  readonly file: string;
  readonly state: JobVerdict;
  readonly overdue: boolean;
  readonly running: boolean;
  readonly lastResult?: RunResult;
  readonly lastExitCode?: number;
  /** Unix seconds. */
  readonly lastStart?: number;
  readonly lastEnd?: number;
  readonly lastDurationSeconds?: number;
  readonly lastSuccess?: number;
  readonly schedule?: string;
  readonly scheduleKind?: string;
  readonly timezone?: string;
  readonly expectedIntervalSeconds?: number;
  readonly nextRunDeadline?: number;
  readonly runs: Readonly<Record<RunResult, number>>;
  /** The last runs, newest first (from NAME.job.json). */
  readonly recent: readonly RunSummary[];
  /** Why the job file or its history could not be read (the rest is what could be). */
  readonly error?: string;
}

export interface JobDetail extends JobReport {
  /** The last runs with their output tails, newest first. */
  readonly history: readonly RunRecord[];
}

/** Every job in `directories`, by directory then name. */
export async function readJobReports(directories: readonly string[], nowMs: number): Promise<JobReport[]> {
  const reports: JobReport[] = [];
  for (const directory of directories) {
    for (const name of await jobNames(directory)) {
      const { history, ...report } = await readJobDetail(directory, name, nowMs);
      reports.push({ ...report, recent: history.map(summary) });
    }
  }
  return reports;
}

/** Every job in `directories` with its history (output tails included), by directory then name. */
export async function readJobDetails(directories: readonly string[], nowMs: number): Promise<JobDetail[]> {
  const details: JobDetail[] = [];
  for (const directory of directories) {
    for (const name of await jobNames(directory)) details.push(await readJobDetail(directory, name, nowMs));
  }
  return details;
}

/** Job `name` from the first of `directories` that has it. */
export async function findJob(directories: readonly string[], name: string, nowMs: number): Promise<JobDetail | undefined> {
  for (const directory of directories) {
    if ((await jobNames(directory)).includes(name)) return readJobDetail(directory, name, nowMs);
  }
  return undefined;
}

/** The job names in `directory`: NAME of every NAME.job.prom or NAME.job.json (not dot files). */
export async function jobNames(directory: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch {
    // A directory that is missing or unreadable has no jobs to show; `list` reports it.
    return [];
  }
  const names = new Set<string>();
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    for (const suffix of [JOB_FILE_SUFFIX, JOB_HISTORY_SUFFIX]) {
      if (entry.endsWith(suffix) && entry.length > suffix.length) names.add(entry.slice(0, -suffix.length));
    }
  }
  return [...names].sort();
}

export async function readJobDetail(directory: string, name: string, nowMs: number): Promise<JobDetail> {
  const file = jobFilePath(directory, name);
  const errors: string[] = [];
  let state: JobState = EMPTY_JOB_STATE;
  try {
    state = jobStateFromFamilies((await readTextfile(file)).families, name);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  let history: readonly RunRecord[] = [];
  try {
    history = (await readJobHistory(jobHistoryPath(directory, name), name)).runs;
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  return {
    ...reportOf(directory, name, file, state, nowMs / 1000),
    recent: history.map(summary),
    history,
    ...(errors.length === 0 ? {} : { error: errors.join('; ') }),
  };
}

function reportOf(directory: string, name: string, file: string, state: JobState, nowSeconds: number): JobReport {
  const verdict = jobVerdict(state, nowSeconds);
  const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return {
    name,
    directory,
    file,
    state: verdict,
    overdue: verdict === 'overdue',
    running: state.running,
    ...optional('lastResult', state.lastResult),
    ...optional('lastExitCode', state.lastExitCode),
    ...optional('lastStart', state.lastStartSeconds),
    ...optional('lastEnd', state.lastEndSeconds),
    ...optional('lastDurationSeconds', state.lastDurationSeconds),
    ...optional('lastSuccess', state.lastSuccessSeconds),
    ...(state.schedule === undefined
      ? {}
      : {
          schedule: state.schedule.schedule,
          scheduleKind: state.schedule.kind,
          ...(state.schedule.timezone === '' ? {} : { timezone: state.schedule.timezone }),
          expectedIntervalSeconds: state.schedule.expectedIntervalSeconds,
          nextRunDeadline: state.schedule.nextRunDeadlineSeconds,
        }),
    runs: state.runs,
    recent: [],
  };
}

function summary(run: RunRecord): RunSummary {
  const { output: _output, ...rest } = run;
  return rest;
}
