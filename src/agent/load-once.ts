// `promdrop list` and `promdrop cat`: the directories read and judged once, exactly as a running
// agent with the same flags would (the file table and the snapshot builder the store uses),
// without a watcher, timers or a store. There is no later look, so the one-shot policy reports
// what a look found as it is, and reads a file caught mid-write a few times before leaving it out.
import type { NameValidationScheme } from '../core/parse.js';
import { agentContentOptions } from '../core/verdict.js';
import { DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_SERIES_PER_FILE, DEFAULT_SETTLE_MS } from '../defaults.js';
import type { FileAccess } from '../fs/file-access.js';
import { FileTable, type LookPolicy } from './file-table.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import type { Snapshot } from './snapshot.js';

export type { FileErrorReason, FileState } from './file-state.js';
export type { DirectoryReport, FileReport, Snapshot } from './snapshot.js';

export interface LoadLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface LoadOptions {
  directories: string[];
  maxFileSize?: number | undefined;
  maxSeriesPerFile?: number | undefined;
  defaultTtlMs?: number | undefined;
  allowTimestamps?: boolean | undefined;
  nameValidation?: NameValidationScheme | undefined;
  now?: (() => number) | undefined;
  logger?: LoadLogger | undefined;
  /** How to make system calls in a directory: fs/file-access.ts's choice unless given. */
  fileAccessFor?: ((directory: string) => Promise<FileAccess>) | undefined;
}

/**
 * Without a later look: a look that failed for want of descriptors or memory is reported as the
 * failure it is (`io`), and a file caught mid-write is read again a few times, a short pause
 * apart, before it is left out.
 */
export const ONE_SHOT_POLICY: LookPolicy = {
  deferShortage: () => false,
  readAttempts: 4,
  readRetryDelayMs: 25,
};

const SILENT_LOGGER: LoadLogger = { info() {}, warn() {}, debug() {} };

/** One scan with the agent's judgement, without watcher or timers: `promdrop list` and `cat`. */
export async function loadOnce(options: LoadOptions): Promise<Snapshot> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? SILENT_LOGGER;
  const table = new FileTable({
    patterns: options.directories,
    maxFileSize: options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
    settleMs: DEFAULT_SETTLE_MS,
    contentOptions: agentContentOptions({
      maxSeriesPerFile: options.maxSeriesPerFile ?? DEFAULT_MAX_SERIES_PER_FILE,
      allowTimestamps: options.allowTimestamps ?? false,
      nameValidation: options.nameValidation,
    }),
    policy: ONE_SHOT_POLICY,
    now,
    logger,
    fileAccessFor: options.fileAccessFor,
  });
  const builder = new SnapshotBuilder(
    {
      judgement: { defaultTtlMs: options.defaultTtlMs, gracePeriodMs: DEFAULT_GRACE_PERIOD_MS, settleMs: DEFAULT_SETTLE_MS },
      logger,
      quietAdds: () => true,
    },
    now(),
  );
  await table.scanAll();
  builder.refresh(now(), table, table.contentChanged);
  return builder.current;
}
