// The life of one textfile as the agent sees it, as pure functions of what was read and of the
// time: whether a change may be read yet (settling), what a read's bytes are worth (verdict),
// and what the file's state is now (ok, invalid, expired, conflict, stale_grace). The store
// does the I/O and keeps the entries; everything here is testable with a fake clock.
import { checkExposition } from '../core/check.js';
import { readDirectives } from '../core/directives.js';
import { formatDuration } from '../core/duration.js';
import { escapeName, isLegacyName, REWRITING_SCHEMES } from '../core/escaping.js';
import type { NameValidationScheme } from '../core/parse.js';
import { familiesToKeep } from '../core/rendered-series.js';
import type { Finding, FindingReason, Metric, MetricFamily } from '../core/types.js';
import type { FileIdentity } from '../fs/textfile-reader.js';
import { isReservedMetricName } from './meta-metrics.js';
import { sameIdentity, sameInode } from '../fs/textfile-reader.js';

/** A file's state, as reported by the landing page, /api/v1/files and `promdrop list`. */
export type FileState = 'ok' | 'invalid' | 'expired' | 'conflict' | 'stale_grace';

/** Why a file is not served, is served from its last good content, or conflicts. Stable: these
 *  are label values of promdrop_textfile_error and keys of the JSON API. */
export type FileErrorReason =
  | 'parse'
  | 'validation'
  | 'timestamp'
  | 'conflict'
  | 'duplicate'
  | 'expired'
  | 'too_large'
  | 'too_many_series'
  | 'permission'
  | 'not_regular'
  | 'io'
  | 'reserved_metric';

export interface JudgementOptions {
  /** TTL for files without a `# promdrop: ttl=` directive; undefined: they never expire. */
  readonly defaultTtlMs: number | undefined;
  /** How long an invalid file keeps serving its last good content. */
  readonly gracePeriodMs: number;
  /** How long an in-place change must be quiet before it is read. */
  readonly settleMs: number;
}

/** Plain data (no functions), so that a worker thread can judge with the same options. */
export interface ContentOptions {
  readonly maxSeriesPerFile: number;
  readonly allowTimestamps: boolean;
  /** Names files may not define besides the agent's own (meta-metrics.ts), e.g. the self
   *  metrics' names. */
  readonly extraReservedMetricNames: readonly string[];
  /** --textfile.name-validation-scheme: whether quoted UTF-8 names are read (default utf8). */
  readonly nameValidation?: NameValidationScheme;
}

/** A file's content that passed every check, ready to be merged. */
export interface GoodContent {
  readonly families: MetricFamily[];
  readonly series: number;
  /** From the file's own directive; the default TTL is applied when judging. */
  readonly ttlMs: number | undefined;
  readonly identity: FileIdentity;
  readonly warnings: number;
}

/** The latest reason the file could not be (re)read into good content. */
export interface Problem {
  readonly reason: FileErrorReason;
  readonly message: string;
  /** When the file first became bad in this run of problems: the grace period counts from it. */
  readonly sinceMs: number;
}

/** A change seen but not read yet, because the file may still be being written. */
export interface Settling {
  readonly identity: FileIdentity;
  /** When this exact identity was first seen: quiet since then means the writer is done. */
  readonly sinceMs: number;
  /** False when the file's mtime has not moved past the content last judged, so it cannot say
   *  when the change happened (see decideAfterStat). Absent: trusted. */
  readonly mtimeTrusted?: boolean;
}

/** Everything the store remembers about one textfile path. */
export interface FileEntry {
  readonly path: string;
  /** Identity whose bytes (or failure) were last judged: a look at the same identity is a no-op. */
  judgedIdentity: FileIdentity | undefined;
  /** Identity at the last stat, read or not. */
  seenIdentity: FileIdentity | undefined;
  good: GoodContent | undefined;
  problem: Problem | undefined;
  settling: Settling | undefined;
  /** Warnings of the latest judged content (served or not). */
  warnings: number;
}

export function newFileEntry(path: string): FileEntry {
  return { path, judgedIdentity: undefined, seenIdentity: undefined, good: undefined, problem: undefined, settling: undefined, warnings: 0 };
}

// ---------------------------------------------------------------------------------------------
// Settling: may a changed file be read now?

export type ChangeDecision = 'unchanged' | 'read' | 'settle';

/**
 * What to do after a stat shows `identity`. A new path or a new inode (an atomic rename) is
 * trusted at once. The same inode with a new size or time is being rewritten in place: it is
 * read only once it has been quiet for settleMs, judged either by its own mtime (a change noticed
 * late need not wait) or by our clock (immune to a file server whose clock runs ahead).
 *
 * The mtime counts only when it dates this change (mtimeDatesChange); otherwise only our clock
 * can tell.
 */
