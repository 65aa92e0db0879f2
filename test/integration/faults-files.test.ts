// Faults in the textfile directory, as a user of the running agent sees them: the scrape status,
// the series served, the meta metrics and the log. Already covered elsewhere, and not repeated
// here: a directory named *.prom and a dangling symlink present at start (serve.test.ts), the
// directory deleted and created again under the store alone (store-watch.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open, rename, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, eventually, makeTempDir, removeDir, sampleValue, startAgent, writeAtomically, type Agent } from './serve-agent.js';

const OTHER = 'other_metric{source="healthy"} 1\n';

function up(body: string, path: string): string | undefined {
  return sampleValue(body, `promdrop_textfile_up{file="${path}"}`);
}

function errorReason(body: string, path: string): string | undefined {
  return new RegExp(`^promdrop_textfile_error\\{file="${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}",reason="(\\w+)"\\} 1$`, 'm').exec(body)?.[1];
}

// With the default --textfile.grace-period (60 s) a file that turns bad keeps serving its last
// good content for a minute (state stale_grace, the reason shown): the grace period is off here
// so that what is served is the verdict on the new thing at the path.
describe('a served file replaced by something that is not a regular file', () => {
  let dir: string;
  let agent: Agent;
  let socketServer: Server | undefined;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-faults-');
    await writeFile(join(dir, 'other.prom'), OTHER);
    agent = await startAgent([`--textfile.directory=${dir}`, '--textfile.grace-period=0s']);
  });

  afterAll(async () => {
    socketServer?.close();
    await agent?.stop();
    await removeDir(dir);
  });

  /** Serves `name` as a good file first, then lets `replace` swap it for something else. */
  async function servedThenReplaced(name: string, replace: (path: string) => Promise<void> | void): Promise<string> {
    const path = join(dir, name);
    await writeAtomically(dir, name, `replaced_metric{file="${name}"} 1\n`);
    expect(sampleValue(await agent.metrics(), `replaced_metric{file="${name}"}`)).toBe('1');
    rmSync(path, { recursive: true, force: true });
    await replace(path);
    const body = await agent.metrics();
    expect(sampleValue(body, 'other_metric{source="healthy"}')).toBe('1');
    expect(sampleValue(body, 'node_textfile_scrape_error')).toBe('1');
    expect(body).not.toContain(`replaced_metric{file="${name}"}`);
    expect(up(body, path)).toBe('0');
    return body;
  }

  it('a directory: not_regular, and the other files are still served', async () => {
    const body = await servedThenReplaced('dir.prom', (path) => mkdirSync(path));
    expect(errorReason(body, join(dir, 'dir.prom'))).toBe('not_regular');
  });

  it('a FIFO: not_regular, never opened (a blocking open would hang the agent)', async () => {
    const body = await servedThenReplaced('fifo.prom', (path) => {
      execFileSync('mkfifo', [path]);
    });
    expect(errorReason(body, join(dir, 'fifo.prom'))).toBe('not_regular');
    // Still answering: a FIFO opened for reading without a writer would block forever.
    expect((await agent.get('/-/healthy')).status).toBe(200);
  });

  it('a Unix socket: not_regular', async () => {
    const body = await servedThenReplaced('socket.prom', (path) => {
      socketServer = createServer();
      return new Promise<void>((resolve) => socketServer!.listen(path, resolve));
    });
    expect(errorReason(body, join(dir, 'socket.prom'))).toBe('not_regular');
  });

  it('a dangling symlink: io, "dangling symlink" in the message', async () => {
    const body = await servedThenReplaced('dangling.prom', (path) => symlinkSync(join(dir, 'no-such-target'), path));
    expect(errorReason(body, join(dir, 'dangling.prom'))).toBe('io');
    const files = JSON.parse((await agent.get('/api/v1/files')).body) as { data: { files: Array<{ path: string; message?: string }> } };
    expect(files.data.files.find((file) => file.path === join(dir, 'dangling.prom'))?.message).toMatch(/dangling symlink/);
  });

  it('a symlink loop: io, ELOOP in the message', async () => {
    const body = await servedThenReplaced('loop.prom', (path) => {
      symlinkSync(join(dir, 'loop-b.link'), path);
      symlinkSync(path, join(dir, 'loop-b.link'));
    });
    expect(errorReason(body, join(dir, 'loop.prom'))).toBe('io');
    const files = JSON.parse((await agent.get('/api/v1/files')).body) as { data: { files: Array<{ path: string; message?: string }> } };
    expect(files.data.files.find((file) => file.path === join(dir, 'loop.prom'))?.message).toMatch(/ELOOP/);
  });

  it('logs each of these once, as a state change, and keeps running', async () => {
    for (const name of ['dir.prom', 'fifo.prom', 'socket.prom', 'dangling.prom', 'loop.prom']) {
      expect(
        agent
          .output()
          .split('\n')
          .filter((line) => line.includes('level=warn') && line.includes(`file=${join(dir, name)}`)),
      ).toHaveLength(1);
    }
    for (let i = 0; i < 5; i++) expect((await agent.get('/metrics')).status).toBe(200);
    expect(agent.child.exitCode).toBeNull();
  });
});

