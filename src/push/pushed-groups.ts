// The pushed groups: one textfile per grouping key in the push directory, which the agent's one
// store serves like any textfile directory. This module is the only writer of that directory; it
// keeps each group's content in memory (for POST, which replaces families inside a group, and
// for /api/v1/metrics) and the consistency index over every group and every served textfile.
//
// A push is judged (the families its file will hold, as data, by core's verdict: nothing parses
// the file), checked and applied to the index in one synchronous step (so concurrent pushes see
// each other), then its file is written with the writing protocol (temp file, fsync, rename,
// fsync of the directory) and handed to onWritten with its families, so that the store need not
// read it; only then is it acknowledged. Pushes to one group run one after the
// other; pushes to different groups write their files concurrently. A write that fails puts the
// group back as it was. A rejected push never creates a group and never changes its series.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { canonicalKey, type GroupingKey } from '../core/grouping-key.js';
import type { MetricFamily } from '../core/types.js';
import { judgeFamilies, judgeTextfileContent, positionedMessage, type ContentOptions, type FamiliesVerdict } from '../core/verdict.js';
import { isTempFileName, removeAbandonedTempFiles, removeDurably, writeAtomically } from '../fs/atomic-write.js';
import { isTextfileName } from '../fs/directory-scan.js';
import type { FileIdentity } from '../fs/textfile-reader.js';
import { ConsistencyIndex } from './consistency-index.js';
import {
  applyGroupingLabels,
  groupFileFamilies,
  groupFileName,
  isPushTimeFamily,
  readGroupMetadata,
  renderGroupFile,
  type GroupContent,
} from './group-file.js';

/** Why the pushed groups refuse a push. The route refuses for reasons of its own too; the whole
 *  list, the label values of promdrop_push_rejected_total, is in src/http/push-routes.ts. */
export type PushRejectReason = 'too_large' | 'timestamp' | 'invalid' | 'inconsistent' | 'too_many_groups' | 'write_failed';

export type PushOutcome = { readonly ok: true } | { readonly ok: false; readonly status: number; readonly reason: PushRejectReason; readonly message: string };

/** A textfile the store serves: its path and families (the same array while unchanged). */
export interface ServedSource {
  readonly id: string;
  readonly families: readonly MetricFamily[];
}

/**
 * A group file just written, with the verdict on its content: what the store would make of
 * reading it (the same families, line for line), so that it need not read it.
 */
export interface WrittenGroupFile {
  readonly path: string;
  /** Every family of the file, the push_* gauges included, as Metrics. */
  readonly families: MetricFamily[];
  readonly series: number;
  /** The file's TTL directive. */
  readonly ttlMs: number | undefined;
  readonly warnings: number;
  /** The file's identity right after the rename. */
  readonly identity: FileIdentity;
}

/** The logger calls this module makes (the agent's pino logger has them). */
export interface PushLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PushedGroupsOptions {
  readonly directory: string;
  /** TTL of a push that sets none; undefined: groups never expire. */
  readonly defaultTtlMs: number | undefined;
  readonly maxGroups: number;
  /** The store's --textfile.max-file-size: a larger group file would not be read. */
  readonly maxFileBytes: number;
  /** The store's rules for a file's content, so that an accepted group is always served. */
  readonly contentOptions: ContentOptions;
  /** The textfiles the store serves now (the push directory's own files are skipped). */
  readonly servedSources: () => readonly ServedSource[];
  /** Told of every group file written, once it is durable. */
  readonly onWritten?: (file: WrittenGroupFile) => void;
  readonly logger: PushLogger;
  readonly now?: () => number;
}

/** The Pushgateway's prefix for errors found after parsing. */
const INCONSISTENT_PREFIX = 'pushed metrics are invalid or inconsistent with existing metrics: ';
/** The longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PushedGroup extends GroupContent {
  readonly path: string;
  /** Unix ms after which the store no longer serves it; undefined: never. */
  readonly expiresAtMs: number | undefined;
}

export class PushedGroups {
  private readonly groups = new Map<string, PushedGroup>();
  private readonly index = new ConsistencyIndex();
  /** Per group: the tail of its queue of pushes and deletes. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Textfile sources as last indexed, to index only what changed. */
  private indexedTextfiles = new Map<string, readonly MetricFamily[]>();
  private lastServed: readonly ServedSource[] | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryTimerAtMs: number | undefined;
  private readonly now: () => number;
  private readonly directory: string;
  private closed = false;

