import { describe, expect, it } from 'vitest';
import {
  countSeries,
  decideAfterStat,
  judgeContent,
  judgeFile,
  newFileEntry,
  settlingFor,
  type FileEntry,
  type GoodContent,
  type JudgementOptions,
} from '../../../src/agent/file-state.js';
import { agentContentOptions, type ContentOptions } from '../../../src/core/verdict.js';
import type { FileIdentity } from '../../../src/fs/textfile-reader.js';

const T0 = 1_800_000_000_000; // a fixed wall-clock instant, in ms

function identity(overrides: Partial<{ ino: number; size: number; mtimeMs: number; ctimeMs: number; birthtimeMs: number }> = {}): FileIdentity {
  const mtimeMs = overrides.mtimeMs ?? T0;
  return {
    dev: 1n,
    ino: BigInt(overrides.ino ?? 100),
    size: BigInt(overrides.size ?? 10),
    mtimeNs: BigInt(mtimeMs) * 1_000_000n,
    ctimeNs: BigInt(overrides.ctimeMs ?? mtimeMs) * 1_000_000n,
    birthtimeNs: BigInt(overrides.birthtimeMs ?? T0 - 60_000) * 1_000_000n,
  };
}

const contentOptions = agentContentOptions({ maxSeriesPerFile: 1_000, allowTimestamps: false });
const judgement: JudgementOptions = { defaultTtlMs: undefined, gracePeriodMs: 60_000, settleMs: 2_000 };

function good(id: FileIdentity, ttlMs?: number): GoodContent {
  const verdict = judgeContent('/d/a.prom', Buffer.from('a 1\n'), id, contentOptions);
  if (!verdict.ok) throw new Error('fixture must be valid');
  return { ...verdict.content, ttlMs };
}

function entryWith(fields: Partial<FileEntry>): FileEntry {
  return { ...newFileEntry('/d/a.prom'), ...fields };
}

describe('judgeContent', () => {
  it('accepts a valid file and counts every exposed series', () => {
    const text = [
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3',
      'h_count 2',
      '# TYPE s summary',
      's{quantile="0.5"} 1',
      's_sum 1',
      's_count 1',
      'g{a="1"} 1',
      'g{a="2"} 2',
      '# promdrop: ttl=26h',
      '',
    ].join('\n');
    const verdict = judgeContent('/d/a.prom', Buffer.from(text), identity(), contentOptions);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.content.series).toBe(4 + 3 + 2);
    expect(countSeries(verdict.content.families)).toBe(9);
    expect(verdict.content.ttlMs).toBe(26 * 3_600_000);
  });

  it('reports a parse error as path:LINE:COL with reason parse', () => {
    const verdict = judgeContent('/d/bad.prom', Buffer.from('ok 1\nbad{job="a" 1\n'), identity(), contentOptions);
    expect(verdict).toMatchObject({ ok: false, reason: 'parse' });
    if (verdict.ok) return;
    expect(verdict.message).toMatch(/^\/d\/bad\.prom:2:\d+: /);
  });

  it('maps validation findings to the documented reasons', () => {
    const reasonOf = (text: string, options: Partial<ContentOptions> = {}) => {
      const verdict = judgeContent('/d/x.prom', Buffer.from(text), identity(), { ...contentOptions, ...options });
      return verdict.ok ? 'ok' : verdict.reason;
    };
    expect(reasonOf('m 1 1700000000000\n')).toBe('timestamp');
    expect(reasonOf('m 1 1700000000000\n', { allowTimestamps: true })).toBe('ok');
    expect(reasonOf('m{a="1"} 1\nm{a="1"} 2\n')).toBe('duplicate');
    expect(reasonOf('node_textfile_scrape_error 5\n')).toBe('reserved_metric');
    expect(reasonOf('promdrop_textfile_up 1\n')).toBe('reserved_metric');
    expect(reasonOf('process_cpu_seconds_total 1\n')).toBe('ok');
    expect(reasonOf('process_cpu_seconds_total 1\n', { extraReservedMetricNames: ['process_cpu_seconds_total'] })).toBe('reserved_metric');
    expect(reasonOf('m{__reserved="x"} 1\n')).toBe('validation');
    expect(reasonOf('m 1\n# promdrop: ttl=soon\n')).toBe('validation');
    expect(reasonOf('m{a="1"} 1\nm{a="2"} 1\nm{a="3"} 1\n', { maxSeriesPerFile: 2 })).toBe('too_many_series');
  });

  it('points a directive error at its line and column', () => {
    const verdict = judgeContent('/d/x.prom', Buffer.from('m 1\n# promdrop: ttl=soon\n'), identity(), contentOptions);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.message).toMatch(/^\/d\/x\.prom:2:17: invalid ttl "soon"/);
  });

  it('counts warnings of a file that is served anyway', () => {
    const verdict = judgeContent('/d/x.prom', Buffer.from('# TYPE c counter\nc -5\n'), identity(), contentOptions);
    expect(verdict).toMatchObject({ ok: true, content: { warnings: 1 } });
  });
});

