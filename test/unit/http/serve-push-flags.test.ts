// `promdrop serve`'s push flags, parsed by the real commander definition (without starting the agent).
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerServe, serveConfigFromFlags, type ServeFlags } from '../../../src/cli/commands/serve.js';
import { networkAllowList } from '../../../src/http/cidr.js';

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const program = new Command().exitOverride();
  registerServe(program);
  const serve = program.commands.find((command) => command.name() === 'serve')!;
  serve.exitOverride().configureOutput({ writeErr: () => {} });
  serve.parseOptions(args);
  return serveConfigFromFlags(serve.opts<ServeFlags>(), env);
}

describe('promdrop serve push flags', () => {
  it('leave the push API off unless --web.enable-push is given', () => {
    expect(parse(['--push.ttl=1h']).push).toBeUndefined();
  });

  it('default to loopback only and a push directory under $PROMDROP_DIR or /var/lib/promdrop', () => {
    expect(parse(['--web.enable-push']).push).toEqual({
      directory: '/var/lib/promdrop/push',
      defaultTtlMs: undefined,
      allowedNetworks: ['127.0.0.0/8', '::1/128'],
      maxBodyBytes: 16 * 1024 * 1024,
      bodyTimeoutMs: 10_000,
      maxGroups: 10_000,
      adminApi: false,
    });
    expect(parse(['--web.enable-push'], { PROMDROP_DIR: '/srv/metrics' }).push?.directory).toBe('/srv/metrics/push');
  });

  it('read every push flag, with networks comma-separated or repeated', () => {
    expect(
      parse([
        '--web.enable-push',
        '--web.enable-admin-api',
        '--push.directory=/srv/push',
        '--push.ttl=15m',
        '--push.allowed-networks=10.0.0.0/8,192.168.1.7',
        '--push.allowed-networks=fd00::/8',
        '--push.max-body-size=1MiB',
        '--push.body-timeout=2s',
        '--push.max-groups=5',
      ]).push,
    ).toEqual({
      directory: '/srv/push',
      defaultTtlMs: 900_000,
      allowedNetworks: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'],
      maxBodyBytes: 1024 * 1024,
      bodyTimeoutMs: 2_000,
      maxGroups: 5,
      adminApi: true,
    });
  });

  it('refuse a malformed network and a push directory that is also a textfile directory', () => {
    expect(() => parse(['--web.enable-push', '--push.allowed-networks=10.0.0.0/33'])).toThrow(/expected networks/);
    expect(() => parse(['--web.enable-push', '--textfile.directory=/srv/x', '--push.directory=/srv/x/'])).toThrow(/also a textfile directory/);
  });

  it('match addresses against the networks, IPv4-mapped IPv6 included', () => {
    const allowed = networkAllowList(['127.0.0.0/8', '::1/128', '10.1.0.0/16']);
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3'].map(allowed)).toEqual([true, true, true, true]);
    expect(['10.2.0.1', '192.168.0.1', '::2', '::ffff:10.2.0.1'].map(allowed)).toEqual([false, false, false, false]);
  });
});
