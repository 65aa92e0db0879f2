// `promdrop serve`, once its flags are valid: wires the logger, the store, the self metrics and
// the HTTP application together, listens, and handles signals. Loaded by the CLI with a dynamic
// import, so that the writer commands never pay for fastify, chokidar, pino or prom-client.
import type { NameValidationScheme } from '../core/parse.js';
import { buildHttpApp } from '../http/app.js';
import { findJob, readJobDetails, readJobReports } from '../job/job-reports.js';
import { HttpListeners, type ListenAddress } from '../http/listen.js';
import { HEALTHY_PATH, READY_PATH } from '../http/paths.js';
import type { SnapshotSource } from '../http/snapshot-source.js';
import { loadWebConfig } from '../http/web-config/load.js';
import { WebConfigReloader } from '../http/web-config/reloader.js';
import { tlsServerFactory } from '../http/web-config/tls-server.js';
import { createLogger, httpLogLevel, type LogFormat, type LogLevel, type Logger } from '../log/logger.js';
import { openPush, type PushConfig, type PushWiring } from './push-wiring.js';
import { SelfMetrics } from './self-metrics.js';
import { TextfileStore, type StoreOptions } from '../agent/store.js';

const JOBS_READER = { reports: readJobReports, details: readJobDetails, find: findJob };

/** Validated settings of `promdrop serve` (src/cli/commands/serve.ts turns flags into this). */
export interface ServeConfig {
  readonly version: string;
  /** As given: directories or globs, expanded by the store. */
  readonly directories: readonly string[];
  readonly listenAddresses: readonly ListenAddress[];
  /** --web.systemd-socket: listen on these inherited fds instead, and ignore listenAddresses (as
   *  exporter-toolkit does). The CLI has checked LISTEN_PID/LISTEN_FDS already. */
  readonly systemdSocketFds?: readonly number[];
  readonly telemetryPath: string;
  readonly exporterMetrics: boolean;
  readonly maxRequests: number;
  readonly maxFileSize: number;
  readonly maxSeriesPerFile: number;
  readonly defaultTtlMs: number | undefined;
  readonly gracePeriodMs: number;
  readonly settleMs: number;
  readonly rescanIntervalMs: number;
  readonly usePolling: boolean;
  readonly allowTimestamps: boolean;
  /** --textfile.name-validation-scheme (utf8 when not given). */
  readonly nameValidation?: NameValidationScheme;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** --web.config.file: TLS, headers and basic auth (exporter-toolkit's format), re-read on change. */
  readonly webConfigFile?: string;
  /** --web.health-without-auth: /-/healthy and /-/ready answer without basic auth. */
  readonly healthWithoutAuth?: boolean;
  /** --web.enable-push; undefined when off. */
  readonly push?: PushConfig | undefined;
}

/** SIGTERM to exit: the whole shutdown (draining scrapes, closing the store) fits in this. */
const SHUTDOWN_BUDGET_MS = 5_000;
/** Of that budget, how long scrapes in flight may take to finish before they are cut. */
const DRAIN_GRACE_MS = 3_500;

export function storeOptionsFromConfig(config: ServeConfig, logger: Logger, reservedMetricNames: ReadonlySet<string>): StoreOptions {
  return {
    // The push directory is served like any textfile directory.
    directories: config.push === undefined ? [...config.directories] : [...config.directories, config.push.directory],
    maxFileSize: config.maxFileSize,
    maxSeriesPerFile: config.maxSeriesPerFile,
    gracePeriodMs: config.gracePeriodMs,
    settleMs: config.settleMs,
    rescanIntervalMs: config.rescanIntervalMs,
    usePolling: config.usePolling,
    allowTimestamps: config.allowTimestamps,
    nameValidation: config.nameValidation,
    defaultTtlMs: config.defaultTtlMs,
    logger,
    reservedMetricNames,
    unwatchedDirectories: config.push === undefined ? undefined : [config.push.directory],
    pushedDirectories: config.push === undefined ? undefined : [config.push.directory],
  };
}

/** Errors that stop the agent from starting (a port in use, a store that cannot start). */
export class AgentStartError extends Error {
  /** True when the agent's logger has said it already (in the configured log format). */
  readonly logged: boolean;