describe('decideAfterStat (settling of in-place rewrites)', () => {
  it('reads a new path at once, even when it was modified a moment ago', () => {
    expect(decideAfterStat(newFileEntry('/d/a.prom'), identity({ mtimeMs: T0 }), T0 + 1, 2_000)).toBe('read');
  });

  it('does nothing when the identity is the one already judged', () => {
    const id = identity();
    expect(decideAfterStat(entryWith({ judgedIdentity: id }), id, T0 + 10_000, 2_000)).toBe('unchanged');
  });

  it('trusts a replaced inode (atomic rename) at once', () => {
    const entry = entryWith({ judgedIdentity: identity({ ino: 1 }) });
    expect(decideAfterStat(entry, identity({ ino: 2, mtimeMs: T0 }), T0 + 1, 2_000)).toBe('read');
  });

  it('trusts a new file that reused the inode number of the one it replaced (a new birth time)', () => {
    const entry = entryWith({ judgedIdentity: identity({ ino: 1, birthtimeMs: T0 - 60_000 }) });
    expect(decideAfterStat(entry, identity({ ino: 1, size: 5, mtimeMs: T0, birthtimeMs: T0 }), T0 + 1, 2_000)).toBe('read');
  });

  it('waits for an in-place change to be quiet for settleMs by the file mtime', () => {
    const entry = entryWith({ judgedIdentity: identity({ size: 10, mtimeMs: T0 - 60_000 }) });
    const changed = identity({ size: 5, mtimeMs: T0 });
    expect(decideAfterStat(entry, changed, T0 + 1_999, 2_000)).toBe('settle');
    expect(decideAfterStat(entry, changed, T0 + 2_000, 2_000)).toBe('read');
  });

  it('also settles by its own clock when the file server clock runs ahead', () => {
    const entry = entryWith({ judgedIdentity: identity({ size: 10, mtimeMs: T0 - 60_000 }) });
    const fromTheFuture = identity({ size: 5, mtimeMs: T0 + 3_600_000 });
    expect(decideAfterStat(entry, fromTheFuture, T0, 2_000)).toBe('settle');
    entry.settling = settlingFor(entry, fromTheFuture, T0);
    expect(decideAfterStat(entry, fromTheFuture, T0 + 1_000, 2_000)).toBe('settle');
    expect(decideAfterStat(entry, fromTheFuture, T0 + 2_000, 2_000)).toBe('read');
  });

  it('restarts the quiet period when the file changes again while settling', () => {
    const entry = entryWith({ judgedIdentity: identity({ size: 10, mtimeMs: T0 - 60_000 }) });
    const first = identity({ size: 5, mtimeMs: T0 + 3_600_000 });
    entry.settling = settlingFor(entry, first, T0);
    const second = identity({ size: 7, mtimeMs: T0 + 3_600_500 });
    expect(settlingFor(entry, first, T0 + 5).sinceMs).toBe(T0);
    expect(settlingFor(entry, second, T0 + 1_500).sinceMs).toBe(T0 + 1_500);
  });

  it('does not take an mtime that has not moved for quiet: a truncation that kept it is settled by our clock', () => {
    // Seen in the soak (ext4, loaded machine): `> file.prom` left the file empty with the
    // previous version's mtime; trusting that mtime served the empty file, dropping its series.
    const judged = identity({ size: 228, mtimeMs: T0 });
    const entry = entryWith({ judgedIdentity: judged, good: good(judged) });
    const emptied = identity({ size: 0, mtimeMs: T0 });
    expect(decideAfterStat(entry, emptied, T0 + 5_000, 2_000)).toBe('settle');
    entry.settling = settlingFor(entry, emptied, T0 + 5_000);
    expect(decideAfterStat(entry, emptied, T0 + 6_999, 2_000)).toBe('settle');
    expect(decideAfterStat(entry, emptied, T0 + 7_000, 2_000)).toBe('read');
    // Meanwhile the last good content is served, and the next look is due when our clock says
    // so, not at once (which would spin).
    const judgement = judgeFile(entry, T0 + 5_000, { defaultTtlMs: undefined, gracePeriodMs: 60_000, settleMs: 2_000 });
    expect(judgement).toMatchObject({ state: 'stale_grace', served: true, nextChangeAtMs: T0 + 7_000 });
  });

  it('does not date a truncation by the mtime of the version still settling (the 60-minute soak)', () => {
    // Version 5 judged, version 6 written at T0 and settling; at T0 + 2 s, as the agent looks
    // again, the writer truncates for version 7, and the stat sees the new size (0) before ext4
    // has stamped the new mtime: the identity says "empty, quiet since T0".
    const judged = identity({ size: 228, mtimeMs: T0 - 2_000 });
    const entry = entryWith({ judgedIdentity: judged, good: good(judged) });
    const version6 = identity({ size: 228, mtimeMs: T0, ctimeMs: T0 });
    entry.settling = settlingFor(entry, version6, T0 + 10);
    const truncating = identity({ size: 0, mtimeMs: T0, ctimeMs: T0 });
    expect(decideAfterStat(entry, truncating, T0 + 2_000, 2_000)).toBe('settle');
    // Cut short to a non-zero size, the same: the size moved, the mtime did not.
    expect(decideAfterStat(entry, identity({ size: 100, mtimeMs: T0, ctimeMs: T0 }), T0 + 2_000, 2_000)).toBe('settle');
    // The settled version itself is still read on time.
    expect(decideAfterStat(entry, version6, T0 + 2_000, 2_000)).toBe('read');
  });

  it('never dates an empty file by its mtime, even with nothing settling: our clock decides', () => {
    const judged = identity({ size: 228, mtimeMs: T0 - 10_000 });
    const entry = entryWith({ judgedIdentity: judged, good: good(judged) });
    const emptied = identity({ size: 0, mtimeMs: T0 - 5_000 });
    expect(decideAfterStat(entry, emptied, T0, 2_000)).toBe('settle');
    entry.settling = settlingFor(entry, emptied, T0);
    expect(decideAfterStat(entry, emptied, T0 + 1_999, 2_000)).toBe('settle');
    expect(decideAfterStat(entry, emptied, T0 + 2_000, 2_000)).toBe('read');
  });

  it('settles a new inode that an earlier read caught mid-write', () => {
    const entry = newFileEntry('/d/a.prom');
    const partial = identity({ ino: 9, size: 4, mtimeMs: T0 });
    entry.settling = settlingFor(entry, partial, T0);
    expect(decideAfterStat(entry, identity({ ino: 9, size: 8, mtimeMs: T0 + 10 }), T0 + 20, 2_000)).toBe('settle');
  });
});

