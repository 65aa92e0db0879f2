// The snapshot builder decides when a scrape gets a new snapshot: only when a file's content or
// its judgement changed (never per scrape), including changes that come with time alone (a TTL
// running out), and logs each file's transitions once.
import { describe, expect, it } from 'vitest';
import { judgeContent, newFileEntry, type FileEntry } from '../../../src/agent/file-state.js';
import { SnapshotBuilder, type JudgedFiles, type TransitionLogger } from '../../../src/agent/snapshot-builder.js';
import { agentContentOptions } from '../../../src/core/verdict.js';
import type { FileIdentity } from '../../../src/fs/textfile-reader.js';

const T0 = 1_800_000_000_000;
const OPTIONS = agentContentOptions({ maxSeriesPerFile: 1_000, allowTimestamps: false });

function identity(mtimeMs: number): FileIdentity {
  return { dev: 1n, ino: 7n, size: 20n, mtimeNs: BigInt(mtimeMs) * 1_000_000n, ctimeNs: BigInt(mtimeMs) * 1_000_000n, birthtimeNs: 1n };
}

function judged(path: string, text: string, mtimeMs: number): FileEntry {
  const id = identity(mtimeMs);
  const verdict = judgeContent(path, Buffer.from(text), id, OPTIONS);
  if (!verdict.ok) throw new Error(`fixture must be valid: ${verdict.message}`);
  return { ...newFileEntry(path), judgedIdentity: id, seenIdentity: id, good: verdict.content, warnings: verdict.content.warnings };
}

function recorder(): { logger: TransitionLogger; lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg: string) => lines.push(`${level} ${(obj as { file?: string }).file ?? ''} ${msg}`);
  return { logger: { info: log('info'), warn: log('warn'), debug: log('debug') }, lines };
}

function table(...entries: FileEntry[]): JudgedFiles {
  return { entries: new Map(entries.map((entry) => [entry.path, entry])), directoryReports: () => [{ path: '/d', pattern: '/d', ok: true }] };
}

describe('SnapshotBuilder', () => {
  it('builds a new snapshot only when content or a judgement changed', () => {
    const { logger } = recorder();
    const builder = new SnapshotBuilder({ judgement: { defaultTtlMs: undefined, gracePeriodMs: 60_000, settleMs: 2_000 }, logger, quietAdds: () => false }, T0);
    const files = table(judged('/d/a.prom', 'a_value 1\n', T0));
    expect(builder.refresh(T0, files, true)).toBe(true);
    const first = builder.current;
    expect(first.text.toString()).toContain('a_value 1');
    expect(builder.refresh(T0 + 1_000, files, false)).toBe(false);
    expect(builder.current).toBe(first);
    expect(builder.sources.map((source) => source.id)).toEqual(['/d/a.prom']);
  });

  it('rebuilds when a TTL runs out with nothing read, and says when that will be', () => {
    const { logger, lines } = recorder();
    const builder = new SnapshotBuilder({ judgement: { defaultTtlMs: 60_000, gracePeriodMs: 60_000, settleMs: 2_000 }, logger, quietAdds: () => false }, T0);
    const files = table(judged('/d/a.prom', 'a_value 1\n', T0));
    builder.refresh(T0, files, true);
    expect(builder.nextChangeAtMs).toBe(T0 + 60_000);
    expect(builder.refresh(T0 + 59_999, files, false)).toBe(false);
    expect(builder.refresh(T0 + 60_000, files, false)).toBe(true);
    expect(builder.current.files).toMatchObject([{ state: 'expired', served: false }]);
    expect(builder.current.text.toString()).not.toContain('a_value');
    expect(builder.sources).toEqual([]);
    expect(lines).toEqual(['info /d/a.prom textfile added', expect.stringMatching(/^warn \/d\/a\.prom expired at /)]);
  });

  it('logs a file added at debug while adds are quiet, and a file that is gone as removed', () => {
    const { logger, lines } = recorder();
    let quiet = true;
    const builder = new SnapshotBuilder({ judgement: { defaultTtlMs: undefined, gracePeriodMs: 60_000, settleMs: 2_000 }, logger, quietAdds: () => quiet }, T0);
    builder.refresh(T0, table(judged('/d/a.prom', 'a_value 1\n', T0)), true);
    quiet = false;
    builder.refresh(T0, table(judged('/d/a.prom', 'a_value 1\n', T0), judged('/d/b.prom', 'b_value 1\n', T0)), true);
    builder.refresh(T0, table(judged('/d/b.prom', 'b_value 1\n', T0)), true);
    expect(lines).toEqual(['debug /d/a.prom textfile added', 'info /d/b.prom textfile added', 'info /d/a.prom textfile removed']);
  });
});
