// Issue 3, one 500,000-series file: whole-scrape latency (curl's time_total, plain and gzip) and
// the agent's peak RSS with 4 concurrent scrapers, beside node_exporter (which re-parses the file
// on every scrape: seconds per scrape and gigabytes of memory, node-exporter-textfile.md §4) and
// the static server answering promdrop's own body (the limit).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BenchContext, TargetResult } from '../../scenario.js';
import { startAgent } from '../../lib/agent.js';
import { concurrentCurlScrapes, curlScrapes, type CurlTransfer } from '../../lib/curl.js';
import { formatCount, formatMegabytes, formatMilliseconds, formatRatio } from '../../lib/format.js';
import { formatBytes } from '../../lib/format-size.js';
import { generateHugeFamilyFile, type GeneratedFile } from '../../lib/generate.js';
import { httpGet } from '../../lib/http-get.js';
import { markdownTable } from '../../lib/markdown.js';
import { startTextfileNodeExporter } from '../../lib/node-exporter.js';
import { attempt, both, cell, failed, succeeded, targetRow, type Outcome } from '../../lib/outcome.js';
import type { ProcessMemory } from '../../lib/proc.js';
import { startStaticServer } from '../../lib/static-server.js';
import { median } from '../../lib/stats.js';
import { countLinesStartingWith } from '../../lib/textfile-sets.js';

const TARGET_SPEEDUP = 100;
const TARGET_PEAK_RSS_BYTES = 300e6;
const SCRAPERS = 4;
const SERIES_PREFIX = 'big_metric{';
const SCRAPE_TIMEOUT_MS = 120_000;
/** node_exporter is measured in the same run only if its first scrape says the rest fits in about a minute. */
const NODE_EXPORTER_FIRST_SCRAPE_BUDGET_MS = 8_000;

interface Latency {
  readonly scrapes: number;
  readonly medianMs: number;
  readonly firstMs: number;
  readonly maxMs: number;
  readonly wireBytes: number;
}

interface PeerFigures {
  readonly plain: Outcome<Latency>;
  readonly gzip: Outcome<Latency>;
  readonly concurrent: Outcome<Latency>;
  /** VmHWM once started: promdrop with the file loaded; node_exporter after the one scrape its start-up check makes. */
  readonly memoryAtStart: ProcessMemory | undefined;
  /** VmHWM after the sequential scrapes. */
  readonly memoryAfterScrapes: ProcessMemory | undefined;
  /** VmHWM after the concurrent scrapes too: the peak of the whole run. */
  readonly memoryAtEnd: ProcessMemory | undefined;
  readonly readyMs: number | undefined;
}

export interface HugeFileReport {
  readonly markdown: string;
  readonly targets: readonly TargetResult[];
}

function latency(transfers: readonly CurlTransfer[]): Latency {
  const first = transfers[0];
  if (first === undefined) throw new Error('no scrapes');
  return {
    scrapes: transfers.length,
    medianMs: median(transfers.map((transfer) => transfer.totalMs)),
    firstMs: first.totalMs,
    maxMs: Math.max(...transfers.map((transfer) => transfer.totalMs)),
    wireBytes: median(transfers.map((transfer) => transfer.bytes)),
  };
}

/** The peer's plain body, after checking that it serves the whole file and that its gzip body decompresses to the same bytes. */
async function checkedBody(url: string, file: GeneratedFile): Promise<Buffer> {
  const plain = await httpGet(url, { timeoutMs: SCRAPE_TIMEOUT_MS });
  if (plain.status !== 200) throw new Error(`${url} answered ${plain.status}`);
  const served = countLinesStartingWith(plain.body.toString('utf8'), SERIES_PREFIX);
  if (served !== file.metrics) throw new Error(`served ${formatCount(served)} of the file's ${formatCount(file.metrics)} series`);
  const compressed = await httpGet(url, { timeoutMs: SCRAPE_TIMEOUT_MS, headers: { 'Accept-Encoding': 'gzip' } });
  if (compressed.headers['content-encoding'] !== 'gzip') throw new Error('did not compress when asked to');
  if (withoutScrapeDuration(gunzipSync(compressed.body)) !== withoutScrapeDuration(plain.body)) {
    throw new Error('its gzip body does not decompress to its plain body');
  }
  return plain.body;
}

