// Issue 3, write-to-visible latency: a writer replaces a small file the safe way (a temporary
// name the agent ignores, then rename()) in the 1,000-file directory, and a scraper polls
// /metrics until the new value shows. The latency runs from the start of the write to the end of
// the first scrape that shows it; the number of scrapes that took says whether read-your-writes
// held (1 means the first scrape after rename() returned already saw it).
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, TargetResult } from '../../scenario.js';
import { formatCount, formatMilliseconds } from '../../lib/format.js';
import { httpGet, keepAliveAgent } from '../../lib/http-get.js';
import { markdownTable } from '../../lib/markdown.js';
import { attempt, cell, targetRow, type Outcome } from '../../lib/outcome.js';
import { percentile } from '../../lib/percentile.js';
import { median } from '../../lib/stats.js';

const TARGET_P99_MS = 50;
/** A write not visible after this long is counted as lost, and the run stops. */
const GIVE_UP_MS = 10_000;
/** Writers are not in step with scrapers: a random pause before each write varies the phase. */
const MAX_PAUSE_MS = 20;
const FILE_NAME = 'bench-visible.prom';

export interface VisiblePeer {
  readonly label: string;
  readonly metricsUrl: string;
}

interface VisibleFigures {
  readonly rounds: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Rounds whose first scrape after rename() already showed the new value. */
  readonly firstScrapeHits: number;
  readonly maxScrapes: number;
}

function content(value: number): string {
  return `# HELP bench_visible_round Round of the write-to-visible benchmark.\n# TYPE bench_visible_round gauge\nbench_visible_round ${value}\n`;
}

/** A reproducible sequence of pauses (a linear congruential generator is plenty here). */
function pauses(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return (state / 2 ** 32) * MAX_PAUSE_MS;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Values stay below 10^6: exposition renders larger round numbers in exponent form (1e+06), and
 * the poll looks for the value as written.
 */
/**
 * `writesPerRound` 2 replaces the file twice back to back and waits for the second value, as a
 * short `promdrop run` does (its start, then its end): the scraper may never see the first.
 */
async function measurePeer(directory: string, peer: VisiblePeer, rounds: number, firstValue: number, writesPerRound: number): Promise<VisibleFigures> {
  const target = join(directory, FILE_NAME);
  const temporary = join(directory, `.${FILE_NAME}.tmp`);
  const agent = keepAliveAgent();
  const nextPause = pauses(firstValue);
  const latencies: number[] = [];
  let firstScrapeHits = 0;
  let maxScrapes = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      await sleep(nextPause());
      const value = firstValue + round * writesPerRound + writesPerRound - 1;
      const needle = Buffer.from(`\nbench_visible_round ${value}\n`);
      const started = performance.now();
      for (let write = writesPerRound - 1; write >= 0; write--) {
        writeFileSync(temporary, content(value - write));
        renameSync(temporary, target);
      }
      for (let scrapes = 1; ; scrapes++) {
        const response = await httpGet(peer.metricsUrl, { agent, timeoutMs: GIVE_UP_MS });
        if (response.status !== 200) throw new Error(`${peer.label} answered ${response.status}`);
        if (response.body.includes(needle)) {
          latencies.push(performance.now() - started);
          if (scrapes === 1) firstScrapeHits++;
          maxScrapes = Math.max(maxScrapes, scrapes);
          break;
        }
        if (performance.now() - started > GIVE_UP_MS) throw new Error(`round ${round}: the write was not visible after ${GIVE_UP_MS} ms`);
        // Missed: poll on, but not flat out (a miss can last seconds), at a cost of ≤ 1 ms of precision.
        await sleep(1);
      }
    }
  } finally {
    agent.destroy();
  }
  return {
    rounds,
    medianMs: median(latencies),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    firstScrapeHits,
    maxScrapes,
  };
}

