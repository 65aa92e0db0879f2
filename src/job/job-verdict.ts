// The one verdict on a job, shared by `promdrop jobs`, /api/v1/jobs and the landing page: is it
// overdue, running, failed or fine, judged against the clock at the moment it is looked at.
// Pure: the caller passes the time.
import type { JobState } from './job-metrics.js';

/**
 * - overdue: it has a schedule and its next run has not started by the deadline (whatever the
 *   last run did: a job that stopped running is the problem to see first);
 * - running: a run has started and not ended (or its wrapper was killed);
 * - failed: the last run did not succeed;
 * - ok: the last run succeeded;
 * - never_run: no run has ended yet.
 */
export type JobVerdict = 'overdue' | 'running' | 'failed' | 'ok' | 'never_run';

export function isOverdue(state: JobState, nowSeconds: number): boolean {
  return state.schedule !== undefined && nowSeconds > state.schedule.nextRunDeadlineSeconds;
}

export function jobVerdict(state: JobState, nowSeconds: number): JobVerdict {
  if (isOverdue(state, nowSeconds)) return 'overdue';
  if (state.running) return 'running';
  if (state.lastResult === undefined) return state.lastExitCode === undefined ? 'never_run' : state.lastExitCode === 0 ? 'ok' : 'failed';
  return state.lastResult === 'success' ? 'ok' : 'failed';
}
