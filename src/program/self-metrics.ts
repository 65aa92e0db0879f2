// The agent's metrics about itself, in a prom-client Registry of their own so that nothing a
// library registers globally can leak into /metrics. They change on every scrape (process CPU,
// scrape counters), so unlike the textfile snapshot they are rendered per scrape; they are a few
// kilobytes, which keeps that cheap. With --web.disable-exporter-metrics only the constant
// build-info gauge is left (node_exporter keeps its build info too), rendered once.
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { parseExposition } from '../core/parse.js';
import { renderOpenMetricsBytes } from '../core/render.js';
import type { FileState } from '../agent/store.js';
import type { SelfMetricsSource } from '../http/metrics-route.js';
import type { ExpositionFormat } from '../http/negotiate.js';
import { PUSH_REJECT_REASONS, type PushCounters, type PushRejectReason } from '../http/push-routes.js';
import type { Snapshot } from '../http/snapshot-source.js';

export interface SelfMetricsOptions {
  readonly version: string;
  /** False with --web.disable-exporter-metrics: process, Node.js and scrape metrics are left out. */
  readonly exporterMetrics: boolean;
  /** --web.enable-push: count pushes, accepted and rejected by reason. */
  readonly push?: boolean;
}

/** Every state a file can be in, so that `promdrop_files{state}` always has all of them. */
const FILE_STATES: readonly FileState[] = ['ok', 'invalid', 'expired', 'conflict', 'stale_grace'];

const OPENMETRICS_EOF = '# EOF\n';

/** Process and Node.js metrics are read from /proc and the runtime, about a millisecond per
 *  collection: at most once per this interval, so that scrape throughput does not hinge on it. */
const PROCESS_METRICS_MAX_AGE_MS = 1_000;
/** Resolution of the nodejs_eventloop_lag_* metrics. */
const EVENT_LOOP_SAMPLE_MS = 100;
/** The nodejs_eventloop_lag_* gauges that are a delay (the standard deviation is a spread). */
const EVENT_LOOP_DELAY_GAUGES = ['min', 'max', 'mean', 'p50', 'p90', 'p99'].map((stat) => `nodejs_eventloop_lag_${stat}_seconds`);

export class SelfMetrics implements SelfMetricsSource, PushCounters {
  private readonly registry = new Registry();
  /** collectDefaultMetrics' process_* and nodejs_* metrics, in a registry of their own so their
   *  text can be cached while the scrape counters stay exact. */
  private readonly processRegistry = new Registry();
  /** The process metrics' fragment in each format, made at most once per maximum age: parsing
   *  and rendering them was most of a scrape's CPU time when done per scrape. */
  private processFragments: { readonly atMs: number; readonly fragments: Promise<Record<ExpositionFormat, Buffer>> } | undefined;
  private readonly exporterMetrics: boolean;
  private readonly scrapes: Counter<'format' | 'encoding'> | undefined;
  private readonly scrapeDuration: Histogram | undefined;
  private readonly inFlight: Gauge | undefined;
  private readonly rejected: Counter | undefined;
  private readonly files: Gauge<'state'> | undefined;
  private readonly servedSeries: Gauge | undefined;
  private readonly generation: Gauge | undefined;
  private readonly pushes: Counter<'method'> | undefined;
  private readonly pushRejections: Counter<'reason'> | undefined;
  /** The snapshot the file gauges were last set from: counting files once per snapshot, not per
   *  scrape, keeps a scrape's cost independent of the number of files. */
  private countedSnapshot: Snapshot | undefined;
  private constantCache: Record<ExpositionFormat, Buffer> | undefined;

