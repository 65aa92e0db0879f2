// `npm run soak -- --minutes N`: the built agent (promdrop serve, from dist/, with the systemd
// unit's Environment=) on 127.0.0.1 over a temporary directory, under the mixed load of
// loads.ts, scraped by two scrapers that check every answer against the ledger (ledger.ts),
// while the agent's memory, descriptors and event-loop delay are sampled. Prints a table, writes
// a JSON summary, and returns the exit status.
//
// Pass: no failed scrape (not 200, or cut short), no incomplete one (a series missing, at a value
// it may not have, or from a file that must be refused), no unexpected CLI failure, the exact
// final state after the load stops (every increment counted), no error logged by the agent, a
// clean exit on SIGTERM, and RSS and open descriptors grown by less than 10% from the end of the
// warm-up (minute 2, or half of a shorter run) to the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseSamples, type Expectation, type ScrapeWindow, type Served } from './ledger.js';
import { defaultLoads, INC_FILE, runPromdrop, type Load, type LoadContext } from './loads.js';
import { unitEnvironment } from '../helpers/systemd-unit.js';
import { anonymousBreakdown, type AnonymousBreakdown } from './smaps.js';

interface Options {
  minutes: number;
  json: string;
  scale: number;
  keep: boolean;
  logLevel: string;
}

const SAMPLE_INTERVAL_MS = 2_000;
const SCRAPE_PAUSE_MS = 100;
const SCRAPE_TIMEOUT_MS = 30_000;
const GROWTH_LIMIT_PERCENT = 10;
const MAX_PROBLEMS_KEPT = 30;
/** Scrapers as Prometheus 3 and as a plain text client scrape. */
const SCRAPERS = [
  {
    name: 'prometheus-like (OpenMetrics, gzip)',
    headers: {
      accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'accept-encoding': 'gzip',
    },
    openMetrics: true,
  },
  { name: 'text 0.0.4, identity', headers: { accept: 'text/plain;version=0.0.4', 'accept-encoding': 'identity' }, openMetrics: false },
] as const;

function parseOptions(argv: readonly string[], repoRoot: string): Options {
  const options: Options = { minutes: 10, json: join(repoRoot, 'build', 'soak-summary.json'), scale: 1, keep: false, logLevel: 'info' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--minutes') options.minutes = Number(value());
    else if (flag === '--json') options.json = value();
    else if (flag === '--scale') options.scale = Number(value());
    else if (flag === '--keep') options.keep = true;
    else if (flag === '--log-level') options.logLevel = value();
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'npm run soak -- [--minutes N (10)] [--scale F (1: ~230 files)] [--json PATH (build/soak-summary.json)] [--keep (the directory and the agent log)] [--log-level debug|info (of the agent)]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${arg}`);
  }
  if (!(options.minutes > 0)) throw new Error('--minutes must be a positive number');
  if (!(options.scale > 0)) throw new Error('--scale must be a positive number');
  return options;
}

interface Agent {
  readonly child: ChildProcess;
  readonly url: string;
  log(): string;
}

async function startAgent(cli: string, dir: string, pushDir: string, logPath: string, logLevel: string, environment: Record<string, string>): Promise<Agent> {
  const args = [
    cli,
    'serve',
    `--textfile.directory=${dir}`,
    '--web.enable-push',
    `--push.directory=${pushDir}`,
    '--web.listen-address=127.0.0.1:0',
    `--log.level=${logLevel}`,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...environment } });
  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the agent exited early:\n${log}`);
    const match = / listen_address=(\S+)/.exec(log);
    if (match !== null) {
      const url = `http://${match[1]!.split(',')[0]}`;
      while (
        !(await fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`the agent was not ready within 30 s:\n${log}`);
        await sleep(50);
      }
      return { child, url, log: () => (writeFileSync(logPath, log), log) };
    }
    if (Date.now() > deadline) throw new Error(`the agent did not log its address within 30 s:\n${log}`);
    await sleep(50);
  }
}

interface Sample {
  readonly t: number;
  readonly rssBytes: number;
  /** RSS split as the kernel counts it: malloc'd and V8 memory vs mapped files (code, libraries). */
  readonly rssAnonBytes: number;
  readonly rssFileBytes: number;
  /** The anonymous part by owner (glibc's heaps or the rest), to trace a step to its cause. */
  readonly anonymous: AnonymousBreakdown;
  readonly fds: number;
  readonly heapUsedBytes: number | undefined;
  readonly heapTotalBytes: number | undefined;
  /** Buffers and other memory V8 tracks outside its heap (snapshot chunks, gzip output). */
  readonly externalBytes: number | undefined;
  readonly eventLoopP99Seconds: number | undefined;
  readonly eventLoopMaxSeconds: number | undefined;
}

