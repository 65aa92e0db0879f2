// The linux-arm64 release tarball's executable, run here under qemu-user (qemu-aarch64 with the
// arm64 C and C++ runtimes of Debian's cross packages): --version, write, and serve scraped over
// HTTP. Its blob has no code cache (the x64 runtime that makes blobs cannot make arm64 code), so
// this is the one place that shows the arm64 build starts at all. Needs qemu-user,
// libc6-arm64-cross, libstdc++6-arm64-cross and `npm run release`: under CI their absence fails
// the test; elsewhere it is skipped.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireProgram, runProgram } from '../helpers/peers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const TARBALL = join(REPO, 'build', `promdrop-${VERSION}.linux-arm64.tar.gz`);
/** Where Debian's cross packages put the arm64 loader and libraries. */
const ARM64_ROOT = '/usr/aarch64-linux-gnu';

const qemu = requireProgram('qemu-aarch64', 'qemu-user');
const prerequisites = [TARBALL, join(ARM64_ROOT, 'lib', 'libstdc++.so.6')].filter((path) => !existsSync(path));
if (process.env['CI'] && prerequisites.length > 0) {
  throw new Error(`${prerequisites.join(', ')} missing: apt-get install libc6-arm64-cross libstdc++6-arm64-cross, and npm run release`);
}

describe.skipIf(qemu === undefined || prerequisites.length > 0)('the linux-arm64 tarball under qemu-user', () => {
  let root: string;
  let executable: string;
  const arm64 = (args: readonly string[], input?: string) => runProgram(qemu!, ['-L', ARM64_ROOT, executable, ...args], input, 120_000);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'promdrop-arm64-'));
    const untar = await runProgram('tar', ['-xzf', TARBALL, '-C', root]);
    if (untar.code !== 0) throw new Error(`tar: ${untar.stderr}`);
    executable = join(root, `promdrop-${VERSION}.linux-arm64`, 'promdrop');
    expect((await runProgram('file', ['-b', executable])).stdout).toContain('ARM aarch64');
  });

  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('prints its version, writes a file and serves it', async () => {
    expect((await arm64(['--version'])).stdout.trim()).toBe(VERSION);
    const textfiles = join(root, 'textfiles');
    await mkdir(textfiles);
    expect(await arm64(['write', 'arm', '-d', textfiles], '# TYPE arm_ok gauge\narm_ok 1\n')).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(join(textfiles, 'arm.prom'), 'utf8')).toBe('# TYPE arm_ok gauge\narm_ok 1\n');

    const port = await freePort();
    const agent = spawn(
      qemu!,
      ['-L', ARM64_ROOT, executable, 'serve', `--collector.textfile.directory=${textfiles}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    agent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // Emulated, the agent takes tens of seconds to start.
      const deadline = Date.now() + 110_000;
      let body = '';
      while (!body.includes('\narm_ok 1\n')) {
        if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the arm64 agent did not serve the file:\n${output}`);
        body = await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (response) => response.text(),
          () => '',
        );
        if (!body.includes('\narm_ok 1\n')) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(body).toContain(`promdrop_textfile_up{file="${join(textfiles, 'arm.prom')}"} 1\n`);
    } finally {
      const exited = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGKILL');
      await exited;
    }
  }, 240_000);
});
