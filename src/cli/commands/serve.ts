// `promdrop serve`: the agent. This module only defines and validates the flags (named as
// node_exporter names them, so a migration is a change of binary, not of habits); the agent
// itself is loaded with a dynamic import, so the cron-path commands never load fastify,
// chokidar, pino or prom-client.
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { NAME_VALIDATION_SCHEMES, type NameValidationScheme } from '../../core/parse.js';
import {
  DEFAULT_GRACE_PERIOD_MS,
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_MAX_FILE_SIZE,
  DEFAULT_MAX_SERIES_PER_FILE,
  DEFAULT_RESCAN_INTERVAL_MS,
  DEFAULT_SETTLE_MS,
  DEFAULT_TEXTFILE_DIRECTORY,
  textfileDirectoryFromEnv,
} from '../../defaults.js';
import { parseListenAddress, type ListenAddress } from '../../http/listen-address.js';
import { ACTIVATION_VARIABLES, activationSockets } from '../../http/systemd-socket.js';
import { RESERVED_PATHS } from '../../http/paths.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../../log/levels.js';
import type { ServeConfig } from '../../program/serve.js';
import type { PushConfig } from '../../program/push-wiring.js';
import { parseCidr } from '../../http/cidr.js';
import { CliError } from '../errors.js';
import { EXIT_INVALID } from '../exit-codes.js';
import { VERSION } from '../version.js';

/** Defaults of the flags; the textfile ones are the store's, from src/defaults.ts. */
export const SERVE_DEFAULTS = {
  telemetryPath: '/metrics',
  maxRequests: 40,
  maxFileSize: DEFAULT_MAX_FILE_SIZE,
  maxSeriesPerFile: DEFAULT_MAX_SERIES_PER_FILE,
  gracePeriodMs: DEFAULT_GRACE_PERIOD_MS,
  settleMs: DEFAULT_SETTLE_MS,
  rescanIntervalMs: DEFAULT_RESCAN_INTERVAL_MS,
  logLevel: 'info' as LogLevel,
  logFormat: 'logfmt' as LogFormat,
  pushAllowedNetworks: ['127.0.0.0/8', '::1/128'],
  pushMaxBodyBytes: 16 * 1024 * 1024,
  pushBodyTimeoutMs: 10_000,
  pushMaxGroups: 10_000,
} as const;

/** The flags as commander hands them over: node_exporter's dotted names, camel-cased after each dash. */
export interface ServeFlags {
  readonly 'textfile.directory'?: string[];
  readonly 'collector.textfile.directory'?: string[];
  readonly 'web.listenAddress'?: ListenAddress[];
  readonly 'web.systemdSocket'?: boolean;
  readonly 'web.telemetryPath': string;
  readonly 'web.disableExporterMetrics'?: boolean;
  readonly 'web.maxRequests': number;
  readonly 'web.config.file'?: string;
  readonly 'web.healthWithoutAuth'?: boolean;
  readonly 'textfile.maxFileSize': number;
  readonly 'textfile.maxSeries': number;
  readonly 'textfile.maxAge'?: number;
  readonly 'textfile.gracePeriod': number;
  readonly 'textfile.settle': number;
  readonly 'textfile.rescanInterval': number;
  readonly 'textfile.poll'?: boolean;
  readonly 'textfile.allowTimestamps'?: boolean;
  readonly 'textfile.metricNameValidationScheme': NameValidationScheme;
  readonly 'log.level': LogLevel;
  readonly 'log.format': LogFormat;
  readonly 'web.enablePush'?: boolean;
  readonly 'web.enableAdminApi'?: boolean;
  readonly 'push.directory'?: string;
  readonly 'push.ttl'?: number;
  readonly 'push.allowedNetworks'?: string[];
  readonly 'push.maxBodySize': number;
  readonly 'push.bodyTimeout': number;
  readonly 'push.maxGroups': number;
  readonly 'push.enableUtf8Names'?: boolean;
}