  private constructor(private readonly options: PushedGroupsOptions) {
    this.now = options.now ?? Date.now;
    this.directory = resolve(options.directory);
  }

  /** Creates the directory if needed and loads the groups pushed before a restart. */
  static async open(options: PushedGroupsOptions): Promise<PushedGroups> {
    const groups = new PushedGroups(options);
    await mkdir(groups.directory, { recursive: true, mode: 0o755 });
    await groups.load();
    return groups;
  }

  /** Every live group, in no particular order. */
  list(): PushedGroup[] {
    const now = this.now();
    return [...this.groups.values()].filter((group) => group.expiresAtMs === undefined || group.expiresAtMs > now);
  }

  /** PUT (replace the group) or POST (replace the families of the same names). */
  push(method: 'PUT' | 'POST', key: GroupingKey, body: readonly MetricFamily[], ttlMs: number | undefined): Promise<PushOutcome> {
    const id = canonicalKey(key);
    return this.enqueue(id, () => this.applyPush(method, id, key, body, ttlMs));
  }

  /** Removes the group; resolves once the removal is durable (unknown groups too). */
  delete(key: GroupingKey): Promise<void> {
    const id = canonicalKey(key);
    return this.enqueue(id, () => this.remove(id));
  }

  /** Removes every group. */
  async wipe(): Promise<void> {
    await Promise.all([...this.groups.keys()].map((id) => this.enqueue(id, () => this.remove(id))));
  }

  close(): void {
    this.closed = true;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
  }

