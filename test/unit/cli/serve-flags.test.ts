// `promdrop serve`'s flags, parsed by the real commander definition (without starting the agent).
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseByteSize, registerServe, serveConfigFromFlags, type ServeFlags } from '../../../src/cli/commands/serve.js';
import { DEFAULT_TEXTFILE_DIRECTORY } from '../../../src/defaults.js';
import { networkAllowList } from '../../../src/http/cidr.js';
import { parseListenAddress } from '../../../src/http/listen-address.js';

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const program = new Command().exitOverride();
  registerServe(program);
  const serve = program.commands.find((command) => command.name() === 'serve')!;
  serve.exitOverride().configureOutput({ writeErr: () => {} });
  serve.parseOptions(args);
  return serveConfigFromFlags(serve.opts<ServeFlags>(), env);
}

describe('promdrop serve flags', () => {
  it('defaults like node_exporter where it has the flag, and to $PROMDROP_DIR or the system directory', () => {
    const config = parse([]);
    expect(config.directories).toEqual([DEFAULT_TEXTFILE_DIRECTORY]);
    expect(config.listenAddresses).toEqual([{ host: undefined, port: 10049 }]);
    expect(config).toMatchObject({
      telemetryPath: '/metrics',
      exporterMetrics: true,
      maxRequests: 40,
      maxFileSize: 64 * 1024 * 1024,
      defaultTtlMs: undefined,
      usePolling: false,
      allowTimestamps: false,
      logLevel: 'info',
      logFormat: 'logfmt',
    });
    expect(parse([], { PROMDROP_DIR: '/srv/metrics' }).directories).toEqual(['/srv/metrics']);
  });

  it('reads every flag, with repeatable directories (both spellings) and listen addresses', () => {
    const config = parse([
      '--textfile.directory=/a',
      '--collector.textfile.directory',
      '/b/*',
      '--textfile.directory=/a',
      '--web.listen-address=127.0.0.1:9999',
      '--web.listen-address=[::1]:9998',
      '--web.telemetry-path=/m',
      '--web.disable-exporter-metrics',
      '--web.max-requests=0',
      '--textfile.max-file-size=512KiB',
      '--textfile.max-series=10',
      '--textfile.max-age=26h',
      '--textfile.grace-period=0s',
      '--textfile.settle=500ms',
      '--textfile.rescan-interval=15s',
      '--textfile.poll',
      '--textfile.allow-timestamps',
      '--log.level=debug',
      '--log.format=json',
    ]);
    expect(config).toMatchObject({
      directories: ['/a', '/b/*'],
      listenAddresses: [
        { host: '127.0.0.1', port: 9999 },
        { host: '::1', port: 9998 },
      ],
      telemetryPath: '/m',
      exporterMetrics: false,
      maxRequests: 0,
      maxFileSize: 512 * 1024,
      maxSeriesPerFile: 10,
      defaultTtlMs: 26 * 3_600_000,
      gracePeriodMs: 0,
      settleMs: 500,
      rescanIntervalMs: 15_000,
      usePolling: true,
      allowTimestamps: true,
      logLevel: 'debug',
      logFormat: 'json',
    });
  });

  it('takes --web.config.file as given (the agent resolves and loads it), and --web.health-without-auth with it', () => {
    expect(parse(['--web.config.file', 'web.yml'])).toMatchObject({ webConfigFile: 'web.yml' });
    expect(parse(['--web.config.file', 'web.yml'])).not.toHaveProperty('healthWithoutAuth');
    expect(parse(['--web.config.file=/etc/promdrop/web.yml', '--web.health-without-auth'])).toMatchObject({
      webConfigFile: '/etc/promdrop/web.yml',
      healthWithoutAuth: true,
    });
    expect(() => parse(['--web.health-without-auth'])).toThrow(/only applies with --web.config.file/);
  });

  it.each([
    ['--textfile.max-age=0s'],
    ['--textfile.rescan-interval=0'],
    ['--textfile.settle=1.5s'],
    ['--textfile.max-series=0'],
    ['--web.max-requests=1.5'],
    ['--web.telemetry-path=/api/v1/files'],
    ['--web.telemetry-path=/metrics?x=1'],
    ['--web.listen-address=:99999'],
    ['--log.level=warning'],
  ])('refuses %s', (flag) => {
    expect(() => parse([flag])).toThrow();
  });
});

describe('parseByteSize', () => {
  it('reads plain bytes and 1024-based units, as Prometheus does', () => {
    expect(parseByteSize('1048576')).toBe(1_048_576);
    expect(parseByteSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseByteSize('64MB')).toBe(64 * 1024 * 1024);
    expect(parseByteSize('1g')).toBe(1024 ** 3);
    expect(parseByteSize('100B')).toBe(100);
  });

  it('refuses nonsense and zero', () => {
    for (const text of ['', '0', '-1', '1.5MiB', '12 parsecs', 'MiB']) expect(() => parseByteSize(text)).toThrow();
  });
});

describe('parseListenAddress', () => {
  it("reads Go's host:port forms", () => {
    expect(parseListenAddress(':10049')).toEqual({ ok: true, address: { host: undefined, port: 10049 } });
    expect(parseListenAddress('0.0.0.0:80')).toEqual({ ok: true, address: { host: '0.0.0.0', port: 80 } });
    expect(parseListenAddress('localhost:0')).toEqual({ ok: true, address: { host: 'localhost', port: 0 } });
    expect(parseListenAddress('[::]:10049')).toEqual({ ok: true, address: { host: '::', port: 10049 } });
  });

  it('says what is wrong with a bad one', () => {
    expect(parseListenAddress('10049')).toMatchObject({ ok: false, message: expect.stringContaining('use ":10049"') });
    expect(parseListenAddress('host')).toMatchObject({ ok: false, message: expect.stringContaining('no port') });
    expect(parseListenAddress(':http')).toMatchObject({ ok: false, message: expect.stringContaining('not a number') });
    expect(parseListenAddress('[::1:80')).toMatchObject({ ok: false });
    expect(parseListenAddress('[]:80')).toMatchObject({ ok: false });
  });
});

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
      utf8Names: false,
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
        '--push.enable-utf8-names',
      ]).push,
    ).toEqual({
      directory: '/srv/push',
      defaultTtlMs: 900_000,
      allowedNetworks: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'],
      maxBodyBytes: 1024 * 1024,
      bodyTimeoutMs: 2_000,
      maxGroups: 5,
      adminApi: true,
      utf8Names: true,
    });
  });

  it('read --textfile.metric-name-validation-scheme (utf8 by default) and refuse other values', () => {
    expect(parse([]).nameValidation).toBe('utf8');
    expect(parse(['--textfile.metric-name-validation-scheme=legacy']).nameValidation).toBe('legacy');
    expect(() => parse(['--textfile.metric-name-validation-scheme=utf-8'])).toThrow(/utf8, legacy/);
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
