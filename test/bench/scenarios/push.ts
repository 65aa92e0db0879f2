// Issue 6's benchmark: the push API side by side, in one run, with the Pushgateway (Debian's
// prometheus-pushgateway). Both first get the same 1,000 groups of 100 series each (one job,
// `instance` g0..g999, one family shared by every group, as many instances of one batch job push
// it); then one client pushes a 100-series group (PUT over an existing group, new values) one
// push at a time, as fast as the answers come, for a fixed time: pushes per second and the
// latency of each push (median, p99). promdrop acknowledges a push only after its group's file
// is written and fsync'ed (file and directory); the Pushgateway keeps pushes in memory and
// persists at its --persistence.interval, so its acknowledged pushes are not durable.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario.js';
import { startAgent } from '../lib/agent.js';
import { hasExited, stopChild } from '../lib/child.js';
import { fetchText, httpGet } from '../lib/http-get.js';
import { formatCount, formatMilliseconds, formatRatio } from '../lib/format.js';
import { markdownTable } from '../lib/markdown.js';
import { attempt, cell, targetRow, type Outcome } from '../lib/outcome.js';
import { percentile } from '../lib/percentile.js';

const SERIES_PER_GROUP = 100;

interface Sizes {
  readonly groups: number;
  /** Pushes before the measurement, not counted (JIT, caches, the first scrape's work). */
  readonly warmupSeconds: number;
  readonly seconds: number;
}

function sizes(context: BenchContext): Sizes {
  return context.quick ? { groups: 50, warmupSeconds: 1, seconds: 2 } : { groups: 1_000, warmupSeconds: 5, seconds: 30 };
}

interface PushFigures {
  readonly pushes: number;
  readonly pushesPerSecond: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  /** The peer's own CPU time (user + system) from the first counted push through the scrape
   *  that follows the last one, per counted push; undefined where not measured. */
  readonly cpuMsPerPush?: number;
}

/** The body of one group: SERIES_PER_GROUP gauges of one family, values varying per push. */
function groupBody(round: number): string {
  let body = '# HELP bench_value A pushed value.\n# TYPE bench_value gauge\n';
  for (let i = 0; i < SERIES_PER_GROUP; i++) body += `bench_value{series="s${i}"} ${round * 1000 + i}\n`;
  return body;
}

function put(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'PUT', agent, headers: { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
        response.once('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`PUT ${url}: no answer within 60 s`)));
    req.once('error', reject);
    req.end(body);
  });
}