  private enqueue<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return result;
  }

  private async applyPush(
    method: 'PUT' | 'POST',
    id: string,
    key: GroupingKey,
    body: readonly MetricFamily[],
    ttlMs: number | undefined,
  ): Promise<PushOutcome> {
    const now = this.now();
    this.syncTextfiles();
    this.expire(now);
    const existing = this.groups.get(id);
    if (existing === undefined && this.groups.size >= this.options.maxGroups) {
      return reject(400, 'too_many_groups', `too many groups: ${this.groups.size} are stored, the limit is ${this.options.maxGroups} (--push.max-groups)`);
    }
    for (const family of body) {
      if (family.metrics.some((metric) => metric.timestampMs !== undefined)) {
        await this.recordFailure(existing, now);
        return reject(400, 'timestamp', `${INCONSISTENT_PREFIX}pushed metrics must not have timestamps`);
      }
    }
    // As the Pushgateway: pushed push_time_seconds and push_failure_time_seconds are replaced.
    const pushed = body.filter((family) => !isPushTimeFamily(family.name));
    const labelled = applyGroupingLabels(pushed, key);
    const replaced = new Set(labelled.map((family) => family.name));
    const kept = method === 'PUT' || existing === undefined ? [] : existing.families.filter((family) => !replaced.has(family.name));
    const familyPushedAtMs = new Map<string, number>();
    for (const family of kept) familyPushedAtMs.set(family.name, existing?.familyPushedAtMs.get(family.name) ?? now);
    for (const family of labelled) familyPushedAtMs.set(family.name, now);
    const effectiveTtlMs = ttlMs ?? this.options.defaultTtlMs;
    const path = existing?.path ?? join(this.directory, groupFileName(key));
    const draft: GroupContent = {
      key,
      families: [...kept, ...labelled],
      familyPushedAtMs,
      pushTimeMs: now,
      failureTimeMs: existing?.failureTimeMs ?? 0,
      ttlMs: effectiveTtlMs,
    };
    const bytes = renderGroupFile(draft);
    if (bytes.length > this.options.maxFileBytes) {
      return reject(
        413,
        'too_large',
        `the group would be a ${bytes.length}-byte file, over the limit of ${this.options.maxFileBytes} (--textfile.max-file-size)`,
      );
    }
    // The store's judgement of the file to be, on its families as data: what passes here is served.
    const served = groupFileFamilies(draft);
    const verdict = judgeFamilies(served, this.options.contentOptions);
    if (verdict.rejection !== undefined) {
      await this.recordFailure(existing, now);
      return reject(400, 'invalid', `${INCONSISTENT_PREFIX}${positionedMessage('pushed group', verdict.rejection.finding)}`);
    }
    const inconsistency = this.index.check(groupSource(id), served);
    if (inconsistency !== undefined) {
      await this.recordFailure(existing, now);
      return reject(400, 'inconsistent', `${INCONSISTENT_PREFIX}${inconsistency.message}`);
    }
    const group: PushedGroup = {
      ...draft,
      families: served.filter((family) => !isPushTimeFamily(family.name)),
      path,
      expiresAtMs: effectiveTtlMs === undefined ? undefined : now + effectiveTtlMs,
    };
    this.install(id, group, served);
    let identity: FileIdentity | undefined;
    try {
      identity = await writeAtomically(path, bytes);
    } catch (error) {
      // Put the group back as it was: pushes to one group are queued, so nothing else touched it.
      if (existing === undefined) this.uninstall(id);
      else this.install(id, existing, this.servedFamiliesOf(existing));
      this.options.logger.error({ file: path, err: error instanceof Error ? error.message : String(error) }, 'cannot write pushed group');
      return reject(500, 'write_failed', `cannot store the pushed group: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.written(group, verdict, identity);
    return { ok: true };
  }

  /** The Pushgateway sets push_failure_time_seconds of the group on a rejected push; here only
   *  for a group that exists (creating one is what poisons the Pushgateway, bug B1), and only
   *  that gauge changes. */
  private async recordFailure(existing: PushedGroup | undefined, now: number): Promise<void> {
    if (existing === undefined) return;
    const id = canonicalKey(existing.key);
    // The store counts a TTL from the file's mtime: it stays the last successful push's, so that
    // a job that only fails from now on still sees its group expire on time.
    const updated: PushedGroup = { ...existing, failureTimeMs: now };
    this.groups.set(id, updated);
    let identity: FileIdentity | undefined;
    try {
      identity = await writeAtomically(existing.path, renderGroupFile(updated), { mtimeMs: existing.pushTimeMs });
    } catch (error) {
      this.groups.set(id, existing);
      this.options.logger.warn(
        { file: existing.path, err: error instanceof Error ? error.message : String(error) },
        'cannot record a failed push in its group',
      );
      return;
    }
    this.written(updated, judgeFamilies(groupFileFamilies(updated), this.options.contentOptions), identity);
  }

  /** Tells onWritten of `group`'s file, written as `identity` (unknown when the stat after the
   *  rename failed: then the store reads the file as it would any other). */
  private written(group: PushedGroup, verdict: FamiliesVerdict, identity: FileIdentity | undefined): void {
    if (identity === undefined || !verdict.accepted || this.options.onWritten === undefined) return;
    const { path, ttlMs } = group;
    this.options.onWritten({ path, families: verdict.families, series: verdict.series, ttlMs, warnings: verdict.warnings, identity });
  }

  private async remove(id: string): Promise<void> {
    const group = this.groups.get(id);
    if (group === undefined) return;
    await removeDurably(group.path);
    this.uninstall(id);
  }

  private install(id: string, group: PushedGroup, served: readonly MetricFamily[]): void {
    this.groups.set(id, group);
    this.index.set(groupSource(id), served);
    if (group.expiresAtMs !== undefined) this.scheduleExpiry(group.expiresAtMs);
  }

  private uninstall(id: string): void {
    this.groups.delete(id);
    this.index.remove(groupSource(id));
  }

  /** The served form of a group (for putting it back after a failed write). */
  private servedFamiliesOf(group: PushedGroup): readonly MetricFamily[] {
    return groupFileFamilies(group);
  }

  /**
   * Brings the index's view of the served textfiles up to date: O(files) pointer comparisons
   * when the store has rebuilt its snapshot, O(series) only for files whose content changed.
   */
  private syncTextfiles(): void {
    const served = this.options.servedSources();
    if (served === this.lastServed) return;
    this.lastServed = served;
    const next = new Map<string, readonly MetricFamily[]>();
    for (const source of served) {
      if (dirname(resolve(source.id)) === this.directory) continue;
      next.set(source.id, source.families);
      if (this.indexedTextfiles.get(source.id) !== source.families) this.index.set(textfileSource(source.id), source.families);
    }
    for (const id of this.indexedTextfiles.keys()) if (!next.has(id)) this.index.remove(textfileSource(id));
    this.indexedTextfiles = next;
  }

  /** Expired groups are no longer served: they stop counting at once, and their files are
   *  removed (unless the group was pushed again in the meantime). */
  private expire(now: number): void {
    for (const [id, group] of this.groups) {
      if (group.expiresAtMs === undefined || group.expiresAtMs > now) continue;
      this.uninstall(id);
      this.options.logger.info({ file: group.path }, 'pushed group expired: removed');
      void this.enqueue(id, async () => {
        if (this.groups.has(id)) return;
        await removeDurably(group.path).catch((error: unknown) =>
          this.options.logger.warn({ file: group.path, err: error instanceof Error ? error.message : String(error) }, 'cannot remove an expired pushed group'),
        );
      });
    }
  }

  private scheduleExpiry(atMs: number): void {
    if (this.closed) return;
    // The armed timer fires first: it rescans every group and re-arms for the next expiry.
    if (this.expiryTimer !== undefined && this.expiryTimerAtMs !== undefined && this.expiryTimerAtMs <= atMs) return;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, atMs - this.now()) + 1);
    this.expiryTimerAtMs = atMs;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryTimerAtMs = undefined;
      const now = this.now();
      this.expire(now);
      let next: number | undefined;
      for (const group of this.groups.values()) {
        if (group.expiresAtMs !== undefined && group.expiresAtMs > now && (next === undefined || group.expiresAtMs < next)) next = group.expiresAtMs;
      }
      if (next !== undefined) this.scheduleExpiry(next);
    }, delay);
    this.expiryTimer.unref();
  }

  private async load(): Promise<void> {
    const all = await readdir(this.directory);
    // Temp files of a write cut short by a crash: never acknowledged, so nothing is lost.
    for (const name of all.filter(isTempFileName)) {
      const targetPath = join(this.directory, name.slice(1).split('.').slice(0, -3).join('.'));
      await removeAbandonedTempFiles(targetPath);
    }
    const names = all.filter(isTextfileName).sort();
    const now = this.now();
    for (const name of names) {
      const path = join(this.directory, name);
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes === undefined) continue;
      const metadata = readGroupMetadata(bytes);
      // Every series as a Metric: a group's families are edited (POST) and indexed series by series.
      const verdict = judgeTextfileContent(bytes, { ...this.options.contentOptions, seriesForm: 'metrics' });
      const problem = !metadata.ok ? metadata.message : verdict.rejection === undefined ? undefined : positionedMessage(path, verdict.rejection.finding);
      if (!metadata.ok || problem !== undefined) {
        // Left in place: the store reports it on the landing page as any bad textfile.
        this.options.logger.warn({ file: path }, `not a pushed group, ignored by the push API: ${problem}`);
        continue;
      }
      const id = canonicalKey(metadata.key);
      const ttlMs = verdict.ttlMs;
      const group: PushedGroup = {
        key: metadata.key,
        families: verdict.families.filter((family) => !isPushTimeFamily(family.name)),
        familyPushedAtMs: metadata.familyPushedAtMs,
        pushTimeMs: metadata.pushTimeMs,
        failureTimeMs: metadata.failureTimeMs,
        ttlMs,
        path,
        // The store counts a TTL from the file's mtime, which is the last successful push.
        expiresAtMs: ttlMs === undefined ? undefined : metadata.pushTimeMs + ttlMs,
      };
      if (group.expiresAtMs !== undefined && group.expiresAtMs <= now) {
        await removeDurably(path).catch(() => undefined);
        continue;
      }
      this.install(id, group, verdict.families);
    }
    if (this.groups.size > 0) this.options.logger.info({ directory: this.directory, groups: this.groups.size }, 'pushed groups loaded');
  }
}

function reject(status: number, reason: PushRejectReason, message: string): PushOutcome {
  return { ok: false, status, reason, message };
}

/** Index ids: groups and textfiles can never be confused. */
function groupSource(id: string): string {
  return `group\u0000${id}`;
}
function textfileSource(path: string): string {
  return `file\u0000${path}`;
}
