// `promdrop list`: every textfile with the state the agent would give it (ok, invalid, expired,
// conflict), its age, series count, TTL and error, without a running agent. The store is loaded
// lazily so that the cron-path commands sharing this binary never pay for it.
import { InvalidArgumentError, type Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { DEFAULT_TEXTFILE_DIRECTORY, textfileDirectoryFromEnv } from '../../defaults.js';
import type { FileReport, LoadOptions, Snapshot } from '../../agent/load-once.js';
import { EXIT_INVALID, EXIT_OK } from '../exit-codes.js';

/** Options `list` and `cat` share: where to look, and the agent flags that change a verdict. */
export interface ViewOptions {
  readonly dir?: string[];
  readonly maxAge?: number;
  readonly allowTimestamps: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseMaxAge(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a Prometheus duration greater than 0, such as 90s, 15m, 26h, 7d or 1h30m');
  return ms;
}

export function addViewOptions(command: Command): Command {
  return command
    .option('-d, --dir <DIR>', `textfile directory or glob, repeatable (default: $PROMDROP_DIR, else ${DEFAULT_TEXTFILE_DIRECTORY})`, collect)
    .option('--max-age <DURATION>', 'TTL for files without a "# promdrop: ttl=" line, as the agent\'s --textfile.max-age', parseMaxAge)
    .option('--allow-timestamps', "accept client-side timestamps, as the agent's --textfile.allow-timestamps", false);
}

/** Loads the directories once, judged exactly as `promdrop serve` would judge them. */
export async function loadView(options: ViewOptions): Promise<Snapshot> {
  const { loadOnce } = await import('../../agent/load-once.js');
  const load: LoadOptions = {
    directories: options.dir ?? [textfileDirectoryFromEnv()],
    defaultTtlMs: options.maxAge,
    allowTimestamps: options.allowTimestamps,
  };
  return loadOnce(load);
}

interface ListOptions extends ViewOptions {
  readonly json: boolean;
}

const EXAMPLES = `
Columns: STATE (ok, invalid, expired, conflict, stale_grace), AGE since the file's mtime,
SERIES served, TTL (the file's "# promdrop: ttl=" or --max-age), EXPIRES, FILE. A file that is
not ok is followed by an indented line with the reason and the message.

Exit status: 0 when every file is ok and every directory readable, 1 otherwise.

Examples:
  $ promdrop list
  $ promdrop list -d /var/lib/prometheus/node-exporter --max-age 26h
  $ promdrop list --json | jq -r '.files[] | select(.state != "ok") | .path'`;

export function registerList(program: Command): void {
  addViewOptions(
    program
      .command('list')
      .description('list the textfiles with the state the agent gives them: age, series, TTL, errors')
      .option('--json', 'print {"directories": [...], "files": [...]} as JSON', false),
  )
    .addHelpText('after', EXAMPLES)
    .action(async (options: ListOptions) => {
      const snapshot = await loadView(options);
      const now = Date.now();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ directories: snapshot.directories, files: snapshot.files }, null, 2)}\n`);
      } else {
        process.stdout.write(formatTable(snapshot, now));
      }
      const healthy = snapshot.directories.every((d) => d.ok) && snapshot.files.every((f) => f.state === 'ok');
      process.exitCode = healthy ? EXIT_OK : EXIT_INVALID;
    });
}

/** Whole seconds in Prometheus duration syntax, e.g. `1h2m3s`. */
function humanDuration(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);
}

function expiresCell(file: FileReport, now: number): string {
  if (file.expiresAtMs === undefined) return '-';
  const left = file.expiresAtMs - now;
  return left >= 0 ? `in ${humanDuration(left)}` : `${humanDuration(-left)} ago`;
}

export function formatTable(snapshot: Snapshot, now: number): string {
  const header = ['STATE', 'AGE', 'SERIES', 'TTL', 'EXPIRES', 'FILE'];
  const rows = snapshot.files.map((file) => [
    file.state,
    file.mtimeMs === undefined ? '-' : humanDuration(now - file.mtimeMs),
    String(file.series),
    file.ttlMs === undefined ? '-' : formatDuration(file.ttlMs),
    expiresCell(file, now),
    file.path,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : column === 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ');
  const out: string[] = [];
  for (const directory of snapshot.directories) {
    if (!directory.ok) out.push(`directory ${directory.path}: ${directory.message ?? 'cannot be read'}`);
  }
  if (snapshot.files.length === 0) {
    out.push(`no *.prom files in ${snapshot.directories.map((d) => d.path).join(', ')}`);
    return `${out.join('\n')}\n`;
  }
  out.push(line(header));
  snapshot.files.forEach((file, index) => {
    out.push(line(rows[index]!));
    if (file.message !== undefined) out.push(`    ${file.reason ?? file.state}: ${file.message}`);
  });
  return `${out.join('\n')}\n`;
}
