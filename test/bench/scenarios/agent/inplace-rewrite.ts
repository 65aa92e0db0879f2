// Issue 3, writers that rewrite in place: a 20,000-series file rewritten in a tight loop by a
// child process (open with O_TRUNC, then 64 KiB writes, as node-exporter-textfile.md §1 measured)
// while promdrop and node_exporter, watching the same directory, are each scraped every 0.2 s.
// Each scrape is complete (every series, all from one write), partial, or empty. The same loop
// with temp file + rename() is the control: there, both should be complete and fresh.
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, TargetResult } from '../../scenario.js';
import type { BenchAgent } from '../../lib/agent.js';
import { stopChild } from '../../lib/child.js';
import { formatCount, formatMilliseconds } from '../../lib/format.js';
import { httpGet } from '../../lib/http-get.js';
import { markdownTable } from '../../lib/markdown.js';
import type { BenchNodeExporter } from '../../lib/node-exporter.js';
import { failed, succeeded, targetRow, type Outcome } from '../../lib/outcome.js';

const SERIES = 20_000;
const SCRAPE_INTERVAL_MS = 200;
const SCRAPE_TIMEOUT_MS = 10_000;
const TARGET_COMPLETE_SHARE = 0.95;
const TARGET_PARTIAL_SHARE = 0.01;
const FILE_NAME = 'rewritten.prom';
const SERIES_PREFIX = 'rewrite_series{';

type WriteMode = 'in place' | 'rename';

function fileContent(generation: number): string {
  const lines = ['# HELP rewrite_series A series of a file its writer rewrites in a loop.', '# TYPE rewrite_series gauge'];
  for (let i = 0; i < SERIES; i++) lines.push(`${SERIES_PREFIX}n="${String(i).padStart(5, '0')}"} ${generation}`);
  return `${lines.join('\n')}\n`;
}

// The writer, run with `node -e` (the harness's bundle has no entry point for it): builds the
// next content, then writes it in 64 KiB pieces either straight into the file (O_TRUNC: the
// file is empty, then partial, then whole) or into a temporary name that is renamed over it.
// Generation N's values are all N. It stops at its deadline, between writes, and prints the
// last generation it wrote.
const WRITER_PROGRAM = `
const fs = require('node:fs');
const path = require('node:path');
const [file, seriesText, mode, durationText] = process.argv.slice(1);
const series = Number(seriesText);
const deadline = Date.now() + Number(durationText);
const temporary = path.join(path.dirname(file), '.' + path.basename(file) + '.tmp');
let generation = 0;
while (Date.now() < deadline) {
  generation++;
  const lines = ['# HELP rewrite_series A series of a file its writer rewrites in a loop.', '# TYPE rewrite_series gauge'];
  for (let i = 0; i < series; i++) lines.push('${SERIES_PREFIX}n="' + String(i).padStart(5, '0') + '"} ' + generation);
  const bytes = Buffer.from(lines.join('\\n') + '\\n');
  const fd = fs.openSync(mode === 'rename' ? temporary : file, 'w');
  for (let at = 0; at < bytes.length; at += 65536) fs.writeSync(fd, bytes, at, Math.min(65536, bytes.length - at));
  fs.closeSync(fd);
  if (mode === 'rename') fs.renameSync(temporary, file);
}
process.stdout.write(JSON.stringify({ generations: generation, bytes: fs.statSync(file).size }) + '\\n');
`;

interface Tally {
  scrapes: number;
  complete: number;
  partial: number;
  empty: number;
  /** Empty scrapes whose node_textfile_scrape_error was 0: data lost without a sign. */
  silentEmpty: number;
  failed: number;
  readonly generations: Set<number>;
}

function newTally(): Tally {
  return { scrapes: 0, complete: 0, partial: 0, empty: 0, silentEmpty: 0, failed: 0, generations: new Set() };
}

interface Classified {
  readonly kind: 'complete' | 'partial' | 'empty';
  readonly generation: number | undefined;
  readonly scrapeError: string | undefined;
}

function classify(body: string): Classified {
  let count = 0;
  let generation: string | undefined;
  let mixed = false;
  let scrapeError: string | undefined;
  for (const line of body.split('\n')) {
    if (line.startsWith(SERIES_PREFIX)) {
      count++;
      const value = line.slice(line.lastIndexOf(' ') + 1);
      if (generation === undefined) generation = value;
      else if (value !== generation) mixed = true;
    } else if (line.startsWith('node_textfile_scrape_error ')) {
      scrapeError = line.slice('node_textfile_scrape_error '.length);
    }
  }
  if (count === 0) return { kind: 'empty', generation: undefined, scrapeError };
  if (count === SERIES && !mixed) return { kind: 'complete', generation: Number(generation), scrapeError };
  return { kind: 'partial', generation: undefined, scrapeError };
}

