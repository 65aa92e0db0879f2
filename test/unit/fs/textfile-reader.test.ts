import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextfile, statTextfile } from '../../../src/fs/textfile-reader.js';

const LIMITS = { maxFileSize: 1024 };

describe('readTextfile', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'promdrop-reader-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file whole and reports it stable', async () => {
    const path = join(dir, 'ok.prom');
    writeFileSync(path, 'm 1\n');
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    const read = await readTextfile(path, LIMITS);
    expect(read.kind).toBe('read');
    if (read.kind !== 'read') return;
    expect(read.bytes.toString()).toBe('m 1\n');
    expect(read.stable).toBe(true);
    expect(read.identity.size).toBe(4n);
    expect(read.identity.mtimeNs).toBe(1_700_000_000_000_000_000n);
  });

  it('reads an empty file as empty (row 3)', async () => {
    const path = join(dir, 'empty.prom');
    writeFileSync(path, '');
    const read = await readTextfile(path, LIMITS);
    expect(read).toMatchObject({ kind: 'read', stable: true });
    if (read.kind === 'read') expect(read.bytes.length).toBe(0);
  });

  it('refuses a file over the size limit without reading it', async () => {
    const path = join(dir, 'big.prom');
    writeFileSync(path, 'x'.repeat(1025));
    const read = await readTextfile(path, LIMITS);
    expect(read).toMatchObject({ kind: 'failed', reason: 'too_large' });
    if (read.kind === 'failed') expect(read.message).toContain('1025 bytes is over the limit of 1024 bytes');
  });

  it('reports a directory named *.prom as not_regular (row 11b)', async () => {
    const path = join(dir, 'dir.prom');
    mkdirSync(path);
    expect(await readTextfile(path, LIMITS)).toMatchObject({ kind: 'failed', reason: 'not_regular' });
  });

  it('never blocks on a FIFO named *.prom', async () => {
    const path = join(dir, 'fifo.prom');
    execFileSync('mkfifo', [path]);
    const read = await readTextfile(path, LIMITS);
    expect(read).toMatchObject({ kind: 'failed', reason: 'not_regular' });
    if (read.kind === 'failed') expect(read.message).toContain('a FIFO');
  });

  it('follows a symlink to a regular file and reports the target identity (row 12)', async () => {
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'm 2\n');
    utimesSync(target, 1_600_000_000, 1_600_000_000);
    const link = join(dir, 'link.prom');
    symlinkSync(target, link);
    const read = await readTextfile(link, LIMITS);
    expect(read).toMatchObject({ kind: 'read' });
    if (read.kind === 'read') expect(read.identity.mtimeNs).toBe(1_600_000_000_000_000_000n);
  });

  it('reports a dangling symlink as an io error but a vanished file as gone (rows 12b)', async () => {
    const link = join(dir, 'dangling.prom');
    symlinkSync(join(dir, 'nowhere'), link);
    const read = await readTextfile(link, LIMITS);
    expect(read).toMatchObject({ kind: 'failed', reason: 'io' });
    if (read.kind === 'failed') expect(read.message).toContain('dangling symlink');
    expect(await readTextfile(join(dir, 'never-there.prom'), LIMITS)).toEqual({ kind: 'gone' });
    expect(await statTextfile(join(dir, 'never-there.prom'))).toEqual({ kind: 'gone' });
  });

  it('reports a symlink to a directory as not_regular (row 12c)', async () => {
    const target = join(dir, 'a-dir');
    mkdirSync(target);
    const link = join(dir, 'linkdir.prom');
    symlinkSync(target, link);
    expect(await readTextfile(link, LIMITS)).toMatchObject({ kind: 'failed', reason: 'not_regular' });
  });
});