const EXAMPLES = `
Examples:
  # serve /var/lib/promdrop (or $PROMDROP_DIR) on every interface, port 10049
  promdrop serve

  # take over from node_exporter's textfile collector: same directory flag, local only
  promdrop serve --collector.textfile.directory /var/lib/prometheus/node-exporter \\
    --web.listen-address 127.0.0.1:10049

  # several directories (globs allowed); files without a TTL expire after a day
  promdrop serve --textfile.directory /var/lib/promdrop --textfile.directory '/srv/*/metrics' \\
    --textfile.max-age 26h

  # socket activation (promdrop.socket binds the port; see docs/service.md)
  promdrop serve --web.systemd-socket

  # HTTPS and basic auth, with the same file as every other exporter (docs/web-config.md)
  promdrop serve --web.config.file /etc/promdrop/web.yml

  # on NFS or another file system where inotify sees nothing
  promdrop serve --textfile.poll --textfile.rescan-interval 15s

Prometheus scrape config:
  scrape_configs:
    - job_name: promdrop
      static_configs: [{ targets: ['HOST:10049'] }]

Endpoints: /metrics (text 0.0.4 or OpenMetrics, gzip), / (files and their state),
/api/v1/files (the same as JSON), /-/healthy, /-/ready. SIGHUP rescans the directories;
SIGTERM or SIGINT stop the agent after the scrapes in flight.`;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the agent: watch the textfile directories and serve their validated metrics over HTTP')
    .addOption(
      new Option(
        '--textfile.directory <DIR>',
        `directory (or glob) of *.prom files; repeatable (default: $PROMDROP_DIR, else ${DEFAULT_TEXTFILE_DIRECTORY})`,
      ).argParser(collectString),
    )
    .addOption(new Option('--collector.textfile.directory <DIR>', "alias of --textfile.directory (node_exporter's name)").argParser(collectString))
    .addOption(
      new Option(
        '--web.listen-address <[HOST]:PORT>',
        `address to listen on; ":PORT" is every interface; repeatable (default: ${DEFAULT_LISTEN_ADDRESS})`,
      ).argParser(collectListenAddress),
    )
    .option('--web.systemd-socket', 'listen on the sockets systemd passes (socket activation, LISTEN_FDS) instead of --web.listen-address')
    .addOption(
      new Option('--web.telemetry-path <PATH>', 'path under which to expose metrics').argParser(parseTelemetryPath).default(SERVE_DEFAULTS.telemetryPath),
    )
    .option(
      '--web.disable-exporter-metrics',
      "leave out the agent's own metrics (process_*, nodejs_*, promdrop_scrape*, promdrop_files); promdrop_build_info stays",
    )
    .addOption(
      new Option('--web.max-requests <N>', 'scrapes served at the same time; more get 503 (0: no limit)')
        .argParser(parseCount(0))
        .default(SERVE_DEFAULTS.maxRequests),
    )
    .option(
      '--web.config.file <FILE>',
      "TLS, basic auth and response headers, in exporter-toolkit's web config format (see docs/web-config.md); re-read when it or its certificates change",
    )
    .option('--web.health-without-auth', "answer /-/healthy and /-/ready without the web config's basic auth (for load-balancer and orchestrator probes)")
    .addOption(
      new Option('--textfile.max-file-size <BYTES>', 'larger files are not read and reported as too_large (units B, KiB, MiB, GiB; KB=KiB)')
        .argParser(parseByteSize)
        .default(SERVE_DEFAULTS.maxFileSize, '64MiB'),
    )
    .addOption(
      new Option('--textfile.max-series <N>', 'files with more series are not served and reported as too_many_series')
        .argParser(parseCount(1))
        .default(SERVE_DEFAULTS.maxSeriesPerFile, '1000000'),
    )
    .addOption(
      new Option(
        '--textfile.max-age <DURATION>',
        'TTL of files without a "# promdrop: ttl=" line: older files are reported expired, not served (default: none)',
      ).argParser(parseDurationFlag(false)),
    )
    .addOption(
      new Option('--textfile.grace-period <DURATION>', 'how long a file that turned invalid keeps serving its last good content (0s: not at all)')
        .argParser(parseDurationFlag(true))
        .default(SERVE_DEFAULTS.gracePeriodMs, '1m'),
    )
    .addOption(
      new Option('--textfile.settle <DURATION>', 'a file rewritten in place (not renamed into place) is read once unchanged for this long')
        .argParser(parseDurationFlag(true))
        .default(SERVE_DEFAULTS.settleMs, '2s'),
    )
    .addOption(
      new Option('--textfile.rescan-interval <DURATION>', 'full rescan of the directories, in case the file watcher missed a change')
        .argParser(parseDurationFlag(false))
        .default(SERVE_DEFAULTS.rescanIntervalMs, '30s'),
    )
    .option('--textfile.poll', 'poll the files instead of using inotify (network and FUSE file systems)')
    .option('--textfile.allow-timestamps', 'serve samples with timestamps instead of rejecting the file (node_exporter rejects them)')
    .addOption(
      // Prometheus's own name for it (metric_name_validation_scheme in a scrape config) and its values.
      new Option(
        '--textfile.metric-name-validation-scheme <SCHEME>',
        'utf8: also read quoted UTF-8 names ({"my.metric"} 1), served escaped to scrapers that do not ask for them; legacy: only [a-zA-Z_:][a-zA-Z0-9_:]* (Prometheus 2)',
      )
        .choices(NAME_VALIDATION_SCHEMES)
        .default('utf8'),
    )
    .option('--web.enable-push', 'accept Pushgateway-style pushes (PUT/POST/DELETE /metrics/job/...), stored as files in --push.directory (docs/push.md)')
    .option('--web.enable-admin-api', 'with --web.enable-push: PUT /api/v1/admin/wipe deletes every pushed group')
    .addOption(
      new Option(
        '--push.directory <DIR>',
        'where pushed groups are stored, one file each; created if missing (default: $PROMDROP_DIR/push, else /var/lib/promdrop/push)',
      ),
    )
    .addOption(
      new Option(
        '--push.ttl <DURATION>',
        'TTL of a pushed group whose push sets none (X-Promdrop-TTL header or ?ttl=); expired groups are removed (default: none)',
      ).argParser(parseDurationFlag(false)),
    )
    .addOption(
      new Option('--push.allowed-networks <CIDR>', 'networks pushes may come from, comma-separated or repeated (default: 127.0.0.0/8,::1/128)').argParser(
        collectNetworks,
      ),
    )
    .addOption(
      new Option('--push.max-body-size <BYTES>', 'largest push body, also after gunzip; larger ones get 413')
        .argParser(parseByteSize)
        .default(SERVE_DEFAULTS.pushMaxBodyBytes, '16MiB'),
    )
    .addOption(
      new Option('--push.body-timeout <DURATION>', 'a push body must arrive within this, else 408')
        .argParser(parseDurationFlag(false))
        .default(SERVE_DEFAULTS.pushBodyTimeoutMs, '10s'),
    )
    .addOption(
      new Option('--push.max-groups <N>', 'pushed groups stored at most; a push creating one more gets 400')
        .argParser(parseCount(1))
        .default(SERVE_DEFAULTS.pushMaxGroups, '10000'),
    )
    .option(
      '--push.enable-utf8-names',
      "accept UTF-8 metric and label names in pushes, and U__-escaped label names in grouping keys (/metrics/job/j/U__http_2e_method/GET), as Pushgateway 1.11's flag",
    )
    .addOption(new Option('--log.level <LEVEL>', 'only log messages with this severity or above').choices(LOG_LEVELS).default(SERVE_DEFAULTS.logLevel))
    .addOption(new Option('--log.format <FORMAT>', 'output format of log messages, on stderr').choices(LOG_FORMATS).default(SERVE_DEFAULTS.logFormat))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ServeFlags) => {
      const config = serveConfigFromFlags(flags, process.env, process.pid);
      // sd_listen_fds(unset_environment=1): the variables describe fds meant for this process
      // only, and must not reach anything it might start.
      if (config.systemdSocketFds !== undefined) for (const name of ACTIVATION_VARIABLES) delete process.env[name];
      const { runAgent, AgentStartError } = await import('../../program/serve.js');
      try {
        await runAgent(config);
      } catch (error) {
        if (error instanceof AgentStartError) {
          // Logged already, in the configured format (logfmt or JSON): not again as plain text.
          if (error.logged) process.exit(EXIT_INVALID);
          throw new CliError(error.message, EXIT_INVALID);
        }
        throw error;
      }
      // Orderly shutdown is done; a library's stray timer must not keep the process past the
      // 5 s a service manager allows.
      process.exit(0);
    });
}

