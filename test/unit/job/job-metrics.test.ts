import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import { mergeSources } from '../../../src/core/merge.js';
import { renderText } from '../../../src/core/render.js';
import { EMPTY_JOB_STATE, JOB_METRICS, jobFamilies, jobStateFromFamilies, withRunEnded, withRunStarted, type JobState } from '../../../src/job/job-metrics.js';
import { jobFilePath } from '../../../src/job/job-file.js';

/** What a later run reads back from the file an earlier run wrote. */
function roundTrip(name: string, state: JobState): { text: string; state: JobState } {
  const merged = mergeSources([{ id: 'x', families: jobFamilies(name, state) }], { missingHelp: () => undefined });
  const text = renderText(merged.families);
  const checked = checkExposition(Buffer.from(text));
  expect(checked.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
  return { text, state: jobStateFromFamilies(checked.families, name) };
}

const success = { startSeconds: 100, endSeconds: 160, durationSeconds: 60, exitCode: 0, result: 'success' as const };
const failure = { startSeconds: 200, endSeconds: 230.5, durationSeconds: 30.5, exitCode: 3, result: 'failure' as const };

const SCHEDULE = {
  schedule: '15 2 * * *',
  kind: 'cron',
  timezone: 'Europe/Berlin',
  expectedIntervalSeconds: 86_400,
  nextRunDeadlineSeconds: 1_800_000_000,
};

describe('job metrics', () => {
  it('a timeout, a kill and a missing command each count under their own result, and the last result is one-hot', () => {
    let state = EMPTY_JOB_STATE;
    for (const result of ['timeout', 'killed', 'not_found', 'timeout'] as const) {
      state = roundTrip('j', withRunEnded(withRunStarted(state, 1, undefined), { ...failure, exitCode: 124, result })).state;
    }
    expect(state.runs).toEqual({ success: 0, failure: 0, timeout: 2, killed: 1, not_found: 1 });
    expect(state.lastResult).toBe('timeout');
    const { text } = roundTrip('j', state);
    expect(text).toContain('batch_job_last_result{name="j",result="timeout"} 1\n');
    expect(text).toContain('batch_job_last_result{name="j",result="failure"} 0\n');
  });

  it('a scheduled run carries its deadline, interval and schedule, read back by the next run', () => {
    const { text, state } = roundTrip('backup', withRunStarted(EMPTY_JOB_STATE, 100, SCHEDULE));
    expect(text).toContain('batch_job_next_run_deadline_timestamp_seconds{name="backup"} 1.8e+09\n');
    expect(text).toContain('batch_job_expected_interval_seconds{name="backup"} 86400\n');
    expect(text).toContain('batch_job_schedule_info{kind="cron",name="backup",schedule="15 2 * * *",timezone="Europe/Berlin"} 1\n');
    expect(state.schedule).toEqual(SCHEDULE);
    // A run without a schedule drops the deadline: the job is no longer expected on time.
    expect(roundTrip('backup', withRunStarted(state, 200, undefined)).text).not.toContain('deadline');
  });

  it('a running first run shows running=1, its start and zero counts, and no end or success yet', () => {
    const { text, state } = roundTrip('backup', withRunStarted(EMPTY_JOB_STATE, 100, undefined));
    expect(state).toEqual({ ...EMPTY_JOB_STATE, running: true, lastStartSeconds: 100 });
    expect(text).toContain('batch_job_running{name="backup"} 1\n');
    expect(text).toContain('batch_job_runs_total{name="backup",result="failure"} 0\n');
    expect(text).toContain('batch_job_runs_total{name="backup",result="success"} 0\n');
    expect(text).not.toContain(JOB_METRICS.lastSuccess);
    expect(text).not.toContain(JOB_METRICS.lastEnd);
  });

  it('a failure after a success keeps the last success and counts both', () => {
    let state = roundTrip('backup', withRunEnded(withRunStarted(EMPTY_JOB_STATE, 100, undefined), success)).state;
    state = roundTrip('backup', withRunStarted(state, 200, undefined)).state;
    expect(state.running).toBe(true);
    expect(state.lastExitCode).toBe(0);
    const after = roundTrip('backup', withRunEnded(state, failure)).state;
    expect(after).toEqual({
      running: false,
      lastStartSeconds: 200,
      lastEndSeconds: 230.5,
      lastDurationSeconds: 30.5,
      lastExitCode: 3,
      lastResult: 'failure',
      lastSuccessSeconds: 160,
      runs: { success: 1, failure: 1, timeout: 0, killed: 0, not_found: 0 },
      schedule: undefined,
    });
  });

  it('labels every series with name only, never job or instance', () => {
    const scheduled = withRunStarted(EMPTY_JOB_STATE, 100, SCHEDULE);
    const families = jobFamilies('nightly', withRunEnded(scheduled, success));
    expect(families.map((family) => family.name).sort()).toEqual(Object.values(JOB_METRICS).sort());
    for (const family of families) {
      for (const metric of family.metrics) {
        const names = metric.labels.filter((_, i) => i % 2 === 0);
        expect(names[0]).toBe('name');
        expect(names).not.toContain('job');
        expect(names).not.toContain('instance');
      }
    }
  });

  it("reads only the named job's series", () => {
    const other = jobFamilies('other', withRunEnded(EMPTY_JOB_STATE, success));
    expect(jobStateFromFamilies(other, 'backup')).toEqual(EMPTY_JOB_STATE);
  });

  it('keeps job outcome files apart from NAME.prom', () => {
    expect(jobFilePath('/d', 'backup')).toBe('/d/backup.job.prom');
  });
});
