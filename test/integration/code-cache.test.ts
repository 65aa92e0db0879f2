// bin/promdrop runs the CLI bundle with V8's code cache made at build time. A cache that does
// not fit (another node, a rebuilt bundle, a damaged file) must cost nothing but speed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from './serve-agent.js';

const REPO = join(import.meta.dirname, '..', '..');
const VERSION = (
  JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: REPO }).toString()) as { version: string }
).version;

describe('the CLI code cache', () => {
  let copy: string;

  beforeAll(async () => {
    copy = await makeTempDir('promdrop-code-cache-');
    mkdirSync(join(copy, 'bin'));
    mkdirSync(join(copy, 'dist'));
    for (const file of ['bin/promdrop', 'bin/load-cli.cjs', 'bin/package.json']) copyFileSync(join(REPO, file), join(copy, file));
    for (const file of readdirSync(join(REPO, 'dist')))
      if (file.endsWith('.cjs') || file.endsWith('.v8-cache')) copyFileSync(join(REPO, 'dist', file), join(copy, 'dist', file));
  });

  afterAll(async () => {
    await removeDir(copy);
  });

  const run = (...args: string[]): string => execFileSync(process.execPath, [join(copy, 'bin', 'promdrop'), ...args], { input: 'cached_ok 1\n' }).toString();

  it('is made by the build and accepted by the node that built it, `list` and `cat` included', () => {
    expect(run('write', '-d', copy, 'first')).toBe('');
    expect(run('cat', '-d', copy)).toContain('cached_ok 1\n');
    const rejected = execFileSync(
      process.execPath,
      [
        '-e',
        "process.argv = ['node', 'promdrop', '--version']; const s = require(process.env.LOADER).runCli(); process.on('exit', () => console.log(s.cachedDataRejected))",
      ],
      {
        env: { ...process.env, LOADER: join(copy, 'bin', 'load-cli.cjs') },
      },
    ).toString();
    expect(rejected).toBe(`${VERSION}\nfalse\n`);
  });

  it('is ignored when damaged: the CLI still works', () => {
    writeFileSync(join(copy, 'dist', 'cli.cjs.v8-cache'), Buffer.alloc(4096, 7));
    expect(run('--version')).toBe(`${VERSION}\n`);
    run('write', '-d', copy, 'cached');
    expect(run('cat', '-d', copy)).toContain('cached_ok 1\n');
  });
});