describe('the directory deleted and created again, under the running agent', () => {
  it('reports the directory down, then serves the new one and sees in-place changes in it', async () => {
    const root = await makeTempDir('promdrop-faults-');
    const dir = join(root, 'textfiles');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.prom'), 'phoenix_metric 1\n');
    const agent = await startAgent([`--textfile.directory=${dir}`, '--textfile.settle=200ms']);
    try {
      expect(sampleValue(await agent.metrics(), 'phoenix_metric')).toBe('1');
      rmSync(dir, { recursive: true });
      const gone = await agent.get('/metrics');
      expect(gone.status).toBe(200);
      expect(gone.body).not.toContain('phoenix_metric');
      expect(sampleValue(gone.body, `promdrop_textfile_directory_up{directory="${dir}"}`)).toBe('0');
      expect(sampleValue(gone.body, 'node_textfile_scrape_error')).toBe('1');

      mkdirSync(dir);
      await writeAtomically(dir, 'a.prom', 'phoenix_metric 2\n');
      const back = await agent.metrics();
      expect(sampleValue(back, 'phoenix_metric')).toBe('2');
      expect(sampleValue(back, `promdrop_textfile_directory_up{directory="${dir}"}`)).toBe('1');
      expect(agent.output()).toMatch(/cannot read textfile directory/);
      expect(agent.output()).toMatch(/textfile directory is readable again/);

      // An in-place rewrite leaves the directory alone: only a watch on the NEW directory sees it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await agent.metrics();
      writeFileSync(join(dir, 'a.prom'), 'phoenix_metric 3\n');
      await eventually(async () => sampleValue(await agent.metrics(), 'phoenix_metric') === '3', 10_000, 'the rewrite in the new directory');
    } finally {
      await agent.stop();
      await removeDir(root);
    }
  });
});

describe('permission denied, for an agent that is not root', () => {
  // Root reads any file whatever its mode (CAP_DAC_OVERRIDE), so the agent runs as nobody, as
  // the packaged service runs as its own user. setpriv drops every capability with the uid.
  const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all'];
  let root: string;
  let agent: Agent | undefined;

  beforeAll(async () => {
    if (spawnSync('setpriv', ['--version']).status !== 0) throw new Error('setpriv (util-linux) is needed to run the agent as nobody');
    if (spawnSync(asNobody[0]!, [...asNobody.slice(1), 'test', '-r', CLI]).status !== 0) {
      throw new Error(`nobody cannot read ${CLI}: make the checkout's directories readable by others (chmod o+rx) to run these tests`);
    }
    root = await makeTempDir('promdrop-faults-');
    chmodSync(root, 0o755);
  });

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  afterAll(async () => {
    await removeDir(root);
  });

  it('a file the agent cannot read: reason permission, the others served', async () => {
    const dir = join(root, 'file-denied');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'readable.prom'), OTHER, { mode: 0o644 });
    writeFileSync(join(dir, 'secret.prom'), 'secret_metric 1\n');
    chmodSync(join(dir, 'secret.prom'), 0o600);
    // A file the agent cannot read cannot be watched either (inotify needs read access), and a
    // chmod leaves the directory alone: the fix is seen at the next rescan.
    agent = await startAgent([`--textfile.directory=${dir}`, '--textfile.rescan-interval=1s'], { wrapper: asNobody });
    const body = await agent.metrics();
    expect(sampleValue(body, 'other_metric{source="healthy"}')).toBe('1');
    expect(body).not.toContain('secret_metric');
    expect(errorReason(body, join(dir, 'secret.prom'))).toBe('permission');
    expect(agent.output()).toMatch(/msg="permission denied.*file=\S*secret\.prom/);

    // Made readable: the next rescan sees the new ctime, and the file is read once settled.
    chmodSync(join(dir, 'secret.prom'), 0o644);
    await eventually(async () => sampleValue(await agent!.metrics(), 'secret_metric') === '1', 15_000, 'the file to be served once readable');
  });

  it('a directory the agent cannot list: directory_up 0 and a log line, then recovery', async () => {
    const dir = join(root, 'dir-denied');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.prom'), OTHER, { mode: 0o644 });
    chmodSync(dir, 0o700);
    agent = await startAgent([`--textfile.directory=${dir}`, '--textfile.rescan-interval=1s'], { wrapper: asNobody });
    const body = await agent.metrics();
    expect(body).not.toContain('other_metric');
    expect(sampleValue(body, `promdrop_textfile_directory_up{directory="${dir}"}`)).toBe('0');
    expect(sampleValue(body, 'node_textfile_scrape_error')).toBe('1');
    expect(agent.output()).toMatch(/cannot read textfile directory.*(EACCES|permission denied)/i);

    chmodSync(dir, 0o755);
    await eventually(
      async () => sampleValue(await agent!.metrics(), 'other_metric{source="healthy"}') === '1',
      15_000,
      'the directory to be read once listable',
    );
  });
});

