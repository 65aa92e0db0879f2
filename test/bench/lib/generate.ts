// Deterministic generators of large exposition files for the benchmarks. Files are written in
// ~1 MB chunks so that generating 50 MB does not itself hold 50 MB of strings, and the same
// arguments always give the same bytes (the mixed file draws from a seeded PRNG).
import { closeSync, openSync, writeSync } from 'node:fs';

export interface GeneratedFile {
  readonly path: string;
  readonly bytes: number;
  /** MetricFamily count the core must report for this file. */
  readonly families: number;
  /** Metric count (a histogram or summary with one label set is one metric). */
  readonly metrics: number;
  /** Sample lines (every bucket, quantile, _sum and _count line counts). */
  readonly samples: number;
}

class ChunkedFileWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private pendingLength = 0;
  bytesWritten = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.parts.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= 1 << 20) this.flush();
  }

  /** Bytes written so far, including what is still buffered (exact for ASCII, close otherwise). */
  approximateSize(): number {
    return this.bytesWritten + this.pendingLength;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    writeSync(this.fd, chunk);
    this.bytesWritten += chunk.length;
    this.parts = [];
    this.pendingLength = 0;
  }
}

/**
 * One family of `series` gauges shaped like the file node_exporter was measured with
 * (node-exporter-textfile.md §4): 500,000 series make about 49 MB.
 */
export function generateHugeFamilyFile(path: string, series: number): GeneratedFile {
  const writer = new ChunkedFileWriter(path);
  writer.write('# HELP big_metric A metric with many series, like a batch job reporting one series per item.\n');
  writer.write('# TYPE big_metric gauge\n');
  for (let i = 1; i <= series; i++) {
    const n = String(i).padStart(6, '0');
    writer.write(`big_metric{instance="host-${n}",job="batch-job-name",path="/var/lib/some/long/path/${n}"} 1.5\n`);
  }
  writer.close();
  return { path, bytes: writer.bytesWritten, families: 1, metrics: series, samples: series };
}

/** mulberry32: small, fast, and good enough to make varied but reproducible files. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function escapeHelp(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

const WORDS = ['http', 'rpc', 'disk', 'queue', 'cache', 'backup', 'sync', 'import', 'export', 'index', 'mail', 'dns'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const CODES = ['200', '201', '204', '301', '400', '404', '500', '503'];
const DEVICES = ['sda', 'sdb', 'nvme0n1', 'dm-0', 'md127'];
/** Raw label values that need escaping, or are not ASCII, in the file. */
const AWKWARD_VALUES = ['C:\\Program Files\\app', 'say "hi"', 'line one\nline two', 'café', 'µs → ms', '{a="b"}, #x', 'tab\there'];
const HISTOGRAM_BOUNDS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10'];
const QUANTILES = ['0.5', '0.9', '0.99'];

type LabelName = 'instance' | 'method' | 'code' | 'handler' | 'path' | 'device' | 'region';
const LABEL_NAMES: readonly LabelName[] = ['instance', 'method', 'code', 'handler', 'path', 'device', 'region'];

/**
 * About `targetBytes` of varied, valid, lint-clean-ish exposition: gauges, counters, histograms,
 * summaries and untyped families without metadata; label values with escapes and UTF-8; HELP
 * with escapes; values as integers, decimals, exponents, NaN and ±Inf; comment lines.
 */