  constructor(options: SelfMetricsOptions) {
    this.exporterMetrics = options.exporterMetrics;
    const buildInfo = new Gauge({
      name: 'promdrop_build_info',
      help: "A metric with a constant '1' value labeled by version, node_version, platform and arch from which promdrop was built.",
      labelNames: ['version', 'node_version', 'platform', 'arch'],
      registers: [this.registry],
    });
    buildInfo.set({ version: options.version, node_version: process.version, platform: process.platform, arch: process.arch }, 1);
    if (!options.exporterMetrics) return;

    // prom-client samples event-loop delay with a 10 ms timer by default: 100 wake-ups a second
    // of an otherwise idle agent on every host. A 100 ms timer still catches any block that
    // matters to a scrape (they are measured in the scrape duration histogram as well).
    collectDefaultMetrics({ register: this.processRegistry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    leaveOutSamplingInterval(this.processRegistry, EVENT_LOOP_SAMPLE_MS / 1000);
    this.scrapes = new Counter({
      name: 'promdrop_scrapes_total',
      help: 'Scrapes of the metrics endpoint answered, by exposition format and content encoding.',
      labelNames: ['format', 'encoding'],
      registers: [this.registry],
    });
    for (const format of ['text', 'openmetrics']) {
      for (const encoding of ['identity', 'gzip']) this.scrapes.inc({ format, encoding }, 0);
    }
    this.scrapeDuration = new Histogram({
      name: 'promdrop_scrape_duration_seconds',
      help: 'Time from receiving a scrape of the metrics endpoint to handing the last byte of the answer to the kernel.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.inFlight = new Gauge({
      name: 'promdrop_scrapes_in_flight',
      help: 'Scrapes of the metrics endpoint being answered right now, this one included.',
      registers: [this.registry],
    });
    this.rejected = new Counter({
      name: 'promdrop_scrapes_rejected_total',
      help: 'Scrapes answered with 503 because --web.max-requests scrapes were already in flight.',
      registers: [this.registry],
    });
    this.files = new Gauge({
      name: 'promdrop_files',
      help: 'Textfiles (*.prom entries) in the watched directories, by state (ok, invalid, expired, conflict, stale_grace).',
      labelNames: ['state'],
      registers: [this.registry],
    });
    this.servedSeries = new Gauge({
      name: 'promdrop_served_series',
      help: 'Series read from textfiles that the metrics endpoint serves.',
      registers: [this.registry],
    });
    this.generation = new Gauge({
      name: 'promdrop_snapshot_generation',
      help: 'Generation of the served snapshot; it grows by one each time the served content changes.',
      registers: [this.registry],
    });
    if (options.push !== true) return;
    this.pushes = new Counter({
      name: 'promdrop_pushes_total',
      help: 'Pushes (PUT, POST) and deletes (DELETE) of pushed groups acknowledged, by HTTP method.',
      labelNames: ['method'],
      registers: [this.registry],
    });
    for (const method of ['PUT', 'POST', 'DELETE']) this.pushes.inc({ method }, 0);
    this.pushRejections = new Counter({
      name: 'promdrop_push_rejected_total',
      help: 'Requests to the push API refused, by reason (forbidden, grouping_key, too_large, timeout, parse, timestamp, invalid, inconsistent, too_many_groups, write_failed).',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    for (const reason of PUSH_REJECT_REASONS) this.pushRejections.inc({ reason }, 0);
  }

  pushAccepted(method: 'PUT' | 'POST' | 'DELETE'): void {
    this.pushes?.inc({ method });
  }

  pushRejected(reason: PushRejectReason): void {
    this.pushRejections?.inc({ reason });
  }

  /** Metric and sample names this registry can emit, which textfiles must therefore not define. */
  reservedNames(): ReadonlySet<string> {
    const names = new Set<string>();
    // From the registered metrics rather than their output: a histogram with labels has no
    // samples before its first observation, but its names are taken all the same.
    for (const metric of [...this.registry.getMetricsAsArray(), ...this.processRegistry.getMetricsAsArray()]) {
      names.add(metric.name);
      if (metric instanceof Histogram) for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      if (metric instanceof Summary) for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
    }
    return names;
  }

  async render(format: ExpositionFormat, snapshot: Snapshot): Promise<Buffer> {
    if (!this.exporterMetrics) return (await this.constantFragments())[format];
    this.countFiles(snapshot);
    const [processFragment, ownFragment] = await Promise.all([this.processMetrics(format), this.registry.metrics().then((text) => fragment(text, format))]);
    // The agent's own promdrop_* families before the generic process_* and nodejs_* ones.
    return Buffer.concat([ownFragment, processFragment]);
  }

  scrapeStarted(): void {
    this.inFlight?.inc();
  }

  scrapeFinished(format: ExpositionFormat, gzip: boolean, durationSeconds: number): void {
    this.inFlight?.dec();
    this.scrapes?.inc({ format, encoding: gzip ? 'gzip' : 'identity' });
    this.scrapeDuration?.observe(durationSeconds);
  }

  scrapeRejected(): void {
    this.rejected?.inc();
  }

  /** Only build info is left without exporter metrics: render it once, in both formats. */
  private async constantFragments(): Promise<Record<ExpositionFormat, Buffer>> {
    this.constantCache ??= await bothFragments(await this.registry.metrics());
    return this.constantCache;
  }

  /** The process metrics' fragment, collected again once it is older than the maximum age. */
  private async processMetrics(format: ExpositionFormat): Promise<Buffer> {
    const now = Date.now();
    if (this.processFragments === undefined || now - this.processFragments.atMs >= PROCESS_METRICS_MAX_AGE_MS) {
      this.processFragments = { atMs: now, fragments: this.processRegistry.metrics().then(bothFragments) };
    }
    return (await this.processFragments.fragments)[format];
  }

  private countFiles(snapshot: Snapshot): void {
    if (this.countedSnapshot === snapshot || this.files === undefined) return;
    this.countedSnapshot = snapshot;
    const counts = new Map<FileState, number>(FILE_STATES.map((state) => [state, 0]));
    let series = 0;
    for (const file of snapshot.files) {
      counts.set(file.state, (counts.get(file.state) ?? 0) + 1);
      if (file.served) series += file.series;
    }
    for (const [state, count] of counts) this.files.set({ state }, count);
    this.servedSeries?.set(series);
    this.generation?.set(snapshot.generation);
  }
}

/**
 * Node's event-loop histogram records the whole time between two wake-ups of its timer, the
 * timer's own interval included (prom-client issue #370): at a 100 ms resolution an idle agent
 * would report a delay of 0.1 s, and an alert on it would fire on every host. The interval is
 * taken off, so that the gauges read the delay itself: about 0 when the loop is free.
 */
function leaveOutSamplingInterval(registry: Registry, intervalSeconds: number): void {
  for (const name of EVENT_LOOP_DELAY_GAUGES) {
    const gauge = registry.getSingleMetric(name);
    if (!(gauge instanceof Gauge)) continue;
    const collected = gauge.get.bind(gauge);
    gauge.get = async () => {
      const metric = await collected();
      return { ...metric, values: metric.values.map((sample) => ({ ...sample, value: Math.max(0, sample.value - intervalSeconds) })) };
    };
  }
}

async function bothFragments(text: string): Promise<Record<ExpositionFormat, Buffer>> {
  return { text: fragment(text, 'text'), openmetrics: fragment(text, 'openmetrics') };
}

/**
 * prom-client's text is text format 0.0.4 already and is served as it is (parsing and rendering
 * it again cost more than the rest of a scrape). It renders one format per registry, and renames
 * counters in place when asked for OpenMetrics, so OpenMetrics is made by the core from the
 * text, with the renderer the textfiles go through, less its `# EOF`: the snapshot's body, which
 * follows, ends with it.
 */
function fragment(text: string, format: ExpositionFormat): Buffer {
  // prom-client separates families with a blank line; an exposition read as one list (and
  // node_exporter's output) has none.
  if (format === 'text') return Buffer.from(text.replace(/\n\n+/g, '\n'), 'utf8');
  const parsed = parseExposition(Buffer.from(text, 'utf8'));
  // Should a future prom-client write something the core rejects, that scrape goes without
  // self metrics rather than with a broken exposition.
  if (!parsed.ok) return Buffer.alloc(0);
  const rendered = renderOpenMetricsBytes(parsed.families);
  const eofAt = rendered.length - OPENMETRICS_EOF.length;
  return rendered.toString('latin1', eofAt) === OPENMETRICS_EOF ? rendered.subarray(0, eofAt) : rendered;
}
