// --web.enable-push: opens the pushed groups (creating the push directory, loading what was
// pushed before a restart) and puts together the push routes' options. Kept apart from serve.ts
// so that the agent's wiring stays one screen.
import type { HttpAppOptions } from '../http/app.js';
import type { Logger } from '../log/logger.js';
import { PushedGroups } from '../push/pushed-groups.js';
import type { SelfMetrics } from './self-metrics.js';
import type { TextfileStore } from '../agent/store.js';

/** Validated push flags (src/cli/commands/serve.ts). */
export interface PushConfig {
  /** Absolute; also one of the store's directories. */
  readonly directory: string;
  readonly defaultTtlMs: number | undefined;
  readonly allowedNetworks: readonly string[];
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly maxGroups: number;
  readonly adminApi: boolean;
  /** --push.enable-utf8-names. */
  readonly utf8Names?: boolean;
}

export interface PushWiring {
  readonly groups: PushedGroups;
  readonly http: NonNullable<HttpAppOptions['push']>;
}

export async function openPush(
  config: PushConfig,
  context: {
    store: TextfileStore;
    selfMetrics: SelfMetrics;
    logger: Logger;
    maxFileSize: number;
    textfileMaxAgeMs: number | undefined;
    version: string;
  },
): Promise<PushWiring> {
  const groups = await PushedGroups.open({
    directory: config.directory,
    // The store gives a file without a TTL directive --textfile.max-age: a group without a TTL
    // of its own is such a file, and must expire when the store stops serving it.
    defaultTtlMs: config.defaultTtlMs ?? context.textfileMaxAgeMs,
    maxGroups: config.maxGroups,
    maxFileBytes: context.maxFileSize,
    // The store's own rules, so that an accepted group is served. A push with timestamps is
    // refused before it is judged (as the Pushgateway does), whatever --textfile.allow-timestamps
    // says; a file with timestamps in the push directory is therefore no group of the push API.
    contentOptions: { ...context.store.contentOptions, allowTimestamps: false },
    servedSources: () => context.store.servedSources(),
    // The store takes a written group as judged here instead of reading and judging it again.
    // (A failure there is the store's to log; the next look reads the file then.)
    onWritten: ({ path, families, series, ttlMs, warnings, identity }) =>
      void context.store.adopt(path, { families, series, ttlMs, warnings, identity }).catch(() => undefined),
    logger: context.logger.child({ component: 'push' }),
  });
  const flags: Record<string, string> = {
    'web.enable-push': 'true',
    'web.enable-admin-api': String(config.adminApi),
    'push.directory': config.directory,
    'push.ttl': config.defaultTtlMs === undefined ? '' : `${config.defaultTtlMs}ms`,
    'push.allowed-networks': config.allowedNetworks.join(','),
    'push.max-body-size': String(config.maxBodyBytes),
    'push.body-timeout': `${config.bodyTimeoutMs}ms`,
    'push.max-groups': String(config.maxGroups),
    'push.enable-utf8-names': String(config.utf8Names === true),
  };
  return {
    groups,
    http: {
      routes: {
        target: groups,
        counters: context.selfMetrics,
        allowedNetworks: config.allowedNetworks,
        maxBodyBytes: config.maxBodyBytes,
        bodyTimeoutMs: config.bodyTimeoutMs,
        adminApi: config.adminApi,
        utf8Names: config.utf8Names === true,
      },
      api: { groups, flags, version: context.version, startedAtMs: Date.now() },
    },
  };
}