export function decideAfterStat(entry: FileEntry, identity: FileIdentity, nowMs: number, settleMs: number): ChangeDecision {
  const judged = entry.judgedIdentity;
  if (judged !== undefined && sameIdentity(judged, identity)) return 'unchanged';
  if (judged === undefined || !sameInode(judged, identity)) {
    // Not in place, unless an earlier read of this new inode was caught mid-write.
    if (entry.settling === undefined || !sameInode(entry.settling.identity, identity)) return 'read';
  }
  return isSettled(entry.settling, identity, nowMs, settleMs, mtimeDatesChange(entry, identity)) ? 'read' : 'settle';
}

export function isSettled(settling: Settling | undefined, identity: FileIdentity, nowMs: number, settleMs: number, mtimeTrusted = true): boolean {
  if (mtimeTrusted && nowMs - mtimeMsOf(identity) >= settleMs) return true;
  return settling !== undefined && sameIdentity(settling.identity, identity) && nowMs - settling.sinceMs >= settleMs;
}

/** The settling record for `identity`, keeping the first-seen time when it has not changed. */
export function settlingFor(entry: FileEntry, identity: FileIdentity, nowMs: number): Settling {
  const current = entry.settling;
  if (current !== undefined && sameIdentity(current.identity, identity)) return current;
  return mtimeDatesChange(entry, identity) ? { identity, sinceMs: nowMs } : { identity, sinceMs: nowMs, mtimeTrusted: false };
}

/**
 * True when `identity`'s mtime says when this change happened. ext4 shortens a file before it
 * stamps the new mtime (the truncation frees blocks in between), so a stat in that window sees
 * the new size with the previous version's mtime: a file emptied by `> file.prom` looks quiet
 * for as long as that version was, and was served empty (the soak caught it when the previous
 * version was still settling). So the mtime counts only when it is newer than both the content
 * last judged and the change being settled, and never for an empty file: every rewrite in place
 * with O_TRUNC starts as one, and the stat may come before any newer version was seen.
 */
function mtimeDatesChange(entry: FileEntry, identity: FileIdentity): boolean {
  const settling = entry.settling;
  if (settling !== undefined && sameIdentity(settling.identity, identity)) return settling.mtimeTrusted !== false;
  if (identity.size === 0n) return false;
  const judged = entry.judgedIdentity;
  if (judged !== undefined && identity.mtimeNs <= judged.mtimeNs) return false;
  return settling === undefined || identity.mtimeNs > settling.identity.mtimeNs;
}

export function mtimeMsOf(identity: FileIdentity): number {
  return Number(identity.mtimeNs / 1_000_000n);
}

// ---------------------------------------------------------------------------------------------
// Verdict: what a whole, stable read is worth

export type ContentVerdict =
  | { readonly ok: true; readonly content: GoodContent }
  | { readonly ok: false; readonly reason: FileErrorReason; readonly message: string; readonly warnings: number };

/** Parses and validates a file's bytes with the core, plus directives and the series limit. */
export function judgeContent(path: string, bytes: Uint8Array, identity: FileIdentity, options: ContentOptions): ContentVerdict {
  // Scalar series are checked from the parser's digest and then kept as their rendered lines
  // (familiesToKeep), never as one object each: what keeps a 500,000-series file affordable.
  const check = checkExposition(bytes, {
    allowTimestamps: options.allowTimestamps,
    isReservedMetricName: reservedNamePredicate(options.extraReservedMetricNames),
    lint: false,
    retainSeries: false,
    nameValidation: options.nameValidation ?? 'utf8',
  });
  const directives = readDirectives(bytes);
  const findings: Array<Omit<Finding, 'reason'> & { readonly reason: FindingReason | 'directive' }> = [...check.findings];
  // Directive errors are only worth reporting when the file parses: a parse error comes first.
  if (check.parseFailure === undefined) findings.push(...directives.findings);
  let warnings = 0;
  let firstError: (typeof findings)[number] | undefined;
  for (const finding of findings) {
    if (finding.severity === 'warning') warnings++;
    else if (firstError === undefined || finding.line < firstError.line) firstError = finding;
  }
  if (firstError !== undefined) {
    return { ok: false, reason: fileReasonOf(firstError.reason), message: positioned(path, firstError), warnings };
  }
  const series = countSeries(check.families);
  if (series > options.maxSeriesPerFile) {
    return {
      ok: false,
      reason: 'too_many_series',
      message: `${path}: ${series} series is over the limit of ${options.maxSeriesPerFile} per file (--textfile.max-series)`,
      warnings,
    };
  }
  return { ok: true, content: { families: familiesToKeep(bytes, check.families), series, ttlMs: directives.ttlMs, identity, warnings } };
}

function reservedNamePredicate(extra: readonly string[]): (name: string) => boolean {
  const names = new Set(extra);
  const reserved = (name: string): boolean => isReservedMetricName(name) || names.has(name);
  // A UTF-8 name is reserved too when a scraper that asks for escaping would see it as one of
  // the agent's names (`node_textfile.scrape_error` is node_textfile_scrape_error to Prometheus 2).
  return (name) => reserved(name) || (!isLegacyName(name) && REWRITING_SCHEMES.some((scheme) => reserved(escapeName(name, scheme))));
}

