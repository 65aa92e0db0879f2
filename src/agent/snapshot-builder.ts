// From the table's files to what the agent serves and says about them: each file's state at a
// given time (file-state.ts's judgeFile), what the served files give together (compose.ts, over
// core/merge.ts), each file's report once the merge is known, the meta metrics, the immutable
// BuiltSnapshot, and one log line per file whose state changed. No file-system calls and no
// timers: its owner (store.ts, load-once.ts) says when, and with which clock reading.
import { dirname, normalize } from 'node:path';
import { compareCodePoints } from '../core/compare.js';
import { nodeExporterHelp, type Conflict } from '../core/merge.js';
import { ExpositionComposer, type ComposeSource } from './compose.js';
import { judgeFile, mtimeMsOf, type FileEntry, type Judgement, type JudgementOptions } from './file-state.js';
import { buildMetaFamilies } from './meta-metrics.js';
import { BuiltSnapshot, type DirectoryReport, type FileReport } from './snapshot.js';

/** What the builder logs: one line per file whose state, reason or message changed. */
export interface TransitionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What the builder reads of the file table (file-table.ts). */
export interface JudgedFiles {
  readonly entries: ReadonlyMap<string, FileEntry>;
  directoryReports(): DirectoryReport[];
}

export interface SnapshotBuilderOptions {
  readonly judgement: JudgementOptions;
  readonly logger: TransitionLogger;
  /** Directories of pushed groups: a family none of whose sources has HELP is served without a
   *  HELP line when only pushed groups define it, as the Pushgateway serves it, rather than with
   *  node_exporter's `Metric read from <internal file name>`. */
  readonly pushedDirectories?: readonly string[] | undefined;
  /** True while a file's first appearance is not news (the agent's first scan, a one-shot
   *  load): "textfile added" is then logged at debug rather than info. */
  readonly quietAdds: () => boolean;
}

interface FileView {
  readonly entry: FileEntry;
  readonly judgement: Judgement;
}

const NO_FILES: JudgedFiles = { entries: new Map(), directoryReports: () => [] };

export class SnapshotBuilder {
  private readonly composer: ExpositionComposer;
  private readonly isPushed: (path: string) => boolean;
  private snapshot: BuiltSnapshot;
  private generation = 0;
  private lastViews = new Map<string, Judgement>();
  private previousReports = new Map<string, FileReport>();
  /** The sources the current snapshot was merged from (see sources). */
  private lastSources: readonly ComposeSource[] = [];
  private nextChange: number | undefined;

  /** Starts with the snapshot of no files, built at `nowMs`. */
  constructor(
    private readonly options: SnapshotBuilderOptions,
    nowMs: number,
  ) {
    const pushed = new Set((options.pushedDirectories ?? []).map((directory) => normalize(directory)));
    const isPushed = (sourceId: string): boolean => pushed.has(dirname(sourceId));
    this.isPushed = isPushed;
    this.composer = new ExpositionComposer((sourceIds) => {
      const textfiles = sourceIds.filter((id) => !isPushed(id));
      return textfiles.length === 0 ? undefined : nodeExporterHelp(textfiles);
    });
    this.snapshot = this.build(nowMs, new Map(), NO_FILES);
  }

  /** The latest snapshot built. */
  get current(): BuiltSnapshot {
    return this.snapshot;
  }

  /** Path and families of every file the current snapshot serves. A new array after every
   *  build; a file's `families` stay the same object while its content is unchanged. */
  get sources(): readonly ComposeSource[] {
    return this.lastSources;
  }

  /** When some file's state changes by itself (expiry, end of grace, settling), as of the last
   *  refresh; undefined when none will. */
  get nextChangeAtMs(): number | undefined {
    return this.nextChange;
  }

