// The files that make promdrop a system service, checked with systemd's own tools: the unit and
// socket pass `systemd-analyze verify` without a single warning, the unit's exposure score stays
// at or under 2.0 (Debian's node_exporter unit scores 9.2), the tmpfiles.d line creates the
// textfile directory with the documented owner, group and mode, the agent's system calls and
// /proc reads fit the unit's SystemCallFilter= and ProcSubset=pid (traced with strace: systemd
// itself does not run on the test machines), and the example job works.
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireProgram, runProgram } from '../helpers/peers.js';
import { CLI, eventually, makeTempDir, removeDir, runCli, writeAtomically } from './serve-agent.js';
import { promdropArgv, TEST_EXECUTABLE } from '../helpers/promdrop-command.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SERVICE = join(REPO, 'systemd/promdrop.service');
const SOCKET = join(REPO, 'systemd/promdrop.socket');
const TMPFILES = join(REPO, 'systemd/promdrop.tmpfiles');
const EXAMPLES = join(REPO, 'examples/systemd');
const EXPOSURE_TARGET = 2.0;

const systemdAnalyze = requireProgram('systemd-analyze', 'systemd');
const systemdTmpfiles = requireProgram('systemd-tmpfiles', 'systemd');
const strace = requireProgram('strace', 'strace');

/**
 * Calls outside @system-service that V8 or libuv only probe, treating any failure as "not
 * available": SystemCallErrorNumber=EPERM makes them fail instead of killing the agent.
 */
const PROBED_OUTSIDE_FILTER = new Set(['pkey_alloc', 'pkey_free', 'pkey_mprotect']);
/**
 * Files outside /proc/<pid> (hidden by ProcSubset=pid) that the runtime reads, each with a
 * fallback: libuv takes the memory size from sysinfo(2) when /proc/meminfo cannot be read,
 * V8/glibc assume the default overcommit policy, and the libuv of Node 24 (the single
 * executable's runtime) looks for Ubuntu's /proc/version_signature before it asks uname(2), as
 * it does on every system without that file.
 */
const PROC_READS_WITH_FALLBACK = new Set(['/proc/meminfo', '/proc/sys/vm/overcommit_memory', '/proc/version_signature']);

/**
 * Copies unit files into `dir` with the installed program paths pointed at this checkout:
 * `verify` insists that every Exec*= binary exists, and the package is not installed here.
 */
async function stageUnits(dir: string, files: readonly string[]): Promise<string[]> {
  const staged: string[] = [];
  for (const file of files) {
    const text = (await readFile(file, 'utf8'))
      .replaceAll('/usr/bin/promdrop', TEST_EXECUTABLE ?? CLI)
      .replaceAll('/usr/local/bin/promdrop-dirsize', join(EXAMPLES, 'dirsize.sh'));
    const target = join(dir, file.slice(file.lastIndexOf('/') + 1));
    await writeFile(target, text);
    staged.push(target);
  }
  return staged;
}