function fileReasonOf(reason: FindingReason | 'directive'): FileErrorReason {
  switch (reason) {
    case 'parse':
      return 'parse';
    case 'timestamp':
      return 'timestamp';
    case 'duplicate_series':
      return 'duplicate';
    case 'reserved_metric':
      return 'reserved_metric';
    default:
      return 'validation';
  }
}

/** `path:LINE:COL: message`, the layout editors and CI logs link to. */
function positioned(path: string, finding: { readonly line: number; readonly column?: number; readonly message: string }): string {
  if (finding.line <= 0) return `${path}: ${finding.message}`;
  const column = finding.column !== undefined && finding.column > 0 ? `:${finding.column}` : '';
  return `${path}:${finding.line}${column}: ${finding.message}`;
}

/** Series as Prometheus will store them: each bucket or quantile, `_sum` and `_count` count. */
export function countSeries(families: readonly MetricFamily[]): number {
  let total = 0;
  for (const family of families) {
    total += family.digest?.count ?? family.rendered?.count ?? 0;
    for (const metric of family.metrics) total += seriesOf(metric);
  }
  return total;
}

function seriesOf(metric: Metric): number {
  switch (metric.kind) {
    case 'scalar':
      return 1;
    case 'histogram':
      return metric.buckets.length + 2;
    case 'summary':
      return metric.quantiles.length + 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Judgement: the state of a file at a given time

export interface Judgement {
  readonly state: FileState;
  readonly served: boolean;
  readonly reason: FileErrorReason | undefined;
  readonly message: string | undefined;
  /** Effective TTL of the served or last good content. */
  readonly ttlMs: number | undefined;
  readonly expiresAtMs: number | undefined;
  /** When this judgement may change by itself (expiry, end of grace, settle re-check). */
  readonly nextChangeAtMs: number | undefined;
}

/**
 * The state of a file at `nowMs`, before cross-file conflicts are known. Expiry is judged on
 * the content being served: its mtime plus its TTL.
 */
export function judgeFile(entry: FileEntry, nowMs: number, options: JudgementOptions): Judgement {
  const good = entry.good;
  const ttlMs = good !== undefined ? (good.ttlMs ?? options.defaultTtlMs) : undefined;
  const expiresAtMs = good !== undefined && ttlMs !== undefined ? mtimeMsOf(good.identity) + ttlMs : undefined;
  const expired = expiresAtMs !== undefined && nowMs >= expiresAtMs;
  const settleCheckAtMs = entry.settling !== undefined ? settleDeadline(entry.settling, options.settleMs) : undefined;
  const problem = entry.problem;

  if (problem !== undefined) {
    const graceEndsAtMs = problem.sinceMs + options.gracePeriodMs;
    if (good !== undefined && !expired && nowMs < graceEndsAtMs) {
      return {
        state: 'stale_grace',
        served: true,
        reason: problem.reason,
        message: `${problem.message} (serving the last good content until ${new Date(graceEndsAtMs).toISOString()})`,
        ttlMs,
        expiresAtMs,
        nextChangeAtMs: earliest(graceEndsAtMs, expiresAtMs, settleCheckAtMs),
      };
    }
    return { state: 'invalid', served: false, reason: problem.reason, message: problem.message, ttlMs, expiresAtMs, nextChangeAtMs: settleCheckAtMs };
  }
  if (good === undefined) {
    // Only while a brand-new file is caught mid-write; the store does not report such entries.
    return { state: 'invalid', served: false, reason: undefined, message: undefined, ttlMs, expiresAtMs, nextChangeAtMs: settleCheckAtMs };
  }
  if (expired) {
    return {
      state: 'expired',
      served: false,
      reason: 'expired',
      message: `${entry.path}: expired at ${new Date(expiresAtMs).toISOString()} (mtime + ttl ${formatTtl(ttlMs)}); rewrite or touch the file to serve it again`,
      ttlMs,
      expiresAtMs,
      nextChangeAtMs: settleCheckAtMs,
    };
  }
  if (entry.settling !== undefined) {
    return {
      state: 'stale_grace',
      served: true,
      reason: undefined,
      message: `${entry.path}: being rewritten in place; serving the previous content until it has been quiet for ${options.settleMs} ms`,
      ttlMs,
      expiresAtMs,
      nextChangeAtMs: earliest(expiresAtMs, settleCheckAtMs),
    };
  }
  return { state: 'ok', served: true, reason: undefined, message: undefined, ttlMs, expiresAtMs, nextChangeAtMs: expiresAtMs };
}

/** When a settling file should be looked at again: after settleMs of quiet by either clock. */
function settleDeadline(settling: Settling, settleMs: number): number {
  if (settling.mtimeTrusted === false) return settling.sinceMs + settleMs;
  return Math.min(settling.sinceMs, mtimeMsOf(settling.identity)) + settleMs;
}

function earliest(...times: Array<number | undefined>): number | undefined {
  let result: number | undefined;
  for (const time of times) if (time !== undefined && (result === undefined || time < result)) result = time;
  return result;
}

function formatTtl(ms: number | undefined): string {
  return ms === undefined ? 'none' : formatDuration(ms);
}
