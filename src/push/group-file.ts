// A pushed group as a textfile: what the push API writes into the push directory and reads back
// at start. The file is an ordinary textfile (the store serves it like any other): the body's
// families with the grouping labels applied, then `push_failure_time_seconds` and
// `push_time_seconds`, an optional `# promdrop: ttl=` directive, and one comment line that other
// parsers ignore and that carries what the store cannot know: the grouping key and when each
// family was last pushed (for /api/v1/metrics). Pure: no I/O, no clock.
import { createHash } from 'node:crypto';
import { compareCodePoints } from '../core/compare.js';
import { formatDuration } from '../core/duration.js';
import type { GroupingKey } from '../core/grouping-key.js';
import { PUSH_FAILURE_TIME_HELP, PUSH_FAILURE_TIME_METRIC, PUSH_TIME_HELP, PUSH_TIME_METRIC } from '../core/push-time.js';
import { renderTextBytes } from '../core/render.js';
import type { Metric, MetricFamily } from '../core/types.js';

/** First token of the metadata comment. Not `promdrop:`, which is the directive prefix. */
const METADATA_PREFIX = '# promdrop-push ';

/** A group's content and bookkeeping, as written to and read from its file. */
export interface GroupContent {
  readonly key: GroupingKey;
  /** The pushed families, grouping labels applied; never the two push_* families. */
  readonly families: readonly MetricFamily[];
  /** Unix ms of the last push of each family in `families`. */
  readonly familyPushedAtMs: ReadonlyMap<string, number>;
  /** 0: never (the Pushgateway's rule). */
  readonly pushTimeMs: number;
  readonly failureTimeMs: number;
  readonly ttlMs: number | undefined;
}

interface Metadata {
  readonly key: string[];
  readonly pushed: Record<string, number>;
  readonly push_time_ms: number;
  readonly failure_time_ms: number;
}

/**
 * The file name of a group: the job (made safe) for people listing the directory, and a hash of
 * the whole key for uniqueness. sha256 over an unambiguous encoding of the key: two keys never
 * share a file, and no key can name a path outside the directory.
 */
export function groupFileName(key: GroupingKey): string {
  const job = valueOf(key, 'job') ?? '';
  const readable = job
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 48);
  const digest = createHash('sha256').update(JSON.stringify(key.labels)).digest('hex').slice(0, 32);
  return `${readable}.${digest}.prom`;
}

function valueOf(key: GroupingKey, name: string): string | undefined {
  for (let i = 0; i < key.labels.length; i += 2) if (key.labels[i] === name) return key.labels[i + 1];
  return undefined;
}

/**
 * The Pushgateway's label rule: every grouping label overwrites the body's label of that name
 * (`job` included), and `instance=""` is added when neither has an instance, so that Prometheus
 * with honor_labels does not attach the agent's own. Labels come out sorted by name.
 */
export function applyGroupingLabels(families: readonly MetricFamily[], key: GroupingKey): MetricFamily[] {
  const keyNames = new Set<string>();
  for (let i = 0; i < key.labels.length; i += 2) keyNames.add(key.labels[i]!);
  const relabel = (labels: readonly string[]): string[] => {
    const pairs: [string, string][] = [];
    let hasInstance = keyNames.has('instance');
    for (let i = 0; i < labels.length; i += 2) {
      const name = labels[i]!;
      if (keyNames.has(name)) continue;
      if (name === 'instance') hasInstance = true;
      pairs.push([name, labels[i + 1]!]);
    }
    for (let i = 0; i < key.labels.length; i += 2) pairs.push([key.labels[i]!, key.labels[i + 1]!]);
    if (!hasInstance) pairs.push(['instance', '']);
    pairs.sort((a, b) => compareCodePoints(a[0], b[0]));
    return pairs.flat();
  };
  return families.map((family) => ({
    ...family,
    metrics: family.metrics.map((metric): Metric => ({ ...metric, labels: relabel(metric.labels) })),
  }));
}

/** The push_* gauges of a group, labelled like its series. */
function pushTimeFamilies(content: GroupContent): MetricFamily[] {
  const [labelled] = applyGroupingLabels([{ name: '', help: undefined, type: 'gauge', metrics: [scalar([], 0)], firstLine: 0 }], content.key);
  const labels = labelled!.metrics[0]!.labels;
  return [
    { name: PUSH_FAILURE_TIME_METRIC, help: PUSH_FAILURE_TIME_HELP, type: 'gauge', metrics: [scalar(labels, content.failureTimeMs / 1000)], firstLine: 0 },
    { name: PUSH_TIME_METRIC, help: PUSH_TIME_HELP, type: 'gauge', metrics: [scalar(labels, content.pushTimeMs / 1000)], firstLine: 0 },
  ];
}

function scalar(labels: readonly string[], value: number): Metric {
  return { kind: 'scalar', labels, value, timestampMs: undefined, line: 0 };
}

/** The bytes of a group's file. */
export function renderGroupFile(content: GroupContent): Buffer {
  const pushed: Record<string, number> = {};
  for (const [name, at] of content.familyPushedAtMs) pushed[name] = at;
  const metadata: Metadata = { key: [...content.key.labels], pushed, push_time_ms: content.pushTimeMs, failure_time_ms: content.failureTimeMs };
  // JSON escapes every control character, so the comment stays one line.
  let head = `${METADATA_PREFIX}${JSON.stringify(metadata)}\n`;
  if (content.ttlMs !== undefined) head += `# promdrop: ttl=${formatDuration(content.ttlMs)}\n`;
  // UTF-8 names (pushed with --push.enable-utf8-names) are written quoted, as the store reads them.
  return Buffer.concat([Buffer.from(head, 'utf8'), renderTextBytes(fileFamilies(content), { utf8Names: true })]);
}

