// The Debian package, end to end on this machine: built by scripts/package-deb.sh around the
// single executable (scripts/build-sea.mjs, so no Node.js is needed to run it), installed with
// dpkg -i, the installed unit's ExecStart run as the unit's user (systemd does not run here, so
// the test does what it would: variables from /etc/default/promdrop expanded, User=/Group= from
// the unit), scraped, upgraded, removed and purged; nothing of the package may stay behind but
// the configuration after `remove`, and the textfiles (the user's data) never go.
//
// Needs root, dpkg and the executable (npm run build:sea): under CI their absence fails the test;
// elsewhere it is skipped. It changes
// the machine (a package, two accounts), and puts it back in afterAll even when a step fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireProgram, runProgram } from '../helpers/peers.js';
import { unitEnvironment } from '../helpers/systemd-unit.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = 'promdrop';
const TEXTFILE_DIRECTORY = '/var/lib/promdrop';
const CONFFILE = '/etc/default/promdrop';
const INSTALLED_UNIT = '/usr/lib/systemd/system/promdrop.service';
/** systemd's PATH for system services. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NOBODY = '65534';
const EXECUTABLE = join(REPO, 'build', 'sea', 'linux-x64', 'promdrop');

const dpkg = requireProgram('dpkg', 'dpkg');
const setpriv = requireProgram('setpriv', 'util-linux');
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env['CI']) throw new Error('the Debian package test installs a package: it must run as root in CI');
const executableBuilt = existsSync(EXECUTABLE);
if (!executableBuilt && process.env['CI']) throw new Error(`${EXECUTABLE} is missing: run \`npm run build:sea\` (or npm run release) before the tests`);

/** The unit file's [Service] settings (the subset our unit uses: no line continuations). */
function serviceSettings(unitText: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const raw of unitText.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (line.endsWith('\\')) throw new Error(`line continuations are not handled by this test: ${line}`);
    const equals = line.indexOf('=');
    if (section === '[Service]' && equals > 0) settings.set(line.slice(0, equals), line.slice(equals + 1));
  }
  return settings;
}

/** KEY=VALUE lines of an EnvironmentFile, with one level of double or single quotes taken off. */
function environmentFile(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match === null) throw new Error(`not an assignment: ${line}`);
    const value = match[2]!;
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    if (quoted === null && /["'\\]/.test(value)) throw new Error(`quoting this test does not handle: ${line}`);
    variables[match[1]!] = quoted === null ? value : quoted[1]!;
  }
  return variables;
}

/** ExecStart as systemd expands it: `$NAME` splits the value at whitespace, `${NAME}` is one word. */
function expandExecStart(line: string, variables: Record<string, string>): string[] {
  if (/^[-@:+!]/.test(line)) throw new Error(`ExecStart prefixes are not handled by this test: ${line}`);
  const argv: string[] = [];
  for (const word of line.trim().split(/\s+/)) {
    const split = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(word);
    if (split !== null) argv.push(...(variables[split[1]!] ?? '').split(/\s+/).filter((part) => part !== ''));
    else if (whole !== null) argv.push(variables[whole[1]!] ?? '');
    else if (word.includes('$')) throw new Error(`a variable inside a word is not handled by this test: ${word}`);
    else argv.push(word);
  }
  return argv;
}

async function run(command: string, args: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProgram(command, args, input, 120_000);
}

