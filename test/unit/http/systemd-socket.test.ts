// Which fds --web.systemd-socket takes, judged from LISTEN_PID/LISTEN_FDS as sd_listen_fds(3)
// and go-systemd's activation.Files() judge them.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerServe, serveConfigFromFlags, type ServeFlags } from '../../../src/cli/commands/serve.js';
import { CliError } from '../../../src/cli/errors.js';
import { EXIT_INVALID } from '../../../src/cli/exit-codes.js';
import { activationSockets, NO_ACTIVATION_SOCKETS } from '../../../src/http/systemd-socket.js';

function serveConfig(args: string[], env: NodeJS.ProcessEnv, pid: number) {
  const program = new Command().exitOverride();
  registerServe(program);
  const serve = program.commands.find((command) => command.name() === 'serve')!;
  serve.exitOverride().configureOutput({ writeErr: () => {} });
  serve.parseOptions(args);
  return serveConfigFromFlags(serve.opts<ServeFlags>(), env, pid);
}

describe('activationSockets', () => {
  it('takes fds 3 to 3+LISTEN_FDS-1 when LISTEN_PID names this process', () => {
    expect(activationSockets({ LISTEN_PID: '4242', LISTEN_FDS: '1' }, 4242)).toEqual({ ok: true, fds: [3] });
    expect(activationSockets({ LISTEN_PID: '4242', LISTEN_FDS: '3', LISTEN_FDNAMES: 'a:b:c' }, 4242)).toEqual({ ok: true, fds: [3, 4, 5] });
  });

  it.each([
    ['no variables', {}, 'LISTEN_PID and LISTEN_FDS are not set'],
    ['only LISTEN_FDS', { LISTEN_FDS: '1' }, 'LISTEN_PID and LISTEN_FDS are not set'],
    ["another process's sockets", { LISTEN_PID: '1', LISTEN_FDS: '1' }, 'LISTEN_PID is "1", not this process (4242)'],
    ['a LISTEN_PID that is not a number', { LISTEN_PID: '4242x', LISTEN_FDS: '1' }, 'LISTEN_PID is "4242x"'],
    ['no sockets', { LISTEN_PID: '4242', LISTEN_FDS: '0' }, 'LISTEN_FDS is "0", expected a count of at least 1'],
    ['a LISTEN_FDS that is not a count', { LISTEN_PID: '4242', LISTEN_FDS: '-1' }, 'LISTEN_FDS is "-1"'],
  ])("refuses %s with exporter-toolkit's message and what to fix", (_, env, why) => {
    const result = activationSockets(env, 4242);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message.startsWith(NO_ACTIVATION_SOCKETS)).toBe(true);
      expect(result.message).toContain(why);
    }
  });
});

describe('promdrop serve --web.systemd-socket', () => {
  it('listens on the passed fds instead of the listen addresses', () => {
    const config = serveConfig(['--web.systemd-socket', '--web.listen-address=127.0.0.1:9999'], { LISTEN_PID: '77', LISTEN_FDS: '2' }, 77);
    expect(config.systemdSocketFds).toEqual([3, 4]);
  });

  it('binds its listen addresses as before without the flag, even with the variables set', () => {
    expect(serveConfig([], { LISTEN_PID: '77', LISTEN_FDS: '1' }, 77).systemdSocketFds).toBeUndefined();
  });

  it('is a start failure (exit 1) before the agent loads when no socket was passed', () => {
    let thrown: unknown;
    try {
      serveConfig(['--web.systemd-socket'], {}, 77);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).exitCode).toBe(EXIT_INVALID);
    expect((thrown as CliError).message).toMatch(/^no socket activation file descriptors found/);
  });
});