describe.skipIf(systemdAnalyze === undefined)('systemd units (systemd-analyze)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-units-');
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('the service and its socket pass systemd-analyze verify with no warning', async () => {
    const units = await stageUnits(dir, [SERVICE, SOCKET]);
    const result = await runProgram(systemdAnalyze!, ['verify', ...units]);
    // verify exits 0 for unknown or misspelt directives and only warns: the output must be empty.
    expect(result.stderr + result.stdout).toBe('');
    expect(result.code).toBe(0);
  });

  it('the example job (service and timer) passes systemd-analyze verify with no warning', async () => {
    const units = await stageUnits(dir, [join(EXAMPLES, 'promdrop-dirsize.service'), join(EXAMPLES, 'promdrop-dirsize.timer')]);
    const result = await runProgram(systemdAnalyze!, ['verify', ...units]);
    expect(result.stderr + result.stdout).toBe('');
    expect(result.code).toBe(0);
  });

  it(`the service's exposure level is at most ${EXPOSURE_TARGET} (systemd-analyze security --offline=true)`, async () => {
    const result = await runProgram(systemdAnalyze!, ['security', '--offline=true', '--no-pager', SERVICE]);
    const match = /Overall exposure level for promdrop\.service: (\d+(?:\.\d+)?) /.exec(result.stdout);
    expect(match, `no exposure level in:\n${result.stdout}\n${result.stderr}`).not.toBeNull();
    const exposure = Number(match![1]);
    expect(exposure).toBeLessThanOrEqual(EXPOSURE_TARGET);
    // The directives that matter most for an agent reachable from the network, each ✓.
    for (const check of [
      'User=/DynamicUser=',
      'NoNewPrivileges=',
      'ProtectSystem=',
      'PrivateUsers=',
      'SystemCallFilter=~@privileged',
      'CapabilityBoundingSet=~CAP_SYS_ADMIN',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^✓ ${check.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`, 'm'));
    }
  });
});

/** The system calls a systemd-analyze syscall-filter group stands for, groups expanded. */
async function syscallGroup(group: string, cache: Map<string, Set<string>>): Promise<Set<string>> {
  const known = cache.get(group);
  if (known !== undefined) return known;
  const result = await runProgram(systemdAnalyze!, ['syscall-filter', group]);
  if (result.code !== 0) throw new Error(`systemd-analyze syscall-filter ${group}: ${result.stderr}`);
  const calls = new Set<string>();
  for (const line of result.stdout.split('\n').slice(1)) {
    const entry = line.trim();
    if (entry === '' || entry.startsWith('#')) continue;
    if (entry.startsWith('@')) for (const call of await syscallGroup(entry, cache)) calls.add(call);
    else calls.add(entry);
  }
  cache.set(group, calls);
  return calls;
}

/** What the unit's SystemCallFilter= lines allow: the allow list, minus every ~ deny line. */
async function allowedSyscalls(unitText: string): Promise<Set<string>> {
  const cache = new Map<string, Set<string>>();
  const allowed = new Set<string>();
  const denied = new Set<string>();
  for (const match of unitText.matchAll(/^SystemCallFilter=(~?)(.*)$/gm)) {
    for (const item of match[2]!.trim().split(/\s+/)) {
      const calls = item.startsWith('@') ? await syscallGroup(item, cache) : new Set([item]);
      for (const call of calls) (match[1] === '~' ? denied : allowed).add(call);
    }
  }
  for (const call of denied) allowed.delete(call);
  return allowed;
}

describe.skipIf(systemdAnalyze === undefined || strace === undefined)("the agent under the unit's SystemCallFilter= and ProcSubset=pid (strace)", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-strace-');
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('starts, scans, serves every endpoint, sees a new file, rescans on SIGHUP and stops, with only allowed calls', async () => {
    const textfiles = join(dir, 'textfiles');
    await mkdir(textfiles);
    await writeFile(join(textfiles, 'first.prom'), '# TYPE first gauge\nfirst{x="1"} 1\n');
    const trace = join(dir, 'trace.txt');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const traced = spawn(
      strace!,
      ['-f', '-qq', '-o', trace, ...promdropArgv(CLI), 'serve', `--textfile.directory=${textfiles}`, `--web.listen-address=127.0.0.1:${port}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    traced.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    traced.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => traced.once('close', (code) => resolve(code)));
    /** The traced agent's pid: the first pid strace wrote down. */
    const agentPid = async (): Promise<number> => Number(/^(\d+) /.exec(await readFile(trace, 'utf8'))?.[1]);
    try {
      await eventually(async () => (await fetch(`${url}/-/ready`)).ok, 30_000, `the traced agent to be ready:\n${output}`);
      for (const headers of [{}, { 'accept-encoding': 'gzip' }, { accept: 'application/openmetrics-text;version=1.0.0' }]) {
        expect((await fetch(`${url}/metrics`, { headers })).status).toBe(200);
      }
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/files`)).status).toBe(200);
      await writeAtomically(textfiles, 'second.prom', 'second 2\n');
      await eventually(async () => (await (await fetch(`${url}/metrics`)).text()).includes('\nsecond 2\n'), 20_000, 'the new file to be served');
      process.kill(await agentPid(), 'SIGHUP');
      await eventually(async () => output.includes('SIGHUP: rescanning'), 20_000, 'the SIGHUP rescan');
      process.kill(await agentPid(), 'SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (traced.exitCode === null && traced.signalCode === null) {
        traced.kill('SIGKILL');
        await exited;
      }
    }

    const traceText = await readFile(trace, 'utf8');
    const used = new Set<string>();
    for (const match of traceText.matchAll(/^\d+ +([a-z0-9_]+)\(/gm)) used.add(match[1]!);
    for (const match of traceText.matchAll(/<\.\.\. ([a-z0-9_]+) resumed>/g)) used.add(match[1]!);
    expect(used.size).toBeGreaterThan(20);
    const allowed = await allowedSyscalls(await readFile(SERVICE, 'utf8'));
    const outside = [...used].filter((call) => !allowed.has(call) && !PROBED_OUTSIDE_FILTER.has(call)).sort();
    expect(outside, 'system calls the unit would refuse with EPERM').toEqual([]);

    const procReads = new Set<string>();
    for (const match of traceText.matchAll(/open(?:at)?\((?:AT_FDCWD, )?"(\/proc\/[^"]*)"/g)) procReads.add(match[1]!);
    const hidden = [...procReads].filter((path) => !/^\/proc\/(self|thread-self|\d+)(\/|$)/.test(path) && !PROC_READS_WITH_FALLBACK.has(path));
    expect(hidden, '/proc files that ProcSubset=pid hides').toEqual([]);
  });
});

describe.skipIf(systemdTmpfiles === undefined)('textfile directory (systemd-tmpfiles)', () => {
  let root: string;
  const WRITERS_GID = 4242;

  beforeAll(async () => {
    root = await makeTempDir('promdrop-tmpfiles-');
    // systemd-tmpfiles --root resolves names in the root's own account files.
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(join(root, 'etc/group'), `root:x:0:\npromdrop-writers:x:${WRITERS_GID}:\n`);
  });

  afterAll(async () => {
    await removeDir(root);
  });

  it('creates /var/lib/promdrop as root:promdrop-writers 2775, and puts a loosened mode back', async () => {
    const created = await runProgram(systemdTmpfiles!, ['--create', `--root=${root}`, TMPFILES]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const directory = join(root, 'var/lib/promdrop');
    let info = await stat(directory);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o7777).toBe(0o2775);
    expect(info.uid).toBe(0);
    expect(info.gid).toBe(WRITERS_GID);

    // Someone opens the directory to everybody; the next boot's tmpfiles run closes it again.
    await chmod(directory, 0o777);
    await writeFile(join(directory, 'kept.prom'), 'kept 1\n');
    const again = await runProgram(systemdTmpfiles!, ['--create', `--root=${root}`, TMPFILES]);
    expect(again.code).toBe(0);
    info = await stat(directory);
    expect(info.mode & 0o7777).toBe(0o2775);
    // ... and never touches what is inside, not even with --clean: there is no age.
    const cleaned = await runProgram(systemdTmpfiles!, ['--clean', `--root=${root}`, TMPFILES]);
    expect(cleaned.code).toBe(0);
    expect(await readFile(join(directory, 'kept.prom'), 'utf8')).toBe('kept 1\n');
  });
});

describe('example job (examples/systemd/dirsize.sh through promdrop run)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-example-');
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('writes sizes the agent accepts, and records a failed run when a directory cannot be measured', async () => {
    const textfiles = join(dir, 'textfiles');
    const measured = join(dir, 'data "quoted"');
    const bin = join(dir, 'bin');
    await mkdir(textfiles);
    await mkdir(measured);
    await writeFile(join(measured, 'blob'), Buffer.alloc(64 * 1024, 1));
    await mkdir(bin);
    // The unit runs /usr/bin/promdrop; here the checkout's, first on PATH, as the script calls it.
    await symlink(TEST_EXECUTABLE ?? CLI, join(bin, 'promdrop'));
    await copyFile(join(EXAMPLES, 'dirsize.sh'), join(bin, 'promdrop-dirsize'));
    await chmod(join(bin, 'promdrop-dirsize'), 0o755);
    const env = { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, PROMDROP_DIR: textfiles };
    const run = (directories: string[]) =>
      runProgram(join(bin, 'promdrop'), ['run', '--name', 'dirsize', '--', 'promdrop-dirsize', ...directories], undefined, 60_000, env);

    const ok = await run([measured]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const sizes = await readFile(join(textfiles, 'dirsize.prom'), 'utf8');
    const line = /^directory_size_bytes\{directory="(.*)"\} (\d+)$/m.exec(sizes);
    expect(line?.[1]).toBe(measured.replaceAll('"', '\\"'));
    expect(Number(line?.[2])).toBeGreaterThanOrEqual(64 * 1024);
    const check = await runCli(['check', join(textfiles, 'dirsize.prom')]);
    expect(check.code).toBe(0);

    const failed = await run([measured, join(dir, 'missing')]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('cannot measure');
    const outcome = await readFile(join(textfiles, 'dirsize.job.prom'), 'utf8');
    expect(outcome).toContain('batch_job_last_exit_code{name="dirsize"} 1');
    expect(outcome).toContain('batch_job_runs_total{name="dirsize",result="success"} 1');
    // The measurable directory is still reported.
    expect(await readFile(join(textfiles, 'dirsize.prom'), 'utf8')).toContain('directory_size_bytes{directory=');
  });
});
