// The writing commands as a cron author uses them: exit codes, messages, and what is left in
// the directory after success and after every kind of refusal.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_STALE_MS } from '../../src/fs/lock.js';
import { makeTempDir, promdrop, requireBuiltCli } from './writer-support.js';

let root: string;
let dir: string;
let testNumber = 0;
beforeAll(() => {
  requireBuiltCli();
  root = makeTempDir('cli-write');
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  dir = join(root, String(testNumber++));
  mkdirSync(dir);
});

const fileIn = (name: string): string => join(dir, name);
const read = (name: string): string => readFileSync(fileIn(name), 'utf8');
const VALID = '# HELP backup_size_bytes Size of the last backup.\n# TYPE backup_size_bytes gauge\nbackup_size_bytes{volume="home"} 1.5e+09\n';

describe('promdrop write', () => {
  it('replaces NAME.prom with stdin as given, mode 0644, nothing else left behind', async () => {
    writeFileSync(fileIn('backup.prom'), 'old 1\n');
    const result = await promdrop(['write', 'backup'], { dir, input: VALID });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(read('backup.prom')).toBe(VALID);
    expect(statSync(fileIn('backup.prom')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['backup.prom']);
  });

  it('refuses invalid input with stdin:LINE:COL errors, exit 1, and the previous file untouched', async () => {
    writeFileSync(fileIn('backup.prom'), 'old 1\n');
    const before = statSync(fileIn('backup.prom'));
    const result = await promdrop(['write', 'backup.prom'], { dir, input: 'a 1\nb{x="y" 2\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stdin:2:\d+: error: /m);
    expect(read('backup.prom')).toBe('old 1\n');
    expect(statSync(fileIn('backup.prom')).ino).toBe(before.ino);
    expect(readdirSync(dir)).toEqual(['backup.prom']);
  });

  it('refuses a truncated file (no final newline), the mark of a half-written input', async () => {
    const result = await promdrop(['write', 'backup'], { dir, input: VALID.slice(0, -1) });
    expect(result.code).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses what the agent would refuse although the text parses (timestamps, duplicates)', async () => {
    const timestamped = await promdrop(['write', 'a'], { dir, input: 'a 1 1700000000000\n' });
    expect(timestamped.code).toBe(1);
    expect(timestamped.stderr).toMatch(/^stdin:1(:\d+)?: error: /m);
    const duplicated = await promdrop(['write', 'a'], { dir, input: 'a 1\na 2\n' });
    expect(duplicated.code).toBe(1);
    expect(duplicated.stderr).toMatch(/^stdin:2(:\d+)?: error: .*duplicate/m);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('prints warnings but writes', async () => {
    const result = await promdrop(['write', 'a'], { dir, input: '# TYPE c counter\nc -1\n' });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^stdin:2(:\d+)?: warning: /m);
    expect(read('a.prom')).toBe('# TYPE c counter\nc -1\n');
  });

  it('--ttl adds the directive line in canonical form; bad durations are usage errors', async () => {
    expect((await promdrop(['write', 'a', '--ttl', '26h'], { dir, input: 'a 1\n' })).code).toBe(0);
    expect(read('a.prom')).toBe('# promdrop: ttl=1d2h\na 1\n');
    for (const ttl of ['0', 'soon', '5']) {
      const result = await promdrop(['write', 'a', '--ttl', ttl], { dir, input: 'b 1\n' });
      expect(result.code).toBe(2);
    }
    expect(read('a.prom')).toBe('# promdrop: ttl=1d2h\na 1\n');
  });

  it('refuses a malformed ttl directive in stdin', async () => {
    const result = await promdrop(['write', 'a'], { dir, input: '# promdrop: ttl=soon\na 1\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stdin:1:\d+: error: invalid ttl/m);
  });

  it.each(['x.job', '.hidden', 'a/b', ''])('refuses the name %j with exit 2', async (name) => {
    const result = await promdrop(['write', name], { dir, input: 'a 1\n' });
    expect(result.code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('-d wins over PROMDROP_DIR; --mode sets the mode; a missing directory is exit 1', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    expect((await promdrop(['write', 'a', '-d', other, '--mode', '0640'], { dir, input: 'a 1\n' })).code).toBe(0);
    expect(statSync(join(other, 'a.prom')).mode & 0o777).toBe(0o640);
    const missing = await promdrop(['write', 'a'], { dir: join(dir, 'nope'), input: 'a 1\n' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });

  it('waits a bounded time for a held lock, then fails with exit 1 and leaves the file alone', async () => {
    writeFileSync(fileIn('a.prom'), 'old 1\n');
    mkdirSync(fileIn('.a.prom.lock'));
    const result = await promdrop(['write', 'a', '--lock-timeout', '300ms'], { dir, input: 'a 1\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('holds the lock');
    expect(read('a.prom')).toBe('old 1\n');
  });

  it('takes over the stale lock of a writer that was killed', async () => {
    mkdirSync(fileIn('.a.prom.lock'));
    const longAgo = (Date.now() - LOCK_STALE_MS - 5_000) / 1000;
    utimesSync(fileIn('.a.prom.lock'), longAgo, longAgo);
    const result = await promdrop(['write', 'a', '--lock-timeout', '5s'], { dir, input: 'a 1\n' });
    expect(result.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['a.prom']);
  });
});

describe('promdrop set / inc / delete', () => {
  it('set creates and updates series, keeping the others, with HELP from --help TEXT', async () => {
    expect((await promdrop(['set', 'backup', 'size_bytes', '10', '-l', 'volume=home', '--help', 'Backup size.'], { dir })).code).toBe(0);
    expect((await promdrop(['set', 'backup', 'size_bytes', '20', '-l', 'volume=srv'], { dir })).code).toBe(0);
    expect((await promdrop(['set', 'backup', 'size_bytes', '11', '-l', 'volume=home'], { dir })).code).toBe(0);
    expect(read('backup.prom')).toBe('# HELP size_bytes Backup size.\n# TYPE size_bytes gauge\nsize_bytes{volume="home"} 11\nsize_bytes{volume="srv"} 20\n');
  });

  it('set takes negative numbers and Go spellings as values', async () => {
    expect((await promdrop(['set', 'v', 'a', '-1.5'], { dir })).code).toBe(0);
    expect((await promdrop(['set', 'v', 'b', '+Inf'], { dir })).code).toBe(0);
    expect(read('v.prom')).toBe('# TYPE a gauge\na -1.5\n# TYPE b gauge\nb +Inf\n');
  });

  it('set refuses bad arguments with exit 2 and a file the agent would reject with exit 1 and its findings', async () => {
    // Any non-empty UTF-8 text is a metric name (Prometheus 3); an empty one is not.
    expect((await promdrop(['set', 'v', '', '1'], { dir })).code).toBe(2);
    expect((await promdrop(['set', 'v', 'a', 'many'], { dir })).code).toBe(2);
    expect((await promdrop(['set', 'v', 'a', '1', '-l', 'novalue'], { dir })).code).toBe(2);
    expect((await promdrop(['set', 'v', 'a'], { dir })).code).toBe(2);
    writeFileSync(fileIn('bad.prom'), 'a 1\na 1\n');
    const result = await promdrop(['set', 'bad', 'b', '1'], { dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${fileIn('bad.prom')}:2`);
    expect(read('bad.prom')).toBe('a 1\na 1\n');
  });

  it('inc counts from 0 in a counter, adds DELTA, and refuses to decrease a counter', async () => {
    expect((await promdrop(['inc', 'mail', 'sent_total'], { dir })).code).toBe(0);
    expect((await promdrop(['inc', 'mail', 'sent_total', '41'], { dir })).code).toBe(0);
    const decrease = await promdrop(['inc', 'mail', 'sent_total', '-1'], { dir });
    expect(decrease.code).toBe(1);
    expect(decrease.stderr).toContain('counter');
    expect((await promdrop(['inc', 'mail', 'queue', '-3', '--type', 'gauge'], { dir })).code).toBe(0);
    expect(read('mail.prom')).toBe('# TYPE queue gauge\nqueue -3\n# TYPE sent_total counter\nsent_total 42\n');
  });

  it('set and inc refuse to change an existing TYPE', async () => {
    expect((await promdrop(['inc', 'mail', 'sent_total'], { dir })).code).toBe(0);
    expect((await promdrop(['set', 'mail', 'sent_total', '5', '--type', 'gauge'], { dir })).code).toBe(1);
    expect(read('mail.prom')).toBe('# TYPE sent_total counter\nsent_total 1\n');
  });

  it('set and inc warn about what another file of the directory keeps from being served; --strict refuses it', async () => {
    writeFileSync(fileIn('a.prom'), '# TYPE jobs counter\njobs{kind="x"} 1\n# TYPE lat histogram\nlat_bucket{le="+Inf"} 1\nlat_sum 1\nlat_count 1\n');
    // The same series as a.prom, in a file that sorts later: the agent would serve a.prom's.
    const strict = await promdrop(['inc', 'b', 'jobs', '-l', 'kind=x', '--strict'], { dir });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`series jobs{kind="x"} is also in ${fileIn('a.prom')}`);
    expect(() => statSync(fileIn('b.prom'))).toThrow();
    const plain = await promdrop(['inc', 'b', 'jobs', '-l', 'kind=x'], { dir });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain(`promdrop: warning: ${fileIn('b.prom')}`);
    expect(plain.stderr).toContain(fileIn('a.prom'));
    expect(read('b.prom')).toBe('# TYPE jobs counter\njobs{kind="x"} 1\n');
    // A name histogram lat owns, in a file that sorts later.
    const owned = await promdrop(['set', 'z', 'lat_count', '3', '--strict'], { dir });
    expect(owned.code).toBe(1);
    expect(owned.stderr).toContain(`lat_count collides with histogram lat from ${fileIn('a.prom')}`);
    // A series nobody else has: silent.
    const fine = await promdrop(['set', 'b', 'other', '1', '--strict'], { dir });
    expect(fine.code).toBe(1); // b.prom still holds the duplicate jobs series
    const clean = await promdrop(['set', 'c', 'other', '1', '--strict'], { dir });
    expect(clean).toMatchObject({ code: 0, stderr: '' });
  });

  it('delete removes the file; a missing file is exit 1 unless -f', async () => {
    writeFileSync(fileIn('a.prom'), 'a 1\n');
    expect((await promdrop(['delete', 'a'], { dir })).code).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    expect((await promdrop(['delete', 'a'], { dir })).code).toBe(1);
    expect((await promdrop(['delete', '-f', 'a'], { dir })).code).toBe(0);
  });
});

describe('--help', () => {
  it.each(['write', 'set', 'inc', 'delete', 'run'])('promdrop %s --help shows usage and examples, exit 0', async (command) => {
    const result = await promdrop([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: promdrop ${command}`);
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toContain('--lock-timeout');
  });

  it('an unknown option is a usage error', async () => {
    expect((await promdrop(['write', 'a', '--bogus'], { input: '' })).code).toBe(2);
  });
});
