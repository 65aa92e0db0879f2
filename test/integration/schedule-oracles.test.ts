// The next run times promdrop writes as deadlines, against real oracles: Debian's
// python3-croniter for cron expressions (a table of expressions and time zones, across DST
// changes), and systemd's own `systemd-analyze calendar --iterations` for OnCalendar=.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextScheduledTimes } from '../../src/job/schedule.js';
import { PEERS, requireProgram } from '../helpers/peers.js';
import { REPO_ROOT } from './writer-support.js';

const python = withCroniter(requireProgram(PEERS.debianPython, 'python3-croniter'));

/** Debian's python3, if its croniter module is there (required under CI, as every peer). */
function withCroniter(python: string | undefined): string | undefined {
  if (python === undefined) return undefined;
  if (spawnSync(python, ['-c', 'import croniter']).status === 0) return python;
  if (process.env['CI']) throw new Error('python3-croniter is required in CI (apt-get install python3-croniter) but python3 cannot import croniter');
  return undefined;
}
const systemdAnalyze = requireProgram('systemd-analyze', 'systemd');

interface CronCase {
  readonly expression: string;
  readonly timezone: string;
  readonly base: number;
  readonly count: number;
}

function runWithInput(command: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}: ${stderr}`))));
    child.stdin.end(input);
  });
}

const EXPRESSIONS = [
  '*/15 * * * *',
  '0 * * * *',
  '30 2 * * *',
  '15 3,15 * * *',
  '0 9-17/2 * * mon-fri',
  '0 0 1 * *',
  '0 0 1,15 * sun',
  '5 4 * jan,jul *',
  '0 12 * * 0',
  '0 12 * * 7',
  '@hourly',
  '@daily',
  '@weekly',
  '@monthly',
  '@yearly',
  '59 23 31 12 *',
  '0 0 29 2 *',
];
const TIME_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney'];
/** Unix seconds: an ordinary day, and a few hours before the 2026 DST changes of Europe and the US. */
const BASES = [
  Date.UTC(2026, 5, 10, 7, 13, 21) / 1000,
  Date.UTC(2026, 2, 28, 20, 0, 0) / 1000,
  Date.UTC(2026, 9, 24, 20, 0, 0) / 1000,
  Date.UTC(2026, 2, 7, 20, 0, 0) / 1000,
];

/** The zone's UTC offset at `seconds`, in minutes. */
function offsetMinutes(timezone: string, seconds: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(seconds * 1000));
  const part = (type: string): number => Number(parts.find((p) => p.type === type)!.value);
  return (Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute')) - Math.floor(seconds / 60) * 60_000) / 60_000;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

describe.skipIf(!python)('cron deadlines equal python3-croniter', () => {
  // Each next time is asked of both one step at a time, from the same base (the previous run).
  // croniter 1.3.5 (Debian 12) computes a run that lies across a DST change in the base's UTC
  // offset: after 2026-03-28T20:00Z, "0 12 * * 0" in Europe/Berlin gives 09:00Z (11:00 CEST) as
  // well as 10:00Z. So the steps whose base and result have different UTC offsets are checked
  // against a second oracle (fixtures/cron-dst-oracle.py: croniter's parser, zoneinfo and Vixie
  // cron's DST rules); every other step must equal croniter's, including the steps on the day of
  // a DST change and right after it.
  it('for a table of expressions, time zones and base times around DST changes', async () => {
    const steps: CronCase[] = [];
    for (const expression of EXPRESSIONS) {
      for (const timezone of TIME_ZONES) {
        for (const base of BASES) {
          let after = base * 1000;
          for (const next of await nextScheduledTimes({ kind: 'cron', expression, timezone }, after, 6)) {
            steps.push({ expression, timezone, base: after / 1000, count: 1 });
            after = next;
          }
        }
      }
    }
    const oracle = JSON.parse(
      await runWithInput(python!, [join(REPO_ROOT, 'test/integration/fixtures/croniter-next.py')], JSON.stringify(steps)),
    ) as number[][];
    const mismatches: string[] = [];
    let compared = 0;
    const acrossDst: Array<{ step: CronCase; ours: number }> = [];
    for (const [index, step] of steps.entries()) {
      const [ours] = await nextScheduledTimes({ kind: 'cron', expression: step.expression, timezone: step.timezone }, step.base * 1000, 1);
      const theirs = oracle[index]![0]!;
      if (offsetMinutes(step.timezone, step.base) !== offsetMinutes(step.timezone, ours! / 1000)) {
        acrossDst.push({ step, ours: ours! / 1000 });
        continue;
      }
      compared++;
      if (ours! / 1000 !== theirs)
        mismatches.push(`${step.expression} ${step.timezone} after ${iso(step.base)}: ours ${iso(ours! / 1000)} croniter ${iso(theirs)}`);
    }
    // The steps across a change, against croniter's parser + zoneinfo + Vixie cron's DST rules.
    const vixie = JSON.parse(
      await runWithInput(
        python!,
        [join(REPO_ROOT, 'test/integration/fixtures/cron-dst-oracle.py')],
        JSON.stringify(acrossDst.map(({ step }) => ({ expression: step.expression, timezone: step.timezone, base: step.base }))),
      ),
    ) as number[];
    for (const [index, { step, ours }] of acrossDst.entries()) {
      if (ours !== vixie[index])
        mismatches.push(`across DST: ${step.expression} ${step.timezone} after ${iso(step.base)}: ours ${iso(ours)} Vixie rules ${iso(vixie[index]!)}`);
    }
    console.log(`cron oracles: ${compared} steps equal to croniter, ${acrossDst.length} across a DST change equal to Vixie cron's rules`);
    expect(mismatches).toEqual([]);
    // Nearly every step is compared with croniter; those across a change are a few per zone and base.
    expect(compared).toBeGreaterThan(steps.length * 0.9);
    expect(acrossDst.length).toBeGreaterThan(0);
  });
});

