// Issue 3, start to ready with 100,000 series: from spawning `promdrop serve` until /-/ready
// answers 200, and until a scrape has returned every series. node_exporter has no readiness
// endpoint and no first scan; its nearest equivalent (spawn until the first scrape returns every
// series) is measured the same way, for scale.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, findProgram, PEERS } from '../../../helpers/peers.js';
import type { BenchContext } from '../../scenario.js';
import { startAgent } from '../../lib/agent.js';
import { hasExited, stopChild } from '../../lib/child.js';
import { formatCount, formatMegabytes, formatMilliseconds } from '../../lib/format.js';
import { generateHugeFamilyFile } from '../../lib/generate.js';
import { httpGet } from '../../lib/http-get.js';
import { markdownTable } from '../../lib/markdown.js';
import { attempt, cell, failed, type Outcome } from '../../lib/outcome.js';
import { maximum, median } from '../../lib/stats.js';
import { countLinesStartingWith } from '../../lib/textfile-sets.js';

const SERIES = 100_000;
const SERIES_PREFIX = 'big_metric{';
const POLL_MS = 5;

interface AgentStart {
  readonly readyMs: number;
  readonly servedMs: number;
  readonly peakRssBytes: number | undefined;
}

interface StartupFigures {
  readonly runs: number;
  readonly readyMs: number;
  readonly servedMs: number;
  readonly peakRssBytes: number | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function scrapeAll(url: string): Promise<boolean> {
  const response = await httpGet(url, { timeoutMs: 60_000 });
  return response.status === 200 && countLinesStartingWith(response.body.toString('utf8'), SERIES_PREFIX) === SERIES;
}

async function startPromdropOnce(context: BenchContext, directory: string): Promise<AgentStart> {
  const agent = await startAgent({ repoRoot: context.repoRoot, directories: [directory], readyTimeoutMs: 60_000 });
  try {
    if (!(await scrapeAll(agent.metricsUrl))) throw new Error(`the first scrape after /-/ready lacked some of the ${formatCount(SERIES)} series`);
    const servedMs = performance.now() - agent.spawnedAt;
    return { readyMs: agent.spawnToReadyMs, servedMs, peakRssBytes: agent.memory()?.peakRssBytes };
  } finally {
    await agent.stop();
  }
}

/** Same flags as the harness's node_exporter peer; spawned here because the start is what is timed. */
async function startNodeExporterOnce(binary: string, directory: string): Promise<AgentStart> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const started = performance.now();
  const child = spawn(
    binary,
    [
      '--collector.disable-defaults',
      '--collector.textfile',
      `--collector.textfile.directory=${directory}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.disable-exporter-metrics',
    ],
    { stdio: 'ignore' },
  );
  try {
    const deadline = started + 60_000;
    for (;;) {
      if (hasExited(child)) throw new Error(`node_exporter exited early (${String(child.exitCode ?? child.signalCode)})`);
      if (performance.now() > deadline) throw new Error('node_exporter served no complete scrape within 60 s');
      if (await scrapeAll(url).catch(() => false)) break;
      await sleep(POLL_MS);
    }
    const servedMs = performance.now() - started;
    return { readyMs: servedMs, servedMs, peakRssBytes: undefined };
  } finally {
    await stopChild(child);
  }
}

function summarise(starts: readonly AgentStart[]): StartupFigures {
  const peaks = starts.flatMap((start) => (start.peakRssBytes === undefined ? [] : [start.peakRssBytes]));
  return {
    runs: starts.length,
    readyMs: median(starts.map((start) => start.readyMs)),
    servedMs: median(starts.map((start) => start.servedMs)),
    peakRssBytes: peaks.length === 0 ? undefined : maximum(peaks),
  };
}

export async function measureStartup(context: BenchContext): Promise<{ markdown: string }> {
  const directory = join(context.workDir, 'startup');
  mkdirSync(directory, { recursive: true });
  const file = generateHugeFamilyFile(join(directory, 'big.prom'), SERIES);
  const runs = context.quick ? Math.min(2, context.iterations) : context.iterations;
  const binary = findProgram(PEERS.nodeExporter);
  const promdropStarts: AgentStart[] = [];
  const exporterStarts: AgentStart[] = [];
  let promdropFailure: string | undefined;
  let exporterFailure: string | undefined = binary === undefined ? `${PEERS.nodeExporter} is not installed` : undefined;
  for (let run = 1; run <= runs; run++) {
    context.log(`agent: start to ready with ${formatCount(SERIES)} series, run ${run}/${runs}`);
    if (promdropFailure === undefined) {
      const start = await attempt(() => startPromdropOnce(context, directory));
      if (start.ok) promdropStarts.push(start.value);
      else promdropFailure = start.reason;
    }
    if (exporterFailure === undefined && binary !== undefined) {
      const start = await attempt(() => startNodeExporterOnce(binary, directory));
      if (start.ok) exporterStarts.push(start.value);
      else exporterFailure = start.reason;
    }
  }
  const promdrop: Outcome<StartupFigures> = promdropFailure === undefined ? { ok: true, value: summarise(promdropStarts) } : failed(promdropFailure);
  const exporter: Outcome<StartupFigures> = exporterFailure === undefined ? { ok: true, value: summarise(exporterStarts) } : failed(exporterFailure);
  const table = markdownTable(
    ['peer', 'runs', 'spawn → /-/ready 200', 'spawn → a scrape with every series', 'peak RSS (VmHWM) once ready'],
    [
      [
        'promdrop serve (defaults)',
        cell(promdrop, (value) => String(value.runs)),
        cell(promdrop, (value) => formatMilliseconds(value.readyMs)),
        cell(promdrop, (value) => formatMilliseconds(value.servedMs)),
        cell(promdrop, (value) => (value.peakRssBytes === undefined ? 'unknown' : formatMegabytes(value.peakRssBytes))),
      ],
      [
        'node_exporter 1.5.0 (no readiness endpoint: first complete scrape)',
        cell(exporter, (value) => String(value.runs)),
        '—',
        cell(exporter, (value) => formatMilliseconds(value.servedMs)),
        '—',
      ],
    ],
  );
  return {
    markdown: [
      `**Start to ready**, one file of ${formatCount(SERIES)} series (${formatMegabytes(file.bytes)}, the 500,000-series file's shape), median of ${runs} starts, polled every ${POLL_MS} ms. No target in the issue; reported for scale.`,
      table,
    ].join('\n\n'),
  };
}
