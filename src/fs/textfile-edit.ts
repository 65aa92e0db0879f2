// Read-modify-write of one textfile under its lock: the file is read and judged by the core
// exactly as the agent would judge it, changed as families (never as text), rendered back by
// the core, judged again, and written atomically. Two writers therefore never lose each
// other's series, and a file that the agent would refuse is never produced.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Buffer } from 'node:buffer';
import { formatDuration } from '../core/duration.js';
import { mergeSources, ownedNames, type Conflict } from '../core/merge.js';
import { seriesIdentity } from '../core/parse.js';
import { renderText } from '../core/render.js';
import type { Metric, MetricFamily, MetricType, ScalarMetric } from '../core/types.js';
import { agentContentOptions, judgeTextfileContent, type ContentOptions, type TextfileFinding } from '../core/verdict.js';
import { DEFAULT_MAX_SERIES_PER_FILE } from '../defaults.js';
import { errnoCode, removeAbandonedTempFiles, removeDurably, writeAtomically } from './atomic-write.js';
import { withLock } from './lock.js';

export type TextfileProblem =
  /** The file on disk is not something the agent would serve; editing it would hide that. */
  | 'invalid-existing'
  /** It exists but cannot be read (permissions, a directory, ...). */
  | 'unreadable'
  /** The requested change does not fit the file (type mismatch, not a scalar series, ...). */
  | 'conflict'
  /** The edited file would be refused by the agent (a bug, or a name the core reserves). */
  | 'invalid-result';

export type { TextfileFinding } from '../core/verdict.js';

/** The content options of an agent started with its defaults: what the writers judge by. */
export const WRITER_CONTENT_OPTIONS: ContentOptions = {
  ...agentContentOptions({ maxSeriesPerFile: DEFAULT_MAX_SERIES_PER_FILE, allowTimestamps: false }),
  seriesForm: 'metrics',
};

/** Why an edit was refused; `findings` point into the file named by `path` when there are any. */
export class TextfileError extends Error {
  constructor(
    readonly path: string,
    readonly problem: TextfileProblem,
    message: string,
    readonly findings: readonly TextfileFinding[] = [],
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'TextfileError';
  }
}

/** What an edit sees and returns: the file's families and its `# promdrop: ttl=` directive. */
export interface TextfileContent {
  readonly families: readonly MetricFamily[];
  readonly ttlMs: number | undefined;
}

export interface EditOptions {
  /** Bounded wait for the lock (see lock.ts). */
  readonly lockTimeoutMs?: number;
  /** Mode of the written file (see atomic-write.ts). */
  readonly mode?: number;
  /**
   * When given, an existing file the agent would refuse is edited as if it were empty (after
   * this is told why) instead of failing the edit. For files promdrop owns outright, such as
   * `run`'s outcome file, where refusing to record would only hide the job's result.
   */
  readonly replaceInvalid?: (error: TextfileError) => void;
  /**
   * Called under the lock with the content about to be written, before it is: for the check
   * against the other files of the directory (neighbourConflicts). Throwing cancels the write.
   */
  readonly beforeWrite?: (families: readonly MetricFamily[]) => Promise<void>;
}

/** A series is addressed by metric name and label pairs; label order does not matter. */
export interface SeriesAddress {
  readonly metric: string;
  readonly labels: ReadonlyArray<readonly [name: string, value: string]>;
}

export interface SetSeries extends SeriesAddress {
  readonly value: number;
  /** The family's TYPE when it is created (default gauge); must match when it exists. */
  readonly type?: ScalarType;
  /** Replaces the family's HELP when given. */
  readonly help?: string;
}

export interface AddToSeries extends SeriesAddress {
  readonly delta: number;
  /** The family's TYPE when it is created (default counter); must match when it exists. */
  readonly type?: ScalarType;
  readonly help?: string;
}

export type ScalarType = 'gauge' | 'counter' | 'untyped';

