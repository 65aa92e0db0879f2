// Runs the wrapped command the way a shell would, so that `promdrop run -- cmd` can replace
// `cmd` in a crontab or a systemd unit without changing how the job behaves: same stdin,
// stdout and stderr, the signals its supervisor sends passed on, and an exit status a shell
// would report (127 not found, 126 not executable, 128+N killed by signal N).
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { DEFAULT_KILL_AFTER_MS } from '../defaults.js';

/** Signals a supervisor (cron, systemd, a terminal) sends to ask a job to stop or act. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Shell conventions for commands that could not be started. */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;
/** coreutils `timeout`'s status for a command stopped by the deadline, whatever it then exited
 *  with or whichever signal ended it: a timed-out run is recognisable from its status alone. */
export const EXIT_TIMED_OUT = 124;

/** How long kept output may still arrive after the command exited. */
const OUTPUT_DRAIN_MS = 1_000;

export interface CommandOptions {
  /** Stop the command after this long: SIGTERM, then SIGKILL after `killAfterMs`. */
  readonly timeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on timeout (default 10 s). */
  readonly killAfterMs?: number;
  /** Keep the last this many bytes of the command's stdout and stderr (combined, in the order
   *  they arrived); both are still passed through. Without it, stdio is inherited as is. */
  readonly keepOutputBytes?: number;
}

export interface CommandOutcome {
  /** What a shell would report as `$?`. */
  readonly status: number;
  /** The signal that ended the command, if one did. */
  readonly signal: NodeJS.Signals | undefined;
  /** True when the command was stopped because of the timeout. */
  readonly timedOut: boolean;
  /** Why the command could not be started at all (ENOENT, EACCES, ...). */
  readonly startError: Error | undefined;
  /** With keepOutputBytes: the tail of the combined output. */
  readonly outputTail?: Buffer;
}

/** Runs `command` with inherited stdio and forwarded signals; never rejects. */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    let timedOut = false;
    let termTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const tail = options.keepOutputBytes === undefined ? undefined : new OutputTail(options.keepOutputBytes);
    const child = spawn(command, args, { stdio: tail === undefined ? 'inherit' : ['inherit', 'pipe', 'pipe'] });
    if (tail !== undefined) {
      child.stdout?.on('data', (chunk: Buffer) => {
        tail.add(chunk);
        process.stdout.write(chunk);
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        tail.add(chunk);
        process.stderr.write(chunk);
      });
    }

    // Installing a handler also keeps promdrop alive on these signals until the command has
    // reacted, so the outcome is still recorded.
    const forward = (signal: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);

    const finish = (outcome: CommandOutcome): void => {
      if (settled) return;
      settled = true;
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      clearTimeout(termTimer);
      clearTimeout(killTimer);
      resolve(outcome);
    };

    if (options.timeoutMs !== undefined) {
      termTimer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? DEFAULT_KILL_AFTER_MS);
      }, options.timeoutMs);
    }

    child.on('error', (error: NodeJS.ErrnoException) => {
      // 'error' also fires when kill() fails on a live child; only a failed start ends the run.
      if (child.pid !== undefined) return;
      const status = error.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
      finish({ status, signal: undefined, timedOut: false, startError: error, ...(tail === undefined ? {} : { outputTail: tail.bytes() }) });
    });
    child.once('exit', (code, signal) => {
      let status: number;
      // As coreutils `timeout`: 124 whether the command exited on SIGTERM, was killed after
      // --kill-after, or was stopped before it could install a handler.
      if (timedOut) status = EXIT_TIMED_OUT;
      else if (signal !== null) status = 128 + signalNumber(signal);
      else status = code ?? 1;
      const end = (): void =>
        finish({ status, signal: signal ?? undefined, timedOut, startError: undefined, ...(tail === undefined ? {} : { outputTail: tail.bytes() }) });
      if (tail === undefined) {
        end();
        return;
      }
      // Drain the pipes, but a background process that inherited them must not hold the run.
      const drained = setTimeout(end, OUTPUT_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drained);
        end();
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return osConstants.signals[signal] ?? 0;
}

/** The last `limit` bytes written to it, without keeping more than about twice that. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    if (this.limit === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > 2 * this.limit) {
      const joined = this.bytes();
      this.chunks = [joined];
      this.size = joined.length;
    }
  }

  bytes(): Buffer {
    const joined = Buffer.concat(this.chunks);
    return joined.length > this.limit ? joined.subarray(joined.length - this.limit) : joined;
  }
}
