// Shared by the store integration tests: a temporary directory, a recording logger, a store
// with short timings, and a bounded wait.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextfileStore, type StoreLogger, type StoreOptions } from '../../src/agent/store.js';

export interface LogRecord {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly obj: object;
  readonly msg: string;
}

export class RecordingLogger implements StoreLogger {
  readonly records: LogRecord[] = [];
  info(obj: object, msg: string): void {
    this.records.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg: string): void {
    this.records.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg: string): void {
    this.records.push({ level: 'error', obj, msg });
  }
  debug(obj: object, msg: string): void {
    this.records.push({ level: 'debug', obj, msg });
  }
  /** Records at warn or above that mention `text`. */
  problems(text: string): LogRecord[] {
    return this.records.filter((r) => (r.level === 'warn' || r.level === 'error') && (r.msg.includes(text) || JSON.stringify(r.obj).includes(text)));
  }
}

export function tempDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `promdrop-${prefix}-`));
}

export function removeDirectory(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** Writes like a careful writer: temp file in the same directory, then rename. */
export function writeAtomically(path: string, content: string): void {
  const temp = join(path, '..', `.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
  writeFileSync(temp, content);
  renameSync(temp, path);
}

export function testStore(directories: string[], overrides: Partial<StoreOptions> = {}): { store: TextfileStore; logger: RecordingLogger } {
  const logger = new RecordingLogger();
  const store = new TextfileStore({
    directories,
    maxFileSize: 64 * 1024 * 1024,
    maxSeriesPerFile: 1_000_000,
    gracePeriodMs: 60_000,
    settleMs: 300,
    rescanIntervalMs: 3_600_000, // tests that want rescans say so
    usePolling: false,
    allowTimestamps: false,
    logger,
    ...overrides,
  });
  return { store, logger };
}

/** Polls `check` until it returns true; fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