/**
 * Why `address` cannot name a series in a textfile, or undefined when it can. Names follow
 * Prometheus 3's UTF-8 validation (model.UTF8Validation: any non-empty UTF-8 string); names
 * that are not legacy-valid are written quoted (`{"my.metric"}`), which Prometheus 2 and other
 * scrapers that do not ask for UTF-8 are served escaped.
 */
export function seriesAddressProblem(address: SeriesAddress): string | undefined {
  if (!isValidUtf8Name(address.metric)) {
    return `invalid metric name ${JSON.stringify(address.metric)}: must be non-empty UTF-8`;
  }
  const seen = new Set<string>();
  for (const [name] of address.labels) {
    if (!isValidUtf8Name(name)) return `invalid label name ${JSON.stringify(name)}: must be non-empty UTF-8`;
    if (name.startsWith('__')) return `label name ${JSON.stringify(name)} is reserved: names starting with "__" belong to Prometheus`;
    if (seen.has(name)) return `label ${JSON.stringify(name)} given twice`;
    seen.add(name);
  }
  return undefined;
}

/**
 * Runs `edit` on the current content of `path` (empty when the file does not exist) and writes
 * the result atomically, all under the file's lock. Returns what `edit` returned.
 */
export async function editTextfile(path: string, edit: (current: TextfileContent) => TextfileContent, options: EditOptions = {}): Promise<TextfileContent> {
  return withLock(
    path,
    async (lock) => {
      await removeAbandonedTempFiles(path);
      const next = edit(await readForEdit(path, options.replaceInvalid));
      const text = renderTextfile(path, next);
      await options.beforeWrite?.(next.families);
      await writeAtomically(path, text, {
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        beforeCommit: () => lock.assertHeld(),
      });
      return next;
    },
    options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs },
  );
}

/** Creates or replaces one scalar series, keeping every other series of the file. */
export async function setSeries(path: string, series: SetSeries, options: EditOptions = {}): Promise<void> {
  await editTextfile(path, (current) => upsertScalar(path, current, series, 'gauge', () => series.value), options);
}

/** Adds `delta` to one scalar series (0 when it does not exist yet); returns the new value. */
export async function addToSeries(path: string, series: AddToSeries, options: EditOptions = {}): Promise<number> {
  let result = 0;
  await editTextfile(
    path,
    (current) =>
      upsertScalar(path, current, series, 'counter', (previous, type) => {
        if (type === 'counter' && series.delta < 0) {
          throw new TextfileError(path, 'conflict', `${series.metric} is a counter: it cannot decrease (delta ${series.delta})`);
        }
        result = (previous ?? 0) + series.delta;
        return result;
      }),
    options,
  );
  return result;
}

/**
 * Replaces `path` with `bytes` as given, under the file's lock so that it cannot interleave
 * with a read-modify-write of the same file. The caller has judged `bytes` already.
 */
export async function replaceTextfile(path: string, bytes: Uint8Array | string, options: EditOptions = {}, families?: readonly MetricFamily[]): Promise<void> {
  await withLock(
    path,
    async (lock) => {
      await removeAbandonedTempFiles(path);
      await options.beforeWrite?.(families ?? []);
      await writeAtomically(path, bytes, {
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        beforeCommit: () => lock.assertHeld(),
      });
    },
    options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs },
  );
}

/** Removes `path` under its lock, so that it cannot race a read-modify-write; false if absent. */
export async function deleteTextfile(path: string, options: EditOptions = {}): Promise<boolean> {
  return withLock(
    path,
    async (lock) => {
      await removeAbandonedTempFiles(path);
      lock.assertHeld();
      return removeDurably(path);
    },
    options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs },
  );
}

async function readForEdit(path: string, replaceInvalid: EditOptions['replaceInvalid']): Promise<TextfileContent> {
  try {
    return await readTextfile(path);
  } catch (error) {
    if (replaceInvalid === undefined || !(error instanceof TextfileError) || error.problem !== 'invalid-existing') throw error;
    replaceInvalid(error);
    return { families: [], ttlMs: undefined };
  }
}

