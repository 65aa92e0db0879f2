import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileAccessFor, synchronousAccess, threadPoolAccess } from '../../../src/fs/file-access.js';
import { listTextfiles } from '../../../src/fs/directory-scan.js';
import { readTextfile } from '../../../src/fs/textfile-reader.js';

describe('choosing synchronous or thread-pool file access', () => {
  it('keeps a pseudo file system that is not known to be local in the thread pool', async () => {
    expect((await fileAccessFor('/proc')).local).toBe(false);
  });

  it('falls back to the thread pool when the directory cannot be examined', async () => {
    expect((await fileAccessFor('/nonexistent/promdrop/textfiles')).local).toBe(false);
  });

  it.runIf(existsSync('/dev/shm'))('uses synchronous calls on tmpfs', async () => {
    expect((await fileAccessFor('/dev/shm')).local).toBe(true);
  });
});

describe('both kinds of access judge every kind of entry the same way', () => {
  let directory: string;
  const limits = { maxFileSize: 64 };

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'promdrop-access-'));
    writeFileSync(join(directory, 'good.prom'), 'a 1\n');
    writeFileSync(join(directory, 'big.prom'), `${'b 1\n'.repeat(40)}`);
    mkdirSync(join(directory, 'dir.prom'));
    execFileSync('mkfifo', [join(directory, 'fifo.prom')]);
    symlinkSync(join(directory, 'missing-target'), join(directory, 'dangling.prom'));
    symlinkSync('loop.prom', join(directory, 'loop.prom'));
  });

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const cases: Array<[string, string, string | undefined]> = [
    ['good.prom', 'read', undefined],
    ['big.prom', 'failed', 'too_large'],
    ['dir.prom', 'failed', 'not_regular'],
    ['fifo.prom', 'failed', 'not_regular'],
    ['dangling.prom', 'failed', 'io'],
    ['loop.prom', 'failed', 'io'],
    ['vanished.prom', 'gone', undefined],
  ];

  it.each(cases)('%s', async (name, kind, reason) => {
    const path = join(directory, name);
    const pooled = await readTextfile(path, limits, threadPoolAccess);
    const synchronous = await readTextfile(path, limits, synchronousAccess);
    expect(synchronous).toEqual(pooled);
    expect(pooled.kind).toBe(kind);
    if (pooled.kind === 'failed') expect(pooled.reason).toBe(reason);
    if (pooled.kind === 'read') expect(pooled.bytes.toString()).toBe('a 1\n');
  });

  it('lists the same textfiles', async () => {
    const pooled = await listTextfiles(directory, threadPoolAccess);
    expect(await listTextfiles(directory, synchronousAccess)).toEqual(pooled);
    expect(pooled.ok && pooled.names).toEqual(['big.prom', 'dangling.prom', 'dir.prom', 'fifo.prom', 'good.prom', 'loop.prom']);
  });
});