describe('files too large for the limits', () => {
  let dir: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-faults-');
    await writeFile(join(dir, 'other.prom'), OTHER);
    agent = await startAgent([`--textfile.directory=${dir}`, '--textfile.settle=200ms']);
  });

  afterAll(async () => {
    await agent?.stop();
    await removeDir(dir);
  });

  async function residentBytes(): Promise<number> {
    return Number(sampleValue(await agent.metrics(), 'process_resident_memory_bytes'));
  }

  it('a 1 GiB file is refused as too_large without being read', async () => {
    // Sparse: 1 GiB of size, no data blocks; the agent must not even open it.
    const path = join(dir, '.huge.prom.tmp');
    const handle = await open(path, 'w');
    await handle.write('huge_metric 1\n');
    await handle.close();
    await truncate(path, 1024 ** 3);
    await rename(path, join(dir, 'huge.prom'));
    const body = await agent.metrics();
    expect(errorReason(body, join(dir, 'huge.prom'))).toBe('too_large');
    expect(body).not.toContain('huge_metric');
    expect(sampleValue(body, 'other_metric{source="healthy"}')).toBe('1');
    expect(agent.output()).toMatch(/msg="1073741824 bytes is over the limit of 67108864 bytes.*file=\S*huge\.prom/);
    // Reading it would have cost a gigabyte of memory.
    expect(await residentBytes()).toBeLessThan(512 * 1024 * 1024);
  });

  it('a file with a 10 MB line: served whole when valid, a positioned parse error when not', async () => {
    const value = 'v'.repeat(10 * 1024 * 1024);
    await writeAtomically(dir, 'longline.prom', `long_label_metric{payload="${value}"} 7\n`);
    await writeAtomically(dir, 'longjunk.prom', `long_junk_metric ${'x'.repeat(10 * 1024 * 1024)}\n`);
    const response = await agent.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.body).toContain(`long_label_metric{payload="${value}"} 7\n`);
    expect(errorReason(response.body, join(dir, 'longjunk.prom'))).toBe('parse');
    expect(response.body).not.toContain('long_junk_metric');
    expect(agent.output()).toMatch(/file=\S*longjunk\.prom .*line=1 column=18/);
    await removeDir(join(dir, 'longline.prom'));
    await removeDir(join(dir, 'longjunk.prom'));
  });

  it('1,000,000 series (the default --textfile.max-series) are served; one more is refused', async () => {
    const lines = ['# TYPE million_series gauge'];
    for (let i = 0; i < 1_000_000; i++) lines.push(`million_series{i="${i}"} ${i}`);
    await writeAtomically(dir, 'million.prom', `${lines.join('\n')}\n`);
    const body = await agent.metrics();
    expect(sampleValue(body, 'million_series{i="999999"}')).toBe('999999');
    expect(sampleValue(body, `promdrop_textfile_up{file="${join(dir, 'million.prom')}"}`)).toBe('1');
    expect((await agent.get('/-/healthy')).status).toBe(200);

    lines.push('million_series{i="1000000"} 1000000');
    await writeAtomically(dir, 'million.prom', `${lines.join('\n')}\n`);
    const refused = await agent.metrics();
    // The last good content stays served during the grace period, with the reason shown.
    expect(errorReason(refused, join(dir, 'million.prom'))).toBe('too_many_series');
    expect(agent.output()).toMatch(/(1000001 series.*--textfile\.max-series|too many series).*file=\S*million\.prom/i);
    expect(sampleValue(refused, 'other_metric{source="healthy"}')).toBe('1');
    await removeDir(join(dir, 'million.prom'));
    const after = await agent.metrics();
    expect(after).not.toContain('million_series');
    // Bounded by the scrapes above (each capped in serve-agent.ts), not by a guess at how fast a
    // loaded machine parses a million series.
  }, 1_200_000);

  it('is still healthy and answers every endpoint after all that', async () => {
    for (const path of ['/metrics', '/', '/api/v1/files', '/-/healthy', '/-/ready']) expect((await agent.get(path)).status).toBe(200);
    expect(agent.child.exitCode).toBeNull();
  });
});
