// The Pushgateway's read-only JSON API over the pushed groups, in its shape (api/v1/api.go):
// GET /api/v1/metrics (every group: its grouping labels, whether its last push succeeded, and
// each family with the time it was last pushed) and GET /api/v1/status. Both send CORS `*` as
// the Pushgateway does. Reads only: no network restriction beyond the app's own.
import type { FastifyPluginCallback } from 'fastify';
import { formatGoFloat } from '../core/float.js';
import { PUSH_FAILURE_TIME_HELP, PUSH_FAILURE_TIME_METRIC, PUSH_TIME_HELP, PUSH_TIME_METRIC } from '../core/push-time.js';
import type { Metric, MetricFamily } from '../core/types.js';

export const PUSH_METRICS_API_PATH = '/api/v1/metrics';
export const PUSH_STATUS_API_PATH = '/api/v1/status';

/** What the API shows of a pushed group (src/push/pushed-groups.ts's PushedGroup has it). */
export interface PushedGroup {
  /** The grouping labels as flat name/value pairs. */
  readonly key: { readonly labels: readonly string[] };
  /** The pushed families, without the two push_* families. */
  readonly families: readonly MetricFamily[];
  /** Unix ms of the last push of each family in `families`. */
  readonly familyPushedAtMs: ReadonlyMap<string, number>;
  /** Unix ms; 0: never. */
  readonly pushTimeMs: number;
  readonly failureTimeMs: number;
  /** Unix ms when the group expires (its TTL); undefined: never. */
  readonly expiresAtMs: number | undefined;
  readonly ttlMs: number | undefined;
}

export interface PushApiOptions {
  readonly groups: { list(): readonly PushedGroup[] };
  /** The push flags as given, for /api/v1/status. */
  readonly flags: Readonly<Record<string, string>>;
  readonly version: string;
  readonly startedAtMs: number;
}

export const pushApi: FastifyPluginCallback<PushApiOptions> = (app, options, done) => {
  app.get(PUSH_METRICS_API_PATH, async (_request, reply) => {
    const data = options.groups.list().map(groupJson);
    await reply
      .type('application/json')
      .header('Access-Control-Allow-Origin', '*')
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify({ status: 'success', data }));
  });
  app.get(PUSH_STATUS_API_PATH, async (_request, reply) => {
    const data = {
      flags: options.flags,
      start_time: new Date(options.startedAtMs).toISOString(),
      build_information: { version: options.version, goVersion: '', nodeVersion: process.version },
    };
    await reply
      .type('application/json')
      .header('Access-Control-Allow-Origin', '*')
      .send(JSON.stringify({ status: 'success', data }));
  });
  done();
};

function groupJson(group: PushedGroup): Record<string, unknown> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < group.key.labels.length; i += 2) labels[group.key.labels[i]!] = group.key.labels[i + 1]!;
  const json: Record<string, unknown> = { labels, last_push_successful: group.failureTimeMs <= group.pushTimeMs };
  const pushTimeText = new Date(group.pushTimeMs).toISOString();
  for (const family of group.families) {
    json[family.name] = familyJson(family, new Date(group.familyPushedAtMs.get(family.name) ?? group.pushTimeMs).toISOString());
  }
  const timeFamily = (help: string, seconds: number): Record<string, unknown> => ({
    time_stamp: pushTimeText,
    type: 'GAUGE',
    help,
    metrics: [{ labels: { ...labels, instance: labels['instance'] ?? '' }, value: formatGoFloat(seconds) }],
  });
  json[PUSH_TIME_METRIC] = timeFamily(PUSH_TIME_HELP, group.pushTimeMs / 1000);
  json[PUSH_FAILURE_TIME_METRIC] = timeFamily(PUSH_FAILURE_TIME_HELP, group.failureTimeMs / 1000);
  return json;
}

function familyJson(family: MetricFamily, timeStamp: string): Record<string, unknown> {
  const json: Record<string, unknown> = { time_stamp: timeStamp, type: family.type.toUpperCase() };
  if (family.help !== undefined) json['help'] = family.help;
  json['metrics'] = family.metrics.map(metricJson);
  return json;
}

function metricJson(metric: Metric): Record<string, unknown> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < metric.labels.length; i += 2) labels[metric.labels[i]!] = metric.labels[i + 1]!;
  if (metric.kind === 'scalar') return { labels, value: formatGoFloat(metric.value) };
  if (metric.kind === 'histogram') {
    const buckets: Record<string, string> = {};
    for (const bucket of metric.buckets) buckets[formatGoFloat(bucket.upperBound)] = formatGoFloat(bucket.count);
    return { labels, buckets, count: formatGoFloat(metric.count ?? 0), sum: formatGoFloat(metric.sum ?? 0) };
  }
  const quantiles: Record<string, string> = {};
  for (const quantile of metric.quantiles) quantiles[formatGoFloat(quantile.quantile)] = formatGoFloat(quantile.value);
  return { labels, quantiles, count: formatGoFloat(metric.count ?? 0), sum: formatGoFloat(metric.sum ?? 0) };
}
