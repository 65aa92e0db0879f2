// Issue 3, scrapes of 1,000 small files: wrk against promdrop, node_exporter and the bare static
// server (the limit), all serving the same directory in the same run. Every peer is checked to
// serve all of the files' series before it is loaded, and the rounds interleave the peers so
// that a change in the machine's load during the run hits them alike.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BenchContext, TargetResult } from '../../scenario.js';
import type { BenchAgent } from '../../lib/agent.js';
import { formatCount, formatMegabytes, formatMilliseconds, formatRatio } from '../../lib/format.js';
import { formatBytes } from '../../lib/format-size.js';
import { httpGet } from '../../lib/http-get.js';
import { markdownTable } from '../../lib/markdown.js';
import type { BenchNodeExporter } from '../../lib/node-exporter.js';
import { attempt, both, cell, failed, succeeded, targetRow, type Outcome } from '../../lib/outcome.js';
import { startStaticServer } from '../../lib/static-server.js';
import { median } from '../../lib/stats.js';
import { countJobSeries, type TextfileSet } from '../../lib/textfile-sets.js';
import { runWrk, type WrkResult } from '../../lib/wrk.js';

const CONNECTIONS = 4;
const TARGET_VS_NODE_EXPORTER = 100;
const TARGET_VS_STATIC = 2;

export interface ThroughputPeers {
  /** promdrop serve --web.disable-exporter-metrics: the configuration compared with node_exporter. */
  readonly promdrop: BenchAgent;
  /** promdrop serve with its own metrics on (the default). */
  readonly promdropWithExporterMetrics: BenchAgent;
  readonly nodeExporter: Outcome<BenchNodeExporter>;
}

interface LoadTarget {
  readonly label: string;
  readonly url: string;
  readonly gzip: boolean;
  /** The body the peer answers with (decompressed), checked before the load starts. */
  readonly check: Outcome<{ readonly bodyBytes: number; readonly wireBytes: number }>;
}

interface LoadFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly rounds: readonly number[];
}

interface Row {
  readonly target: LoadTarget;
  readonly figures: Outcome<LoadFigures>;
}

export interface ThroughputReport {
  readonly markdown: string;
  readonly targets: readonly TargetResult[];
}

const GZIP_HEADERS = { 'Accept-Encoding': 'gzip' };

/** Fetches the peer's answer once and checks that it serves every series of the files. */
async function checkPeer(url: string, gzip: boolean, set: TextfileSet): Promise<{ bodyBytes: number; wireBytes: number }> {
  const response = await httpGet(url, { timeoutMs: 30_000, ...(gzip ? { headers: GZIP_HEADERS } : {}) });
  if (response.status !== 200) throw new Error(`answered ${response.status}`);
  const compressed = response.headers['content-encoding'] === 'gzip';
  if (gzip !== compressed) throw new Error(gzip ? 'did not compress when asked to' : 'compressed unasked');
  const body = compressed ? gunzipSync(response.body) : response.body;
  const series = countJobSeries(body.toString('utf8'));
  if (series !== set.series) throw new Error(`served ${formatCount(series)} of the files' ${formatCount(set.series)} series`);
  return { bodyBytes: body.length, wireBytes: response.body.length };
}

function errorCount(result: WrkResult): number {
  return Object.values(result.errors).reduce((sum, count) => sum + count, 0);
}

class LoadSeries {
  private readonly results: WrkResult[] = [];
  private failure: string | undefined;

  constructor(readonly target: LoadTarget) {
    if (!target.check.ok) this.failure = target.check.reason;
  }

  async sample(context: BenchContext, durationSeconds: number): Promise<void> {
    if (this.failure !== undefined) return;
    try {
      this.results.push(
        await runWrk({
          url: this.target.url,
          connections: CONNECTIONS,
          durationSeconds,
          scratchDir: context.workDir,
          ...(this.target.gzip ? { headers: GZIP_HEADERS } : {}),
        }),
      );
    } catch (error) {
      this.failure = error instanceof Error ? error.message : String(error);
    }
  }

  figures(): Outcome<LoadFigures> {
    if (this.failure !== undefined) return failed(this.failure);
    const rates = this.results.map((result) => result.requestsPerSecond);
    return succeeded({
      requestsPerSecond: median(rates),
      p50Ms: median(this.results.map((result) => result.latencyMs.p50)),
      p99Ms: median(this.results.map((result) => result.latencyMs.p99)),
      errors: this.results.reduce((sum, result) => sum + errorCount(result), 0),
      rounds: rates,
    });
  }
}

async function loadTarget(label: string, url: string, gzip: boolean, set: TextfileSet): Promise<LoadTarget> {
  return { label, url, gzip, check: await attempt(() => checkPeer(url, gzip, set)) };
}