/** The `# promdrop: ttl=` line, in the canonical duration spelling. */
export function ttlDirectiveLine(ttlMs: number): string {
  return `# promdrop: ttl=${formatDuration(ttlMs)}\n`;
}

/** Reads and judges `path` as the agent would; empty content when the file does not exist. */
export async function readTextfile(path: string): Promise<TextfileContent> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { families: [], ttlMs: undefined };
    throw new TextfileError(path, 'unreadable', `${path}: cannot read: ${error instanceof Error ? error.message : String(error)}`, [], {
      cause: error,
    });
  }
  const verdict = judgeTextfileContent(bytes, WRITER_CONTENT_OPTIONS);
  if (!verdict.accepted) {
    throw new TextfileError(
      path,
      'invalid-existing',
      `${path} is not a valid textfile (the agent would not serve it); fix or delete it first`,
      verdict.findings,
    );
  }
  return { families: verdict.families, ttlMs: verdict.ttlMs };
}

/** The file's text: the TTL directive first, then the families as the agent would serve them. */
export function renderTextfile(path: string, content: TextfileContent): string {
  const merged = mergeSources([{ id: basename(path), families: [...content.families] }], {
    missingHelp: () => undefined,
  });
  const conflicts = merged.conflicts.filter((conflict) => conflict.severity === 'error');
  if (conflicts.length > 0) {
    throw new TextfileError(path, 'invalid-result', `${path}: the edited file would conflict with itself: ${conflicts[0]!.message}`);
  }
  const text = (content.ttlMs === undefined ? '' : ttlDirectiveLine(content.ttlMs)) + renderText(merged.families, { utf8Names: true });
  const verdict = judgeTextfileContent(Buffer.from(text, 'utf8'), WRITER_CONTENT_OPTIONS);
  if (!verdict.accepted) {
    throw new TextfileError(path, 'invalid-result', `${path}: refusing to write a file the agent would not serve`, verdict.findings);
  }
  return text;
}

function upsertScalar(
  path: string,
  current: TextfileContent,
  series: SeriesAddress & { readonly type?: ScalarType; readonly help?: string },
  defaultType: ScalarType,
  nextValue: (previous: number | undefined, type: MetricType) => number,
): TextfileContent {
  const problem = seriesAddressProblem(series);
  if (problem !== undefined) throw new TextfileError(path, 'conflict', problem);
  const labels = flatSortedLabels(series.labels);
  const families = [...current.families];
  const index = families.findIndex((family) => family.name === series.metric);
  const existing = index < 0 ? undefined : families[index]!;
  if (existing !== undefined && existing.type !== 'gauge' && existing.type !== 'counter' && existing.type !== 'untyped') {
    throw new TextfileError(
      path,
      'conflict',
      `${series.metric} is ${withArticle(existing.type)} in ${path}; only counter, gauge and untyped series can be set or added to`,
    );
  }
  if (existing !== undefined && series.type !== undefined && series.type !== existing.type) {
    throw new TextfileError(
      path,
      'conflict',
      `${series.metric} is ${withArticle(existing.type)} in ${path}, not ${withArticle(series.type)}; delete the file (or drop --type) to change it`,
    );
  }
  const type: MetricType = existing?.type ?? series.type ?? defaultType;
  const metrics: Metric[] = existing === undefined ? [] : [...existing.metrics];
  // The core's identity: label order does not matter, and `a=""` is the same as no `a`.
  const identity = seriesIdentity(labels);
  const at = metrics.findIndex((metric) => seriesIdentity(metric.labels) === identity);
  const previous = at < 0 ? undefined : (metrics[at] as ScalarMetric).value;
  const updated: ScalarMetric = { kind: 'scalar', labels, value: nextValue(previous, type), timestampMs: undefined, line: 0 };
  if (at < 0) metrics.push(updated);
  else metrics[at] = updated;
  const family: MetricFamily = {
    name: series.metric,
    help: series.help ?? existing?.help,
    type,
    metrics,
    firstLine: existing?.firstLine ?? 0,
  };
  if (index < 0) families.push(family);
  else families[index] = family;
  return { families, ttlMs: current.ttlMs };
}