/** A body without the one line that differs between any two scrapes: the scrape's own duration. */
function withoutScrapeDuration(body: Buffer): string {
  return body.toString('utf8').replace(/^node_scrape_collector_duration_seconds\{.*\n/m, '');
}

interface Counts {
  readonly sequential: number;
  readonly concurrentEach: number;
}

async function measurePromdrop(context: BenchContext, directory: string, file: GeneratedFile, counts: Counts): Promise<{ figures: PeerFigures; body: Buffer }> {
  context.log('agent: huge file: starting promdrop and waiting for the first scan');
  const agent = await startAgent({
    repoRoot: context.repoRoot,
    directories: [directory],
    flags: ['--web.disable-exporter-metrics'],
    readyTimeoutMs: 180_000,
  });
  try {
    const memoryAtStart = agent.memory();
    const body = await checkedBody(agent.metricsUrl, file);
    context.log(
      `agent: huge file: promdrop, ${counts.sequential} plain and ${counts.sequential} gzip scrapes, then ${SCRAPERS} scrapers × ${counts.concurrentEach}`,
    );
    const plain = await attempt(async () => latency(await curlScrapes(agent.metricsUrl, counts.sequential, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS })));
    const gzip = await attempt(async () => latency(await curlScrapes(agent.metricsUrl, counts.sequential, { gzip: true, timeoutMs: SCRAPE_TIMEOUT_MS })));
    const memoryAfterScrapes = agent.memory();
    const concurrent = await attempt(async () =>
      latency(await concurrentCurlScrapes(agent.metricsUrl, SCRAPERS, counts.concurrentEach, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS })),
    );
    return {
      figures: { plain, gzip, concurrent, memoryAtStart, memoryAfterScrapes, memoryAtEnd: agent.memory(), readyMs: agent.spawnToReadyMs },
      body,
    };
  } finally {
    await agent.stop();
  }
}

async function measureStatic(context: BenchContext, body: Buffer, counts: Counts): Promise<PeerFigures> {
  context.log('agent: huge file: static server, plain and gzip');
  const server = await startStaticServer(body, { gzipBody: gzipSync(body) });
  try {
    const plain = await attempt(async () => latency(await curlScrapes(server.url, counts.sequential, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS })));
    const gzip = await attempt(async () => latency(await curlScrapes(server.url, counts.sequential, { gzip: true, timeoutMs: SCRAPE_TIMEOUT_MS })));
    const concurrent = await attempt(async () =>
      latency(await concurrentCurlScrapes(server.url, SCRAPERS, counts.concurrentEach, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS })),
    );
    return { plain, gzip, concurrent, memoryAtStart: undefined, memoryAfterScrapes: undefined, memoryAtEnd: undefined, readyMs: undefined };
  } finally {
    await server.stop();
  }
}

/**
 * node_exporter parses the file on every scrape; with 500,000 series each takes seconds, so it
 * gets 3 plain, 2 gzip and one scrape per concurrent scraper, and only if its first scrape
 * says the whole takes about a minute.
 */