export async function measureThroughput(context: BenchContext, set: TextfileSet, peers: ThroughputPeers): Promise<ThroughputReport> {
  const rounds = context.quick ? 1 : 3;
  const durationSeconds = context.quick ? 2 : 4;
  // The limit serves promdrop's own answer (the same bytes, compressed the same way by zlib).
  const promdropBody = (await httpGet(peers.promdrop.metricsUrl, { timeoutMs: 30_000 })).body;
  const staticServer = await startStaticServer(promdropBody, { gzipBody: gzipSync(promdropBody) });
  try {
    const targets: LoadTarget[] = [
      await loadTarget('promdrop, `--web.disable-exporter-metrics`', peers.promdrop.metricsUrl, false, set),
      await loadTarget('promdrop, its own metrics on (default)', peers.promdropWithExporterMetrics.metricsUrl, false, set),
      await loadTarget('static server (the limit), same body as promdrop', staticServer.url, false, set),
      peers.nodeExporter.ok
        ? await loadTarget('node_exporter 1.5.0, textfile collector only', peers.nodeExporter.value.url, false, set)
        : { label: 'node_exporter', url: '', gzip: false, check: failed(peers.nodeExporter.reason) },
      await loadTarget('promdrop, `--web.disable-exporter-metrics`, gzip', peers.promdrop.metricsUrl, true, set),
      await loadTarget('static server, gzip', staticServer.url, true, set),
    ];
    const series = targets.map((target) => new LoadSeries(target));
    for (let round = 1; round <= rounds; round++) {
      context.log(`agent: throughput round ${round}/${rounds}: wrk, ${CONNECTIONS} connections, ${durationSeconds} s per peer`);
      // Rotate the order, so that no peer always runs first, or right after node_exporter.
      for (let step = 0; step < series.length; step++) await series[(step + round) % series.length]?.sample(context, durationSeconds);
    }
    const rows: Row[] = series.map((load) => ({ target: load.target, figures: load.figures() }));
    return { markdown: report(rows, set, rounds, durationSeconds), targets: judge(rows) };
  } finally {
    await staticServer.stop();
  }
}

function report(rows: readonly Row[], set: TextfileSet, rounds: number, durationSeconds: number): string {
  const table = markdownTable(
    ['peer', 'scrapes/s', 'latency p50', 'latency p99', 'body (on the wire)', 'errors', 'scrapes/s per round'],
    rows.map(({ target, figures }) => [
      target.label,
      cell(figures, (value) => value.requestsPerSecond.toFixed(0)),
      cell(figures, (value) => formatMilliseconds(value.p50Ms)),
      cell(figures, (value) => formatMilliseconds(value.p99Ms)),
      cell(target.check, (value) =>
        value.wireBytes === value.bodyBytes ? formatBytes(value.bodyBytes) : `${formatBytes(value.bodyBytes)} (${formatBytes(value.wireBytes)})`,
      ),
      cell(figures, (value) => String(value.errors)),
      cell(figures, (value) => value.rounds.map((rate) => rate.toFixed(0)).join(', ')),
    ]),
  );
  return [
    `**${formatCount(set.files)} files × 6 series** (${formatCount(set.series)} series, ${formatMegabytes(set.bytes)} of files): wrk, ${CONNECTIONS} connections, 127.0.0.1, ${rounds} round${rounds === 1 ? '' : 's'} of ${durationSeconds} s per peer in rotating order; the median of the rounds is shown (latency: the median of each round's p50 and p99).`,
    table,
    exporterMetricsNote(rows),
  ].join('\n\n');
}

/** The issue asks for one row with the agent's own metrics on; this says how close it stays. */
function exporterMetricsNote(rows: readonly Row[]): string {
  const off = rows.find(({ target }) => target.label.startsWith('promdrop, `--web') && !target.gzip)?.figures;
  const on = rows.find(({ target }) => target.label.startsWith('promdrop, its own'))?.figures;
  if (off === undefined || on === undefined || !off.ok || !on.ok) return 'With its own metrics on: not comparable (a row is missing).';
  const share = on.value.requestsPerSecond / off.value.requestsPerSecond;
  return `With its own metrics on (process and Node.js metrics, cached for a second; scrape counters per scrape), promdrop answers ${(share * 100).toFixed(0)}% of the scrapes/s it answers with them off.`;
}

function judge(rows: readonly Row[]): TargetResult[] {
  const find = (prefix: string): Outcome<LoadFigures> => {
    const row = rows.find(({ target }) => target.label.startsWith(prefix) && !target.gzip);
    return row === undefined ? failed(`no row ${prefix}`) : row.figures;
  };
  const promdrop = find('promdrop, `--web');
  const nodeExporter = find('node_exporter');
  const limit = find('static server');
  const versus = (ours: Outcome<LoadFigures>, theirs: Outcome<LoadFigures>, name: string) => both(ours, theirs, name);
  return [
    targetRow(
      `1,000 files: promdrop ≥ ${TARGET_VS_NODE_EXPORTER}× node_exporter's scrapes/s`,
      versus(promdrop, nodeExporter, 'node_exporter'),
      ([mine, theirs]) => ({
        measured: `${formatRatio(mine.requestsPerSecond / theirs.requestsPerSecond)} (${mine.requestsPerSecond.toFixed(0)} vs ${theirs.requestsPerSecond.toFixed(0)}/s)`,
        pass: mine.requestsPerSecond >= TARGET_VS_NODE_EXPORTER * theirs.requestsPerSecond,
      }),
    ),
    targetRow(
      `1,000 files: promdrop within ${TARGET_VS_STATIC}× of the static server's scrapes/s`,
      versus(promdrop, limit, 'static server'),
      ([mine, theirs]) => ({
        measured: `${formatRatio(theirs.requestsPerSecond / mine.requestsPerSecond)} slower (${mine.requestsPerSecond.toFixed(0)} vs ${theirs.requestsPerSecond.toFixed(0)}/s)`,
        pass: mine.requestsPerSecond * TARGET_VS_STATIC >= theirs.requestsPerSecond,
      }),
    ),
  ];
}