function record(tally: Tally, outcome: Outcome<Classified>): void {
  tally.scrapes++;
  if (!outcome.ok) {
    tally.failed++;
    return;
  }
  const { kind, generation, scrapeError } = outcome.value;
  tally[kind]++;
  if (kind === 'empty' && scrapeError === '0') tally.silentEmpty++;
  if (generation !== undefined) tally.generations.add(generation);
}

async function scrape(url: string): Promise<Outcome<Classified>> {
  try {
    const response = await httpGet(url, { timeoutMs: SCRAPE_TIMEOUT_MS });
    if (response.status !== 200) return failed(`status ${response.status}`);
    return succeeded(classify(response.body.toString('utf8')));
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `url` serves generation `generation` complete; the time it took, or undefined after `limitMs`. */
async function timeUntilServed(url: string, generation: number, limitMs: number): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const outcome = await scrape(url);
    if (outcome.ok && outcome.value.kind === 'complete' && outcome.value.generation === generation) return performance.now() - started;
    await sleep(50);
  }
  return undefined;
}

interface Peer {
  readonly label: string;
  readonly url: string;
}

interface ModeResult {
  readonly mode: WriteMode;
  readonly durationMs: number;
  readonly generationsWritten: number;
  readonly peers: readonly { readonly peer: Peer; readonly tally: Tally; readonly lastWriteServedMs: number | undefined }[];
}