/** Where the written file lives: its directory, and how that directory is described. */
export interface VisibleSetting {
  /** e.g. "alone in its directory", "among 1,000 files". */
  readonly label: string;
  readonly directory: string;
  /** 1: one safe write per round; 2: two back to back, the second awaited. */
  readonly writesPerRound: number;
  readonly rounds: number;
}

export interface VisibleRows {
  readonly rows: readonly (readonly string[])[];
  readonly targets: readonly TargetResult[];
}

export const VISIBLE_HEADER = ['file', 'peer', 'rounds', 'median', 'p99', 'max', 'first scrape after rename() showed it', 'most scrapes needed'];

export function visibleRounds(context: BenchContext): number {
  return context.quick ? 50 : 200;
}

/** Fewer rounds for two writes back to back: a round can wait out the agent's settle time (2 s). */
export function doubleWriteRounds(context: BenchContext): number {
  return context.quick ? 10 : 30;
}

/** One setting, both peers: table rows (VISIBLE_HEADER) and promdrop's target. */
export async function measureWriteToVisible(
  context: BenchContext,
  setting: VisibleSetting,
  promdrop: VisiblePeer,
  nodeExporter: Outcome<VisiblePeer>,
): Promise<VisibleRows> {
  const { rounds, writesPerRound } = setting;
  const peers: { readonly label: string; readonly figures: Outcome<VisibleFigures> }[] = [];
  try {
    context.log(`agent: write-to-visible, ${setting.label}: ${rounds} rounds against promdrop`);
    peers.push({ label: promdrop.label, figures: await attempt(() => measurePeer(setting.directory, promdrop, rounds, 100_000, writesPerRound)) });
    context.log(`agent: write-to-visible, ${setting.label}: ${rounds} rounds against node_exporter`);
    peers.push({
      label: nodeExporter.ok ? nodeExporter.value.label : 'node_exporter',
      figures: nodeExporter.ok ? await attempt(() => measurePeer(setting.directory, nodeExporter.value, rounds, 200_000, writesPerRound)) : nodeExporter,
    });
  } finally {
    rmSync(join(setting.directory, FILE_NAME), { force: true });
  }
  const rows = peers.map(({ label, figures }) => [
    setting.label,
    label,
    cell(figures, (value) => formatCount(value.rounds)),
    cell(figures, (value) => formatMilliseconds(value.medianMs)),
    cell(figures, (value) => formatMilliseconds(value.p99Ms)),
    cell(figures, (value) => formatMilliseconds(value.maxMs)),
    cell(figures, (value) => `${value.firstScrapeHits} of ${value.rounds}`),
    cell(figures, (value) => String(value.maxScrapes)),
  ]);
  return {
    rows,
    targets: [
      targetRow(`write-to-visible p99 ≤ ${TARGET_P99_MS} ms, small file ${setting.label}`, peers[0]?.figures ?? { ok: false, reason: 'not run' }, (value) => ({
        measured: `p99 ${formatMilliseconds(value.p99Ms)} (median ${formatMilliseconds(value.medianMs)}, ${value.rounds} rounds)`,
        pass: value.p99Ms <= TARGET_P99_MS,
      })),
    ],
  };
}

export function writeToVisibleMarkdown(context: BenchContext, rows: readonly (readonly string[])[]): string {
  return [
    `**Write-to-visible latency**: write \`${FILE_NAME}\` (3 lines) under a dot-name, rename() it into place, then scrape /metrics over one kept-alive connection until the new value shows; from the start of the write to the end of that scrape. A pseudo-random pause of 0–${MAX_PAUSE_MS} ms before each round (no fsync: rename() is the moment of visibility). The file is written alone in a directory, and among the 1,000 job files; "two writes back to back" replaces it twice in a row and waits for the second value, as a short \`promdrop run\` does (start, then end), so the scraper may never see the first: ${doubleWriteRounds(context)} rounds of it, ${visibleRounds(context)} of the others.`,
    markdownTable(VISIBLE_HEADER, rows),
  ].join('\n\n');
}