async function mustRun(command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await run(command, args, input);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

async function packageStatus(): Promise<string> {
  const result = await run('dpkg-query', ['-W', '-f=${db:Status-Status}', PACKAGE]);
  return result.code === 0 ? result.stdout : 'not-installed';
}

async function accountExists(database: 'passwd' | 'group', name: string): Promise<boolean> {
  return (await run('getent', [database, name])).code === 0;
}

async function groupId(name: string): Promise<string> {
  return (await mustRun('getent', ['group', name])).split(':')[2]!;
}

/**
 * Paths from `dpkg -L` that still exist: files, links, and directories that nothing else uses
 * (a directory other packages share, such as /usr/bin, stays as long as it holds their files).
 */
function leftovers(paths: readonly string[]): string[] {
  return paths.filter((path) => {
    if (path === '/.') return false;
    let info;
    try {
      info = lstatSync(path);
    } catch {
      return false;
    }
    return !info.isDirectory() || readdirSync(path).length === 0 || path.startsWith('/usr/lib/promdrop') || path.startsWith('/usr/share/doc/promdrop');
  });
}

/** Entries under systemd's configuration and deb-systemd-helper's state whose name has `word`. */
function systemdStateMentioning(word: string): string[] {
  const found: string[] = [];
  for (const root of ['/etc/systemd/system', '/var/lib/systemd/deb-systemd-helper-enabled', '/var/lib/systemd/deb-systemd-helper-masked']) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root, { recursive: true, encoding: 'utf8' })) if (entry.includes(word)) found.push(join(root, entry));
  }
  return found;
}