/** Lines before the first family: the metadata comment, and the TTL directive if any. */
function headLines(content: GroupContent): number {
  return content.ttlMs === undefined ? 1 : 2;
}

/** The families of the file, in its order. */
function fileFamilies(content: GroupContent): MetricFamily[] {
  return [...content.families, ...pushTimeFamilies(content)].sort((a, b) => compareCodePoints(a.name, b.name));
}

/**
 * The families of the group's file as reading it back gives them (line numbers included),
 * built from the content instead of parsing renderGroupFile's bytes: each family as the renderer
 * writes it (renderMetric in core/render.ts) and the parser reads that. A family without series
 * is not written; a HELP of blanks reads as none and leading blanks are not read; a missing
 * `_sum` or `_count` is written as 0, a missing `le="+Inf"` bucket as one equal to the count.
 * test/unit/push/group-file.test.ts holds this against the parse of the bytes.
 */
export function groupFileFamilies(content: GroupContent): MetricFamily[] {
  let line = headLines(content) + 1;
  const out: MetricFamily[] = [];
  for (const family of fileFamilies(content)) {
    if (family.type === 'gauge_histogram' || family.metrics.length === 0) continue;
    const firstLine = line;
    if (family.help !== undefined) line++;
    line++;
    const metrics: Metric[] = [];
    for (const metric of family.metrics) {
      const written = writtenMetric(metric, line);
      metrics.push(written);
      line += linesOf(written);
    }
    out.push({ name: family.name, help: writtenHelp(family.help), type: family.type, metrics, firstLine });
  }
  return out;
}

/** The parser skips the blanks between the name and the text of a HELP line. */
function writtenHelp(help: string | undefined): string | undefined {
  if (help === undefined) return undefined;
  let start = 0;
  while (help.charCodeAt(start) === 0x20 || help.charCodeAt(start) === 0x09) start++;
  return start === help.length ? undefined : help.slice(start);
}

function writtenMetric(metric: Metric, line: number): Metric {
  const base = { labels: metric.labels, timestampMs: metric.timestampMs, line };
  if (metric.kind === 'scalar') return { kind: 'scalar', ...base, value: written(metric.value) };
  const count = written(metric.count ?? 0);
  const sum = written(metric.sum ?? 0);
  if (metric.kind === 'summary') {
    const quantiles = metric.quantiles.map((q, index) => ({ quantile: written(q.quantile), value: written(q.value), line: line + index }));
    const sumLine = line + quantiles.length;
    return { kind: 'summary', ...base, quantiles, sum, sumLine, count, countLine: sumLine + 1, dropped: [], repeated: [] };
  }
  const buckets = metric.buckets.map((bucket, index) => ({ upperBound: written(bucket.upperBound), count: written(bucket.count), line: line + index }));
  if (!buckets.some((bucket) => bucket.upperBound === Infinity)) buckets.push({ upperBound: Infinity, count, line: line + buckets.length });
  const sumLine = line + buckets.length;
  return { kind: 'histogram', ...base, buckets, sum, sumLine, count, countLine: sumLine + 1, dropped: [], repeated: [] };
}

/** A number as the file gives it back: the renderer writes -0 as 0. */
function written(value: number): number {
  return value === 0 ? 0 : value;
}

function linesOf(metric: Metric): number {
  if (metric.kind === 'scalar') return 1;
  return (metric.kind === 'summary' ? metric.quantiles.length : metric.buckets.length) + 2;
}

export type GroupMetadataResult =
  | {
      readonly ok: true;
      readonly key: GroupingKey;
      readonly familyPushedAtMs: Map<string, number>;
      readonly pushTimeMs: number;
      readonly failureTimeMs: number;
    }
  | { readonly ok: false; readonly message: string };

/** Reads the metadata comment (the first line) of a group file. */
export function readGroupMetadata(bytes: Uint8Array): GroupMetadataResult {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = text.indexOf(0x0a);
  const line = text.toString('utf8', 0, end < 0 ? text.length : end);
  if (!line.startsWith(METADATA_PREFIX)) return { ok: false, message: `no "${METADATA_PREFIX.trim()}" line: not written by the push API` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(METADATA_PREFIX.length));
  } catch (error) {
    return { ok: false, message: `unreadable "${METADATA_PREFIX.trim()}" line: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isMetadata(parsed)) return { ok: false, message: `malformed "${METADATA_PREFIX.trim()}" line` };
  return {
    ok: true,
    key: { labels: parsed.key },
    familyPushedAtMs: new Map(Object.entries(parsed.pushed)),
    pushTimeMs: parsed.push_time_ms,
    failureTimeMs: parsed.failure_time_ms,
  };
}

function isMetadata(value: unknown): value is Metadata {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  const key = record['key'];
  const pushed = record['pushed'];
  return (
    Array.isArray(key) &&
    key.length % 2 === 0 &&
    key.every((item) => typeof item === 'string') &&
    typeof pushed === 'object' &&
    pushed !== null &&
    Object.values(pushed).every((at) => typeof at === 'number') &&
    typeof record['push_time_ms'] === 'number' &&
    typeof record['failure_time_ms'] === 'number'
  );
}

/** Whether a family name is one of the two the push API maintains itself. */
export function isPushTimeFamily(name: string): boolean {
  return name === PUSH_TIME_METRIC || name === PUSH_FAILURE_TIME_METRIC;
}
