// The release artefacts on a host without Node.js: the tarball's executable and the installed
// .deb (both made by `npm run release`) each run every kind of command, serve a real Prometheus
// and take a push, where no `node` exists. Each promdrop process (and dpkg, with the package's
// maintainer scripts) runs in a private mount namespace (unshare -m, as root) in which every
// node binary on PATH is covered by an empty, non-executable file and the directories that hold
// Node's modules (the global ones, and this checkout with its node_modules and the pinned runtimes
// of build/node-runtimes) by an empty tmpfs; the first test proves that nothing answers to `node`
// there. The network is shared: the test scrapes and pushes from outside, as Prometheus does.
//
// Needs root, unshare (util-linux), dpkg, Prometheus and the artefacts: under CI their absence
// fails the test; elsewhere it is skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireProgram, runProgram, startProcess, type RunningProcess } from '../helpers/peers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const TARBALL = join(REPO, 'build', `promdrop-${VERSION}.linux-amd64.tar.gz`);
const DEB = join(REPO, 'build', `promdrop_${VERSION}_amd64.deb`);
const TEXTFILE_DIRECTORY = '/var/lib/promdrop';

const unshare = requireProgram('unshare', 'util-linux');
const dpkg = requireProgram('dpkg', 'dpkg');
const prometheusBinary = requireProgram('prometheus', 'prometheus');
const isRoot = process.getuid?.() === 0;
const artefactsMissing = [TARBALL, DEB].filter((path) => !existsSync(path));
if (process.env['CI']) {
  if (!isRoot) throw new Error('the no-Node test makes mount namespaces and installs a package: it must run as root in CI');
  if (artefactsMissing.length > 0) throw new Error(`${artefactsMissing.join(', ')} missing: run \`npm run release\` before the tests`);
}
const ready = unshare !== undefined && dpkg !== undefined && prometheusBinary !== undefined && isRoot && artefactsMissing.length === 0;

/** Shell words, quoted. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What hides Node in the namespace: every node binary on PATH (and the one running the tests),
 *  and the directories of Node's modules and runtimes. */
