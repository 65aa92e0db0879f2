import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicWriteError, DEFAULT_FILE_MODE, isTempFileName, removeAbandonedTempFiles, removeDurably, writeAtomically } from '../../../src/fs/atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function modeOf(path: string): number {
  return statSync(path).mode & 0o7777;
}

describe('writeAtomically', () => {
  it('creates the file with the content and mode 0644, leaving nothing else behind', async () => {
    const target = join(dir, 'a.prom');
    await writeAtomically(target, 'a 1\n');
    expect(readFileSync(target, 'utf8')).toBe('a 1\n');
    expect(modeOf(target)).toBe(DEFAULT_FILE_MODE);
    expect(readdirSync(dir)).toEqual(['a.prom']);
  });

  it('replaces an existing file whole', async () => {
    const target = join(dir, 'a.prom');
    writeFileSync(target, 'old 1\n'.repeat(1000));
    await writeAtomically(target, 'new 2\n');
    expect(readFileSync(target, 'utf8')).toBe('new 2\n');
  });

  it('sets the requested mode exactly, whatever the umask filters from open()', async () => {
    const target = join(dir, 'a.prom');
    await writeAtomically(target, 'a 1\n', { mode: 0o666 });
    expect(modeOf(target)).toBe(0o666);
    await writeAtomically(target, 'a 1\n', { mode: 0o640 });
    expect(modeOf(target)).toBe(0o640);
  });

  it('writes the complete data durably to a dot-prefixed temp file the agent ignores before renaming it', async () => {
    const target = join(dir, 'a.prom');
    writeFileSync(target, 'old 1\n');
    let seenBeforeCommit: string[] = [];
    let tempContent = '';
    await writeAtomically(target, 'new 1\n', {
      mode: 0o644,
      beforeCommit: () => {
        seenBeforeCommit = readdirSync(dir).filter((name) => name !== 'a.prom');
        tempContent = readFileSync(join(dir, seenBeforeCommit[0]!), 'utf8');
        expect(readFileSync(target, 'utf8')).toBe('old 1\n');
      },
    });
    expect(seenBeforeCommit).toHaveLength(1);
    const temp = seenBeforeCommit[0]!;
    expect(temp.startsWith('.')).toBe(true);
    expect(temp.endsWith('.prom')).toBe(false);
    expect(isTempFileName(temp)).toBe(true);
    expect(tempContent).toBe('new 1\n');
  });

  it('removes the temp file and keeps the target when the commit is called off', async () => {
    const target = join(dir, 'a.prom');
    writeFileSync(target, 'old 1\n');
    const refusal = new Error('lock lost');
    await expect(
      writeAtomically(target, 'new 1\n', {
        beforeCommit: () => {
          throw refusal;
        },
      }),
    ).rejects.toBe(refusal);
    expect(readFileSync(target, 'utf8')).toBe('old 1\n');
    expect(readdirSync(dir)).toEqual(['a.prom']);
  });

  it('reports a missing directory as a typed error naming the file', async () => {
    const target = join(dir, 'missing', 'a.prom');
    const error = await writeAtomically(target, 'a 1\n').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AtomicWriteError);
    expect((error as AtomicWriteError).path).toBe(target);
    expect((error as AtomicWriteError).step).toBe('create-temp');
    expect((error as AtomicWriteError).code).toBe('ENOENT');
    expect((error as AtomicWriteError).message).toContain(target);
  });

  it('fails at the rename without leaving a temp file when the target cannot be replaced', async () => {
    const target = join(dir, 'a.prom');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'x');
    const error = await writeAtomically(target, 'a 1\n').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AtomicWriteError);
    expect((error as AtomicWriteError).step).toBe('rename');
    expect(readdirSync(dir)).toEqual(['a.prom']);
    expect(readdirSync(target)).toEqual(['inside']);
  });
});

describe('removeDurably', () => {
  it('removes the file and says whether there was one', async () => {
    const target = join(dir, 'a.prom');
    writeFileSync(target, 'a 1\n');
    expect(await removeDurably(target)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(await removeDurably(target)).toBe(false);
  });
});

describe('removeAbandonedTempFiles', () => {
  it("removes the target's temp files of dead writers only", async () => {
    const target = join(dir, 'a.prom');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    const alivePid = process.ppid;
    const dead = `.a.prom.${deadPid}.abc.tmp`;
    const alive = `.a.prom.${alivePid}.abc.tmp`;
    const otherTarget = `.b.prom.${deadPid}.abc.tmp`;
    for (const name of [dead, alive, otherTarget, 'a.prom']) writeFileSync(join(dir, name), 'x');
    expect(await removeAbandonedTempFiles(target)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([alive, otherTarget, 'a.prom'].sort());
  });
});
