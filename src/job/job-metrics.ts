// The batch_job_* metrics `promdrop run` keeps for one job, and the state they encode. The file
// is the only memory between runs: each run reads the previous state back from it, so counts
// and the last success survive failures, reboots and concurrent runs (under the file's lock).
//
// Every series carries one label, `name`. Never `job` or `instance`: Prometheus sets those on
// every scraped series, and a file that uses them gets them renamed to exported_job/… or
// overwritten, depending on honor_labels.
import type { MetricFamily, MetricType, ScalarMetric } from '../core/types.js';

export const JOB_NAME_LABEL = 'name';

/**
 * How a run ended: success (exit 0), failure (non-zero exit, or could not be executed),
 * timeout (stopped by --timeout, whatever it then exited with), killed (ended by a signal
 * promdrop did not send for the timeout), not_found (the command does not exist).
 */
export const RUN_RESULTS = ['success', 'failure', 'timeout', 'killed', 'not_found'] as const;
export type RunResult = (typeof RUN_RESULTS)[number];

export function isRunResult(text: string): text is RunResult {
  return (RUN_RESULTS as readonly string[]).includes(text);
}

/** What the job file says about the schedule, as written by the last run that gave one. */
export interface ScheduleRecord {
  /** The expression as given (`0 2 * * *`, `@every 1h`, `Mon..Fri 09:00`). */
  readonly schedule: string;
  /** cron, every or calendar. */
  readonly kind: string;
  /** The cron expression's time zone; empty when none was given (the host's local time). */
  readonly timezone: string;
  readonly expectedIntervalSeconds: number;
  /** The time by which the next run should have started. */
  readonly nextRunDeadlineSeconds: number;
}

export interface JobState {
  /** True from the start of a run until it is recorded as ended. */
  readonly running: boolean;
  readonly lastStartSeconds: number | undefined;
  readonly lastEndSeconds: number | undefined;
  readonly lastDurationSeconds: number | undefined;
  readonly lastExitCode: number | undefined;
  readonly lastResult: RunResult | undefined;
  /** Undefined until the first successful run; kept when later runs fail. */
  readonly lastSuccessSeconds: number | undefined;
  readonly runs: Readonly<Record<RunResult, number>>;
  readonly schedule: ScheduleRecord | undefined;
}

const NO_RUNS: Readonly<Record<RunResult, number>> = { success: 0, failure: 0, timeout: 0, killed: 0, not_found: 0 };

export const EMPTY_JOB_STATE: JobState = {
  running: false,
  lastStartSeconds: undefined,
  lastEndSeconds: undefined,
  lastDurationSeconds: undefined,
  lastExitCode: undefined,
  lastResult: undefined,
  lastSuccessSeconds: undefined,
  runs: NO_RUNS,
  schedule: undefined,
};

export const JOB_METRICS = {
  running: 'batch_job_running',
  lastStart: 'batch_job_last_start_timestamp_seconds',
  lastEnd: 'batch_job_last_end_timestamp_seconds',
  lastDuration: 'batch_job_last_duration_seconds',
  lastExitCode: 'batch_job_last_exit_code',
  lastResult: 'batch_job_last_result',
  lastSuccess: 'batch_job_last_success_timestamp_seconds',
  runs: 'batch_job_runs_total',
  nextRunDeadline: 'batch_job_next_run_deadline_timestamp_seconds',
  expectedInterval: 'batch_job_expected_interval_seconds',
  scheduleInfo: 'batch_job_schedule_info',
} as const;

const HELP = {
  running: '1 while the job runs (also when its wrapper was killed before it could record the end), else 0.',
  lastStart: 'Unix time at which the last run of the job started.',
  lastEnd: 'Unix time at which the last completed run of the job ended.',
  lastDuration: 'Wall-clock duration of the last completed run of the job, in seconds.',
  lastExitCode:
    "Exit status of the last completed run: the command's own, 128+N when killed by signal N, 124 when stopped by --timeout, 127 when the command was not found.",
  lastResult: 'How the last completed run ended: 1 for its result (success, failure, timeout, killed, not_found), 0 for the others.',
  lastSuccess: 'Unix time at which the last successful run of the job ended; absent until the first success.',
  runs: 'Completed runs of the job by result.',
  nextRunDeadline: 'Unix time by which the next scheduled run should have started: the next scheduled time after the last start, plus the grace.',
  expectedInterval: 'Seconds between two scheduled runs of the job.',
  scheduleInfo: 'The schedule the job was last run with (kind cron, every or calendar), always 1.',
} as const;

/** The state recorded for job `name` in `families` (EMPTY_JOB_STATE for a new job). */
export function jobStateFromFamilies(families: readonly MetricFamily[], name: string): JobState {
  const value = (metric: string, extraLabels: readonly string[] = []): number | undefined => {
    const family = families.find((candidate) => candidate.name === metric);
    if (family === undefined) return undefined;
    for (const series of family.metrics) {
      if (series.kind === 'scalar' && hasLabels(series.labels, [JOB_NAME_LABEL, name, ...extraLabels])) return series.value;
    }
    return undefined;
  };
  const runs = { ...NO_RUNS };
  let lastResult: RunResult | undefined;
  for (const result of RUN_RESULTS) {
    runs[result] = countOrZero(value(JOB_METRICS.runs, ['result', result]));
    if (value(JOB_METRICS.lastResult, ['result', result]) === 1) lastResult = result;
  }
  return {
    running: value(JOB_METRICS.running) === 1,
    lastStartSeconds: value(JOB_METRICS.lastStart),
    lastEndSeconds: value(JOB_METRICS.lastEnd),
    lastDurationSeconds: value(JOB_METRICS.lastDuration),
    lastExitCode: value(JOB_METRICS.lastExitCode),
    lastResult,
    lastSuccessSeconds: value(JOB_METRICS.lastSuccess),
    runs,
    schedule: scheduleFromFamilies(families, name, value),
  };
}

