import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import { mergeSources } from '../../../src/core/merge.js';
import { renderText } from '../../../src/core/render.js';
import {
  EMPTY_JOB_STATE,
  JOB_METRICS,
  jobFamilies,
  jobStateFromFamilies,
  withRunEnded,
  withRunStarted,
  type JobState,
} from '../../../src/job/job-metrics.js';
import { jobFilePath } from '../../../src/job/job-file.js';

/** What a later run reads back from the file an earlier run wrote. */
function roundTrip(name: string, state: JobState): { text: string; state: JobState } {
  const merged = mergeSources([{ id: 'x', families: jobFamilies(name, state) }], { missingHelp: () => undefined });
  const text = renderText(merged.families);
  const checked = checkExposition(Buffer.from(text));
  expect(checked.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
  return { text, state: jobStateFromFamilies(checked.families, name) };
}

const success = { startSeconds: 100, endSeconds: 160, durationSeconds: 60, exitCode: 0, succeeded: true };
const failure = { startSeconds: 200, endSeconds: 230.5, durationSeconds: 30.5, exitCode: 3, succeeded: false };

describe('job metrics', () => {
  it('a running first run shows running=1, its start and zero counts, and no end or success yet', () => {
    const { text, state } = roundTrip('backup', withRunStarted(EMPTY_JOB_STATE, 100));
    expect(state).toEqual({ ...EMPTY_JOB_STATE, running: true, lastStartSeconds: 100 });
    expect(text).toContain('batch_job_running{name="backup"} 1\n');
    expect(text).toContain('batch_job_runs_total{name="backup",result="failure"} 0\n');
    expect(text).toContain('batch_job_runs_total{name="backup",result="success"} 0\n');
    expect(text).not.toContain(JOB_METRICS.lastSuccess);
    expect(text).not.toContain(JOB_METRICS.lastEnd);
  });

  it('a failure after a success keeps the last success and counts both', () => {
    let state = roundTrip('backup', withRunEnded(withRunStarted(EMPTY_JOB_STATE, 100), success)).state;
    state = roundTrip('backup', withRunStarted(state, 200)).state;
    expect(state.running).toBe(true);
    expect(state.lastExitCode).toBe(0);
    const after = roundTrip('backup', withRunEnded(state, failure)).state;
    expect(after).toEqual({
      running: false,
      lastStartSeconds: 200,
      lastEndSeconds: 230.5,
      lastDurationSeconds: 30.5,
      lastExitCode: 3,
      lastSuccessSeconds: 160,
      successes: 1,
      failures: 1,
    });
  });

  it('labels every series with name only, never job or instance', () => {
    const families = jobFamilies('nightly', withRunEnded(EMPTY_JOB_STATE, success));
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