describe('judgeFile', () => {
  it('serves good content as ok, with no expiry by default', () => {
    const id = identity();
    const result = judgeFile(entryWith({ judgedIdentity: id, good: good(id) }), T0 + 1_000, judgement);
    expect(result).toMatchObject({ state: 'ok', served: true, reason: undefined, expiresAtMs: undefined, nextChangeAtMs: undefined });
  });

  it('expires at mtime + the file ttl, and says when', () => {
    const id = identity({ mtimeMs: T0 });
    const entry = entryWith({ judgedIdentity: id, good: good(id, 60_000) });
    expect(judgeFile(entry, T0 + 59_999, judgement)).toMatchObject({ state: 'ok', served: true, expiresAtMs: T0 + 60_000, nextChangeAtMs: T0 + 60_000 });
    const expired = judgeFile(entry, T0 + 60_000, judgement);
    expect(expired).toMatchObject({ state: 'expired', served: false, reason: 'expired', ttlMs: 60_000 });
    expect(expired.message).toContain('1m');
  });

  it('applies the default max-age only to files without their own ttl', () => {
    const id = identity({ mtimeMs: T0 });
    const options = { ...judgement, defaultTtlMs: 10_000 };
    expect(judgeFile(entryWith({ judgedIdentity: id, good: good(id) }), T0 + 10_000, options).state).toBe('expired');
    expect(judgeFile(entryWith({ judgedIdentity: id, good: good(id, 3_600_000) }), T0 + 10_000, options).state).toBe('ok');
  });

  it('keeps serving the last good content for the grace period, then drops it', () => {
    const id = identity();
    const entry = entryWith({
      judgedIdentity: identity({ size: 3 }),
      good: good(id),
      problem: { reason: 'parse', message: '/d/a.prom:1:2: boom', sinceMs: T0 },
    });
    const during = judgeFile(entry, T0 + 59_999, judgement);
    expect(during).toMatchObject({ state: 'stale_grace', served: true, reason: 'parse', nextChangeAtMs: T0 + 60_000 });
    expect(during.message).toContain('/d/a.prom:1:2: boom');
    expect(judgeFile(entry, T0 + 60_000, judgement)).toMatchObject({ state: 'invalid', served: false, reason: 'parse' });
  });

  it('does not serve an invalid file that never had good content', () => {
    const entry = entryWith({ judgedIdentity: identity(), problem: { reason: 'permission', message: 'denied', sinceMs: T0 } });
    expect(judgeFile(entry, T0, judgement)).toMatchObject({ state: 'invalid', served: false, reason: 'permission' });
  });

  it('does not let a grace period revive content that has expired', () => {
    const id = identity({ mtimeMs: T0 });
    const entry = entryWith({ judgedIdentity: id, good: good(id, 1_000), problem: { reason: 'parse', message: 'x', sinceMs: T0 + 500 } });
    expect(judgeFile(entry, T0 + 1_000, judgement)).toMatchObject({ state: 'invalid', served: false });
  });

  it('flags a file being rewritten in place as stale_grace without an error', () => {
    const id = identity({ mtimeMs: T0 - 10_000 });
    const entry = entryWith({ judgedIdentity: id, good: good(id), settling: { identity: identity({ size: 1, mtimeMs: T0 }), sinceMs: T0 } });
    expect(judgeFile(entry, T0 + 100, judgement)).toMatchObject({ state: 'stale_grace', served: true, reason: undefined, nextChangeAtMs: T0 + 2_000 });
  });
});
