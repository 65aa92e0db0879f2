// `promdrop delete FILE`: removes FILE.prom under the same lock as every other writer, so a
// concurrent `set` or `inc` cannot resurrect half of it.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { JOB_FILE_SUFFIX } from '../../job/job-file.js';
import { deleteTextfile } from '../../fs/textfile-edit.js';
import { CliError } from '../errors.js';
import { EXIT_INVALID } from '../exit-codes.js';
import { addWriterOptions, reportWriteFailure, resolveDirectory, textfilePath, writeStderrLine, type WriterOptions } from '../writer-options.js';

interface DeleteOptions extends WriterOptions {
  readonly force?: boolean;
}

const EXAMPLES = `
Examples:
  # stop exporting a retired job's metrics
  promdrop delete backup

  # the outcome file of \`promdrop run --name nightly\`
  promdrop delete nightly.job

  # in a cleanup script: no error when the file is already gone
  promdrop delete -f backup -d /srv/metrics`;

export function registerDelete(program: Command): void {
  const command = program
    .command('delete')
    .description('remove FILE.prom from the textfile directory')
    .argument('<FILE>', 'file name in the textfile directory (".prom" is added when missing)')
    .option('-f, --force', 'succeed when the file does not exist');
  addWriterOptions(command, false)
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, options: DeleteOptions) => {
      const path = textfilePath(resolveDirectory(options), file, true);
      let removed: boolean;
      try {
        removed = await deleteTextfile(path, { lockTimeoutMs: options.lockTimeout });
      } catch (error) {
        reportWriteFailure(error, writeStderrLine);
      }
      if (!removed && options.force !== true) throw new CliError(`${path} does not exist${jobFileHint(path)}`, EXIT_INVALID);
    });
}

/** `delete slow` is refused while `slow.job.prom` exists: point at the name that was meant. */
function jobFileHint(path: string): string {
  if (!path.endsWith('.prom') || path.endsWith(JOB_FILE_SUFFIX)) return '';
  const jobFile = path.slice(0, -'.prom'.length) + JOB_FILE_SUFFIX;
  if (!existsSync(jobFile)) return '';
  const name = basename(jobFile).slice(0, -'.prom'.length);
  return `; ${basename(jobFile)} does (the outcome file of \`promdrop run\`): promdrop delete ${name}`;
}
