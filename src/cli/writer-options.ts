// What the writing commands (write, set, inc, delete, run) share: the options every one of them
// takes, the rules for a textfile's name, and the one place where file-system and core errors
// become a message and an exit code.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_TEXTFILE_DIRECTORY, textfileDirectoryFromEnv } from '../defaults.js';
import { parseDuration } from '../core/duration.js';
import { AtomicWriteError } from '../fs/atomic-write.js';
import { DEFAULT_LOCK_TIMEOUT_MS, LockError } from '../fs/lock.js';
import type { MetricFamily } from '../core/types.js';
import { TextfileError, neighbourConflicts, seriesAddressProblem, type EditOptions, type ScalarType, type SeriesAddress } from '../fs/textfile-edit.js';
import { JOB_FILE_SUFFIX } from '../job/job-file.js';
import { formatFinding } from './diagnostics.js';
import { CliError } from './errors.js';
import { EXIT_INVALID, EXIT_USAGE } from './exit-codes.js';

export interface WriterOptions {
  readonly dir?: string;
  readonly lockTimeout: number;
  readonly mode?: number;
  /** Refuse content that another file of the directory would take a family or series from. */
  readonly strict?: boolean;
}

const TEXTFILE_SUFFIX = '.prom';
/** `run`'s outcome files end in `.job.prom`; see src/job/job-file.ts. */
const RESERVED_SUFFIX = JOB_FILE_SUFFIX.slice(0, -TEXTFILE_SUFFIX.length);

/** Adds -d/--dir and --lock-timeout; with `withMode`, also --mode. */
export function addWriterOptions(command: Command, withMode: boolean): Command {
  command
    .option('-d, --dir <DIR>', `textfile directory (default: $PROMDROP_DIR, else ${DEFAULT_TEXTFILE_DIRECTORY})`)
    .addOption(
      new Option('--lock-timeout <DURATION>', 'how long to wait for another writer of the same file')
        .argParser(parsePositiveDuration)
        .default(DEFAULT_LOCK_TIMEOUT_MS, `${DEFAULT_LOCK_TIMEOUT_MS / 1000}s`),
    );
  if (withMode) {
    command.option('--mode <OCTAL>', 'permission bits of the written file (default: 0644)', parseMode);
  }
  return command;
}

/** --strict, for the commands that write content of the user's (write, set, inc). */
export function addStrictOption(command: Command): Command {
  return command.option(
    '--strict',
    'refuse (exit 1, nothing written) when another file of the directory would keep a family or series of this one from being served; a warning without it',
    false,
  );
}

/**
 * The check of new content against the other files of its directory, by the agent's merge:
 * each family or series the agent would not serve because another file has it is a warning
 * naming that file, or with --strict the end of the write (nothing is written).
 */
export function checkNeighbours(path: string, strict: boolean, write: (line: string) => void): (families: readonly MetricFamily[]) => Promise<void> {
  return async (families) => {
    const conflicts = await neighbourConflicts(path, families);
    if (conflicts.length === 0) return;
    for (const conflict of conflicts) {
      write(`promdrop: ${strict ? 'error' : 'warning'}: ${path}${conflict.line > 0 ? `:${conflict.line}` : ''}: ${conflict.message}`);
    }
    if (strict) {
      const families = [...new Set(conflicts.map((conflict) => conflict.family))].join(', ');
      const others = [...new Set(conflicts.map((conflict) => conflict.winner))].join(', ');
      throw new TextfileError(path, 'conflict', `${path} not changed (--strict): ${families} would not be served because of ${others}`);
    }
  };
}

/** The directory to write in; it must exist (promdrop never creates it: its owner and mode matter). */
export function resolveDirectory(options: Pick<WriterOptions, 'dir'>): string {
  const directory = options.dir ?? textfileDirectoryFromEnv();
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) {
    throw new CliError(`textfile directory ${directory} does not exist or is not a directory (set it with -d or PROMDROP_DIR)`, EXIT_INVALID);
  }
  return directory;
}

/**
 * The path of textfile NAME (`NAME.prom`, the suffix optional in NAME). NAME must be a plain
 * file name: no `/`, no leading dot (the agent ignores dot files), and, unless `allowJobFiles`,
 * not `run`'s reserved `*.job` names.
 */
export function textfilePath(directory: string, name: string, allowJobFiles = false): string {
  const problem = textfileNameProblem(name, allowJobFiles);
  if (problem !== undefined) throw new CliError(problem, EXIT_USAGE);
  return join(directory, name.endsWith(TEXTFILE_SUFFIX) ? name : name + TEXTFILE_SUFFIX);
}

export function textfileNameProblem(name: string, allowJobFiles: boolean): string | undefined {
  const base = name.endsWith(TEXTFILE_SUFFIX) ? name.slice(0, -TEXTFILE_SUFFIX.length) : name;
  if (base === '') return `invalid file name ${JSON.stringify(name)}: empty`;
  if (name.includes('/') || name.includes('\0')) return `invalid file name ${JSON.stringify(name)}: a plain file name, without "/"`;
  if (name.startsWith('.')) return `invalid file name ${JSON.stringify(name)}: must not start with "." (the agent ignores dot files)`;
  if (!allowJobFiles && base.endsWith(RESERVED_SUFFIX)) {
    return `invalid file name ${JSON.stringify(name)}: names ending in "${RESERVED_SUFFIX}" are kept for \`promdrop run\`'s outcome files`;
  }
  return undefined;
}