  /**
   * Judges every file at `nowMs` and builds a new snapshot when `contentChanged` (the table read,
   * lost or failed to read something since the last one) or when any file's judgement changed.
   * Returns whether it built one.
   */
  refresh(nowMs: number, files: JudgedFiles, contentChanged: boolean): boolean {
    const views = new Map<string, Judgement>();
    let changed = contentChanged;
    let next: number | undefined;
    for (const [path, entry] of files.entries) {
      const judgement = judgeFile(entry, nowMs, this.options.judgement);
      if (judgement.nextChangeAtMs !== undefined && (next === undefined || judgement.nextChangeAtMs < next)) next = judgement.nextChangeAtMs;
      // A new file caught mid-write is only waited for (its settle deadline), not reported yet.
      if (entry.good === undefined && entry.problem === undefined) continue;
      views.set(path, judgement);
      if (!changed) {
        const before = this.lastViews.get(path);
        if (before === undefined || !sameJudgement(before, judgement)) changed = true;
      }
    }
    if (!changed && views.size !== this.lastViews.size) changed = true;
    this.nextChange = next;
    if (!changed) return false;
    this.snapshot = this.build(nowMs, views, files);
    this.lastViews = views;
    return true;
  }

  private build(nowMs: number, views: ReadonlyMap<string, Judgement>, files: JudgedFiles): BuiltSnapshot {
    const paths = [...views.keys()].sort(compareCodePoints);
    const sources: ComposeSource[] = [];
    const fileViews: FileView[] = [];
    for (const path of paths) {
      const entry = files.entries.get(path)!;
      const judgement = views.get(path)!;
      fileViews.push({ entry, judgement });
      if (judgement.served && entry.good !== undefined) sources.push({ id: path, families: entry.good.families });
    }
    this.lastSources = sources;
    const merged = this.composer.merge(sources);
    const conflictsBySource = new Map<string, Conflict[]>();
    for (const conflict of merged.conflicts) {
      const list = conflictsBySource.get(conflict.source);
      if (list === undefined) conflictsBySource.set(conflict.source, [conflict]);
      else list.push(conflict);
    }
    const reports = fileViews.map((view) => reportOf(view, conflictsBySource.get(view.entry.path)));
    const directories = files.directoryReports();
    const meta = buildMetaFamilies(
      reports.map((file, index) => ({
        path: file.path,
        served: file.served,
        servedMtimeNs: file.served ? fileViews[index]!.entry.good?.identity.mtimeNs : undefined,
        errorReason: file.reason,
      })),
      directories,
    );
    const exposition = merged.finish(meta);
    this.logTransitions(reports);
    return new BuiltSnapshot(this.generation++, exposition.parts, reports, directories, nowMs);
  }