function scheduleFromFamilies(families: readonly MetricFamily[], name: string, value: (metric: string) => number | undefined): ScheduleRecord | undefined {
  const deadline = value(JOB_METRICS.nextRunDeadline);
  const interval = value(JOB_METRICS.expectedInterval);
  const info = families.find((family) => family.name === JOB_METRICS.scheduleInfo);
  const series = info?.metrics.find((metric) => metric.kind === 'scalar' && hasLabels(metric.labels, [JOB_NAME_LABEL, name]));
  if (deadline === undefined || interval === undefined || series === undefined) return undefined;
  const label = (labelName: string): string => {
    for (let i = 0; i < series.labels.length; i += 2) if (series.labels[i] === labelName) return series.labels[i + 1]!;
    return '';
  };
  return {
    schedule: label('schedule'),
    kind: label('kind'),
    timezone: label('timezone'),
    expectedIntervalSeconds: interval,
    nextRunDeadlineSeconds: deadline,
  };
}

/**
 * The state after a run started at `startSeconds`. The schedule is the one this run was given
 * (undefined: the job is no longer scheduled, and its deadline goes).
 */
export function withRunStarted(state: JobState, startSeconds: number, schedule: ScheduleRecord | undefined): JobState {
  return { ...state, running: true, lastStartSeconds: startSeconds, schedule };
}

export interface RunEnd {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly durationSeconds: number;
  readonly exitCode: number;
  readonly result: RunResult;
}

/** The state after a run ended; the last success is kept when this run failed. */
export function withRunEnded(state: JobState, end: RunEnd): JobState {
  const succeeded = end.result === 'success';
  return {
    ...state,
    running: false,
    lastStartSeconds: end.startSeconds,
    lastEndSeconds: end.endSeconds,
    lastDurationSeconds: end.durationSeconds,
    lastExitCode: end.exitCode,
    lastResult: end.result,
    lastSuccessSeconds: succeeded ? end.endSeconds : state.lastSuccessSeconds,
    runs: { ...state.runs, [end.result]: state.runs[end.result] + 1 },
  };
}

/** The families that record `state` for job `name`; series with no value yet are left out. */
export function jobFamilies(name: string, state: JobState): MetricFamily[] {
  const families: MetricFamily[] = [];
  const add = (metric: string, help: string, type: MetricType, series: ReadonlyArray<readonly [readonly string[], number | undefined]>): void => {
    const metrics: ScalarMetric[] = [];
    for (const [extraLabels, value] of series) {
      if (value === undefined) continue;
      metrics.push({ kind: 'scalar', labels: [JOB_NAME_LABEL, name, ...extraLabels], value, timestampMs: undefined, line: 0 });
    }
    if (metrics.length > 0) families.push({ name: metric, help, type, metrics, firstLine: 0 });
  };
  const byResult = (valueOf: (result: RunResult) => number | undefined): Array<readonly [readonly string[], number | undefined]> =>
    RUN_RESULTS.map((result) => [['result', result], valueOf(result)] as const);
  add(JOB_METRICS.running, HELP.running, 'gauge', [[[], state.running ? 1 : 0]]);
  add(JOB_METRICS.lastStart, HELP.lastStart, 'gauge', [[[], state.lastStartSeconds]]);
  add(JOB_METRICS.lastEnd, HELP.lastEnd, 'gauge', [[[], state.lastEndSeconds]]);
  add(JOB_METRICS.lastDuration, HELP.lastDuration, 'gauge', [[[], state.lastDurationSeconds]]);
  add(JOB_METRICS.lastExitCode, HELP.lastExitCode, 'gauge', [[[], state.lastExitCode]]);
  if (state.lastResult !== undefined) {
    add(
      JOB_METRICS.lastResult,
      HELP.lastResult,
      'gauge',
      byResult((result) => (result === state.lastResult ? 1 : 0)),
    );
  }
  add(JOB_METRICS.lastSuccess, HELP.lastSuccess, 'gauge', [[[], state.lastSuccessSeconds]]);
  add(
    JOB_METRICS.runs,
    HELP.runs,
    'counter',
    byResult((result) => state.runs[result]),
  );
  const schedule = state.schedule;
  if (schedule !== undefined) {
    add(JOB_METRICS.nextRunDeadline, HELP.nextRunDeadline, 'gauge', [[[], schedule.nextRunDeadlineSeconds]]);
    add(JOB_METRICS.expectedInterval, HELP.expectedInterval, 'gauge', [[[], schedule.expectedIntervalSeconds]]);
    add(JOB_METRICS.scheduleInfo, HELP.scheduleInfo, 'gauge', [[['kind', schedule.kind, 'schedule', schedule.schedule, 'timezone', schedule.timezone], 1]]);
  }
  return families;
}

function countOrZero(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** True when the flat label array holds every pair of the flat `wanted` array. */
function hasLabels(labels: readonly string[], wanted: readonly string[]): boolean {
  for (let i = 0; i < wanted.length; i += 2) {
    let found = false;
    for (let j = 0; j < labels.length; j += 2) {
      if (labels[j] === wanted[i] && labels[j + 1] === wanted[i + 1]) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}
