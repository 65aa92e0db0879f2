// Defaults shared by the agent and the CLI, so that both look at the same directory unless told
// otherwise. Kept free of imports: the CLI's cron path loads it on every run.

/** Where textfiles live when neither a flag nor PROMDROP_DIR says otherwise. */
export const DEFAULT_TEXTFILE_DIRECTORY = '/var/lib/promdrop';

/** Outside node_exporter's 9100–9999 range, so both can run side by side during a migration. */
export const DEFAULT_PORT = 10049;
export const DEFAULT_LISTEN_ADDRESS = `:${DEFAULT_PORT}`;

export function textfileDirectoryFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['PROMDROP_DIR'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_TEXTFILE_DIRECTORY;
}

/** 64 MiB: a 500,000-series file is about 51 MB. Larger files are reported, never read. */
export const DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024;
/** Counting every bucket, quantile, _sum and _count. */
export const DEFAULT_MAX_SERIES_PER_FILE = 1_000_000;
/** How long an invalid file keeps serving its last good content. */
export const DEFAULT_GRACE_PERIOD_MS = 60_000;
/** How long an in-place rewrite must be quiet before it is read (chokidar's awaitWriteFinish
 *  default). Atomic renames are read at once. */
export const DEFAULT_SETTLE_MS = 2_000;
/** Full rescan, the safety net for missed watch events. */
export const DEFAULT_RESCAN_INTERVAL_MS = 30_000;
/** `promdrop run --timeout`: how long after SIGTERM the command is sent SIGKILL. */
export const DEFAULT_KILL_AFTER_MS = 10_000;