function sampleProcess(pid: number, t: number, latest: Served | undefined): Sample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return {
      t,
      rssBytes: kb('VmRSS'),
      rssAnonBytes: kb('RssAnon'),
      rssFileBytes: kb('RssFile'),
      anonymous: anonymousBreakdown(readFileSync(`/proc/${pid}/smaps`, 'utf8')),
      fds,
      heapUsedBytes: latest?.get('nodejs_heap_size_used_bytes'),
      heapTotalBytes: latest?.get('nodejs_heap_size_total_bytes'),
      externalBytes: latest?.get('nodejs_external_memory_bytes'),
      eventLoopP99Seconds: latest?.get('nodejs_eventloop_lag_p99_seconds'),
      eventLoopMaxSeconds: latest?.get('nodejs_eventloop_lag_max_seconds'),
    };
  } catch {
    return undefined;
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Growth {
  readonly atWarmup: number;
  readonly atEnd: number;
  readonly max: number;
  readonly growthPercent: number;
}

/** Median of the samples just after the warm-up against the median of the last ones (GC makes
 *  single RSS samples jump): windows of a minute, or a third of what is left in a short run. */
function growth(samples: readonly Sample[], pick: (s: Sample) => number, warmupS: number, durationS: number): Growth {
  const window = Math.min(60, (durationS - warmupS) / 3);
  const first = samples.filter((s) => s.t >= warmupS && s.t < warmupS + window).map(pick);
  const last = samples.filter((s) => s.t >= durationS - window).map(pick);
  const atWarmup = median(first);
  const atEnd = median(last);
  const after = samples.filter((s) => s.t >= warmupS).map(pick);
  return { atWarmup, atEnd, max: Math.max(...after), growthPercent: ((atEnd - atWarmup) / atWarmup) * 100 };
}

export async function main({ argv, repoRoot }: { argv: string[]; repoRoot: string }): Promise<number> {
  const options = parseOptions(argv, repoRoot);
  const root = mkdtempSync(join(tmpdir(), 'promdrop-soak-'));
  // The build under test, copied: a rebuild during the run (it empties dist/) must not make the
  // CLI fail half-way. bin/promdrop only loads dist/cli.cjs, so this is the installed command.
  cpSync(join(repoRoot, 'dist'), join(root, 'dist'), { recursive: true });
  const cli = join(root, 'dist', 'cli.cjs');
  const dir = join(root, 'textfiles');
  mkdirSync(dir);
  const logPath = join(root, 'agent.log');
  const durationS = options.minutes * 60;
  const warmupS = Math.min(120, durationS / 2);

  const operations = new Map<string, { ok: number; failed: number }>();
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string): void => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS_KEPT) problems.push(text);
  };
  let agentUrl = '';
  const context: LoadContext = {
    dir,
    agentUrl: () => agentUrl,
    promdrop: (args, input) => runPromdrop(cli, dir, args, input),
    record(load, ok, detail) {
      const counts = operations.get(load) ?? { ok: 0, failed: 0 };
      if (ok) counts.ok++;
      else counts.failed++;
      operations.set(load, counts);
      if (!ok) problem(`${load}: ${detail ?? 'failed'}`);
    },
    random: Math.random,
  };

  const loads: Load[] = defaultLoads({ scale: options.scale });
  const expectations: Expectation[] = [];
  for (const load of loads) expectations.push(...(await load.setup(context)));
  const fileCount = readdirSync(dir).filter((name) => name.endsWith('.prom')).length;
  process.stdout.write(
    `soak: ${options.minutes} min, ${loads.length} loads, ${expectations.length} tracked series groups, ${fileCount} files at start, in ${dir}\n`,
  );

  const environment = unitEnvironment(readFileSync(join(repoRoot, 'systemd', 'promdrop.service'), 'utf8'));
  process.stdout.write(
    `soak: the agent runs with the unit's environment: ${
      Object.entries(environment)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(none)'
    }\n`,
  );
  const agent = await startAgent(cli, dir, join(root, 'push'), logPath, options.logLevel, environment);
  agentUrl = agent.url;
  const pid = agent.child.pid!;
  const startedAt = performance.now();
  const endAt = startedAt + durationS * 1000;
  let stopping = false;

  // The load: each Load at its rate, with at most `concurrency` steps in flight.
  const loadRuns = loads.map(async (load) => {
    const inFlight = new Set<Promise<void>>();
    const gap = 1000 / load.ratePerSecond;
    let next = performance.now();
    while (!stopping) {
      if (inFlight.size >= load.concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      const step = load.step(context).catch((error: unknown) => context.record(load.name, false, String(error)));
      const tracked = step.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      // Exponential gaps around the mean rate: bursts and lulls, as real cron jobs make.
      next += -Math.log(1 - Math.random()) * gap;
      await sleep(Math.max(0, next - performance.now()));
    }
    await Promise.all(inFlight);
  });

  // Two scrapers, each checking every answer.
  let latest: Served | undefined;
  const scrapeCounts = SCRAPERS.map(() => ({ total: 0, failed: 0, incomplete: 0 }));
  const scrapeOnce = async (index: number): Promise<Served | undefined> => {
    const scraper = SCRAPERS[index]!;
    const counts = scrapeCounts[index]!;
    counts.total++;
    const marks = expectations.map((expectation) => expectation.mark());
    const window = { startedAt: performance.now(), startedAtWall: Date.now() };
    let body: string;
    let status: number;
    try {
      const response = await fetch(`${agent.url}/metrics`, { headers: scraper.headers, signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      status = response.status;
      body = await response.text();
    } catch (error) {
      counts.failed++;
      problem(`scrape (${scraper.name}) failed: ${String(error)}`);
      return undefined;
    }
    const ended: ScrapeWindow = { ...window, endedAt: performance.now(), endedAtWall: Date.now() };
    if (status !== 200) {
      counts.failed++;
      problem(`scrape (${scraper.name}) answered ${status}: ${body.slice(0, 200)}`);
      return undefined;
    }
    if (scraper.openMetrics ? !body.endsWith('\n# EOF\n') : !body.endsWith('\n')) {
      counts.failed++;
      problem(`scrape (${scraper.name}) cut short: ${body.length} bytes ending ${JSON.stringify(body.slice(-40))}`);
      return undefined;
    }
    const served = parseSamples(body);
    const found: string[] = [];
    expectations.forEach((expectation, i) => {
      const issue = expectation.check(served, marks[i]!, ended, index);
      if (issue !== undefined) found.push(issue);
    });
    if (found.length > 0) {
      counts.incomplete++;
      // The first few bodies, for the post-mortem (kept with the directory on failure).
      if (counts.incomplete <= 3) writeFileSync(join(root, `incomplete-scrape-${index}-${counts.incomplete}.txt`), body);
      problem(
        `scrape (${scraper.name}) at ${((ended.endedAt - startedAt) / 1000).toFixed(1)} s: ${found.slice(0, 3).join('; ')}${found.length > 3 ? ` (+${found.length - 3} more)` : ''}`,
      );
    }
    return served;
  };
  const scraperRuns = SCRAPERS.map(async (_, index) => {
    while (!stopping) {
      const served = await scrapeOnce(index);
      if (served !== undefined) latest = served;
      await sleep(SCRAPE_PAUSE_MS);
    }
  });

  // Resource samples, and progress once a minute.
  const samples: Sample[] = [];
  let lastProgress = 0;
  while (performance.now() < endAt) {
    await sleep(Math.min(SAMPLE_INTERVAL_MS, Math.max(0, endAt - performance.now())));
    const t = (performance.now() - startedAt) / 1000;
    const sample = sampleProcess(pid, t, latest);
    if (sample !== undefined) samples.push(sample);
    else problem(`cannot sample the agent at ${t.toFixed(0)} s: has it exited? ${agent.child.exitCode ?? agent.child.signalCode ?? ''}`);
    if (t - lastProgress >= 60) {
      lastProgress = t;
      const scrapes = scrapeCounts.reduce((sum, c) => sum + c.total, 0);
      const bad = scrapeCounts.reduce((sum, c) => sum + c.failed + c.incomplete, 0);
      process.stdout.write(
        `soak: ${Math.round(t)} s: ${scrapes} scrapes (${bad} bad), RSS ${mb(sample?.rssBytes)} (anon ${mb(sample?.rssAnonBytes)}: brk ${mb(sample?.anonymous.brkHeapBytes)}, arenas ${mb(sample?.anonymous.threadArenaBytes)}, other ${mb(sample?.anonymous.otherAnonymousBytes)}; V8 heap ${mb(sample?.heapTotalBytes)}, external ${mb(sample?.externalBytes)}), ${sample?.fds ?? '?'} fds\n`,
      );
    }
  }

  // Stop the load, let the last writes settle, then the exact final state.
  stopping = true;
  await Promise.all(loadRuns);
  await Promise.all(scraperRuns);
  const finalProblems = await settleAndCheckFinal(agent.url, expectations);
  for (const text of finalProblems) problem(`final: ${text}`);
  const incOnDisk = parseSamples(readFileSync(join(dir, INC_FILE), 'utf8'));
  const increments = operations.get('inc')?.ok ?? 0;
  const incCounted = [...incOnDisk.values()].reduce((sum, v) => sum + v, 0);
  if (incCounted !== increments) problem(`final: ${INC_FILE} on disk counts ${incCounted} increments, ${increments} succeeded`);

  // A clean stop, and nothing logged at error level.
  agent.child.kill('SIGTERM');
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const timer = setTimeout(() => agent.child.kill('SIGKILL'), 10_000);
    agent.child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  if (exit.code !== 0) problem(`the agent exited with ${exit.code ?? exit.signal} on SIGTERM`);
  const errorLines = agent
    .log()
    .split('\n')
    .filter((line) => /level=error|"level":"error"|Unhandled|uncaught/i.test(line));
  for (const line of errorLines.slice(0, 5)) problem(`agent log: ${line}`);

  const rss = growth(samples, (s) => s.rssBytes, warmupS, durationS);
  const fds = growth(samples, (s) => s.fds, warmupS, durationS);
  const heap = growth(
    samples.filter((s) => s.heapUsedBytes !== undefined),
    (s) => s.heapUsedBytes!,
    warmupS,
    durationS,
  );
  const lagP99 = samples.map((s) => s.eventLoopP99Seconds).filter((v): v is number => v !== undefined);
  const lagMax = samples.map((s) => s.eventLoopMaxSeconds).filter((v): v is number => v !== undefined);
  const failedScrapes = scrapeCounts.reduce((sum, c) => sum + c.failed, 0);
  const incompleteScrapes = scrapeCounts.reduce((sum, c) => sum + c.incomplete, 0);
  const cliFailures = [...operations.values()].reduce((sum, c) => sum + c.failed, 0);
  const checks = {
    'no failed scrape': failedScrapes === 0,
    'no incomplete scrape': incompleteScrapes === 0,
    'no failed write': cliFailures === 0,
    'exact final state (no increment lost)': finalProblems.length === 0 && incCounted === increments,
    'clean exit, no error logged': exit.code === 0 && errorLines.length === 0,
    [`RSS growth < ${GROWTH_LIMIT_PERCENT}% after warm-up`]: rss.growthPercent < GROWTH_LIMIT_PERCENT,
    [`open fds growth < ${GROWTH_LIMIT_PERCENT}% after warm-up`]: fds.growthPercent < GROWTH_LIMIT_PERCENT,
  };
  const pass = Object.values(checks).every(Boolean) && problemCount === 0;

  const summary = {
    command: `npm run soak -- ${argv.join(' ')}`.trim(),
    pass,
    startedAt: new Date(Date.now() - (performance.now() - startedAt)).toISOString(),
    minutes: options.minutes,
    warmupSeconds: warmupS,
    machine: { node: process.version, cpus: cpus().length, loadavg1mAtEnd: loadavg()[0] },
    agentEnvironment: environment,
    files: fileCount,
    loads: loads.map((load) => ({
      name: load.name,
      description: load.description,
      ratePerSecond: load.ratePerSecond,
      ...(operations.get(load.name) ?? { ok: 0, failed: 0 }),
    })),
    scrapes: SCRAPERS.map((scraper, i) => ({ scraper: scraper.name, ...scrapeCounts[i]! })),
    increments: { succeeded: increments, finalServedAndOnDisk: incCounted },
    resources: {
      samples: samples.length,
      rssBytes: rss,
      openFds: fds,
      heapUsedBytes: heap,
      rssAnonBytes: growth(samples, (s) => s.rssAnonBytes, warmupS, durationS),
      brkHeapBytes: growth(samples, (s) => s.anonymous.brkHeapBytes, warmupS, durationS),
      threadArenaBytes: growth(samples, (s) => s.anonymous.threadArenaBytes, warmupS, durationS),
      otherAnonymousBytes: growth(samples, (s) => s.anonymous.otherAnonymousBytes, warmupS, durationS),
      externalBytes: growth(
        samples.filter((s) => s.externalBytes !== undefined),
        (s) => s.externalBytes!,
        warmupS,
        durationS,
      ),
      eventLoopLagP99SecondsMax: lagP99.length > 0 ? Math.max(...lagP99) : undefined,
      eventLoopLagP99SecondsMedian: lagP99.length > 0 ? median(lagP99) : undefined,
      eventLoopLagMaxSeconds: lagMax.length > 0 ? Math.max(...lagMax) : undefined,
    },
    checks,
    problems: { count: problemCount, first: problems },
    // Every fifth sample (10 s apart): enough to see where memory goes without a huge file.
    timeline: samples.filter((_, i) => i % 5 === 0),
  };
  mkdirSync(dirname(options.json), { recursive: true });
  writeFileSync(options.json, `${JSON.stringify(summary, null, 2)}\n`);
  printSummary(summary, options.json);
  if (options.keep || !pass) process.stdout.write(`soak: directory and agent log kept in ${root}\n`);
  else rmSync(root, { recursive: true, force: true });
  return pass ? 0 : 1;
}

/** After the load: retries for a bounded time (in-place rewrites settle after 2 s), then the
 *  problems of the last attempt. */
async function settleAndCheckFinal(url: string, expectations: readonly Expectation[]): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  let found: string[];
  for (;;) {
    const response = await fetch(`${url}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } }).catch(() => undefined);
    if (response?.status === 200) {
      const served = parseSamples(await response.text());
      found = expectations.map((e) => e.checkFinal(served)).filter((p): p is string => p !== undefined);
      if (found.length === 0) return [];
    } else {
      found = [`the final scrape answered ${response?.status ?? 'nothing'}`];
    }
    if (Date.now() > deadline) return found;
    await sleep(500);
  }
}

function mb(bytes: number | undefined): string {
  return bytes === undefined || Number.isNaN(bytes) ? '?' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function printSummary(
  summary: {
    pass: boolean;
    minutes: number;
    warmupSeconds: number;
    files: number;
    loads: ReadonlyArray<{ name: string; ok: number; failed: number }>;
    scrapes: ReadonlyArray<{ scraper: string; total: number; failed: number; incomplete: number }>;
    increments: { succeeded: number; finalServedAndOnDisk: number };
    resources: {
      rssBytes: Growth;
      openFds: Growth;
      heapUsedBytes: Growth;
      eventLoopLagP99SecondsMax: number | undefined;
      eventLoopLagMaxSeconds: number | undefined;
    };
    checks: Record<string, boolean>;
    problems: { count: number; first: string[] };
  },
  jsonPath: string,
): void {
  const rows: Array<[string, string]> = [
    ['duration', `${summary.minutes} min (warm-up ${summary.warmupSeconds} s)`],
    ['files', String(summary.files)],
    ...summary.loads.map((load): [string, string] => [`load ${load.name}`, `${load.ok} ok, ${load.failed} failed`]),
    ...summary.scrapes.map((s): [string, string] => [`scrapes ${s.scraper}`, `${s.total} total, ${s.failed} failed, ${s.incomplete} incomplete`]),
    ['increments', `${summary.increments.succeeded} succeeded, ${summary.increments.finalServedAndOnDisk} counted`],
    ['RSS', growthText(summary.resources.rssBytes, mb)],
    ['open fds', growthText(summary.resources.openFds, (v) => String(Math.round(v)))],
    ['heap used', growthText(summary.resources.heapUsedBytes, mb)],
    ['event-loop lag', `p99 at most ${ms(summary.resources.eventLoopLagP99SecondsMax)}, max ${ms(summary.resources.eventLoopLagMaxSeconds)}`],
    ...Object.entries(summary.checks).map(([name, ok]): [string, string] => [`check: ${name}`, ok ? 'ok' : 'FAILED']),
    ['problems', String(summary.problems.count)],
    ['result', summary.pass ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(`\n${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n`);
  for (const text of summary.problems.first) process.stdout.write(`  - ${text}\n`);
  process.stdout.write(`summary written to ${jsonPath}\n`);
}

function growthText(g: Growth, format: (v: number) => string): string {
  return `${format(g.atWarmup)} after warm-up → ${format(g.atEnd)} at the end (${g.growthPercent >= 0 ? '+' : ''}${g.growthPercent.toFixed(1)}%), max ${format(g.max)}`;
}

function ms(seconds: number | undefined): string {
  return seconds === undefined ? '?' : `${(seconds * 1000).toFixed(1)} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
