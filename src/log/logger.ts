// The agent's logger: pino (fastify's own logger, so HTTP errors and our lines share one stream),
// configured like Prometheus components are: --log.level debug|info|warn|error and
// --log.format logfmt|json, written to stderr. The agent logs state changes, never scrapes, so a
// line costs nothing that matters and the logfmt path may re-parse pino's JSON.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from './levels.js';
import { formatLogfmt } from './logfmt.js';

export type { Logger } from 'pino';
export type { LogFormat, LogLevel } from './levels.js';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where finished lines go; stderr (as node_exporter) unless a test captures them. */
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? writeToStderr;
  const destination: DestinationStream = options.format === 'json' ? { write } : { write: (line: string) => write(`${logfmtFromJson(line)}\n`) };
  return pino(
    {
      level: options.level,
      // No pid/hostname on every line: the journal already records both.
      base: null,
      messageKey: 'msg',
      // `ts` as an RFC 3339 string, as promslog writes it, rather than pino's epoch number.
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * The level fastify's own logger runs at: never below warn, because fastify logs routine events
 * (a 404, a client hanging up) at info, and the agent must not log once per request.
 */
export function httpLogLevel(level: LogLevel): LogLevel {
  return level === 'error' ? 'error' : 'warn';
}

function logfmtFromJson(line: string): string {
  try {
    return formatLogfmt(JSON.parse(line) as Record<string, unknown>);
  } catch {
    // pino always writes one JSON object per line; keep anything else rather than drop it.
    return line.trimEnd();
  }
}

function writeToStderr(line: string): void {
  // process.stderr writes synchronously to files, pipes and terminals on Linux, so a line logged
  // just before exit is not lost.
  process.stderr.write(line);
}
