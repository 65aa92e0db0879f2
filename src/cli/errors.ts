import { EXIT_INVALID } from './exit-codes.js';

/** An error a command reports to the user as one line, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_INVALID,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
