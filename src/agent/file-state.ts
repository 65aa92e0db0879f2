// The life of one textfile as the agent sees it, as pure functions of what was read and of the
// time: whether a change may be read yet (settling), what a read's bytes are worth (verdict),
// and what the file's state is now (ok, invalid, expired, conflict, stale_grace). The file
// table (file-table.ts) does the I/O and keeps the entries, the snapshot builder
// (snapshot-builder.ts) judges them; everything here is testable with a fake clock.
import { formatDuration } from '../core/duration.js';
import type { MetricFamily } from '../core/types.js';
import { judgeTextfileContent, positionedMessage, type ContentOptions, type FileErrorReason } from '../core/verdict.js';
import type { FileIdentity } from '../fs/textfile-reader.js';
import { sameIdentity, sameInode } from '../fs/textfile-reader.js';

/** A file's state, as reported by the landing page, /api/v1/files and `promdrop list`. */
export type FileState = 'ok' | 'invalid' | 'expired' | 'conflict' | 'stale_grace';

export type { FileErrorReason } from '../core/verdict.js';
export { countSeries } from '../core/verdict.js';

export interface JudgementOptions {
  /** TTL for files without a `# promdrop: ttl=` directive; undefined: they never expire. */
  readonly defaultTtlMs: number | undefined;
  /** How long an invalid file keeps serving its last good content. */
  readonly gracePeriodMs: number;
  /** How long an in-place change must be quiet before it is read. */
  readonly settleMs: number;
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

/** Everything the file table remembers about one textfile path. */
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

/** The core's verdict (core/verdict.ts) in the store's terms: the message names the file, and
 *  scalar families come back as their rendered lines unless `options.seriesForm` says otherwise.
 *  `options` come from core's agentContentOptions. */
export function judgeContent(path: string, bytes: Uint8Array, identity: FileIdentity, options: ContentOptions): ContentVerdict {
  const verdict = judgeTextfileContent(bytes, { ...options, seriesForm: options.seriesForm ?? 'kept' });
  if (verdict.rejection !== undefined) {
    return { ok: false, reason: verdict.rejection.reason, message: positionedMessage(path, verdict.rejection.finding), warnings: verdict.warnings };
  }
  return { ok: true, content: { families: verdict.families, series: verdict.series, ttlMs: verdict.ttlMs, identity, warnings: verdict.warnings } };
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
    // Only while a brand-new file is caught mid-write; such entries are not reported.
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
