import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendRun, jobHistoryPath, readJobHistory, type RunRecord } from '../../../src/job/job-history.js';
import { EMPTY_JOB_STATE, type JobState } from '../../../src/job/job-metrics.js';
import { jobVerdict } from '../../../src/job/job-verdict.js';
import { cronFor, deadlineAfter, defaultGraceMs, nextScheduledTimes, parseSystemdCalendarOutput } from '../../../src/job/schedule.js';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

describe('schedules', () => {
  it('default grace: a tenth of the interval, at least 1m and at most 1h', () => {
    expect(defaultGraceMs(60_000)).toBe(60_000);
    expect(defaultGraceMs(2 * HOUR)).toBe(12 * 60_000);
    expect(defaultGraceMs(24 * HOUR)).toBe(HOUR);
  });

  it('the deadline is the next scheduled time after the start plus the grace', async () => {
    const start = Date.parse('2026-06-10T02:15:00.400Z');
    const daily = await deadlineAfter({ kind: 'cron', expression: '15 2 * * *', timezone: 'UTC' }, start, undefined);
    expect(iso(daily.nextRunMs)).toBe('2026-06-11T02:15:00.000Z');
    expect(daily.intervalMs).toBe(24 * HOUR);
    expect(iso(daily.deadlineMs)).toBe('2026-06-11T03:15:00.000Z');
    const every = await deadlineAfter({ kind: 'every', intervalMs: 10 * 60_000 }, start, 0);
    expect(every.deadlineMs).toBe(start + 10 * 60_000);
  });

  it('day of month and day of week combine with OR, as in Vixie cron', async () => {
    const times = await nextScheduledTimes({ kind: 'cron', expression: '0 9 1 * mon', timezone: 'UTC' }, Date.parse('2026-03-28T00:00:00Z'), 3);
    // Monday 30 March, Wednesday 1 April (the 1st), Monday 6 April.
    expect(times.map(iso)).toEqual(['2026-03-30T09:00:00.000Z', '2026-04-01T09:00:00.000Z', '2026-04-06T09:00:00.000Z']);
  });

  it('reads names, steps, lists and nicknames, and refuses a seconds field or an unknown zone', async () => {
    const after = Date.parse('2026-03-28T00:00:00Z');
    expect((await nextScheduledTimes({ kind: 'cron', expression: '*/20 8-9 * jan,mar sat', timezone: 'UTC' }, after, 2)).map(iso)).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-28T08:20:00.000Z',
    ]);
    expect((await nextScheduledTimes({ kind: 'cron', expression: '@weekly', timezone: 'UTC' }, after, 1)).map(iso)).toEqual(['2026-03-29T00:00:00.000Z']);
    expect(() => cronFor('0 0 * * * *', undefined)).toThrow(/exactly 5 parts/);
    expect(() => cronFor('@daily', 'Europe/Atlantis')).toThrow(/unknown time zone "Europe\/Atlantis"/);
  });

  it("reads systemd-analyze's output in UTC, from the (in UTC) line when the host is not in UTC", () => {
    const output = [
      '  Original form: Mon..Fri 09:00',
      'Normalized form: Mon..Fri *-*-* 09:00:00',
      '    Next elapse: Tue 2025-12-02 09:00:00 CET',
      '       (in UTC): Tue 2025-12-02 08:00:00 UTC',
      '       From now: 11 months 30 days ago',
      '       Iter. #2: Wed 2025-12-03 09:00:00 CET',
      '       (in UTC): Wed 2025-12-03 08:00:00 UTC',
    ].join('\n');
    expect(parseSystemdCalendarOutput(output, 'x', 2).map(iso)).toEqual(['2025-12-02T08:00:00.000Z', '2025-12-03T08:00:00.000Z']);
    expect(() => parseSystemdCalendarOutput('    Next elapse: Tue 2025-12-02 09:00:00 UTC\n', 'x', 2)).toThrow(/no future elapse/);
  });
});

describe('the verdict on a job', () => {
  const scheduled: JobState = {
    ...EMPTY_JOB_STATE,
    lastResult: 'success',
    lastExitCode: 0,
    schedule: { schedule: '@daily', kind: 'cron', timezone: '', expectedIntervalSeconds: 86_400, nextRunDeadlineSeconds: 1000 },
  };

  it('is overdue only once the deadline has passed, whatever the last result', () => {
    expect(jobVerdict(scheduled, 1000)).toBe('ok');
    expect(jobVerdict(scheduled, 1000.001)).toBe('overdue');
    expect(jobVerdict({ ...scheduled, lastResult: 'timeout' }, 999)).toBe('failed');
    expect(jobVerdict({ ...scheduled, running: true }, 999)).toBe('running');
    expect(jobVerdict(EMPTY_JOB_STATE, 1e12)).toBe('never_run');
  });
});

describe('run history', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const run = (start: number): RunRecord => ({ start, end: start + 1, durationSeconds: 1, exitCode: 0, result: 'success' });

  it('keeps the newest N runs, newest first, and starts again over a file it cannot read', async () => {
    dir = mkdtempSync(join(tmpdir(), 'promdrop-history-'));
    const path = jobHistoryPath(dir, 'j');
    const warnings: string[] = [];
    for (let start = 1; start <= 5; start++) await appendRun(path, 'j', run(start), { keep: 3, replaceInvalid: (m) => warnings.push(m) });
    expect((await readJobHistory(path, 'j')).runs.map((r) => r.start)).toEqual([5, 4, 3]);
    writeFileSync(path, '{"version": 1, "runs": [{"start": "x"}]}');
    await appendRun(path, 'j', run(6), { keep: 3, replaceInvalid: (m) => warnings.push(m) });
    expect(warnings).toEqual([`${path}: run 1 of the history is malformed; starting the run history again`]);
    expect(JSON.parse(readFileSync(path, 'utf8')).runs).toEqual([run(6)]);
  });
});
