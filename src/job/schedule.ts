// When a scheduled job should run next, so that `promdrop run` can write the deadline by which the
// next run must have started. Three kinds of schedule:
// - cron expressions, evaluated by croner: 5 fields (no seconds field: cron has none), names,
//   ranges, steps, lists, @daily/@hourly/…; day of month and day of week combine with OR as in
//   Vixie cron; in a time zone, a fixed-time job whose time falls in a DST gap runs at the first
//   valid time after it and once when its time occurs twice (as Vixie cron), an interval job
//   (a wildcard or step in minute or hour) skips the gap's times and runs at both occurrences;
// - `--every DURATION`, for jobs started at a fixed interval (a loop, a systemd timer with
//   OnUnitActiveSec=): the next run is due one interval after this one started;
// - systemd `OnCalendar=` expressions: evaluated by the host's own `systemd-analyze calendar` at
//   run time, so that the next elapse is exactly the one systemd's timer computes (the job runs on
//   the host whose systemd starts it); no second parser of systemd's grammar to drift from it.
import { execFile } from 'node:child_process';
import { Cron } from 'croner';
import { formatDuration } from '../core/duration.js';

export type Schedule =
  | { readonly kind: 'cron'; readonly expression: string; readonly timezone: string | undefined }
  | { readonly kind: 'every'; readonly intervalMs: number }
  | { readonly kind: 'calendar'; readonly expression: string };

/** A schedule that cannot be evaluated: bad syntax, unknown time zone, no future run. */
export class ScheduleError extends Error {
  constructor(
    message: string,
    options?: ErrorOptions,
    /** 'unavailable': the expression may be fine, but the host cannot evaluate it (no systemd). */
    readonly kind: 'invalid' | 'unavailable' = 'invalid',
  ) {
    super(message, options);
    this.name = 'ScheduleError';
  }
}

/** The grace default: a tenth of the interval, within [1 min, 1 h]. */
export const MIN_DEFAULT_GRACE_MS = 60_000;
export const MAX_DEFAULT_GRACE_MS = 3_600_000;

export function defaultGraceMs(intervalMs: number): number {
  return Math.min(MAX_DEFAULT_GRACE_MS, Math.max(MIN_DEFAULT_GRACE_MS, Math.round(intervalMs / 10)));
}

/** The schedule as people write it: the `schedule` label of batch_job_schedule_info. */
export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'cron':
      return schedule.expression;
    case 'every':
      return `@every ${formatDuration(schedule.intervalMs)}`;
    case 'calendar':
      return schedule.expression;
  }
}

/** Throws a ScheduleError when a cron expression or its time zone is not valid. */
export function cronFor(expression: string, timezone: string | undefined): Cron {
  if (timezone !== undefined && !isKnownTimeZone(timezone)) {
    throw new ScheduleError(`unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as Europe/Berlin or UTC`);
  }
  try {
    return new Cron(expression, {
      paused: true,
      // Five fields only: croner would read six as seconds first, which no cron daemon does.
      mode: '5-part',
      domAndDow: false,
      // Vixie cron: only a wildcard or step in minute or hour makes a job an interval job.
      fixedTimeRule: 'no-wildcard',
      ...(timezone === undefined ? {} : { timezone }),
    });
  } catch (error) {
    throw new ScheduleError(`invalid cron expression ${JSON.stringify(expression)}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function isKnownTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The next `count` scheduled times strictly after `afterMs` (ms since the epoch). */
export async function nextScheduledTimes(schedule: Schedule, afterMs: number, count: number): Promise<number[]> {
  switch (schedule.kind) {
    case 'every':
      return Array.from({ length: count }, (_, i) => afterMs + (i + 1) * schedule.intervalMs);
    case 'cron': {
      const times = cronFor(schedule.expression, schedule.timezone)
        .nextRuns(count, new Date(afterMs))
        .map((date) => date.getTime());
      if (times.length < count) throw new ScheduleError(`cron expression ${JSON.stringify(schedule.expression)} has no future run`);
      return times;
    }
    case 'calendar':
      return systemdCalendarTimes(schedule.expression, afterMs, count);
  }
}

export interface ScheduledDeadline {
  /** The next scheduled time after the run's start. */
  readonly nextRunMs: number;
  /** The time between the next two scheduled runs: what "one interval late" means. */
  readonly intervalMs: number;
  readonly graceMs: number;
  /** nextRunMs + graceMs: the next run must have started by then. */
  readonly deadlineMs: number;
}

/** The deadline of the run after one that started at `startMs`; `graceMs` undefined: the default. */
export async function deadlineAfter(schedule: Schedule, startMs: number, graceMs: number | undefined): Promise<ScheduledDeadline> {
  const [next, after] = await nextScheduledTimes(schedule, startMs, 2);
  const intervalMs = after! - next!;
  const grace = graceMs ?? defaultGraceMs(intervalMs);
  return { nextRunMs: next!, intervalMs, graceMs: grace, deadlineMs: next! + grace };
}

const SYSTEMD_ANALYZE = 'systemd-analyze';

/**
 * `systemd-analyze calendar --iterations=N --base-time=@SECONDS EXPR`, read back. It prints each
 * elapse in the local time zone and, unless that is UTC, again "(in UTC)": the UTC line is used.
 */
async function systemdCalendarTimes(expression: string, afterMs: number, count: number): Promise<number[]> {
  // systemd's base time is whole seconds and the next elapse strictly after it; a base inside a
  // second would otherwise return the run that is starting now.
  const baseSeconds = Math.floor(afterMs / 1000);
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      SYSTEMD_ANALYZE,
      ['calendar', `--iterations=${count}`, `--base-time=@${baseSeconds}`, expression],
      { timeout: 10_000, env: { ...process.env, SYSTEMD_COLORS: '0', LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          reject(new ScheduleError(`--on-calendar needs ${SYSTEMD_ANALYZE} (systemd) on this host, and it was not found`, { cause: error }, 'unavailable'));
          return;
        }
        const why = stderr.trim().split('\n').pop() ?? error.message;
        reject(new ScheduleError(`invalid OnCalendar= expression ${JSON.stringify(expression)}: ${why}`, { cause: error }));
      },
    );
  });
  return parseSystemdCalendarOutput(output, expression, count);
}

const ELAPSE_LINE = /^\s*(?:Next elapse|Iter\. #\d+):\s+\w+ (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (\S+)\s*$/;
const IN_UTC_LINE = /^\s*\(in UTC\):\s+\w+ (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC\s*$/;

/** The UTC instants of `systemd-analyze calendar`'s elapse lines. */
export function parseSystemdCalendarOutput(output: string, expression: string, count: number): number[] {
  const lines = output.split('\n');
  const times: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const elapse = ELAPSE_LINE.exec(lines[i]!);
    if (elapse === null) continue;
    const inUtc = IN_UTC_LINE.exec(lines[i + 1] ?? '');
    if (inUtc !== null) times.push(utcMs(inUtc));
    else if (elapse[7] === 'UTC' || elapse[7] === 'GMT') times.push(utcMs(elapse));
    else throw new ScheduleError(`cannot read the next elapse of ${JSON.stringify(expression)} from systemd-analyze: ${lines[i]!.trim()}`);
  }
  if (times.length < count) throw new ScheduleError(`OnCalendar= expression ${JSON.stringify(expression)} has no future elapse`);
  return times.slice(0, count);
}

function utcMs(match: RegExpExecArray): number {
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}