/**
 * Turns parsed flags into the agent's settings, filling the defaults that depend on the
 * environment. With --web.systemd-socket and no sockets passed to process `pid`, throws a
 * CliError (exit 1) before the agent is loaded, as exporter-toolkit fails at start.
 */
export function serveConfigFromFlags(flags: ServeFlags, env: NodeJS.ProcessEnv, pid: number = process.pid): ServeConfig {
  const directories = [...(flags['textfile.directory'] ?? []), ...(flags['collector.textfile.directory'] ?? [])];
  const listenAddresses = flags['web.listenAddress'] ?? [defaultListenAddress()];
  let systemdSocketFds: readonly number[] | undefined;
  if (flags['web.systemdSocket'] === true) {
    const sockets = activationSockets(env, pid);
    if (!sockets.ok) throw new CliError(sockets.message, EXIT_INVALID);
    systemdSocketFds = sockets.fds;
  }
  if (flags['web.healthWithoutAuth'] === true && flags['web.config.file'] === undefined) {
    throw new CliError('--web.health-without-auth only applies with --web.config.file', EXIT_INVALID);
  }
  const config: ServeConfig = {
    version: VERSION,
    directories: directories.length > 0 ? dedupe(directories) : [textfileDirectoryFromEnv(env)],
    listenAddresses,
    ...(systemdSocketFds === undefined ? {} : { systemdSocketFds }),
    telemetryPath: flags['web.telemetryPath'],
    exporterMetrics: flags['web.disableExporterMetrics'] !== true,
    maxRequests: flags['web.maxRequests'],
    maxFileSize: flags['textfile.maxFileSize'],
    maxSeriesPerFile: flags['textfile.maxSeries'],
    defaultTtlMs: flags['textfile.maxAge'],
    gracePeriodMs: flags['textfile.gracePeriod'],
    settleMs: flags['textfile.settle'],
    rescanIntervalMs: flags['textfile.rescanInterval'],
    usePolling: flags['textfile.poll'] === true,
    allowTimestamps: flags['textfile.allowTimestamps'] === true,
    nameValidation: flags['textfile.metricNameValidationScheme'],
    logLevel: flags['log.level'],
    logFormat: flags['log.format'],
    ...(flags['web.config.file'] === undefined ? {} : { webConfigFile: flags['web.config.file'] }),
    ...(flags['web.healthWithoutAuth'] === true ? { healthWithoutAuth: true } : {}),
    push: flags['web.enablePush'] === true ? pushConfigFromFlags(flags, env) : undefined,
  };
  if (config.push !== undefined && config.directories.some((directory) => resolve(directory) === config.push!.directory)) {
    throw new CliError(`--push.directory ${config.push.directory} is also a textfile directory: give pushed groups a directory of their own`, EXIT_INVALID);
  }
  return config;
}

