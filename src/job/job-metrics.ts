// The batch_job_* metrics `promdrop run` keeps for one job, and the state they encode. The file
// is the only memory between runs: each run reads the previous state back from it, so counts
// and the last success survive failures, reboots and concurrent runs (under the file's lock).
//
// Every series carries one label, `name`. Never `job` or `instance`: Prometheus sets those on
// every scraped series, and a file that uses them gets them renamed to exported_job/… or
// overwritten, depending on honor_labels.
import type { MetricFamily, MetricType, ScalarMetric } from '../core/types.js';

export const JOB_NAME_LABEL = 'name';

export interface JobState {
  /** True from the start of a run until it is recorded as ended. */
  readonly running: boolean;
  readonly lastStartSeconds: number | undefined;
  readonly lastEndSeconds: number | undefined;
  readonly lastDurationSeconds: number | undefined;
  readonly lastExitCode: number | undefined;
  /** Undefined until the first successful run; kept when later runs fail. */
  readonly lastSuccessSeconds: number | undefined;
  readonly successes: number;
  readonly failures: number;
}

export const EMPTY_JOB_STATE: JobState = {
  running: false,
  lastStartSeconds: undefined,
  lastEndSeconds: undefined,
  lastDurationSeconds: undefined,
  lastExitCode: undefined,
  lastSuccessSeconds: undefined,
  successes: 0,
  failures: 0,
};

export const JOB_METRICS = {
  running: 'batch_job_running',
  lastStart: 'batch_job_last_start_timestamp_seconds',
  lastEnd: 'batch_job_last_end_timestamp_seconds',
  lastDuration: 'batch_job_last_duration_seconds',
  lastExitCode: 'batch_job_last_exit_code',
  lastSuccess: 'batch_job_last_success_timestamp_seconds',
  runs: 'batch_job_runs_total',
} as const;

const HELP = {
  running: '1 while the job runs (also when its wrapper was killed before it could record the end), else 0.',
  lastStart: 'Unix time at which the last run of the job started.',
  lastEnd: 'Unix time at which the last completed run of the job ended.',
  lastDuration: 'Wall-clock duration of the last completed run of the job, in seconds.',
  lastExitCode:
    "Exit status of the last completed run: the command's own, 128+N when killed by signal N, 124 when stopped by --timeout after exiting 0, 127 when the command was not found.",
  lastSuccess: 'Unix time at which the last successful run of the job ended; absent until the first success.',
  runs: 'Completed runs of the job by result.',
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
  return {
    running: value(JOB_METRICS.running) === 1,
    lastStartSeconds: value(JOB_METRICS.lastStart),
    lastEndSeconds: value(JOB_METRICS.lastEnd),
    lastDurationSeconds: value(JOB_METRICS.lastDuration),
    lastExitCode: value(JOB_METRICS.lastExitCode),
    lastSuccessSeconds: value(JOB_METRICS.lastSuccess),
    successes: countOrZero(value(JOB_METRICS.runs, ['result', 'success'])),
    failures: countOrZero(value(JOB_METRICS.runs, ['result', 'failure'])),
  };
}

/** The state after a run started at `startSeconds`. */
export function withRunStarted(state: JobState, startSeconds: number): JobState {
  return { ...state, running: true, lastStartSeconds: startSeconds };
}

export interface RunEnd {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly durationSeconds: number;
  readonly exitCode: number;
  readonly succeeded: boolean;
}

/** The state after a run ended; the last success is kept when this run failed. */
export function withRunEnded(state: JobState, end: RunEnd): JobState {
  return {
    running: false,
    lastStartSeconds: end.startSeconds,
    lastEndSeconds: end.endSeconds,
    lastDurationSeconds: end.durationSeconds,
    lastExitCode: end.exitCode,
    lastSuccessSeconds: end.succeeded ? end.endSeconds : state.lastSuccessSeconds,
    successes: state.successes + (end.succeeded ? 1 : 0),
    failures: state.failures + (end.succeeded ? 0 : 1),
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
  add(JOB_METRICS.running, HELP.running, 'gauge', [[[], state.running ? 1 : 0]]);
  add(JOB_METRICS.lastStart, HELP.lastStart, 'gauge', [[[], state.lastStartSeconds]]);
  add(JOB_METRICS.lastEnd, HELP.lastEnd, 'gauge', [[[], state.lastEndSeconds]]);
  add(JOB_METRICS.lastDuration, HELP.lastDuration, 'gauge', [[[], state.lastDurationSeconds]]);
  add(JOB_METRICS.lastExitCode, HELP.lastExitCode, 'gauge', [[[], state.lastExitCode]]);
  add(JOB_METRICS.lastSuccess, HELP.lastSuccess, 'gauge', [[[], state.lastSuccessSeconds]]);
  add(JOB_METRICS.runs, HELP.runs, 'counter', [
    [['result', 'failure'], state.failures],
    [['result', 'success'], state.successes],
  ]);
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
