// `promdrop serve --web.systemd-socket`: the agent takes the listening sockets a service manager
// passes (fd 3 on, LISTEN_PID/LISTEN_FDS) instead of binding its own, as promdrop.socket does.
// Emulated the way systemd does it (the variables are set in the child after fork, so LISTEN_PID
// is the agent's own pid), and with systemd's own systemd-socket-activate.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireProgram } from '../helpers/peers.js';
import { CLI, makeTempDir, removeDir, writeAtomically } from './serve-agent.js';
import { promdropArgv } from '../helpers/promdrop-command.js';

const GOOD = '# HELP backup_size_bytes Size of the last backup.\n# TYPE backup_size_bytes gauge\nbackup_size_bytes{volume="home"} 1.2e+09\n';
/** Sets the variables in the process that execs the agent, so LISTEN_PID is the agent's pid. */
const AS_SYSTEMD = 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"';

interface Exited {
  readonly code: number | null;
  readonly output: string;
}

interface Running {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<Exited>;
  stop(): Promise<Exited>;
}

/** Spawns `command` with `fd3` as its fd 3: a listening socket's or an open file's fd, or nothing. */
function spawnWithFd3(command: string, args: readonly string[], fd3: number | 'ignore', env: NodeJS.ProcessEnv = process.env): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe', fd3], env });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exited>((resolve) => child.once('close', (code) => resolve({ code, output })));
  return {
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.kill('SIGTERM');
        const result = await exited;
        clearTimeout(killer);
        return result;
      }
      return exited;
    },
  };
}

/** A listening TCP socket on 127.0.0.1, as a socket unit's ListenStream= makes one. */
function listeningSocket(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no TCP address'));
      resolve({ server, port: address.port });
    });
  });
}

/**
 * The fd of a listening server, to hand to a child as one of its stdio fds. Node has no public
 * accessor; its libuv handle exposes the fd on Unix.
 */
function listeningFd(server: Server): number {
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the listening socket has no fd');
  return fd;
}

async function getUntilUp(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('promdrop serve --web.systemd-socket', () => {
  let dir: string;
  const running: Running[] = [];

  beforeAll(async () => {
    if (!existsSync(CLI.replace(/bin\/promdrop$/, 'dist/cli.cjs'))) throw new Error('run `npm run build` before the integration tests');
    dir = await makeTempDir('promdrop-socket-');
    await writeAtomically(dir, 'backup.prom', GOOD);
  });

  afterAll(async () => {
    await Promise.all(running.map((process) => process.stop()));
    await removeDir(dir);
  });

  it('serves scrapes on the socket passed as fd 3, binding nothing itself, and stops cleanly on SIGTERM', async () => {
    const { server, port } = await listeningSocket();
    const agent = spawnWithFd3(
      'sh',
      ['-c', AS_SYSTEMD, ...promdropArgv(CLI), 'serve', '--web.systemd-socket', `--textfile.directory=${dir}`],
      listeningFd(server),
    );
    running.push(agent);
    // The agent has its own copy now; the test's must not accept the scrapes.
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const response = await getUntilUp(`http://127.0.0.1:${port}/metrics`, 20_000);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain(GOOD);
    expect(body).toContain(`promdrop_textfile_up{file="${join(dir, 'backup.prom')}"} 1`);
    expect(agent.output()).toContain(`listen_address=127.0.0.1:${port}`);
    // Not also on its default port: the passed socket replaces --web.listen-address.
    expect(agent.output()).not.toContain(':10049');

    const exit = await agent.stop();
    expect(exit.code).toBe(0);
  });

  it("fails at start with exit 1 and exporter-toolkit's message when no socket was passed", async () => {
    const agent = spawnWithFd3(
      promdropArgv(CLI)[0],
      [...promdropArgv(CLI).slice(1), 'serve', '--web.systemd-socket', `--textfile.directory=${dir}`],
      'ignore',
      withoutActivation(),
    );
    running.push(agent);
    const exit = await withTimeout(agent.exited, 20_000);
    expect(exit.code).toBe(1);
    expect(exit.output).toContain('promdrop: no socket activation file descriptors found');
    expect(exit.output).toContain('LISTEN_PID and LISTEN_FDS are not set');
  });

  it('refuses sockets meant for another process (LISTEN_PID is not its own)', async () => {
    const { server } = await listeningSocket();
    // The variables inherited from a parent name the parent's pid, as when a socket-activated
    // service starts a child that runs promdrop.
    const env = { ...withoutActivation(), LISTEN_PID: String(process.pid), LISTEN_FDS: '1' };
    const agent = spawnWithFd3(
      promdropArgv(CLI)[0],
      [...promdropArgv(CLI).slice(1), 'serve', '--web.systemd-socket', `--textfile.directory=${dir}`],
      listeningFd(server),
      env,
    );
    running.push(agent);
    server.close();
    const exit = await withTimeout(agent.exited, 20_000);
    expect(exit.code).toBe(1);
    expect(exit.output).toContain('no socket activation file descriptors found');
    expect(exit.output).toContain(`LISTEN_PID is "${process.pid}", not this process`);
  });

  it('says which fd is wrong when fd 3 is not a socket (a misconfigured unit)', async () => {
    const file = openSync(join(dir, 'backup.prom'), 'r');
    try {
      const agent = spawnWithFd3('sh', ['-c', AS_SYSTEMD, ...promdropArgv(CLI), 'serve', '--web.systemd-socket', `--textfile.directory=${dir}`], file);
      running.push(agent);
      const exit = await withTimeout(agent.exited, 20_000);
      expect(exit.code).toBe(1);
      expect(exit.output).toContain('fd 3 from systemd is not a socket');
    } finally {
      closeSync(file);
    }
  });

  const socketActivate = requireProgram('systemd-socket-activate', 'systemd');
  it.skipIf(socketActivate === undefined)('is started by systemd-socket-activate on the first connection, and answers that very request', async () => {
    const port = await freePort();
    const agent = spawnWithFd3(
      socketActivate!,
      ['-l', `127.0.0.1:${port}`, ...promdropArgv(CLI), 'serve', '--web.systemd-socket', `--textfile.directory=${dir}`],
      'ignore',
      withoutActivation(),
    );
    running.push(agent);
    // systemd-socket-activate binds first and execs the agent only when a connection arrives:
    // the first scrape waits in the socket's queue while Node starts, and is not lost.
    const response = await getUntilUp(`http://127.0.0.1:${port}/metrics`, 20_000);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(GOOD);
    expect(agent.output()).toContain(`Execing ${promdropArgv(CLI)[0]} `);
    const exit = await agent.stop();
    expect(exit.code).toBe(0);
  });
});

function withoutActivation(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
  return env;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
