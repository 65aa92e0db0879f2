// `promdrop write NAME`: the replacement for `collector | sponge NAME.prom`. Reads stdin, judges
// it exactly as `promdrop check` and the agent would, and only if it is valid replaces
// NAME.prom atomically; otherwise the previous file stays as it was.
import { Buffer } from 'node:buffer';
import type { Command } from 'commander';
import { judgeTextfileContent } from '../../core/verdict.js';
import { WRITER_CONTENT_OPTIONS, replaceTextfile, ttlDirectiveLine } from '../../fs/textfile-edit.js';
import { formatFinding } from '../diagnostics.js';
import { CliError } from '../errors.js';
import { EXIT_INVALID, EXIT_USAGE } from '../exit-codes.js';
import {
  addStrictOption,
  addWriterOptions,
  checkNeighbours,
  parsePositiveDuration,
  reportWriteFailure,
  resolveDirectory,
  textfilePath,
  writeStderrLine,
  type WriterOptions,
} from '../writer-options.js';

interface WriteOptions extends WriterOptions {
  readonly ttl?: number;
  readonly allowEmpty?: boolean;
}

const EXAMPLES = `
Examples:
  # from a cron job: replace /var/lib/promdrop/backup.prom only if the output is valid;
  # pipefail makes a failed producer fail the pipeline (cron mails it) instead of hiding it
  set -o pipefail
  backup-stats | promdrop write backup

  # a collector script from node-exporter-textfile-collector-scripts, instead of sponge
  /usr/share/prometheus-node-exporter-collectors/apt_info.py | promdrop write apt

  # expire the file's series if the job has not rewritten it within 26 hours
  backup-stats | promdrop write backup --ttl 26h

  # a file group-readable only
  backup-stats | promdrop write backup --mode 0640 -d /srv/metrics

Invalid input is reported as stdin:LINE:COL: error: MESSAGE, exit status 1, and the
previous file is left untouched. Empty stdin is refused the same way (exit status 1): a
producer that printed nothing has almost always failed; --allow-empty writes a file with no
series instead. Names ending in ".job" belong to \`promdrop run\`.`;

export function registerWrite(program: Command): void {
  const command = program
    .command('write')
    .description('validate exposition text from stdin and atomically replace NAME.prom with it')
    .argument('<NAME>', 'file name in the textfile directory (".prom" is added when missing)')
    .option('--ttl <DURATION>', 'add a "# promdrop: ttl=DURATION" line: the agent stops serving the file this long after it was written', parsePositiveDuration)
    .option('--allow-empty', 'accept empty stdin and write a file with no series (by default empty stdin is refused)');
  addStrictOption(addWriterOptions(command, true))
    .addHelpText('after', EXAMPLES)
    .action(async (name: string, options: WriteOptions) => {
      const path = textfilePath(resolveDirectory(options), name);
      if (process.stdin.isTTY) {
        throw new CliError('write reads the metrics from stdin: pipe them in, e.g. `my-collector | promdrop write NAME`', EXIT_USAGE);
      }
      const input = await readAll(process.stdin);
      if (input.length === 0 && options.allowEmpty !== true) {
        throw new CliError(
          `${path} not changed: stdin is empty, which usually means the producer failed; pass --allow-empty to write a file with no series`,
          EXIT_INVALID,
        );
      }
      const verdict = judgeTextfileContent(input, WRITER_CONTENT_OPTIONS);
      for (const finding of verdict.findings) writeStderrLine(formatFinding('stdin', finding));
      if (!verdict.accepted) {
        throw new CliError(`${path} not changed: the input has errors`, EXIT_INVALID);
      }
      let output: Uint8Array = input;
      if (options.ttl !== undefined) {
        if (verdict.ttlMs !== undefined) {
          throw new CliError('stdin already has a "# promdrop: ttl=" line; drop it or --ttl', EXIT_USAGE);
        }
        output = Buffer.concat([Buffer.from(ttlDirectiveLine(options.ttl), 'utf8'), input]);
      }
      try {
        await replaceTextfile(
          path,
          output,
          {
            lockTimeoutMs: options.lockTimeout,
            ...(options.mode === undefined ? {} : { mode: options.mode }),
            beforeWrite: checkNeighbours(path, options.strict === true, writeStderrLine),
          },
          verdict.families,
        );
      } catch (error) {
        reportWriteFailure(error, writeStderrLine);
      }
    });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