export function generateMixedFile(path: string, targetBytes: number, seed: number): GeneratedFile {
  const random = seededRandom(seed);
  const below = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[below(items.length)] as T;

  const labelValue = (name: LabelName, series: number): string => {
    if (random() < 0.02) return pick(AWKWARD_VALUES);
    switch (name) {
      case 'instance':
        return `host-${below(5000)}.example.org:9100`;
      case 'method':
        return pick(METHODS);
      case 'code':
        return pick(CODES);
      case 'handler':
        return `/api/v1/${pick(WORDS)}/${series % 97}`;
      case 'path':
        return `/srv/data/${pick(WORDS)}/${below(100000)}.dat`;
      case 'device':
        return pick(DEVICES);
      case 'region':
        return `eu-west-${below(4)}`;
    }
  };
  const gaugeValue = (): string => {
    const roll = random();
    if (roll < 0.3) return String(below(100000));
    if (roll < 0.6) return (random() * 1000 - 500).toFixed(3);
    if (roll < 0.9) return `${(random() * 9 + 1).toFixed(4)}e${random() < 0.5 ? '+' : '-'}${String(below(20)).padStart(2, '0')}`;
    if (roll < 0.96) return 'NaN';
    return random() < 0.5 ? '+Inf' : '-Inf';
  };
  const counterValue = (): string => {
    const roll = random();
    if (roll < 0.6) return String(below(10_000_000));
    if (roll < 0.85) return (random() * 1e6).toFixed(2);
    return `${(random() * 9 + 1).toFixed(6)}e+${String(6 + below(10)).padStart(2, '0')}`;
  };

  const writer = new ChunkedFileWriter(path);
  let families = 0;
  let metrics = 0;
  let samples = 0;
  for (let index = 0; writer.approximateSize() < targetBytes; index++) {
    const word = pick(WORDS);
    const roll = random();
    const kind = roll < 0.35 ? 'gauge' : roll < 0.7 ? 'counter' : roll < 0.85 ? 'histogram' : roll < 0.9 ? 'summary' : 'untyped';
    const name =
      kind === 'gauge'
        ? `app_${word}_${index}_bytes`
        : kind === 'counter'
          ? `app_${word}_${index}_total`
          : kind === 'untyped'
            ? `legacy_${word}_${index}`
            : `app_${word}_${index}_duration_seconds`;
    if (kind !== 'untyped') {
      let help = `${kind} of the ${word} subsystem, number ${index}.`;
      if (random() < 0.05) help += ' Path like C:\\temp\nsecond line.';
      if (random() < 0.05) help += ' Unicode: ±5 µs.';
      writer.write(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${kind}\n`);
    }
    if (random() < 0.03) writer.write(`# generated by the promdrop benchmark, family ${index}\n`);
    const labelNames = LABEL_NAMES.filter(() => random() < 0.4);
    const seriesCount = 1 + Math.floor(random() * random() * (kind === 'histogram' || kind === 'summary' ? 40 : 250));
    for (let series = 0; series < seriesCount; series++) {
      // `shard` keeps label sets unique however the other values fall.
      const labels = [...labelNames.map((label) => `${label}="${escapeLabelValue(labelValue(label, series))}"`), `shard="${series}"`];
      const labelText = labels.join(',');
      if (kind === 'histogram') {
        let cumulative = 0;
        for (const bound of HISTOGRAM_BOUNDS) {
          cumulative += below(1000);
          writer.write(`${name}_bucket{${labelText},le="${bound}"} ${cumulative}\n`);
        }
        cumulative += below(10);
        writer.write(`${name}_bucket{${labelText},le="+Inf"} ${cumulative}\n`);
        writer.write(`${name}_sum{${labelText}} ${(cumulative * random() * 2).toFixed(6)}\n`);
        writer.write(`${name}_count{${labelText}} ${cumulative}\n`);
        samples += HISTOGRAM_BOUNDS.length + 3;
      } else if (kind === 'summary') {
        let quantileValue = random();
        for (const quantile of QUANTILES) {
          quantileValue += random();
          writer.write(`${name}{${labelText},quantile="${quantile}"} ${quantileValue.toFixed(6)}\n`);
        }
        const count = below(100000);
        writer.write(`${name}_sum{${labelText}} ${(count * random()).toFixed(3)}\n`);
        writer.write(`${name}_count{${labelText}} ${count}\n`);
        samples += QUANTILES.length + 2;
      } else {
        writer.write(`${name}{${labelText}} ${kind === 'counter' ? counterValue() : gaugeValue()}\n`);
        samples += 1;
      }
    }
    families += 1;
    metrics += seriesCount;
  }
  writer.close();
  return { path, bytes: writer.bytesWritten, families, metrics, samples };
}
