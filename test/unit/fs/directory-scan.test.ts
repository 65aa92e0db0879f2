import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGlobElement, expandDirectoryPatterns, GlobPatternError, isTextfileName, listTextfiles } from '../../../src/fs/directory-scan.js';

describe('isTextfileName', () => {
  it('takes *.prom, case-sensitively, and skips dotfiles and temp names (row 10)', () => {
    const names = ['a.prom', '.hidden.prom', 'a.prom.tmp', 'a.prom.12345', 'a.PROM', 'a.prom~', 'a.txt', 'b.prom.swp', '.a.prom.tmp', 'c', '.prom'];
    expect(names.filter(isTextfileName)).toEqual(['a.prom']);
  });
});

describe('compileGlobElement (Go filepath.Match)', () => {
  const matches = (pattern: string, name: string) => compileGlobElement(pattern).test(name);

  it('matches like Go for *, ? and classes', () => {
    expect(matches('*', 'abc')).toBe(true);
    expect(matches('*', '.hidden')).toBe(true); // Go does not special-case dots
    expect(matches('a*c', 'abbbc')).toBe(true);
    expect(matches('a?c', 'abc')).toBe(true);
    expect(matches('a?c', 'ac')).toBe(false);
    expect(matches('[a-c]x', 'bx')).toBe(true);
    expect(matches('[^a-c]x', 'bx')).toBe(false);
    expect(matches('[^a-c]x', 'dx')).toBe(true);
    expect(matches('\\*', '*')).toBe(true);
    expect(matches('\\*', 'a')).toBe(false);
    expect(matches('a.b', 'axb')).toBe(false);
    expect(matches('[\\]]', ']')).toBe(true);
  });

  it('rejects malformed patterns as Go does', () => {
    for (const bad of ['[', '[]', '[a-', 'a\\', '[z-a]']) {
      expect(() => compileGlobElement(bad), bad).toThrow(GlobPatternError);
    }
  });
});

describe('on a real directory tree', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'promdrop-scan-'));
    for (const dir of ['srv/a/metrics', 'srv/b/metrics', 'srv/c/other']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'srv/not-a-dir'), '');
    const d = join(root, 'srv/a/metrics');
    for (const name of ['b.prom', 'a.prom', '.hidden.prom', 'a.prom.tmp', 'x.txt']) writeFileSync(join(d, name), 'm 1\n');
    mkdirSync(join(d, 'sub.prom'));
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'sub', 'inner.prom'), 'm 1\n');
    symlinkSync(join(d, 'a.prom'), join(d, 'link.prom'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists *.prom entries without recursion, sorted (rows 10, 11)', async () => {
    const listing = await listTextfiles(join(root, 'srv/a/metrics'));
    expect(listing.ok).toBe(true);
    if (listing.ok) expect(listing.names).toEqual(['a.prom', 'b.prom', 'link.prom', 'sub.prom']);
  });

  it('reports a missing directory instead of throwing (row 13)', async () => {
    const listing = await listTextfiles(join(root, 'missing'));
    expect(listing).toMatchObject({ ok: false, code: 'ENOENT' });
    if (!listing.ok) expect(listing.message).toContain('no such directory');
  });

  it('expands globs to the matching directories only, in order (row 13b)', async () => {
    const [expansion] = await expandDirectoryPatterns([join(root, 'srv/*/metrics')]);
    expect(expansion!.directories).toEqual([join(root, 'srv/a/metrics'), join(root, 'srv/b/metrics')]);
    const [all] = await expandDirectoryPatterns([join(root, 'srv/*')]);
    expect(all!.directories).toEqual(['a', 'b', 'c'].map((d) => join(root, 'srv', d)));
  });

  it('keeps a glob matching nothing and a literal path as they are, so they get reported', async () => {
    const expansions = await expandDirectoryPatterns([join(root, 'nothing/*'), join(root, 'missing')]);
    expect(expansions.map((e) => e.directories)).toEqual([[join(root, 'nothing/*')], [join(root, 'missing')]]);
  });

  it('reads a directory named twice only once, and reports a bad pattern', async () => {
    const expansions = await expandDirectoryPatterns([join(root, 'srv/a/metrics'), join(root, 'srv/[ab]/metrics'), join(root, 'srv/[')]);
    expect(expansions[0]!.directories).toEqual([join(root, 'srv/a/metrics')]);
    expect(expansions[1]!.directories).toEqual([join(root, 'srv/b/metrics')]);
    expect(expansions[2]!.error).toContain('invalid glob pattern');
  });

  it('expands relative patterns against the working directory', async () => {
    const previous = process.cwd();
    process.chdir(root);
    try {
      const [expansion] = await expandDirectoryPatterns(['srv/?/metrics']);
      expect(expansion!.directories).toEqual(['srv/a/metrics', 'srv/b/metrics']);
    } finally {
      process.chdir(previous);
    }
  });
});
