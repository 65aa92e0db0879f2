// Reading a live process's memory and CPU from /proc (Linux). Used for peers we do not control
// (node_exporter, the Pushgateway) and as the fallback when /usr/bin/time is missing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Resident set size now. */
  readonly rssBytes: number;
  /** High-water mark of the resident set size since the process started (VmHWM). */
  readonly peakRssBytes: number;
}

export interface ProcessCpu {
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

function statusField(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/** undefined once the process has gone (or on a system without /proc). */
export function readProcessMemory(pid: number | 'self'): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const rssBytes = statusField(status, 'VmRSS');
  const peakRssBytes = statusField(status, 'VmHWM');
  // A zombie has no memory fields left.
  if (rssBytes === undefined || peakRssBytes === undefined) return undefined;
  return { rssBytes, peakRssBytes };
}

/** The unit of /proc/<pid>/stat's CPU times (100 on every Linux we know, but ask). */
const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU time used so far by the process itself (not its children). */
export function readProcessCpu(pid: number | 'self'): ProcessCpu | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { userSeconds: utime / CLOCK_TICKS_PER_SECOND, systemSeconds: stime / CLOCK_TICKS_PER_SECOND };
}

/** Non-idle CPU time of the whole machine so far, all CPUs together (from /proc/stat). */
export function readMachineBusySeconds(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'latin1');
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const fields = (stat.split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time of this process and of every descendant it (or they) waited for. */
export function readOwnTreeCpuSeconds(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'latin1');
  } catch {
    return undefined;
  }
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // utime, stime, cutime, cstime: fields 14-17 of the full line.
  const total = (fields[11] ?? Number.NaN) + (fields[12] ?? Number.NaN) + (fields[13] ?? Number.NaN) + (fields[14] ?? Number.NaN);
  return Number.isFinite(total) ? total / CLOCK_TICKS_PER_SECOND : undefined;
}
