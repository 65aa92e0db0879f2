// Issue 3, CPU used while idle: a freshly started agent watching the 1,000 files, not scraped,
// nothing changing, for one minute (utime + stime from /proc/PID/stat), beside node_exporter on
// the same directory over the same minute. The idle period is set with PROMDROP_BENCH_IDLE_SECONDS
// (default 60; 15 with --quick) because the harness's command line belongs to main.ts.
import type { BenchContext, TargetResult } from '../../scenario.js';
import type { BenchAgent } from '../../lib/agent.js';
import { formatMegabytes } from '../../lib/format.js';
import { markdownTable } from '../../lib/markdown.js';
import type { BenchNodeExporter } from '../../lib/node-exporter.js';
import { cell, failed, succeeded, targetRow, type Outcome } from '../../lib/outcome.js';
import type { ProcessCpu, ProcessMemory } from '../../lib/proc.js';

const TARGET_CPU_SECONDS_PER_MINUTE = 0.5;
/** Start-up work (JIT, the first GCs, the first rescan timers being set) is not idleness. */
const SETTLE_MS = 5_000;
export const IDLE_SECONDS_VARIABLE = 'PROMDROP_BENCH_IDLE_SECONDS';

interface IdleFigures {
  readonly cpuSeconds: number;
  readonly perMinute: number;
  readonly rssBytes: number | undefined;
}

interface ProcessProbe {
  cpu(): ProcessCpu | undefined;
  memory(): ProcessMemory | undefined;
}

export function idleSeconds(context: BenchContext): number {
  const configured = process.env[IDLE_SECONDS_VARIABLE];
  if (configured !== undefined && configured !== '') {
    const seconds = Number(configured);
    if (!Number.isFinite(seconds) || seconds < 1) throw new Error(`${IDLE_SECONDS_VARIABLE} must be a number of seconds ≥ 1, not ${configured}`);
    return seconds;
  }
  return context.quick ? 15 : 60;
}

function totalCpu(cpu: ProcessCpu | undefined): number | undefined {
  return cpu === undefined ? undefined : cpu.userSeconds + cpu.systemSeconds;
}

export interface IdleReport {
  readonly markdown: string;
  readonly targets: readonly TargetResult[];
}

/** Both peers must have been started (and scraped once, to check them) before this is called. */
export async function measureIdle(context: BenchContext, files: number, promdrop: BenchAgent, nodeExporter: Outcome<BenchNodeExporter>): Promise<IdleReport> {
  const seconds = idleSeconds(context);
  const probes: { readonly label: string; readonly probe: Outcome<ProcessProbe> }[] = [
    { label: 'promdrop serve (defaults: 30 s rescan, inotify)', probe: succeeded(promdrop) },
    { label: 'node_exporter 1.5.0, textfile collector only', probe: nodeExporter },
  ];
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const before = probes.map(({ probe }) => (probe.ok ? totalCpu(probe.value.cpu()) : undefined));
  context.log(`agent: idle CPU over ${seconds} s`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const results = probes.map(({ label, probe }, index): { label: string; figures: Outcome<IdleFigures> } => {
    if (!probe.ok) return { label, figures: probe };
    const start = before[index];
    const end = totalCpu(probe.value.cpu());
    if (start === undefined || end === undefined) return { label, figures: failed('/proc/PID/stat was not readable') };
    const cpuSeconds = end - start;
    return { label, figures: succeeded({ cpuSeconds, perMinute: (cpuSeconds * 60) / seconds, rssBytes: probe.value.memory()?.rssBytes }) };
  });
  const extrapolated = seconds !== 60;
  const table = markdownTable(
    ['peer', `CPU (utime + stime) in ${seconds} s`, extrapolated ? 'per minute (extrapolated)' : 'per minute', 'RSS at the end'],
    results.map(({ label, figures }) => [
      label,
      cell(figures, (value) => `${value.cpuSeconds.toFixed(2)} s`),
      cell(figures, (value) => `${value.perMinute.toFixed(2)} s`),
      cell(figures, (value) => (value.rssBytes === undefined ? 'unknown' : formatMegabytes(value.rssBytes))),
    ]),
  );
  const note = extrapolated
    ? ` **The idle period was ${seconds} s, not one minute** (${IDLE_SECONDS_VARIABLE}${context.quick ? ' or --quick' : ''}): the per-minute figure is extrapolated, and a period shorter than the rescan interval may contain no rescan.`
    : '';
  const promdropFigures = results[0]?.figures ?? failed<IdleFigures>('not run');
  return {
    markdown: [
      `**Idle CPU**, ${files.toLocaleString('en-US')} files, no scrapes and no changes, after ${SETTLE_MS / 1000} s of settling; CPU time from /proc/PID/stat (10 ms ticks).${note}`,
      table,
    ].join('\n\n'),
    targets: [
      targetRow(`CPU used in one idle minute with 1,000 files < ${TARGET_CPU_SECONDS_PER_MINUTE} s`, promdropFigures, (value) => ({
        measured: `${value.perMinute.toFixed(2)} s${extrapolated ? ` (extrapolated from ${seconds} s)` : ''}`,
        pass: value.perMinute < TARGET_CPU_SECONDS_PER_MINUTE,
      })),
    ],
  };
}
