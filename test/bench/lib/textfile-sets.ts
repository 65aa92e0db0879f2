// The textfile directories of the serving benchmarks (issue 3), shaped like the ones
// node_exporter was measured with in node-exporter-textfile.md §4, so that the figures can be set
// beside those. Deterministic: the same arguments always write the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TextfileSet {
  readonly directory: string;
  readonly files: number;
  /** Series the files define (every one must be served). */
  readonly series: number;
  readonly bytes: number;
}

/** The family every job file shares, with the same HELP and TYPE in each. */
export const SHARED_FAMILY = 'cron_job_last_success_timestamp_seconds';
/** Each job file's own counter family is `cron_job_<NNNN>_items_processed_total`. */
export const OWN_FAMILY_PREFIX = 'cron_job_';
export const SERIES_PER_JOB_FILE = 6;
const KINDS = ['created', 'updated', 'deleted', 'skipped', 'failed'];

function jobNumber(index: number): string {
  return String(index).padStart(4, '0');
}

function jobFileContent(index: number): string {
  const job = jobNumber(index);
  const own = `${OWN_FAMILY_PREFIX}${job}_items_processed_total`;
  const lines = [
    `# HELP ${SHARED_FAMILY} Last time the cron job finished successfully.`,
    `# TYPE ${SHARED_FAMILY} gauge`,
    `${SHARED_FAMILY}{job="job-${job}"} ${1_790_000_000 + index}`,
    `# HELP ${own} Items the job processed, by kind.`,
    `# TYPE ${own} counter`,
    ...KINDS.map((kind, k) => `${own}{kind="${kind}"} ${(index * 7 + k * 13) % 1000}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `files` files named job-NNNN.prom, each with one series of a family all files share (identical
 * HELP and TYPE) plus a counter family of its own with 5 series: 6 series per file.
 */
export function writeJobFiles(directory: string, files: number): TextfileSet {
  mkdirSync(directory, { recursive: true });
  let bytes = 0;
  for (let index = 0; index < files; index++) {
    const content = jobFileContent(index);
    writeFileSync(join(directory, `job-${jobNumber(index)}.prom`), content);
    bytes += Buffer.byteLength(content);
  }
  return { directory, files, series: files * SERIES_PER_JOB_FILE, bytes };
}

/** Sample lines of the job files in an exposition: equal to the set's `series` when all are served. */
export function countJobSeries(exposition: string): number {
  // Both families' names start with the prefix; comment lines start with '#'.
  return countLinesStartingWith(exposition, OWN_FAMILY_PREFIX);
}

/** Sample lines whose text starts with `prefix` (a metric name and `{`). */
export function countLinesStartingWith(exposition: string, prefix: string): number {
  let count = exposition.startsWith(prefix) ? 1 : 0;
  const needle = `\n${prefix}`;
  for (let at = exposition.indexOf(needle); at !== -1; at = exposition.indexOf(needle, at + 1)) count++;
  return count;
}
