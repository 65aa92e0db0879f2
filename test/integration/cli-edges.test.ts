// The writer CLI's edges a new user meets first (issue 15): empty input, directories that are
// missing or not writable, help that is ambiguous, and messages that must say what to do.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, promdrop, REPO_ROOT, requireBuiltCli } from './writer-support.js';

let root: string;
let dir: string;
let testNumber = 0;
beforeAll(() => {
  requireBuiltCli();
  root = makeTempDir('cli-edges');
  chmodSync(root, 0o755);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  dir = join(root, String(testNumber++));
  mkdirSync(dir);
  chmodSync(dir, 0o755);
});

const fileIn = (name: string): string => join(dir, name);
const read = (name: string): string => readFileSync(fileIn(name), 'utf8');
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe('write refuses empty stdin', () => {
  it('exit 1, the last good file untouched, a message that says why and how to opt in', async () => {
    writeFileSync(fileIn('deleted_libraries.prom'), 'good 1\n');
    const result = await promdrop(['write', 'deleted_libraries'], { dir, input: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('stdin is empty');
    expect(result.stderr).toContain('--allow-empty');
    expect(read('deleted_libraries.prom')).toBe('good 1\n');
  });

  it('--allow-empty writes the empty file', async () => {
    writeFileSync(fileIn('a.prom'), 'good 1\n');
    const result = await promdrop(['write', 'a', '--allow-empty'], { dir, input: '' });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(read('a.prom')).toBe('');
  });

  it('the help and docs show `set -o pipefail` for producers that die half-way', async () => {
    expect((await promdrop(['write', '--help'])).stdout).toContain('set -o pipefail');
    expect(readFileSync(join(REPO_ROOT, 'docs/writing.md'), 'utf8')).toContain('set -o pipefail');
  });
});

describe('a missing or unwritable directory gives the same clear message for every command', () => {
  const commands: Array<[string, string[], string]> = [
    ['write', ['write', 'a'], 'a 1\n'],
    ['set', ['set', 'a', 'm', '1'], ''],
    ['inc', ['inc', 'a', 'm'], ''],
    ['delete', ['delete', 'a'], ''],
    ['run', ['run', '--name', 'a', '--', 'true'], ''],
  ];

  it.each(commands)('%s -d /missing says the directory does not exist, never a raw lock error', async (_name, args, input) => {
    const missing = join(dir, 'missing');
    const result = await promdrop([args[0]!, '-d', missing, ...args.slice(1)], { input });
    expect(result.stderr).toContain(`textfile directory ${missing} does not exist`);
    expect(result.stderr).not.toMatch(/cannot lock|ENOENT|mkdir/);
    // run still runs the job and exits with its status; the others fail.
    expect(result.code).toBe(args[0] === 'run' ? 0 : 1);
  });

  it.runIf(asRoot).each(commands)('%s as a user who may not write there: who may, and no raw EACCES', async (_name, args, input) => {
    writeFileSync(fileIn('a.prom'), 'a 1\n');
    const result = await promdrop([args[0]!, '-d', dir, ...args.slice(1)], { input, uid: NOBODY });
    expect(result.stderr).toContain(`permission denied: user nobody cannot create files in textfile directory ${dir}`);
    expect(result.stderr).toContain('(root:root, mode 0755: only root (its owner) may write there)');
    expect(result.stderr).not.toMatch(/cannot lock|EACCES|mkdir/);
    expect(read('a.prom')).toBe('a 1\n');
  });

  it.runIf(asRoot)('list run by a user names that user, not "the agent\'s user"', async () => {
    writeFileSync(fileIn('secret.prom'), 'a 1\n');
    chmodSync(fileIn('secret.prom'), 0o600);
    const result = await promdrop(['list', '-d', dir], { uid: NOBODY });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('user nobody cannot read it');
    expect(result.stdout).not.toContain("agent's user");
  });
});

describe('reading commands and a directory that does not exist', () => {
  it('cat -d /missing prints what the agent would serve, says why on stderr and exits 1', async () => {
    const missing = join(dir, 'missing');
    const result = await promdrop(['cat', '-d', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`promdrop: directory ${missing}: no such directory\n`);
    expect(result.stdout).toContain('node_textfile_scrape_error 1');
  });

  it('list -d /missing names the path once', async () => {
    const missing = join(dir, 'missing');
    const result = await promdrop(['list', '-d', missing]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`directory ${missing}: no such directory\n`);
    expect(result.stdout.split(missing).length - 1).toBe(2); // the error line and "no *.prom files in"
  });
});

describe('help and HELP', () => {
  it('run --help shows each default once', async () => {
    const help = (await promdrop(['run', '--help'])).stdout;
    expect(help).toContain('(default: 10s)');
    expect(help).not.toContain('10000');
  });

  it.each(['set', 'inc'])('%s --help alone shows help; after arguments, a missing HELP text is a usage error', async (command) => {
    const alone = await promdrop([command, '--help']);
    expect(alone.code).toBe(0);
    expect(alone.stdout).toContain(`Usage: promdrop ${command}`);
    const args = command === 'set' ? ['set', 'f', 'm', '1'] : ['inc', 'f', 'm'];
    const missing = await promdrop([...args, '--help'], { dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("'--help <TEXT>' needs the metric's HELP text");
    expect(readdirSync(dir)).toEqual([]);
  });

  it('--help "" writes no HELP line (no `# HELP m ` with a trailing blank)', async () => {
    expect((await promdrop(['set', 'f', 'm', '1', '--help', ''], { dir })).code).toBe(0);
    expect(read('f.prom')).toBe('# TYPE m gauge\nm 1\n');
  });
});

describe('messages', () => {
  it('check with no argument on a terminal explains instead of waiting', () => {
    // script(1) gives the command a terminal as stdin.
    const result = spawnSync('script', ['-qec', `${process.execPath} ${requireBuiltCli()} check`, '/dev/null'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('check reads stdin when no file is given');
  });

  it('delete NAME when only NAME.job.prom exists points at it', async () => {
    writeFileSync(fileIn('slow.job.prom'), 'a 1\n');
    const result = await promdrop(['delete', 'slow'], { dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('slow.job.prom does');
    expect(result.stderr).toContain('promdrop delete slow.job');
  });

  it('"an untyped", not "a untyped"', async () => {
    expect((await promdrop(['set', 'f', 'm', '1', '--type', 'untyped'], { dir })).code).toBe(0);
    const result = await promdrop(['set', 'f', 'm', '1', '--type', 'gauge'], { dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('m is an untyped');
    expect(result.stderr).not.toContain('a untyped');
  });

  it('ttl=0s is reported as written', async () => {
    const result = await promdrop(['write', 'a'], { dir, input: '# promdrop: ttl=0s\na 1\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid ttl "0s"');
  });
});