/** Pushes every group once, a few at a time. */
async function fill(baseUrl: string, groups: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < groups) {
        const group = next++;
        const status = await put(agent, `${baseUrl}/metrics/job/bench/instance/g${group}`, groupBody(0));
        if (status !== 200) throw new Error(`filling group g${group} answered ${status}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    agent.destroy();
  }
}

/** One client, one push at a time, for `seconds` after a warm-up: every push replaces one
 *  stored group. `onWarm` is called when the counted pushes start. */
async function measurePushes(baseUrl: string, groups: number, size: Sizes, onWarm: () => void = () => undefined): Promise<PushFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let latencies: number[] = [];
  try {
    let started = performance.now();
    const warmupEnd = started + size.warmupSeconds * 1000;
    const end = warmupEnd + size.seconds * 1000;
    let warm = false;
    let round = 1;
    while (performance.now() < end) {
      if (!warm && performance.now() >= warmupEnd) {
        warm = true;
        latencies = [];
        onWarm();
        started = performance.now();
      }
      const group = (round * 7919) % groups;
      const body = groupBody(round);
      const before = performance.now();
      const status = await put(agent, `${baseUrl}/metrics/job/bench/instance/g${group}`, body);
      latencies.push(performance.now() - before);
      if (status !== 200) throw new Error(`push ${round} answered ${status}`);
      round++;
    }
    const elapsed = (performance.now() - started) / 1000;
    return { pushes: latencies.length, pushesPerSecond: latencies.length / elapsed, medianMs: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
  } finally {
    agent.destroy();
  }
}

/** Every stored series is served: the groups' bench_value lines. */
async function checkServed(metricsUrl: string, groups: number, label: string): Promise<void> {
  const text = await fetchText(metricsUrl, { timeoutMs: 60_000 });
  const served = text.split('\n').filter((line) => line.startsWith('bench_value{')).length;
  if (served !== groups * SERIES_PER_GROUP) throw new Error(`${label} served ${served} of the ${groups * SERIES_PER_GROUP} pushed series`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startPushgateway(workDir: string): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus-pushgateway',
    [`--web.listen-address=127.0.0.1:${port}`, `--persistence.file=${join(workDir, 'pushgateway.data')}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (hasExited(child)) throw new Error(`prometheus-pushgateway exited early:\n${output}`);
    const ready = await httpGet(`${baseUrl}/-/ready`, { timeoutMs: 5_000 }).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return { baseUrl, stop: () => stopChild(child) };
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`prometheus-pushgateway was not ready within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function measurePromdrop(context: BenchContext, size: Sizes): Promise<PushFigures> {
  const textfiles = join(context.workDir, 'push-textfiles');
  mkdirSync(textfiles, { recursive: true });
  const agent = await startAgent({
    repoRoot: context.repoRoot,
    directories: [textfiles],
    flags: ['--web.enable-push', `--push.directory=${join(context.workDir, 'push-groups')}`, '--web.disable-exporter-metrics'],
  });
  try {
    context.log(`push: filling promdrop with ${formatCount(size.groups)} groups of ${SERIES_PER_GROUP} series`);
    await fill(agent.baseUrl, size.groups);
    await checkServed(agent.metricsUrl, size.groups, 'promdrop');
    context.log(`push: pushing to promdrop for ${size.warmupSeconds} + ${size.seconds} s`);
    let cpuAtWarm: number | undefined;
    const cpuSeconds = (): number | undefined => {
      const cpu = agent.cpu();
      return cpu === undefined ? undefined : cpu.userSeconds + cpu.systemSeconds;
    };
    const figures = await measurePushes(agent.baseUrl, size.groups, size, () => (cpuAtWarm = cpuSeconds()));
    // The scrape after the pushes is where a store that reads what was pushed pays for it.
    await checkServed(agent.metricsUrl, size.groups, 'promdrop');
    const cpuAtEnd = cpuSeconds();
    if (cpuAtWarm === undefined || cpuAtEnd === undefined) return figures;
    return { ...figures, cpuMsPerPush: ((cpuAtEnd - cpuAtWarm) * 1000) / figures.pushes };
  } finally {
    await agent.stop();
  }
}

async function measurePushgateway(context: BenchContext, size: Sizes): Promise<PushFigures> {
  const pushgateway = await startPushgateway(context.workDir);
  try {
    context.log(`push: filling the Pushgateway with ${formatCount(size.groups)} groups of ${SERIES_PER_GROUP} series`);
    await fill(pushgateway.baseUrl, size.groups);
    await checkServed(`${pushgateway.baseUrl}/metrics`, size.groups, 'the Pushgateway');
    context.log(`push: pushing to the Pushgateway for ${size.warmupSeconds} + ${size.seconds} s`);
    const figures = await measurePushes(pushgateway.baseUrl, size.groups, size);
    await checkServed(`${pushgateway.baseUrl}/metrics`, size.groups, 'the Pushgateway');
    return figures;
  } finally {
    await pushgateway.stop();
  }
}

function row(label: string, durable: string, figures: Outcome<PushFigures>): string[] {
  return [
    label,
    durable,
    cell(figures, (f) => formatCount(f.pushes)),
    cell(figures, (f) => f.pushesPerSecond.toFixed(1)),
    cell(figures, (f) => formatMilliseconds(f.medianMs)),
    cell(figures, (f) => formatMilliseconds(f.p99Ms)),
    cell(figures, (f) => (f.cpuMsPerPush === undefined ? '—' : formatMilliseconds(f.cpuMsPerPush))),
  ];
}

export const pushScenario: Scenario = {
  name: 'push',
  title: 'The push API: promdrop vs the Pushgateway (issue 6)',
  issue: 6,
  runByDefault: true,
  requires: [{ program: 'prometheus-pushgateway', debianPackage: 'prometheus-pushgateway' }],
  async run(context: BenchContext): Promise<ScenarioReport> {
    const size = sizes(context);
    const promdrop = await attempt(() => measurePromdrop(context, size));
    const pushgateway = await attempt(() => measurePushgateway(context, size));
    const table = markdownTable(
      ['peer', 'acknowledged push durable', 'pushes', 'pushes/s', 'median latency', 'p99 latency', 'CPU per push'],
      [
        row('promdrop serve --web.enable-push', 'yes (fsync of file and directory)', promdrop),
        row('Pushgateway 1.5.1', 'no (persisted every 5 min)', pushgateway),
      ],
    );
    const both: Outcome<{ promdrop: PushFigures; pushgateway: PushFigures }> =
      promdrop.ok && pushgateway.ok
        ? { ok: true, value: { promdrop: promdrop.value, pushgateway: pushgateway.value } }
        : { ok: false, reason: promdrop.ok ? (pushgateway.ok ? '' : pushgateway.reason) : promdrop.reason };
    const targets = [
      targetRow('pushes/s ≥ 20× the Pushgateway’s', both, ({ promdrop: p, pushgateway: g }) => ({
        measured: `${p.pushesPerSecond.toFixed(1)} vs ${g.pushesPerSecond.toFixed(1)} pushes/s (${formatRatio(p.pushesPerSecond / g.pushesPerSecond)})`,
        pass: p.pushesPerSecond >= 20 * g.pushesPerSecond,
      })),
      targetRow('push p99 ≤ 10 ms', promdrop, (p) => ({ measured: formatMilliseconds(p.p99Ms), pass: p.p99Ms <= 10 })),
    ];
    const notes = [
      `${formatCount(size.groups)} groups of ${SERIES_PER_GROUP} series stored in each peer first (job="bench", instance g0..g${size.groups - 1}, one family shared by every group); then one client PUTs a ${SERIES_PER_GROUP}-series group over a stored one, one push at a time over one kept-alive connection, for ${size.seconds} s per peer after ${size.warmupSeconds} s of uncounted pushes.`,
      "Every peer is checked to serve every pushed series before and after it is measured. promdrop runs with `--web.disable-exporter-metrics`; the Pushgateway with its defaults (consistency check on) and a persistence file in the run's directory.",
      "Each push's latency is from sending the request to the end of the answer, measured by the client.",
      "CPU per push: promdrop's own CPU time (user + system, /proc/<pid>/stat) from the first counted push through the scrape that follows the last, divided by the counted pushes: less disturbed by other load than the wall-clock figures.",
    ];
    return { markdown: [table, notes.map((note) => `- ${note}`).join('\n')].join('\n\n'), targets };
  },
};