async function waitForReady(url: string, agent: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (agent.exitCode !== null || agent.signalCode !== null) throw new Error(`the agent exited (${agent.exitCode ?? agent.signalCode}):\n${output()}`);
    if (
      await fetch(`${url}/-/ready`).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`the agent was not ready within 20 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(dpkg === undefined || setpriv === undefined || !isRoot || !executableBuilt)(
  'Debian package (dpkg -i, run as the unit, upgrade, remove, purge)',
  () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    const upgradeVersion = `${version}+upgradetest1`;
    const testFile = `deb-test-${process.pid}.prom`;
    const testContent = '# HELP deb_test_value Written by a member of promdrop-writers.\n# TYPE deb_test_value gauge\ndeb_test_value 42\n';
    let out: string;
    let firstDeb: string;
    let upgradeDeb: string;
    let directoryExisted = false;
    let writersGroupExisted = false;
    let installedPaths: string[] = [];
    let agent: ChildProcess | undefined;
    /** Set once the machine is known to be ours to change: no promdrop package was there before. */
    let mayCleanUp = false;

    beforeAll(async () => {
      if ((await packageStatus()) !== 'not-installed') {
        throw new Error(`${PACKAGE} is already installed (or its configuration is): this test installs and purges it. Run dpkg -P ${PACKAGE} first.`);
      }
      directoryExisted = existsSync(TEXTFILE_DIRECTORY);
      writersGroupExisted = await accountExists('group', 'promdrop-writers');
      mayCleanUp = true;
      out = await mkdtemp(join(tmpdir(), 'promdrop-deb-'));
      firstDeb = await buildPackage(out);
      upgradeDeb = await buildPackage(out, upgradeVersion);
    });

    afterAll(async () => {
      if (out !== undefined) await rm(out, { recursive: true, force: true });
      // A promdrop that was installed before the test is somebody's: leave it alone.
      if (!mayCleanUp) return;
      if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
        const stopped = new Promise((resolve) => agent!.once('exit', resolve));
        agent.kill('SIGKILL');
        await stopped;
      }
      if ((await packageStatus()) !== 'not-installed') await run('dpkg', ['--purge', PACKAGE]);
      await rm(join(TEXTFILE_DIRECTORY, testFile), { force: true });
      // Only what the test made: the directory if it was not there before, and only if empty.
      if (!directoryExisted && existsSync(TEXTFILE_DIRECTORY)) await run('rmdir', [TEXTFILE_DIRECTORY]);
      if (!writersGroupExisted && (await accountExists('group', 'promdrop-writers'))) await run('groupdel', ['promdrop-writers']);
    });

    it('depends on nothing a stock Debian 12 or Ubuntu 22.04 lacks: no nodejs', async () => {
      const fields = await mustRun('dpkg-deb', ['--field', firstDeb, 'Architecture', 'Depends']);
      expect(fields).toBe('Architecture: amd64\nDepends: adduser, libc6 (>= 2.28), libgcc-s1, libstdc++6 (>= 5.2)\n');
    });

    it('installs with dpkg -i, and promdrop --version works from /usr/bin', async () => {
      const installed = await run('dpkg', ['-i', firstDeb]);
      // deb-systemd-helper says which boot link it made, as every Debian service package does.
      expect(installed.stderr.replace(/^Created symlink .*\n/gm, '')).toBe('');
      expect(installed.code).toBe(0);
      expect(await packageStatus()).toBe('installed');
      const versionOutput = await mustRun('env', ['-i', `PATH=${SERVICE_PATH}`, 'promdrop', '--version']);
      expect(versionOutput.trim()).toBe(version);
      installedPaths = (await mustRun('dpkg', ['-L', PACKAGE])).split('\n').filter((line) => line !== '');
      expect(installedPaths).toEqual(
        expect.arrayContaining([INSTALLED_UNIT, '/usr/lib/systemd/system/promdrop.socket', '/usr/lib/tmpfiles.d/promdrop.conf', CONFFILE, '/usr/bin/promdrop']),
      );
    });

    it('creates the agent account, the writers group and the textfile directory (root:promdrop-writers 2775)', async () => {
      const passwd = (await mustRun('getent', ['passwd', PACKAGE])).trim().split(':');
      expect(passwd[5]).toBe('/nonexistent');
      expect(passwd[6]).toBe('/usr/sbin/nologin');
      expect(Number(passwd[2])).toBeLessThan(1000);
      const info = await stat(TEXTFILE_DIRECTORY);
      expect(info.mode & 0o7777).toBe(0o2775);
      expect(info.uid).toBe(0);
      expect(String(info.gid)).toBe(await groupId('promdrop-writers'));
      // Enabled for boot the Debian way, even though systemd does not run here; the socket is not.
      expect(existsSync('/etc/systemd/system/multi-user.target.wants/promdrop.service')).toBe(true);
      expect(systemdStateMentioning('promdrop.socket').filter((path) => path.startsWith('/etc/'))).toEqual([]);
    });

    it('lets the writers group write textfiles, and neither the agent nor anybody else', async () => {
      const writers = await groupId('promdrop-writers');
      const asWriter = await run(
        setpriv!,
        [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, `--groups=${writers}`, '/usr/bin/promdrop', 'write', testFile],
        testContent,
      );
      expect(asWriter.stderr).toBe('');
      expect(asWriter.code).toBe(0);
      const written = await stat(join(TEXTFILE_DIRECTORY, testFile));
      expect(written.mode & 0o777).toBe(0o644);
      expect(String(written.gid)).toBe(writers); // the setgid directory's group

      const planted = `planted-${process.pid}.prom`;
      const asNobody = await run(setpriv!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '/usr/bin/promdrop', 'write', planted], 'planted 1\n');
      expect(asNobody.code).toBe(1);
      const asAgent = await run(setpriv!, [`--reuid=${PACKAGE}`, `--regid=${PACKAGE}`, '--init-groups', '/usr/bin/promdrop', 'write', planted], 'planted 1\n');
      expect(asAgent.code).toBe(1);
      expect(existsSync(join(TEXTFILE_DIRECTORY, planted))).toBe(false);
    });

    it("runs the unit's ExecStart (with /etc/default/promdrop expanded) as the unit's user, and answers on /metrics", async () => {
      const unitText = await readFile(INSTALLED_UNIT, 'utf8');
      const settings = serviceSettings(unitText);
      const user = settings.get('User');
      const group = settings.get('Group');
      const environmentPath = settings.get('EnvironmentFile')?.replace(/^-/, '');
      const execStart = settings.get('ExecStart');
      expect(user).toBe(PACKAGE);
      expect(environmentPath).toBe(CONFFILE);
      expect(execStart).toMatch(/\$\{?ARGS\}?/);

      // What an administrator does: the listen address goes into ARGS in /etc/default/promdrop.
      const port = await freePort();
      const conffile = await readFile(CONFFILE, 'utf8');
      expect(conffile).toMatch(/^ARGS=""$/m);
      await writeFile(CONFFILE, conffile.replace(/^ARGS=""$/m, `ARGS="--web.listen-address=127.0.0.1:${port} --log.level=debug"`));

      const variables = environmentFile(await readFile(CONFFILE, 'utf8'));
      const argv = expandExecStart(execStart!, variables);
      expect(argv).toEqual(['/usr/bin/promdrop', 'serve', `--web.listen-address=127.0.0.1:${port}`, '--log.level=debug']);
      // The unit's own Environment=, then the EnvironmentFile's.
      const unitVariables = unitEnvironment(unitText);
      agent = spawn(setpriv!, [`--reuid=${user}`, `--regid=${group ?? user}`, '--init-groups', '--', ...argv], {
        cwd: '/',
        env: { PATH: SERVICE_PATH, LANG: 'C.UTF-8', ...unitVariables, ...variables },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      agent.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      agent.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const url = `http://127.0.0.1:${port}`;
      await waitForReady(url, agent, () => output);

      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      expect(response.status).toBe(200);
      const body = await response.text();
      expect(body).toContain(testContent);
      expect(body).toContain(`promdrop_textfile_up{file="${join(TEXTFILE_DIRECTORY, testFile)}"} 1`);
      expect(body).toMatch(new RegExp(`^promdrop_build_info\\{version="${version.replaceAll('.', '\\.')}"`, 'm'));
      expect(output).toContain(`directories=${TEXTFILE_DIRECTORY}`);

      const exited = new Promise<number | null>((resolve) => agent!.once('exit', (code) => resolve(code)));
      agent.kill('SIGTERM');
      expect(await exited).toBe(0);
    });

    it('upgrades in place: the edited configuration, the accounts and the textfiles stay', async () => {
      const before = await readFile(CONFFILE, 'utf8');
      const uid = (await mustRun('getent', ['passwd', PACKAGE])).split(':')[2];
      const upgraded = await run('dpkg', ['-i', upgradeDeb]);
      expect(upgraded.code).toBe(0);
      expect((await mustRun('dpkg-query', ['-W', '-f=${Version}', PACKAGE])).trim()).toBe(upgradeVersion);
      expect(await readFile(CONFFILE, 'utf8')).toBe(before);
      expect((await mustRun('getent', ['passwd', PACKAGE])).split(':')[2]).toBe(uid);
      expect(await readFile(join(TEXTFILE_DIRECTORY, testFile), 'utf8')).toBe(testContent);
    });

    it('dpkg -r removes every file of the package but its configuration, and keeps the textfiles', async () => {
      installedPaths = (await mustRun('dpkg', ['-L', PACKAGE])).split('\n').filter((line) => line !== '');
      const removed = await run('dpkg', ['-r', PACKAGE]);
      expect(removed.code).toBe(0);
      expect(await packageStatus()).toBe('config-files');
      expect(leftovers(installedPaths)).toEqual([CONFFILE]);
      expect(existsSync('/usr/lib/promdrop')).toBe(false);
      expect(await readFile(join(TEXTFILE_DIRECTORY, testFile), 'utf8')).toBe(testContent);
    });

    it('dpkg -P also removes the configuration, the unit links and the agent account; the textfiles stay', async () => {
      const purged = await run('dpkg', ['-P', PACKAGE]);
      expect(purged.code).toBe(0);
      expect(await packageStatus()).toBe('not-installed');
      expect(leftovers(installedPaths)).toEqual([]);
      // Boot links and deb-systemd-helper's records of them, for the service and the socket.
      expect(systemdStateMentioning(PACKAGE)).toEqual([]);
      expect(await accountExists('passwd', PACKAGE)).toBe(false);
      expect(await accountExists('group', PACKAGE)).toBe(false);
      // The user's data survives, with the group that owns it (see docs/service.md).
      expect(await readFile(join(TEXTFILE_DIRECTORY, testFile), 'utf8')).toBe(testContent);
      expect(await accountExists('group', 'promdrop-writers')).toBe(true);
    });
  },
);

/** scripts/package-deb.sh into `out` (the version from package.json unless given); the .deb's path. */
function buildPackage(out: string, debVersion?: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PROMDROP_DEB_OUT: out };
  if (debVersion !== undefined) env['PROMDROP_DEB_VERSION'] = debVersion;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO, 'scripts/package-deb.sh')], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && stdout.trim().endsWith('.deb')) resolve(stdout.trim());
      else reject(new Error(`scripts/package-deb.sh exited ${code}:\n${stdout}${stderr}`));
    });
  });
}
