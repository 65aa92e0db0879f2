// The agent's HTTP application: a fastify instance built from one small plugin per concern
// (scrape endpoint, landing page, JSON file list, health). It holds no state of its own beyond the
// scrape endpoint's in-flight count; everything it shows comes from the store's snapshot.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../log/logger.js';
import { filesApi } from './files-api.js';
import { healthRoutes } from './health-routes.js';
import { jobsApi } from './jobs-api.js';
import type { JobsReader } from './jobs-reader.js';
import { landingPage, type PushedGroupView } from './landing-page.js';
import { metricsRoute, type SelfMetricsSource } from './metrics-route.js';
import { LANDING_PAGE_PATH } from './paths.js';
import { pushApi, type PushApiOptions } from './push-api.js';
import { pushRoutes, type PushRoutesOptions } from './push-routes.js';
import type { SnapshotSource } from './snapshot-source.js';
import { addWebAuth, type WebAuthOptions } from './web-config/auth-hook.js';

export interface HttpAppOptions {
  readonly source: SnapshotSource;
  /** The jobs' reader (src/job/job-reports.ts) for /api/v1/jobs and the landing page. */
  readonly jobs: JobsReader;
  readonly selfMetrics: SelfMetricsSource;
  readonly telemetryPath: string;
  readonly maxRequests: number;
  readonly version: string;
  /** The directories as given (globs unexpanded), for the landing page. */
  readonly directories: readonly string[];
  /** fastify's logger, at warn or above (see httpLogLevel); leave out to log nothing (tests). */
  readonly logger?: Logger;
  readonly now?: () => number;
  /** --web.config.file's headers and basic auth, for every route; leave out for none. */
  readonly webAuth?: WebAuthOptions;
  /** --web.enable-push: the push API and its JSON status API. */
  readonly push?: { readonly routes: PushRoutesOptions; readonly api: PushApiOptions };
  /** --web.enable-push's directory: the landing page shows its files as pushed groups. */
  readonly pushDirectory?: string;
}

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const app = (
    options.logger === undefined
      ? Fastify({ logger: false })
      : // Per-request lines are info-level; the caller passes a logger at warn or above, so
        // that only server errors get through.
        Fastify({ loggerInstance: options.logger })
  ) as FastifyInstance;

  // First, on the root instance: every route below and any added later is behind it.
  if (options.webAuth !== undefined) addWebAuth(app, options.webAuth);
  // Registered as encapsulated plugins: each concern sees only the options it is given.
  void app.register(metricsRoute, {
    path: options.telemetryPath,
    source: options.source,
    selfMetrics: options.selfMetrics,
    maxRequests: options.maxRequests,
  });
  void app.register(filesApi, { source: options.source });
  void app.register(jobsApi, { source: options.source, jobs: options.jobs, now: options.now ?? Date.now });
  void app.register(healthRoutes, { source: options.source });
  if (options.push !== undefined) {
    void app.register(pushRoutes, options.push.routes);
    void app.register(pushApi, options.push.api);
  }
  // As node_exporter: no landing page when the metrics themselves are served at the root.
  if (options.telemetryPath !== LANDING_PAGE_PATH) {
    void app.register(landingPage, {
      source: options.source,
      jobs: options.jobs,
      version: options.version,
      telemetryPath: options.telemetryPath,
      directories: options.directories,
      now: options.now ?? Date.now,
      ...(options.push === undefined || options.pushDirectory === undefined
        ? {}
        : { push: { directory: options.pushDirectory, groups: pushedGroupViews(options.push.api.groups) } }),
    });
  }
  return app;
}

function pushedGroupViews(groups: PushApiOptions['groups']): () => PushedGroupView[] {
  return () =>
    groups.list().map((group) => {
      const labels: Array<readonly [string, string]> = [];
      for (let i = 0; i < group.key.labels.length; i += 2) labels.push([group.key.labels[i]!, group.key.labels[i + 1]!]);
      return { labels, pushTimeMs: group.pushTimeMs, failureTimeMs: group.failureTimeMs, expiresAtMs: group.expiresAtMs, ttlMs: group.ttlMs };
    });
}