/** A Prometheus duration (`30s`, `1h30m`) in ms, greater than zero. */
export function parsePositiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError(`expected a Prometheus duration greater than 0, such as 90s, 15m, 26h, 7d or 1h30m`);
  }
  return ms;
}

function parseMode(text: string): number {
  if (!/^0?[0-7]{3,4}$/.test(text)) throw new InvalidArgumentError('expected octal permission bits, such as 0644 or 0640');
  return Number.parseInt(text, 8);
}

/** Parses `name=value` for -l/--label, accumulating into `previous`. */
export function collectLabel(text: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError(`expected name=value, got ${JSON.stringify(text)}`);
  return [...previous, [text.slice(0, equals), text.slice(equals + 1)]];
}

/** Prints the findings of a refused file and turns file-system errors into one-line CliErrors. */
export function reportWriteFailure(error: unknown, write: (line: string) => void): never {
  if (error instanceof TextfileError) {
    for (const finding of error.findings) write(formatFinding(error.path, finding));
    throw new CliError(error.message, EXIT_INVALID);
  }
  if (error instanceof LockError || error instanceof AtomicWriteError) {
    throw new CliError(error.message, EXIT_INVALID);
  }
  throw error;
}

/** stderr, one line at a time. */
export function writeStderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface SeriesOptions extends WriterOptions {
  readonly label?: Array<[string, string]>;
  readonly type?: 'gauge' | 'counter' | 'untyped';
  /** The metric's HELP text (`--help TEXT`; empty means none); `--help` alone shows the command's help. */
  readonly help?: string;
}

/**
 * Adds -l/--label, --type and --help TEXT. `--help` given a value sets the metric's HELP line;
 * `--help` alone still shows the command's help, and so does -h.
 */
export function addSeriesOptions(command: Command, typeDefault: string): Command {
  command
    .helpOption('-h', 'display help for command')
    .option('-l, --label <NAME=VALUE>', 'a label of the series (repeatable)', collectLabel)
    .addOption(new Option('--type <TYPE>', `TYPE of the metric when it is created (default: ${typeDefault})`).choices(['gauge', 'counter', 'untyped']))
    .addOption(new Option('--help [TEXT]', 'HELP text of the metric (without TEXT: show this help)'));
  command.on('option:help', (text: string | null) => {
    if (text !== null) return;
    // `promdrop set --help` asks for this help. After other arguments, a bare --help is a
    // HELP text that went missing (`--help "$DESC"` with DESC unset): doing nothing with exit 0
    // would hide that in cron, so it is a usage error. The parent's args are this command's
    // whole argv (commander sets them before it hands over to the subcommand).
    const argv = command.parent?.args ?? [];
    if (argv.length <= 2) command.help();
    command.error("error: option '--help <TEXT>' needs the metric's HELP text here (-h shows this command's help)", {
      exitCode: EXIT_USAGE,
      code: 'promdrop.missingHelpText',
    });
  });
  return command;
}

/** A number as Go's parser reads sample values (so `NaN`, `+Inf` and `1e3` work). */
export function parseSampleValue(text: string, what: string, parse: (text: string) => number | undefined): number {
  const value = parse(text);
  if (value === undefined) throw new CliError(`invalid ${what} ${JSON.stringify(text)}: expected a number such as 42, -1.5, 1e9, NaN or +Inf`, EXIT_USAGE);
  return value;
}

/**
 * The part `set` and `inc` share: the series the options address (with the command's own
 * field, `value` or `delta`), checked, then edited under the file's lock; a failed edit is
 * reported and exits 1.
 */
export async function editOneSeries<Extra extends object>(
  file: string,
  metric: string,
  options: SeriesOptions,
  extra: Extra,
  edit: (path: string, series: SeriesAddress & Extra & SeriesMetadata, editOptions: EditOptions) => Promise<unknown>,
): Promise<void> {
  const path = textfilePath(resolveDirectory(options), file);
  const series = {
    metric,
    labels: options.label ?? [],
    ...extra,
    ...(options.type === undefined ? {} : { type: options.type }),
    // An empty HELP text is no HELP text: a `# HELP m ` line would only carry a trailing blank.
    ...(options.help === undefined || options.help.trim() === '' ? {} : { help: options.help }),
  };
  const problem = seriesAddressProblem(series);
  if (problem !== undefined) throw new CliError(problem, EXIT_USAGE);
  try {
    await edit(path, series, {
      lockTimeoutMs: options.lockTimeout,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      beforeWrite: checkNeighbours(path, options.strict === true, writeStderrLine),
    });
  } catch (error) {
    reportWriteFailure(error, writeStderrLine);
  }
}

interface SeriesMetadata {
  readonly type?: ScalarType;
  readonly help?: string;
}
