// `promdrop run --name NAME -- COMMAND [ARGS...]`: wraps a cron job or timer so that its outcome
// is always recorded (see src/job/), without changing how the job runs or what it exits with.
import { Option, type Command } from 'commander';
import { DEFAULT_KILL_AFTER_MS, textfileDirectoryFromEnv } from '../../defaults.js';
import { CliError } from '../errors.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { addWriterOptions, parsePositiveDuration, textfileNameProblem, writeStderrLine, type WriterOptions } from '../writer-options.js';

interface RunOptions extends WriterOptions {
  readonly name: string;
  readonly ttl?: number;
  readonly timeout?: number;
  readonly killAfter: number;
}

const EXAMPLES = `
Examples:
  # crontab: record every run of the nightly backup in /var/lib/promdrop/backup.job.prom
  15 2 * * * root promdrop run --name backup -- /usr/local/bin/backup --all

  # stop it after 2 hours (SIGTERM, then SIGKILL 10s later); that run counts as a failure
  promdrop run --name backup --timeout 2h -- /usr/local/bin/backup

  # a shell pipeline
  promdrop run --name rotate -- sh -c 'find /srv/logs -mtime +7 -delete'

Metrics, each with the label name="NAME" (never job or instance, which belong to Prometheus):
  batch_job_running                           1 while the command runs, else 0
  batch_job_last_start_timestamp_seconds      start of the last run
  batch_job_last_end_timestamp_seconds        end of the last completed run
  batch_job_last_duration_seconds             duration of the last completed run
  batch_job_last_exit_code                    its exit status
  batch_job_last_success_timestamp_seconds    end of the last successful run (kept on failure)
  batch_job_runs_total{result="success|failure"}

The command gets promdrop's stdin, stdout and stderr, and the signals INT, TERM, HUP, QUIT,
USR1 and USR2 sent to promdrop. promdrop exits with the command's status: 128+N when it was
killed by signal N, 127 when it was not found, 126 when it could not be executed, and 124 when
--timeout stopped it and it still exited 0. If the outcome cannot be recorded, the command runs
anyway and promdrop says why on stderr. Put "--" before the command.`;

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('run a command and record its outcome as batch_job_* metrics in NAME.job.prom')
    .argument('<COMMAND>', 'the command to run (after "--")')
    .argument('[ARGS...]', 'its arguments')
    .requiredOption('--name <NAME>', 'name of the job: the "name" label and the file NAME.job.prom')
    .option('--ttl <DURATION>', 'add a "# promdrop: ttl=DURATION" line to the outcome file', parsePositiveDuration)
    .option('--timeout <DURATION>', 'stop the command after this long (SIGTERM, then SIGKILL)', parsePositiveDuration)
    .addOption(
      new Option('--kill-after <DURATION>', 'with --timeout: wait this long after SIGTERM before SIGKILL')
        .argParser(parsePositiveDuration)
        .default(DEFAULT_KILL_AFTER_MS, `${DEFAULT_KILL_AFTER_MS / 1000}s`),
    );
  addWriterOptions(command, true)
    .showHelpAfterError('(put "--" before the command: promdrop run --name NAME -- COMMAND [ARGS...])')
    .addHelpText('after', EXAMPLES)
    .action(async (commandName: string, args: string[], options: RunOptions) => {
      const problem = textfileNameProblem(options.name, true);
      if (problem !== undefined || options.name.endsWith('.prom')) {
        throw new CliError(problem ?? `invalid job name ${JSON.stringify(options.name)}: leave out ".prom"`, EXIT_USAGE);
      }
      // A missing directory must not stop the job itself: runJob reports that it cannot record.
      const directory = options.dir ?? textfileDirectoryFromEnv();
      // Loaded here: child_process and the job code cost every other command start-up time.
      const { runJob } = await import('../../job/run-job.js');
      const run = await runJob({
        name: options.name,
        directory,
        command: commandName,
        args,
        killAfterMs: options.killAfter,
        lockTimeoutMs: options.lockTimeout,
        ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }),
        ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        warn: (message) => writeStderrLine(`promdrop: ${message}`),
      });
      process.exitCode = run.outcome.status;
    });
}
