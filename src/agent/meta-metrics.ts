// The metrics the agent adds about the textfiles themselves. The two node_textfile_* families
// are byte-compatible with node_exporter 1.5.0 (names, HELP, TYPE, whole-second mtime, full-path
// label) so that existing dashboards and alerts keep working; the promdrop_textfile_* families
// say per file what node_exporter only ever said in its log.
import type { MetricFamily, ScalarMetric } from '../core/types.js';

export const MTIME_METRIC = 'node_textfile_mtime_seconds';
export const SCRAPE_ERROR_METRIC = 'node_textfile_scrape_error';
export const UP_METRIC = 'promdrop_textfile_up';
export const ERROR_METRIC = 'promdrop_textfile_error';
export const DIRECTORY_UP_METRIC = 'promdrop_textfile_directory_up';
/** node_exporter's per-collector gauges, which every scrape carries for the textfile collector. */
const COLLECTOR_METRICS: readonly string[] = ['node_scrape_collector_duration_seconds', 'node_scrape_collector_success'];

/** Names a textfile may not define: they belong to the agent, and a file defining them would
 *  silently replace the real value (node_exporter rows 21/21b). */
export function isReservedMetricName(name: string): boolean {
  return name === MTIME_METRIC || name === SCRAPE_ERROR_METRIC || COLLECTOR_METRICS.includes(name) || name.startsWith('promdrop_');
}

// Exactly node_exporter 1.5.0's wording, checked against a live scrape.
const MTIME_HELP = 'Unixtime mtime of textfiles successfully read.';
const SCRAPE_ERROR_HELP = '1 if there was an error opening or reading a file, 0 otherwise';
const UP_HELP = '1 if the textfile is served (possibly its last good content during a grace period), 0 if not.';
const ERROR_HELP =
  '1 while the textfile is not served, is served from its last good content, or conflicts with another file; the reason label says why. Absent when the file is fine.';
const DIRECTORY_UP_HELP = '1 if the textfile directory could be listed at the last scan, 0 if not.';

/** What the meta metrics need to know about one textfile. */
export interface FileMetaInput {
  readonly path: string;
  readonly served: boolean;
  /** mtime of the served content, in nanoseconds; undefined when nothing is served. */
  readonly servedMtimeNs: bigint | undefined;
  readonly errorReason: string | undefined;
}

export interface DirectoryMetaInput {
  readonly path: string;
  readonly ok: boolean;
}

/**
 * Builds the meta families, sorted by name, ready to be merged with the files' families.
 * `node_textfile_scrape_error` is 1 when any file has an error reason or any directory failed:
 * unlike node_exporter, conflicts and expiry count too.
 */
export function buildMetaFamilies(files: readonly FileMetaInput[], directories: readonly DirectoryMetaInput[]): MetricFamily[] {
  const mtimes: ScalarMetric[] = [];
  const ups: ScalarMetric[] = [];
  const errors: ScalarMetric[] = [];
  let anyError = false;
  for (const file of files) {
    if (file.served && file.servedMtimeNs !== undefined) {
      mtimes.push(scalar(['file', file.path], wholeSeconds(file.servedMtimeNs)));
    }
    ups.push(scalar(['file', file.path], file.served ? 1 : 0));
    if (file.errorReason !== undefined) {
      anyError = true;
      errors.push(scalar(['file', file.path, 'reason', file.errorReason], 1));
    }
  }
  const directoryUps: ScalarMetric[] = [];
  for (const directory of directories) {
    if (!directory.ok) anyError = true;
    directoryUps.push(scalar(['directory', directory.path], directory.ok ? 1 : 0));
  }
  const families: MetricFamily[] = [];
  // node_exporter leaves the mtime family out when no file was read successfully.
  if (mtimes.length > 0) families.push(gauge(MTIME_METRIC, MTIME_HELP, mtimes));
  families.push(gauge(SCRAPE_ERROR_METRIC, SCRAPE_ERROR_HELP, [scalar([], anyError ? 1 : 0)]));
  if (directoryUps.length > 0) families.push(gauge(DIRECTORY_UP_METRIC, DIRECTORY_UP_HELP, directoryUps));
  if (errors.length > 0) families.push(gauge(ERROR_METRIC, ERROR_HELP, errors));
  if (ups.length > 0) families.push(gauge(UP_METRIC, UP_HELP, ups));
  return families;
}

/** node_exporter truncates UnixNano()/1e9 to whole seconds and prints it as a float. */
function wholeSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n);
}

function scalar(labels: string[], value: number): ScalarMetric {
  return { kind: 'scalar', labels, value, timestampMs: undefined, line: 0 };
}

function gauge(name: string, help: string, metrics: ScalarMetric[]): MetricFamily {
  return { name, help, type: 'gauge', metrics, firstLine: 0 };
}