function nodeHidingScript(emptyFile: string): string {
  const binaries = new Set<string>();
  for (const directory of [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/usr/local/bin', '/bin']) {
    for (const name of ['node', 'nodejs']) {
      const candidate = join(directory, name);
      if (existsSync(candidate)) binaries.add(realpathSync(candidate));
    }
  }
  binaries.add(realpathSync(process.execPath));
  const directories = [
    '/usr/lib/node_modules',
    '/usr/local/lib/node_modules',
    '/usr/share/nodejs',
    '/usr/include/node',
    REPO,
    join(process.env['HOME'] ?? '/root', '.npm'),
  ]
    .filter((path) => existsSync(path))
    .map((path) => realpathSync(path));
  return [
    'set -e',
    ...[...binaries]
      .filter((binary) => !directories.some((directory) => binary.startsWith(`${directory}/`)))
      .map((binary) => `mount --bind ${quote(emptyFile)} ${quote(binary)}`),
    ...directories.map((directory) => `mount -t tmpfs -o ro,size=4k promdrop-no-node ${quote(directory)}`),
    // A working directory under a covered one would still reach what it holds.
    'cd /',
    'exec "$@"',
  ].join('\n');
}

describe.skipIf(!ready)('without Node.js: the release tarball and the .deb', () => {
  let root: string;
  let hide: string;
  let packageWasInstalled = true;
  let directoryExisted = false;
  let writersGroupExisted = false;
  const running: ChildProcess[] = [];
  const prometheuses: RunningProcess[] = [];

  /** argv run in a new mount namespace with Node hidden. */
  const hidden = (argv: readonly string[]): [string, string[]] => [unshare!, ['--mount', '--propagation', 'private', 'sh', '-c', hide, 'sh', ...argv]];
  const runHidden = (argv: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const [command, args] = hidden(argv);
    return runProgram(command, args, input, 120_000);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'promdrop-no-node-'));
    const emptyFile = join(root, 'no-node');
    await writeFile(emptyFile, '', { mode: 0o644 });
    hide = nodeHidingScript(emptyFile);
    // The artefacts are in the checkout, which the namespace hides.
    copyFileSync(TARBALL, join(root, 'promdrop.tar.gz'));
    copyFileSync(DEB, join(root, 'promdrop.deb'));
    packageWasInstalled = (await runProgram('dpkg-query', ['-W', '-f=${db:Status-Status}', 'promdrop'])).stdout === 'installed';
    if (packageWasInstalled) throw new Error('promdrop is installed: this test installs and purges it. Run dpkg -P promdrop first.');
    directoryExisted = existsSync(TEXTFILE_DIRECTORY);
    writersGroupExisted = (await runProgram('getent', ['group', 'promdrop-writers'])).code === 0;
  });

  afterAll(async () => {
    for (const prometheus of prometheuses) await prometheus.stop();
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    if (!packageWasInstalled) {
      await runProgram('dpkg', ['--purge', 'promdrop']);
      if (!directoryExisted && existsSync(TEXTFILE_DIRECTORY)) await runProgram('rmdir', [TEXTFILE_DIRECTORY]);
      if (!writersGroupExisted) await runProgram('groupdel', ['promdrop-writers']);
    }
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('hides every node: nothing answers to `node` or `nodejs`, and the checkout is empty', async () => {
    const probe = await runHidden(['sh', '-c', `command -v node || command -v nodejs || /usr/bin/env node -e 0 || ls -A ${quote(REPO)}`]);
    expect(probe.stdout).toBe('');
    expect(probe.code).toBe(0); // ls of an empty directory: nothing above succeeded
    // The same probe outside finds the node that runs the tests.
    expect((await runProgram('sh', ['-c', 'command -v node || command -v nodejs'])).stdout).not.toBe('');
  });

  for (const artefact of ['tarball', 'deb'] as const) {
    describe(artefact === 'tarball' ? 'the tarball, untarred and run' : 'the .deb, installed with dpkg -i', () => {
      let promdrop: string;
      let textfiles: string;

      beforeAll(async () => {
        textfiles = join(root, `${artefact}-textfiles`);
        await mkdir(textfiles);
        if (artefact === 'tarball') {
          // Untarred without Node too, as a user would on a bare host.
          const untar = await runHidden(['tar', '-xzf', join(root, 'promdrop.tar.gz'), '-C', root]);
          if (untar.code !== 0) throw new Error(`tar: ${untar.stderr}`);
          promdrop = join(root, `promdrop-${VERSION}.linux-amd64`, 'promdrop');
        } else {
          const installed = await runHidden(['dpkg', '-i', join(root, 'promdrop.deb')]);
          if (installed.code !== 0) throw new Error(`dpkg -i exited ${installed.code}:\n${installed.stdout}${installed.stderr}`);
          promdrop = '/usr/bin/promdrop';
        }
      });

      it('--version, write, set, run -- true and check', async () => {
        expect((await runHidden([promdrop, '--version'])).stdout.trim()).toBe(VERSION);
        const written = await runHidden(
          [promdrop, 'write', 'backup', '-d', textfiles],
          '# HELP backup_size_bytes Size.\n# TYPE backup_size_bytes gauge\nbackup_size_bytes 1200\n',
        );
        expect(written).toMatchObject({ code: 0, stderr: '' });
        expect(await runHidden([promdrop, 'set', 'backup', 'backup_files', '42', '-l', 'volume=home', '-d', textfiles])).toMatchObject({ code: 0, stderr: '' });
        expect(await runHidden([promdrop, 'run', '--name', 'nightly', '-d', textfiles, '--', 'true'])).toMatchObject({ code: 0 });
        const backup = await readFile(join(textfiles, 'backup.prom'), 'utf8');
        expect(backup).toContain('backup_size_bytes 1200\n');
        expect(backup).toContain('backup_files{volume="home"} 42\n');
        expect(await readFile(join(textfiles, 'nightly.job.prom'), 'utf8')).toMatch(/^batch_job_last_exit_code\{name="nightly"\} 0$/m);
        // backup_files has no HELP: a warning, exit 3.
        const checked = await runHidden([promdrop, 'check', join(textfiles, 'backup.prom'), join(textfiles, 'nightly.job.prom')]);
        expect(checked.stdout + checked.stderr).toContain('backup_files: no help text');
        expect(checked.code).toBe(3);
      });

      it('serves over HTTP, to a real Prometheus, and takes a push', async () => {
        const port = await freePort();
        const [command, args] = hidden([
          promdrop,
          'serve',
          `--collector.textfile.directory=${textfiles}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-push',
        ]);
        // Pushed groups are kept under the textfile directory; root runs the agent here.
        const agent = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        running.push(agent);
        let output = '';
        agent.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        agent.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const url = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + 30_000;
        while (
          !(await fetch(`${url}/-/ready`).then(
            (response) => response.ok,
            () => false,
          ))
        ) {
          if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not get ready:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const scraped = await (await fetch(`${url}/metrics`)).text();
        expect(scraped).toContain('backup_files{volume="home"} 42\n');
        expect(scraped).toContain(`promdrop_textfile_up{file="${join(textfiles, 'backup.prom')}"} 1\n`);

        const pushed = await fetch(`${url}/metrics/job/nonode/instance/db1`, {
          method: 'PUT',
          body: '# TYPE pushed_without_node gauge\npushed_without_node 7\n',
        });
        expect(pushed.status).toBe(200);
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^pushed_without_node\{instance="db1",job="nonode"\} 7$/m);

        const config = join(root, `${artefact}-prometheus.yml`);
        await writeFile(
          config,
          `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: promdrop\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
        );
        const prometheus = await startProcess(
          prometheusBinary!,
          (prometheusPort) => [
            `--config.file=${config}`,
            `--storage.tsdb.path=${join(root, `${artefact}-tsdb`)}`,
            `--web.listen-address=127.0.0.1:${prometheusPort}`,
          ],
          async (prometheusUrl) => (await fetch(`${prometheusUrl}/-/ready`)).ok,
          60_000,
        );
        prometheuses.push(prometheus);
        const query = async (expression: string): Promise<string[]> => {
          const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expression)}`);
          const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
          return body.data.result.map((sample) => sample.value[1]);
        };
        const queryDeadline = Date.now() + 60_000;
        let answers: string[][];
        for (;;) {
          answers = await Promise.all([query('up{job="promdrop"}'), query('backup_files{volume="home"}'), query('pushed_without_node{job="nonode"}')]);
          if (JSON.stringify(answers) === JSON.stringify([['1'], ['42'], ['7']])) break;
          if (Date.now() > queryDeadline) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        expect(answers).toEqual([['1'], ['42'], ['7']]);

        await prometheus.stop();
        const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
        agent.kill('SIGTERM');
        expect(await exited).toBe(0);
      });
    });
  }
});