async function runMode(context: BenchContext, directory: string, peers: readonly Peer[], mode: WriteMode, durationMs: number): Promise<ModeResult> {
  const file = join(directory, FILE_NAME);
  // Start from a whole file that every peer serves, written the safe way.
  writeFileSync(join(directory, `.${FILE_NAME}.initial`), fileContent(0));
  renameSync(join(directory, `.${FILE_NAME}.initial`), file);
  for (const peer of peers) {
    if ((await timeUntilServed(peer.url, 0, 15_000)) === undefined) throw new Error(`${peer.label} did not serve the initial file within 15 s`);
  }
  context.log(`agent: rewrite loop (${mode}) for ${durationMs / 1000} s, scraping every ${SCRAPE_INTERVAL_MS} ms`);
  const writer = spawn(process.execPath, ['-e', WRITER_PROGRAM, file, String(SERIES), mode === 'rename' ? 'rename' : 'in-place', String(durationMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let writerOutput = '';
  writer.stdout.on('data', (chunk: Buffer) => (writerOutput += chunk.toString('utf8')));
  writer.stderr.on('data', (chunk: Buffer) => (writerOutput += chunk.toString('utf8')));
  const writerDone = new Promise<number | null>((resolve) => writer.once('exit', (code) => resolve(code)));
  const tallies = peers.map(() => newTally());
  try {
    const started = performance.now();
    for (let tick = 0; performance.now() - started < durationMs; tick++) {
      const next = started + (tick + 1) * SCRAPE_INTERVAL_MS;
      // Every peer is scraped at the same moment: they see the same state of the file.
      const outcomes = await Promise.all(peers.map((peer) => scrape(peer.url)));
      outcomes.forEach((outcome, index) => record(tallies[index] as Tally, outcome));
      await sleep(Math.max(0, next - performance.now()));
    }
    const exitCode = await Promise.race([writerDone, sleep(durationMs + 30_000).then(() => 'timeout' as const)]);
    if (exitCode !== 0) throw new Error(`the writer ended with ${String(exitCode)}: ${writerOutput.slice(0, 500)}`);
  } finally {
    await stopChild(writer, 2_000);
  }
  const { generations } = JSON.parse(writerOutput.trim().split('\n').at(-1) ?? '{}') as { generations?: number };
  if (typeof generations !== 'number') throw new Error(`the writer reported nothing: ${writerOutput.slice(0, 300)}`);
  // After the loop: how long until each peer serves the writer's last write.
  const lastServed = await Promise.all(peers.map((peer) => timeUntilServed(peer.url, generations, 15_000)));
  return {
    mode,
    durationMs,
    generationsWritten: generations,
    peers: peers.map((peer, index) => ({ peer, tally: tallies[index] as Tally, lastWriteServedMs: lastServed[index] })),
  };
}

function share(count: number, total: number): string {
  return total === 0 ? '—' : `${count} (${((count / total) * 100).toFixed(1)}%)`;
}

export interface RewriteReport {
  readonly markdown: string;
  readonly targets: readonly TargetResult[];
}

export async function measureInPlaceRewrite(
  context: BenchContext,
  directory: string,
  promdrop: BenchAgent,
  nodeExporter: Outcome<BenchNodeExporter>,
): Promise<RewriteReport> {
  mkdirSync(directory, { recursive: true });
  const durationMs = context.quick ? 6_000 : 20_000;
  const peers: Peer[] = [{ label: 'promdrop serve', url: promdrop.metricsUrl }];
  if (nodeExporter.ok) peers.push({ label: 'node_exporter 1.5.0', url: nodeExporter.value.url });
  const results: Outcome<ModeResult>[] = [];
  for (const mode of ['in place', 'rename'] as const) {
    try {
      results.push(succeeded(await runMode(context, directory, peers, mode, durationMs)));
    } catch (error) {
      results.push(failed(`${mode}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  const rows: string[][] = [];
  for (const result of results) {
    if (!result.ok) {
      rows.push([`not measured: ${result.reason}`, '', '', '', '', '', '', '', '']);
      continue;
    }
    const { mode, generationsWritten, durationMs: ms } = result.value;
    for (const { peer, tally, lastWriteServedMs } of result.value.peers) {
      rows.push([
        `${mode} (${formatCount(generationsWritten)} rewrites, ${(generationsWritten / (ms / 1000)).toFixed(0)}/s)`,
        peer.label,
        String(tally.scrapes),
        share(tally.complete, tally.scrapes),
        share(tally.partial, tally.scrapes),
        `${share(tally.empty, tally.scrapes)}${tally.empty > 0 ? `, ${tally.silentEmpty} with scrape_error 0` : ''}`,
        String(tally.failed),
        String(tally.generations.size),
        lastWriteServedMs === undefined ? 'not within 15 s' : formatMilliseconds(lastWriteServedMs),
      ]);
    }
  }
  if (!nodeExporter.ok) rows.push(['', `node_exporter: not measured: ${nodeExporter.reason}`, '', '', '', '', '', '', '']);
  const table = markdownTable(
    ['writer', 'peer', 'scrapes', 'complete', 'partial', 'empty', 'failed', 'distinct writes served', 'last write served after the loop'],
    rows,
  );
  const inPlace = results[0];
  const promdropInPlace: Outcome<Tally> =
    inPlace === undefined ? failed('not run') : inPlace.ok ? succeeded(inPlace.value.peers[0]?.tally ?? newTally()) : inPlace;
  return {
    markdown: [
      `**Rewrite loop**: a ${formatCount(SERIES)}-series file (${formatCount(Buffer.byteLength(fileContent(1)))} bytes) rewritten as fast as a child process can for ${durationMs / 1000} s, either in place (\`open(…, 'w')\` then 64 KiB writes) or to a temporary name then rename(); both peers watch the same directory and are scraped together every ${SCRAPE_INTERVAL_MS} ms. Complete: all ${formatCount(SERIES)} series, all from one write; partial: some, or from different writes; empty: none. "Distinct writes served" counts the different complete contents scrapes saw (freshness); "last write served" is how long after the loop ended the writer's last content showed. promdrop runs with its default settle time (\`--textfile.settle 2s\`).`,
      table,
    ].join('\n\n'),
    targets: [
      targetRow(`in-place rewrite: ≥ ${TARGET_COMPLETE_SHARE * 100}% complete scrapes`, promdropInPlace, (tally) => ({
        measured: `${share(tally.complete, tally.scrapes)} of ${tally.scrapes}`,
        pass: tally.scrapes > 0 && tally.complete >= TARGET_COMPLETE_SHARE * tally.scrapes,
      })),
      targetRow(`in-place rewrite: ≤ ${TARGET_PARTIAL_SHARE * 100}% partial scrapes`, promdropInPlace, (tally) => ({
        measured: `${share(tally.partial, tally.scrapes)} of ${tally.scrapes}`,
        pass: tally.scrapes > 0 && tally.partial <= TARGET_PARTIAL_SHARE * tally.scrapes,
      })),
    ],
  };
}
