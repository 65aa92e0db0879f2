// What the agent's log says at the moments an operator reads it: a port already taken (one line,
// in the configured format, before any file is looked at), a refused file (its path once, in
// file=, the position as line= and column=), and an expired pushed group (deleted, not "touch").
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './writer-support.js';
import { eventually, makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';

const CLI = join(REPO_ROOT, 'dist', 'cli.cjs');

function runToExit(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the agent log', () => {
  let root: string;
  let textfiles: string;
  let agent: Agent | undefined;

  beforeAll(async () => {
    root = await makeTempDir('promdrop-logs-');
    textfiles = join(root, 'textfiles');
    await mkdir(textfiles);
    await writeFile(join(textfiles, 'bad.prom'), 'bad{ 1\n');
    await writeFile(join(textfiles, 'good.prom'), 'good 1\n');
    agent = await startAgent([`--textfile.directory=${textfiles}`, '--web.enable-push', `--push.directory=${join(root, 'push')}`]);
  });
  afterAll(async () => {
    await agent?.stop();
    await removeDir(root);
  });

  it.each(['logfmt', 'json'])('a port in use: exit 1 with one %s line, before any file is read', async (format) => {
    const second = await runToExit([`--textfile.directory=${textfiles}`, `--web.listen-address=127.0.0.1:${agent!.port}`, `--log.format=${format}`]);
    expect(second.code).toBe(1);
    const lines = (second.stdout + second.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    if (format === 'json') {
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', msg: 'cannot listen', err: expect.stringContaining('EADDRINUSE') });
    } else {
      expect(lines[0]).toMatch(/^ts=\S+ level=error msg="cannot listen" err=".*EADDRINUSE.*"$/);
    }
  });

  it('names a refused file once, in file=, with its position as line= and column=', () => {
    const line = agent!
      .output()
      .split('\n')
      .find((entry) => entry.includes('bad.prom'));
    expect(line).toBeDefined();
    expect(line!.split('bad.prom')).toHaveLength(2);
    expect(line).toMatch(/ file=\S+\/bad\.prom .*line=1 column=\d+/);
  });

  it('says an expired pushed group is deleted, not to touch the file', async () => {
    const pushed = await fetch(`${agent!.url}/metrics/job/short`, { method: 'PUT', body: 'short_lived 1\n', headers: { 'X-Promdrop-TTL': '1s' } });
    expect(pushed.status).toBe(200);
    await eventually(async () => /pushed group expired/.test(agent!.output()), 60_000, 'the expiry to be logged');
    // Which of the two notices it first (the push API's expiry timer or the store's) is a race;
    // whichever does, no line about the pushed file advises touching it.
    const aboutGroup = agent!
      .output()
      .split('\n')
      .filter((entry) => /file=\S*\/push\/short\./.test(entry));
    expect(aboutGroup.length).toBeGreaterThan(0);
    for (const entry of aboutGroup) expect(entry).not.toContain('touch');
    expect(aboutGroup.some((entry) => /removed|deleted/.test(entry))).toBe(true);
  });
});

describe.runIf(process.getuid?.() === 0)('the agent log, for an agent that is not root', () => {
  // Root lists any directory (CAP_DAC_OVERRIDE): the agent runs as nobody, as the packaged one
  // runs as its own user.
  const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all'];
  let root: string;
  let agent: Agent | undefined;

  beforeAll(async () => {
    root = await makeTempDir('promdrop-logs-nobody-');
    const { chmod } = await import('node:fs/promises');
    await chmod(root, 0o755);
  });
  afterAll(async () => {
    await agent?.stop();
    await removeDir(root);
  });

  it('logs a directory going from missing to unreadable', async () => {
    const directory = join(root, 'later');
    agent = await startAgent([`--textfile.directory=${directory}`], { wrapper: asNobody });
    await eventually(async () => agent!.output().includes('no such directory'), 30_000, 'the missing directory to be logged');
    await mkdir(directory, { mode: 0o700 });
    await eventually(
      async () =>
        /level=warn msg="cannot read textfile directory: permission denied \(EACCES\); user nobody cannot list it" directory=\S*later/.test(agent!.output()),
      60_000,
      'the unreadable directory to be logged',
    );
  });
});