async function measureNodeExporter(context: BenchContext, directory: string): Promise<PeerFigures> {
  context.log('agent: huge file: node_exporter (seconds per scrape)');
  const exporter = await startTextfileNodeExporter(directory);
  try {
    const memoryAtStart = exporter.memory();
    const first = await curlScrapes(exporter.url, 1, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS });
    const firstMs = first[0]?.totalMs ?? Number.POSITIVE_INFINITY;
    if (firstMs > NODE_EXPORTER_FIRST_SCRAPE_BUDGET_MS) {
      const skipped = failed<Latency>(`skipped: its first scrape took ${formatMilliseconds(firstMs)}; the rest would take well over a minute`);
      const memory = exporter.memory();
      return {
        plain: succeeded(latency(first)),
        gzip: skipped,
        concurrent: skipped,
        memoryAtStart,
        memoryAfterScrapes: memory,
        memoryAtEnd: memory,
        readyMs: undefined,
      };
    }
    const plain = await attempt(async () => latency([...first, ...(await curlScrapes(exporter.url, 2, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS }))]));
    const gzip = await attempt(async () => latency(await curlScrapes(exporter.url, 2, { gzip: true, timeoutMs: SCRAPE_TIMEOUT_MS })));
    const memoryAfterScrapes = exporter.memory();
    context.log(`agent: huge file: node_exporter, ${SCRAPERS} concurrent scrapes`);
    const concurrent = await attempt(async () =>
      latency(await concurrentCurlScrapes(exporter.url, SCRAPERS, 1, { gzip: false, timeoutMs: SCRAPE_TIMEOUT_MS })),
    );
    return { plain, gzip, concurrent, memoryAtStart, memoryAfterScrapes, memoryAtEnd: exporter.memory(), readyMs: undefined };
  } finally {
    await exporter.stop();
  }
}

function latencyCell(outcome: Outcome<Latency>): string {
  return cell(
    outcome,
    (value) =>
      `${formatMilliseconds(value.medianMs)} (first ${formatMilliseconds(value.firstMs)}, max ${formatMilliseconds(value.maxMs)}; ${value.scrapes} scrapes, ${formatBytes(value.wireBytes)} each)`,
  );
}

function memoryCell(memory: ProcessMemory | undefined): string {
  return memory === undefined ? '—' : formatMegabytes(memory.peakRssBytes);
}

function speedUpCell(ours: Outcome<Latency>, theirs: Outcome<Latency>): string {
  return ours.ok && theirs.ok ? formatRatio(theirs.value.medianMs / ours.value.medianMs) : '—';
}