function pushConfigFromFlags(flags: ServeFlags, env: NodeJS.ProcessEnv): PushConfig {
  return {
    directory: resolve(flags['push.directory'] ?? join(textfileDirectoryFromEnv(env), 'push')),
    defaultTtlMs: flags['push.ttl'],
    allowedNetworks: flags['push.allowedNetworks'] ?? [...SERVE_DEFAULTS.pushAllowedNetworks],
    maxBodyBytes: flags['push.maxBodySize'],
    bodyTimeoutMs: flags['push.bodyTimeout'],
    maxGroups: flags['push.maxGroups'],
    utf8Names: flags['push.enableUtf8Names'] === true,
    adminApi: flags['web.enableAdminApi'] === true,
  };
}

function collectNetworks(value: string, previous: string[] | undefined): string[] {
  const networks = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  for (const network of networks) {
    if (parseCidr(network) === undefined)
      throw new InvalidArgumentError(`expected networks such as 127.0.0.0/8,::1/128 or 10.1.2.3, got ${JSON.stringify(network)}`);
  }
  return [...(previous ?? []), ...networks];
}

function defaultListenAddress(): ListenAddress {
  const parsed = parseListenAddress(DEFAULT_LISTEN_ADDRESS);
  if (!parsed.ok) throw new Error(`DEFAULT_LISTEN_ADDRESS is invalid: ${parsed.message}`);
  return parsed.address;
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function collectString(value: string, previous: string[] | undefined): string[] {
  if (value === '') throw new InvalidArgumentError('expected a directory, got an empty string');
  return [...(previous ?? []), value];
}

function collectListenAddress(value: string, previous: ListenAddress[] | undefined): ListenAddress[] {
  const parsed = parseListenAddress(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
  return [...(previous ?? []), parsed.address];
}

export function parseTelemetryPath(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError('expected a path starting with "/", such as /metrics');
  if (/[\s?#]/.test(value)) throw new InvalidArgumentError('expected a plain path, without spaces, "?" or "#"');
  if (RESERVED_PATHS.includes(value)) throw new InvalidArgumentError(`${value} is already one of the agent's own endpoints`);
  return value;
}

/** A whole number of at least `min`. */
function parseCount(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    }
    return Number(value);
  };
}

/** A Prometheus duration (`90s`, `1h30m`); `0s` only where zero means something. */
function parseDurationFlag(allowZero: boolean): (value: string) => number {
  return (value) => {
    // Prometheus accepts `0` alone; `0s` reads better in a unit file and must work too.
    const ms = value === '0s' ? 0 : parseDuration(value);
    if (ms === undefined || (ms === 0 && !allowZero)) {
      throw new InvalidArgumentError(`expected a Prometheus duration${allowZero ? '' : ' greater than 0'}, such as 500ms, 90s, 15m, 26h or 1h30m`);
    }
    return ms;
  };
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** A size as Prometheus reads one (units.Base2Bytes): `65536`, `512KiB`, `64MB` = 64 MiB. */
export function parseByteSize(value: string): number {
  const match = /^(\d+)\s*([a-zA-Z]*)$/.exec(value);
  const factor = match === null ? undefined : BYTE_UNITS[match[2]!.toLowerCase()];
  if (match === null || factor === undefined) {
    throw new InvalidArgumentError('expected a size such as 1048576, 512KiB, 64MiB or 1GiB');
  }
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidArgumentError('expected a size of at least 1 byte');
  return bytes;
}
