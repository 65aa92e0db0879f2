// The promdrop command line: a thin table of commands over the core, the file-system side and
// (for `serve` only, loaded lazily) the agent. Typed errors become one line on stderr and an
// exit code from exit-codes.ts.
import { Command, CommanderError } from 'commander';
import { CliError } from './errors.js';
import { EXIT_INVALID, EXIT_USAGE } from './exit-codes.js';
import { VERSION } from './version.js';
import { registerCheck } from './commands/check.js';
import { registerServe } from './commands/serve.js';
import { registerWrite } from './commands/write.js';
import { registerSet } from './commands/set.js';
import { registerInc } from './commands/inc.js';
import { registerDelete } from './commands/delete.js';
import { registerRun } from './commands/run.js';
import { registerList } from './commands/list.js';
import { registerCat } from './commands/cat.js';
import { registerJobs } from './commands/jobs.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('promdrop')
    .description(
      'Safe Prometheus textfile metrics for cron jobs and timers: a host agent that serves ' +
        'validated *.prom files from memory, and the commands that write them atomically.',
    )
    .version(VERSION, '--version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [
    registerServe,
    registerCheck,
    registerWrite,
    registerSet,
    registerInc,
    registerDelete,
    registerRun,
    registerList,
    registerCat,
    registerJobs,
  ]) {
    register(program);
  }
  return program;
}

async function main(argv: readonly string[]): Promise<void> {
  // `promdrop cat | head`, `promdrop --help | less` quit early: a reader that stopped reading is
  // not an error worth a stack trace. Exit quietly, with the status the command has so far.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit();
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; anything else is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (error instanceof CliError) {
      process.stderr.write(`promdrop: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`promdrop: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT_INVALID;
  }
}

void main(process.argv);