  constructor(message: string, options?: { cause?: unknown; logged?: boolean }) {
    super(message, options);
    this.name = 'AgentStartError';
    this.logged = options?.logged === true;
  }
}

/**
 * Runs the agent until SIGTERM or SIGINT, then shuts down in order: stop accepting connections,
 * let scrapes in flight finish, close the store. Resolves once that is done.
 */
export async function runAgent(config: ServeConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const webConfig = config.webConfigFile === undefined ? undefined : startWebConfig(config.webConfigFile, logger);
  const selfMetrics = new SelfMetrics({ version: config.version, exporterMetrics: config.exporterMetrics, push: config.push !== undefined });
  // A file defining process_cpu_seconds_total (say) would put a second family of that name
  // into the exposition, which Prometheus's parsers reject or mis-ingest: such files are refused.
  const store = new TextfileStore(storeOptionsFromConfig(config, logger, selfMetrics.reservedNames()));

  // Listening starts before the first scan so that /-/healthy answers and /-/ready says "not
  // yet" during a long first scan; a scrape in that window waits for the scan instead of
  // getting a view of the directories with files missing. The scan itself starts only once the
  // ports are bound: a port in use fails the start at once, before a single file is read or
  // its warnings logged.
  let startScan: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (startScan = resolve)).then(() => store.start());
  // A failure is handled below, once listening; until then nothing must call it unhandled.
  started.catch(() => undefined);
  const source: SnapshotSource = {
    isReady: () => store.isReady(),
    snapshot: async () => {
      if (!store.isReady()) await started;
      return store.snapshot();
    },
  };
  let push: PushWiring | undefined;
  if (config.push !== undefined) {
    try {
      push = await openPush(config.push, {
        store,
        selfMetrics,
        logger,
        maxFileSize: config.maxFileSize,
        textfileMaxAgeMs: config.defaultTtlMs,
        version: config.version,
      });
    } catch (error) {
      await store.close();
      throw new AgentStartError(`cannot open the push directory ${config.push.directory}: ${errorMessage(error)}`, { cause: error });
    }
  }
  const app = buildHttpApp({
    source,
    jobs: JOBS_READER,
    selfMetrics,
    telemetryPath: config.telemetryPath,
    maxRequests: config.maxRequests,
    version: config.version,
    directories: config.push === undefined ? config.directories : [...config.directories, config.push.directory],
    logger: logger.child({ component: 'http' }, { level: httpLogLevel(config.logLevel) }),
    ...(webConfig === undefined
      ? {}
      : {
          webAuth: {
            current: () => webConfig.current().config,
            unauthenticatedPaths: new Set(config.healthWithoutAuth === true ? [HEALTHY_PATH, READY_PATH] : []),
          },
        }),
    ...(push === undefined ? {} : { push: push.http }),
    ...(config.push === undefined ? {} : { pushDirectory: config.push.directory }),
  });
  const createServer = webConfig?.current().tls === undefined ? undefined : tlsServerFactory(webConfig);

  let listeners: HttpListeners;
  try {
    listeners =
      config.systemdSocketFds === undefined
        ? await HttpListeners.open(app, config.listenAddresses, createServer)
        : await HttpListeners.adopt(app, config.systemdSocketFds, createServer);
  } catch (error) {
    push?.groups.close();
    await Promise.allSettled([store.close(), app.close()]);
    logger.error({ err: errorMessage(error) }, 'cannot listen');
    throw new AgentStartError(`cannot listen: ${errorMessage(error)}`, { cause: error, logged: true });
  }
  startScan();
  logger.info(
    {
      version: config.version,
      directories: config.directories.join(','),
      listen_address: listeners.boundAddresses().join(','),
      telemetry_path: config.telemetryPath,
      ...(webConfig === undefined ? {} : { web_config: config.webConfigFile, tls: webConfig.current().tls !== undefined }),
    },
    'promdrop serving textfiles',
  );

  const signals = listenForSignals(logger, store);
  const outcome = await Promise.race([
    signals.stopped.then(() => ({ kind: 'stop' }) as const),
    started.then(
      () => ({ kind: 'ready' }) as const,
      (error: unknown) => ({ kind: 'failed', error }) as const,
    ),
  ]);
  if (outcome.kind === 'failed') {
    signals.dispose();
    await shutdown(listeners, app, store, logger);
    throw new AgentStartError(`cannot start watching the textfile directories: ${errorMessage(outcome.error)}`, { cause: outcome.error });
  }
  if (outcome.kind === 'ready') await signals.stopped;
  await shutdown(listeners, app, store, logger);
  push?.groups.close();
}

/** Loads --web.config.file; a file that does not load stops the start, naming the line. */
function startWebConfig(path: string, logger: Logger): WebConfigReloader {
  const loaded = loadWebConfig(path);
  if (!loaded.ok) throw new AgentStartError(`invalid --web.config.file: ${loaded.error.message}`);
  return new WebConfigReloader(path, loaded.loaded, logger.child({ component: 'web-config' }));
}

interface SignalHandling {
  /** Resolves on the first SIGTERM or SIGINT. */
  readonly stopped: Promise<void>;
  dispose(): void;
}

/** SIGHUP asks the store for a full rescan; SIGTERM and SIGINT ask the agent to stop. */
function listenForSignals(logger: Logger, store: TextfileStore): SignalHandling {
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const onHangup = (): void => {
    logger.info({}, 'SIGHUP: rescanning the textfile directories');
    store.rescan().catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'rescan failed'));
  };
  const dispose = (): void => {
    process.off('SIGHUP', onHangup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  };
  const onStop = (signal: NodeJS.Signals): void => {
    dispose();
    logger.info({ signal }, 'shutting down');
    resolveStopped();
  };
  process.on('SIGHUP', onHangup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return { stopped, dispose };
}

async function shutdown(listeners: HttpListeners, app: { close(): Promise<unknown> }, store: TextfileStore, logger: Logger): Promise<void> {
  const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
  // fastify's close makes requests that arrive from now on answer 503 with Connection: close;
  // the listeners stop accepting and wait for the scrapes in flight.
  const appClosed = app.close();
  await listeners.close(DRAIN_GRACE_MS);
  await appClosed.catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'closing the HTTP application failed'));
  logger.debug({}, 'HTTP server closed');
  const left = Math.max(deadline - Date.now() - 250, 100);
  await withTimeout(store.close(), left).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'closing the store failed'));
  logger.debug({}, 'textfile store closed');
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