/** model.UTF8Validation's rule: non-empty and valid UTF-8 (a JS string is, unless it holds a
 *  lone surrogate). */
const LONE_SURROGATE = /\p{Cs}/u;
function isValidUtf8Name(name: string): boolean {
  return name.length > 0 && !LONE_SURROGATE.test(name);
}

function flatSortedLabels(labels: SeriesAddress['labels']): string[] {
  const flat: string[] = [];
  for (const [name, value] of [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) flat.push(name, value);
  return flat;
}

/**
 * What the agent would not serve of `families` (the content of `path`) next to the other
 * textfiles of its directory, by the agent's own merge: families and series another file wins.
 * Only the other files that share a name with `families` are read in full; files the agent
 * would refuse, or cannot read, take nothing from anyone and are left out.
 */
export async function neighbourConflicts(path: string, families: readonly MetricFamily[]): Promise<Conflict[]> {
  const names = new Set<string>();
  for (const family of families) if (family.metrics.length > 0) for (const name of ownedNames(family)) names.add(name);
  if (names.size === 0) return [];
  const directory = dirname(path);
  const own = basename(path);
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch {
    return [];
  }
  const roots = familyNameRoots(names);
  const sources = [{ id: path, families }];
  for (const name of entries) {
    if (name === own || !name.endsWith('.prom') || name.startsWith('.')) continue;
    const other = join(directory, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(other);
    } catch {
      continue;
    }
    if (!mayMention(bytes, roots)) continue;
    // A verdict without a model first (cheap on a large file): most neighbours share no name.
    const glance = judgeTextfileContent(bytes, { ...WRITER_CONTENT_OPTIONS, seriesForm: 'none' });
    if (!glance.accepted || !glance.families.some((family) => ownedNames(family).some((owned) => names.has(owned)))) continue;
    const full = judgeTextfileContent(bytes, WRITER_CONTENT_OPTIONS);
    if (full.accepted) sources.push({ id: other, families: full.families });
  }
  if (sources.length === 1) return [];
  return mergeSources(sources).conflicts.filter((conflict) => conflict.source === path && conflict.severity === 'error');
}

const OWNED_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * The family names another file must mention to own one of `names`: a family owns its own name
 * and, for a histogram or summary, the name plus `_bucket`, `_sum` or `_count`. Undefined when a
 * name would be escaped in a file (a quote, backslash or newline), so that a byte search cannot find it.
 */
function familyNameRoots(names: ReadonlySet<string>): Buffer[] | undefined {
  const roots = new Set<string>();
  for (const name of names) {
    if (/["\\\n]/.test(name)) return undefined;
    const suffix = OWNED_SUFFIXES.find((candidate) => name.endsWith(candidate) && name.length > candidate.length);
    // The shorter name is a substring of the longer one: finding it is enough for both.
    roots.add(suffix === undefined ? name : name.slice(0, -suffix.length));
  }
  return [...roots].map((root) => Buffer.from(root, 'utf8'));
}

/** Whether a file may define a family owning one of the names: every family of a file has its
 *  name in it, in a TYPE or HELP line or at the start of a sample's name. A file that does not
 *  is left unparsed, so a write next to a large file stays as fast as one alone. */
function mayMention(bytes: Buffer, roots: readonly Buffer[] | undefined): boolean {
  return roots === undefined || roots.some((root) => bytes.includes(root));
}

/** `a gauge`, `an untyped`: the article English wants before a metric type. */
function withArticle(type: string): string {
  return `${/^[aeiou]/i.test(type) ? 'an' : 'a'} ${type}`;
}