describe('cron deadlines across DST changes follow Vixie cron', () => {
  const next = async (expression: string, timezone: string, base: string, count: number): Promise<string[]> =>
    (await nextScheduledTimes({ kind: 'cron', expression, timezone }, Date.parse(base), count)).map((ms) => iso(ms / 1000));

  it('a fixed-time job whose time does not exist that day runs at the first valid time after the gap', async () => {
    // Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    expect(await next('30 2 * * *', 'Europe/Berlin', '2026-03-28T20:00:00Z', 3)).toEqual([
      '2026-03-29T01:00:00Z',
      '2026-03-30T00:30:00Z',
      '2026-03-31T00:30:00Z',
    ]);
  });

  it('a fixed-time job whose time occurs twice runs once, at the first occurrence', async () => {
    // Europe/Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    expect(await next('30 2 * * *', 'Europe/Berlin', '2026-10-24T20:00:00Z', 2)).toEqual(['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
  });

  it('an interval job skips the missing hour and runs in both occurrences of the repeated one', async () => {
    expect(await next('0 * * * *', 'Europe/Berlin', '2026-03-28T23:30:00Z', 3)).toEqual([
      '2026-03-29T00:00:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T02:00:00Z',
    ]);
    expect(await next('*/30 * * * *', 'Europe/Berlin', '2026-10-24T23:45:00Z', 5)).toEqual([
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:30:00Z',
      '2026-10-25T02:00:00Z',
    ]);
  });
});

describe.skipIf(!systemdAnalyze)('OnCalendar= deadlines equal systemd-analyze calendar --iterations', () => {
  const EXPRESSIONS_ONCALENDAR = [
    'daily',
    'hourly',
    'weekly',
    'Mon..Fri 09:00',
    '*-*-* 02:30:00',
    'Sat,Sun 12:00',
    '*-*-1 04:00',
    '*:0/15',
    'Mon 08:00 Europe/Berlin',
  ];
  const BASE_SECONDS = Date.UTC(2026, 2, 28, 20, 0, 0) / 1000;

  /** The oracle: systemd-analyze's elapses in UTC (TZ=UTC), read with the simplest regex. */
  async function oracle(expression: string, count: number): Promise<number[]> {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(systemdAnalyze!, ['calendar', `--iterations=${count}`, `--base-time=@${BASE_SECONDS}`, expression], {
        env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(stdout));
    });
    return [...output.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC/g)].map(
      (m) => Date.parse(`${m[1]!.replace(' ', 'T')}Z`) / 1000,
    );
  }

  for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York']) {
    it(`for a table of expressions, with the host in ${zone} (DST change of Europe/Berlin included)`, async () => {
      const saved = process.env['TZ'];
      process.env['TZ'] = zone;
      try {
        for (const expression of EXPRESSIONS_ONCALENDAR) {
          const ours = (await nextScheduledTimes({ kind: 'calendar', expression }, BASE_SECONDS * 1000, 4)).map((ms) => ms / 1000);
          // The oracle is asked in UTC; an expression without its own zone means the host's.
          const expected = zone === 'UTC' || / [A-Z][a-z]+\/[A-Za-z_]+$/.test(expression) ? await oracle(expression, 4) : await oracleIn(zone, expression, 4);
          expect({ expression, ours: ours.map(iso) }).toEqual({ expression, ours: expected.map(iso) });
        }
      } finally {
        if (saved === undefined) delete process.env['TZ'];
        else process.env['TZ'] = saved;
      }
    });
  }

  /** systemd-analyze with the expression pinned to `zone`, so that TZ=UTC output means the same runs. */
  function oracleIn(zone: string, expression: string, count: number): Promise<number[]> {
    return oracle(`${expression} ${zone}`, count);
  }

  it('an invalid expression is a clear error naming it', async () => {
    await expect(nextScheduledTimes({ kind: 'calendar', expression: 'Mon..Fry 09:00' }, BASE_SECONDS * 1000, 2)).rejects.toThrow(
      /invalid OnCalendar= expression "Mon\.\.Fry 09:00"/,
    );
  });
});
