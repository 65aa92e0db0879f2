// `promdrop list` and `promdrop cat`, run as the built command: the agent's judgement and output
// without an agent. Needs `npm run build` first (npm test does it).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOnce, type FileReport } from '../../src/agent/load-once.js';
import { PEERS, requireProgram, runProgram } from '../helpers/peers.js';
import { tempDirectory } from './store-helpers.js';
import { promdropArgv } from '../helpers/promdrop-command.js';
import { promdrop, requireBuiltCli } from './writer-support.js';

const promtool = requireProgram(PEERS.promtool, 'prometheus');

interface ListJson {
  readonly directories: Array<{ path: string; pattern: string; ok: boolean; message?: string }>;
  readonly files: FileReport[];
}

let dir: string;

beforeAll(() => {
  requireBuiltCli();
  dir = tempDirectory('list');
  writeFileSync(
    join(dir, 'backup.prom'),
    '# promdrop: ttl=26h\n# HELP backup_last_success_timestamp_seconds Last successful backup.\n# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e+09\n',
  );
  writeFileSync(
    join(dir, 'apt.prom'),
    '# HELP apt_upgrades_pending Upgrades pending.\n# TYPE apt_upgrades_pending gauge\napt_upgrades_pending{arch="amd64"} 3\napt_upgrades_pending{arch="all"} 1\n',
  );
  writeFileSync(join(dir, 'broken.prom'), '# TYPE broken gauge\nbroken{job="a" 1\n');
  const old = Date.now() / 1000 - 3 * 3600;
  utimesSync(join(dir, 'apt.prom'), old, old);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('promdrop list', () => {
  it('shows every file with its state, age, series, TTL and error, and exits 1 when one is bad', async () => {
    const result = await promdrop(['list', '-d', dir]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STATE\s+AGE\s+SERIES\s+TTL\s+EXPIRES\s+FILE$/);
    expect(lines[1]).toMatch(new RegExp(`^ok\\s+3h\\d*m?\\d*s?\\s+2\\s+-\\s+-\\s+${join(dir, 'apt.prom')}$`));
    expect(lines[2]).toMatch(new RegExp(`^ok\\s+\\d+s\\s+1\\s+1d2h\\s+in 1d\\d+h\\S*\\s+${join(dir, 'backup.prom')}$`));
    expect(lines[3]).toMatch(new RegExp(`^invalid\\s+\\d+s\\s+0\\s+-\\s+-\\s+${join(dir, 'broken.prom')}$`));
    expect(lines[4]).toMatch(new RegExp(`^    parse: ${join(dir, 'broken.prom')}:2:\\d+: `));
    expect(lines).toHaveLength(5);
  });

  it('prints the same reports as JSON', async () => {
    const result = await promdrop(['list', '--json', '-d', dir]);
    const listed = JSON.parse(result.stdout) as ListJson;
    expect(listed.directories).toEqual([{ path: dir, pattern: dir, ok: true }]);
    expect(listed.files.map((f) => [f.path, f.state, f.served, f.series, f.reason])).toEqual([
      [join(dir, 'apt.prom'), 'ok', true, 2, undefined],
      [join(dir, 'backup.prom'), 'ok', true, 1, undefined],
      [join(dir, 'broken.prom'), 'invalid', false, 0, 'parse'],
    ]);
    const backup = listed.files[1]!;
    expect(backup.ttlMs).toBe(26 * 3_600_000);
    expect(backup.expiresAtMs).toBe(backup.mtimeMs! + 26 * 3_600_000);
  });

  it('judges with --max-age like the agent, and exits 0 when every file is fine', async () => {
    const result = await promdrop(['list', '--json', '--max-age', '1h', '-d', dir]);
    const listed = JSON.parse(result.stdout) as ListJson;
    expect(listed.files.find((f) => f.path.endsWith('apt.prom'))).toMatchObject({ state: 'expired', served: false, reason: 'expired', ttlMs: 3_600_000 });
    // The file's own ttl wins over --max-age.
    expect(listed.files.find((f) => f.path.endsWith('backup.prom'))).toMatchObject({ state: 'ok', ttlMs: 26 * 3_600_000 });

    const clean = tempDirectory('list-clean');
    try {
      writeFileSync(join(clean, 'a.prom'), 'a 1\n');
      const ok = await promdrop(['list', '-d', clean]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(join(clean, 'a.prom'));
    } finally {
      rmSync(clean, { recursive: true, force: true });
    }
  });

  it('takes the directory from PROMDROP_DIR, and -d (repeatable) over it', async () => {
    const other = tempDirectory('list-other');
    try {
      writeFileSync(join(other, 'other.prom'), 'other 1\n');
      const fromEnv = JSON.parse((await promdrop(['list', '--json'], { dir: other })).stdout) as ListJson;
      expect(fromEnv.files.map((f) => f.path)).toEqual([join(other, 'other.prom')]);
      const fromFlag = JSON.parse((await promdrop(['list', '--json', '-d', dir], { dir: other })).stdout) as ListJson;
      expect(fromFlag.directories.map((d) => d.path)).toEqual([dir]);
      const both = JSON.parse((await promdrop(['list', '--json', '-d', dir, '-d', other])).stdout) as ListJson;
      expect(both.files).toHaveLength(4);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('reports a missing directory and exits 1', async () => {
    const missing = join(dir, 'missing');
    const result = await promdrop(['list', '-d', missing]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`directory ${missing}: no such directory\n`);
  });

  it('rejects a malformed --max-age as a usage error, and documents itself', async () => {
    const bad = await promdrop(['list', '--max-age', 'soon', '-d', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Prometheus duration');
    const help = await promdrop(['list', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--json');
  });
});

describe('promdrop cat', () => {
  it('prints exactly what the agent would serve for the directory', async () => {
    const result = await promdrop(['cat', '-d', dir]);
    expect(result.code).toBe(0);
    const expected = (await loadOnce({ directories: [dir] })).text.toString();
    expect(result.stdout).toBe(expected);
    expect(result.stdout).toContain('apt_upgrades_pending{arch="all"} 1\n');
    expect(result.stdout).not.toContain('broken{');
    expect(result.stdout).toContain('node_textfile_scrape_error 1\n');
    expect(result.stdout).toContain(`promdrop_textfile_error{file="${join(dir, 'broken.prom')}",reason="parse"} 1\n`);
  });

  it('prints OpenMetrics on request', async () => {
    const result = await promdrop(['cat', '--openmetrics', '-d', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('# EOF\n')).toBe(true);
    expect(result.stdout).toMatch(/^apt_upgrades_pending\{arch="amd64"\} 3(?:\.0)?$/m);
  });

  it.skipIf(promtool === undefined)('prints output promtool accepts', async () => {
    const clean = tempDirectory('cat-promtool');
    try {
      writeFileSync(join(clean, 'apt.prom'), readFileSync(join(dir, 'apt.prom')));
      mkdirSync(join(clean, 'dir.prom')); // reported through the meta metrics, still valid output
      const cat = await promdrop(['cat', '-d', clean]);
      const checked = await runProgram(promtool!, ['check', 'metrics'], cat.stdout);
      expect(checked.stderr + checked.stdout).not.toMatch(/error while linting|parsing error/);
      expect(checked.code).toBe(0);
    } finally {
      rmSync(clean, { recursive: true, force: true });
    }
  });

  it('stops quietly when its reader does (`promdrop cat | head`, `promdrop run --help | head`)', async () => {
    const [program, ...leading] = promdropArgv(requireBuiltCli());
    for (const args of [['--help'], ['run', '--help'], ['cat', '-d', dir]]) {
      const child = spawn(program, [...leading, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
      // The read end closed before promdrop writes a byte: its first write fails with EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
      expect({ args, stderr, code }).toEqual({ args, stderr: '', code: 0 });
    }
  });

  it('never loads the watcher, fastify or prom-client (cron-path start-up cost)', async () => {
    const cli = requireBuiltCli();
    const log = join(dir, '..', `loaded-${process.pid}.txt`);
    // A preload that records every module file the command required (the CLI is CommonJS).
    const recorder = join(dir, '..', `record-${process.pid}.cjs`);
    writeFileSync(recorder, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, Object.keys(require.cache).join('\\n')));\n`);
    const child = spawn(process.execPath, ['-r', recorder, cli, 'cat', '-d', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    try {
      expect(stdout).toContain('apt_upgrades_pending');
      const loaded = readFileSync(log, 'utf8').trim().split('\n');
      expect(loaded.some((path) => path.endsWith('/dist/cli.cjs'))).toBe(true);
      expect(loaded.some((path) => path.endsWith('/dist/agent-load.cjs'))).toBe(true);
      for (const path of loaded.filter((p) => p.startsWith('/'))) {
        const source = readFileSync(path, 'utf8');
        expect(source, path).not.toContain('awaitWriteFinish'); // chokidar
        expect(source, path).not.toContain('FST_ERR_'); // fastify
        expect(source, path).not.toContain('collectDefaultMetrics'); // prom-client
      }
    } finally {
      rmSync(log, { force: true });
      rmSync(recorder, { force: true });
    }
  });
});