export async function measureHugeFile(context: BenchContext): Promise<HugeFileReport> {
  const series = context.quick ? 50_000 : 500_000;
  const directory = join(context.workDir, 'huge');
  mkdirSync(directory, { recursive: true });
  context.log(`agent: huge file: generating ${formatCount(series)} series`);
  const file = generateHugeFamilyFile(join(directory, 'big.prom'), series);
  const counts: Counts = { sequential: context.quick ? 3 : 7, concurrentEach: context.quick ? 2 : 5 };

  const promdropRun = await attempt(() => measurePromdrop(context, directory, file, counts));
  const promdrop: Outcome<PeerFigures> = promdropRun.ok ? { ok: true, value: promdropRun.value.figures } : promdropRun;
  const limit: Outcome<PeerFigures> = promdropRun.ok
    ? await attempt(() => measureStatic(context, promdropRun.value.body, counts))
    : failed('promdrop did not serve the file');
  const exporter = await attempt(() => measureNodeExporter(context, directory));

  const column = <T>(outcome: Outcome<PeerFigures>, pick: (figures: PeerFigures) => T, describe: (value: T) => string): string =>
    outcome.ok ? describe(pick(outcome.value)) : `not measured: ${outcome.reason}`;
  const peers = [promdrop, exporter, limit] as const;
  const row = (label: string, describe: (outcome: Outcome<PeerFigures>) => string): string[] => [label, ...peers.map(describe)];
  const table = markdownTable(
    ['measurement', 'promdrop serve', 'node_exporter 1.5.0', "static server (the limit, promdrop's body)"],
    [
      row('scrape, plain: median', (outcome) => column(outcome, (figures) => figures.plain, latencyCell)),
      row('scrape, `Accept-Encoding: gzip`: median', (outcome) => column(outcome, (figures) => figures.gzip, latencyCell)),
      row(`${SCRAPERS} concurrent scrapers, plain: median per scrape`, (outcome) => column(outcome, (figures) => figures.concurrent, latencyCell)),
      row('peak RSS (VmHWM) once started: promdrop with the file loaded, node_exporter after its start-up check (one scrape)', (outcome) =>
        column(outcome, (figures) => figures.memoryAtStart, memoryCell),
      ),
      row('peak RSS after the sequential scrapes', (outcome) => column(outcome, (figures) => figures.memoryAfterScrapes, memoryCell)),
      row(`peak RSS after the ${SCRAPERS} concurrent scrapers`, (outcome) => column(outcome, (figures) => figures.memoryAtEnd, memoryCell)),
      row('RSS at the end (VmRSS)', (outcome) =>
        column(
          outcome,
          (figures) => figures.memoryAtEnd,
          (memory) => (memory === undefined ? '—' : formatMegabytes(memory.rssBytes)),
        ),
      ),
    ],
  );
  const speedUps = markdownTable(
    ['median scrape time', 'plain', 'gzip', `${SCRAPERS} concurrent`],
    [
      [
        "node_exporter's time ÷ promdrop's",
        ...(['plain', 'gzip', 'concurrent'] as const).map((kind) =>
          promdrop.ok && exporter.ok ? speedUpCell(promdrop.value[kind], exporter.value[kind]) : '—',
        ),
      ],
      [
        "promdrop's time ÷ the static server's",
        ...(['plain', 'gzip', 'concurrent'] as const).map((kind) => (promdrop.ok && limit.ok ? speedUpCell(limit.value[kind], promdrop.value[kind]) : '—')),
      ],
    ],
  );
  const loadNote =
    promdrop.ok && promdrop.value.readyMs !== undefined ? ` promdrop was ready ${formatMilliseconds(promdrop.value.readyMs)} after its spawn.` : '';
  const markdown = [
    `**One file of ${formatCount(series)} series** (${formatMegabytes(file.bytes)}, one gauge family, lines like node-exporter-textfile.md §4's). Whole scrapes timed with curl (\`time_total\`, body discarded; gzip bodies timed compressed, as sent), one connection per scraper; promdrop and node_exporter both with their exporter metrics off.${loadNote}`,
    table,
    speedUps,
  ].join('\n\n');
  return { markdown, targets: judge(series, promdrop, exporter) };
}

function judge(series: number, promdrop: Outcome<PeerFigures>, exporter: Outcome<PeerFigures>): TargetResult[] {
  const speed = (kind: 'plain' | 'gzip'): TargetResult => {
    const pair = both(promdrop.ok ? promdrop.value[kind] : promdrop, exporter.ok ? exporter.value[kind] : exporter, 'node_exporter');
    return targetRow(`${formatCount(series)}-series file, ${kind} scrape ≥ ${TARGET_SPEEDUP}× faster than node_exporter`, pair, ([mine, theirs]) => ({
      measured: `${formatRatio(theirs.medianMs / mine.medianMs)} (${formatMilliseconds(mine.medianMs)} vs ${formatMilliseconds(theirs.medianMs)})`,
      pass: theirs.medianMs >= TARGET_SPEEDUP * mine.medianMs,
    }));
  };
  const peak =
    promdrop.ok && promdrop.value.memoryAtEnd !== undefined
      ? succeeded(promdrop.value.memoryAtEnd)
      : failed<ProcessMemory>(promdrop.ok ? '/proc/PID/status was not readable' : promdrop.reason);
  return [
    speed('plain'),
    speed('gzip'),
    targetRow(
      `${formatCount(series)}-series file, agent's peak RSS with ${SCRAPERS} concurrent scrapers ≤ ${formatMegabytes(TARGET_PEAK_RSS_BYTES)}`,
      peak,
      (memory) => ({
        measured: `${formatMegabytes(memory.peakRssBytes)} (VmHWM, load included)`,
        pass: memory.peakRssBytes <= TARGET_PEAK_RSS_BYTES,
      }),
    ),
  ];
}