  /** One log line per file whose state, reason or message changed; never one per scrape. */
  private logTransitions(files: readonly FileReport[]): void {
    const logger = this.options.logger;
    const next = new Map<string, FileReport>();
    const quietAdds = this.options.quietAdds();
    for (const file of files) {
      next.set(file.path, file);
      const before = this.previousReports.get(file.path);
      if (before !== undefined && before.state === file.state && before.reason === file.reason && before.message === file.message) continue;
      // A pushed group is not the user's file to touch: the push API deletes it once expired
      // (pushed-groups.ts logs that), so the advice for textfiles would mislead.
      const told =
        file.state === 'expired' && this.isPushed(file.path)
          ? { message: 'pushed group expired (its ttl since the last push); it is deleted', position: {} }
          : withoutPath(file.path, file.message);
      const fields = { file: file.path, state: file.state, ...(file.reason === undefined ? {} : { reason: file.reason }), ...told.position };
      if (file.state === 'ok' && told.message !== undefined) {
        // Served in full, with a warning (a HELP that differs from the served one).
        logger.warn(fields, told.message);
      } else if (file.state === 'ok') {
        if (before === undefined) {
          if (quietAdds) logger.debug(fields, 'textfile added');
          else logger.info(fields, 'textfile added');
        } else if (before.state !== 'stale_grace' || before.reason !== undefined) {
          logger.info(fields, 'textfile is served again');
        }
      } else if (file.state === 'stale_grace' && file.reason === undefined) {
        // An in-place writer at work: expected, frequent, and harmless.
        logger.debug(fields, told.message ?? 'textfile is being rewritten');
      } else {
        logger.warn(fields, told.message ?? `textfile is ${file.state}`);
      }
    }
    for (const path of this.previousReports.keys()) {
      if (!next.has(path)) logger.info({ file: path }, 'textfile removed');
    }
    this.previousReports = next;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * A file's message for the log, where `file=` names the file already: a leading `PATH:` goes,
 * and a `PATH:LINE:COL:` position becomes the fields line= and column=.
 */
function withoutPath(path: string, message: string | undefined): { message: string | undefined; position: { line?: number; column?: number } } {
  if (message === undefined || !message.startsWith(`${path}:`)) return { message, position: {} };
  const rest = message.slice(path.length + 1);
  const position = /^(\d+)(?::(\d+))?: /.exec(rest);
  if (position === null) return { message: rest.trimStart(), position: {} };
  return {
    message: rest.slice(position[0].length),
    position: { line: Number(position[1]), ...(position[2] === undefined ? {} : { column: Number(position[2]) }) },
  };
}

function sameJudgement(a: Judgement, b: Judgement): boolean {
  return (
    a.state === b.state && a.served === b.served && a.reason === b.reason && a.message === b.message && a.expiresAtMs === b.expiresAtMs && a.ttlMs === b.ttlMs
  );
}

/**
 * A file's report once the merge is known. Its series count is what the exposition really
 * holds of it: series lost to another file are not counted, and a file that loses every series
 * it has is not served (`promdrop_textfile_up 0`). A HELP that differs from the served one is a
 * warning: every series is served, under the first file's HELP (docs/agent.md).
 */
function reportOf(view: FileView, conflicts: readonly Conflict[] | undefined): FileReport {
  const { entry, judgement } = view;
  let state = judgement.state;
  let reason = judgement.reason;
  let message = judgement.message;
  const losses = conflicts?.filter((conflict) => conflict.severity === 'error') ?? [];
  const notes = conflicts?.filter((conflict) => conflict.severity !== 'error') ?? [];
  const good = judgement.served ? entry.good : undefined;
  let lost = 0;
  for (const conflict of losses) lost += conflict.series;
  const series = good === undefined ? 0 : Math.max(0, good.series - lost);
  const served = good !== undefined && !(good.series > 0 && series === 0);
  if (losses.length > 0 && reason === undefined) {
    const first = losses[0]!;
    state = judgement.state === 'ok' ? 'conflict' : judgement.state;
    reason = losses.every((c) => c.kind === 'duplicate_series') ? 'duplicate' : 'conflict';
    const more = losses.length > 1 ? ` (and ${losses.length - 1} more conflict${losses.length > 2 ? 's' : ''})` : '';
    message = `${entry.path}${first.line > 0 ? `:${first.line}` : ''}: ${first.message}${more}${served ? '' : '; nothing of this file is served'}`;
  } else if (notes.length > 0 && message === undefined) {
    const first = notes[0]!;
    message = `${entry.path}${first.line > 0 ? `:${first.line}` : ''}: warning: ${first.message}`;
  }
  const shown = judgement.served && entry.good !== undefined ? entry.good.identity : (entry.judgedIdentity ?? entry.seenIdentity);
  const report: {
    -readonly [K in keyof FileReport]: FileReport[K];
  } = {
    path: entry.path,
    state,
    served,
    series,
    warnings: entry.warnings + notes.length,
  };
  if (reason !== undefined) report.reason = reason;
  if (message !== undefined) report.message = message;
  if (shown !== undefined) {
    report.mtimeMs = mtimeMsOf(shown);
    report.sizeBytes = Number(shown.size);
  }
  if (judgement.ttlMs !== undefined) report.ttlMs = judgement.ttlMs;
  if (judgement.expiresAtMs !== undefined) report.expiresAtMs = judgement.expiresAtMs;
  return report;
}
