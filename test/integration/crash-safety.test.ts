// Writers killed with SIGKILL at random moments, while a reader watches the target: it must
// always hold the complete old or the complete new content, and nothing a reader of the
// directory would pick up (a `*.prom` name without a leading dot) may ever appear besides it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAbandonedTempFiles } from '../../src/fs/atomic-write.js';
import { crashContent } from './fixtures/crash-writer.js';
import { makeTempDir, REPO_ROOT } from './writer-support.js';

const KILLS = 500;
/** Writers run side by side, one per target, to use both cores while others start up. */
const SLOTS = 4;
/** After the writer says it is ready, it is killed after a random delay below this. */
const MAX_KILL_DELAY_MS = 25;
/** The test counts kills, not seconds: 500 Node start-ups take about a minute on an idle
 *  2-core machine and several times that under load. This cap only stops a hung run. */
const TEST_TIMEOUT_MS = 1_800_000;

/** Writers not yet reaped, killed in afterAll should the test end early. */
const live = new Set<ChildProcess>();

let root: string;
let writerScript: string;
let dir: string;

beforeAll(async () => {
  root = makeTempDir('crash');
  dir = join(root, 'textfiles');
  mkdirSync(dir);
  writerScript = join(root, 'crash-writer.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'test/integration/fixtures/crash-writer.ts')],
    outfile: writerScript,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'error',
  });
});
afterAll(() => {
  for (const child of live) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

interface Observations {
  reads: number;
  torn: string[];
  strayNames: Set<string>;
}

const expectedLength = new Map<number, string>();
function isComplete(text: string): boolean {
  const match = /^# seq (\d+)\n/.exec(text);
  if (match === null) return false;
  const sequence = Number(match[1]);
  let expected = expectedLength.get(sequence);
  if (expected === undefined) {
    expected = crashContent(sequence);
    if (expectedLength.size > 10_000) expectedLength.clear();
    expectedLength.set(sequence, expected);
  }
  return text === expected;
}

/** One pass of what the agent does: list the directory, read every file it would read. */
function observe(targets: ReadonlySet<string>, seen: Observations): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || !name.endsWith('.prom')) continue;
    if (!targets.has(name)) {
      seen.strayNames.add(name);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue; // only before the first write of the slot
    }
    seen.reads++;
    if (!isComplete(text) && seen.torn.length < 5)
      seen.torn.push(`${name}: ${text.length} bytes: ${JSON.stringify(text.slice(0, 40))}…${JSON.stringify(text.slice(-30))}`);
  }
}

/** Starts a writer on `target` and SIGKILLs it a random moment after it is ready. */
function killOneWriter(target: string, firstSequence: number): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    // No spawn timeout: a writer slow to start on a loaded machine is still killed after it is
    // ready, which is what the test needs; a timeout's SIGTERM would count as a failure.
    const child = spawn(process.execPath, [writerScript, target, String(firstSequence)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => {
      setTimeout(() => child.kill('SIGKILL'), Math.random() * MAX_KILL_DELAY_MS);
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      live.delete(child);
      resolve({ killed: signal === 'SIGKILL', stderr });
    });
  });
}

describe('crash safety of writeAtomically', () => {
  it(
    `keeps the target whole through ${KILLS} writers killed with SIGKILL mid-loop`,
    async () => {
      const targets = Array.from({ length: SLOTS }, (_, slot) => `slot${slot}.prom`);
      const targetSet = new Set(targets);
      const seen: Observations = { reads: 0, torn: [], strayNames: new Set() };
      let killsLeft = KILLS;
      let kills = 0;
      let killsLeavingTempFiles = 0;
      const failures: string[] = [];
      let writersDone = false;

      const reader = (async () => {
        while (!writersDone) {
          observe(targetSet, seen);
          await yieldToEventLoop();
        }
      })();

      const slot = async (index: number): Promise<void> => {
        const target = join(dir, targets[index]!);
        let sequence = index * 10_000_000;
        while (killsLeft > 0) {
          killsLeft--;
          const before = new Set(readdirSync(dir));
          const result = await killOneWriter(target, sequence);
          sequence += 100_000;
          if (!result.killed) {
            failures.push(`writer exited on its own: ${result.stderr}`);
            continue;
          }
          kills++;
          if (readdirSync(dir).some((name) => name.startsWith(`.${targets[index]}.`) && !before.has(name))) killsLeavingTempFiles++;
          // Whatever the moment of the kill, the target is a complete file.
          observe(targetSet, seen);
          // What the next (locked) writer of the file does; keeps the disk use of the test bounded.
          await removeAbandonedTempFiles(target);
        }
      };

      await Promise.all(Array.from({ length: SLOTS }, (_, index) => slot(index)));
      writersDone = true;
      await reader;

      expect(failures).toEqual([]);
      expect(kills).toBe(KILLS);
      expect(seen.torn).toEqual([]);
      expect([...seen.strayNames]).toEqual([]);
      expect(seen.reads).toBeGreaterThan(KILLS);
      // The test only proves something if kills really land inside writes: each one that leaves
      // a temp file behind interrupted a write between open() and rename().
      expect(killsLeavingTempFiles).toBeGreaterThan(KILLS / 10);

      // Leftovers of the killed writers were dot files the agent ignores, and were removed as the
      // next writer removes them.
      expect(readdirSync(dir).sort()).toEqual([...targets].sort());
      for (const target of targets) expect(isComplete(readFileSync(join(dir, target), 'utf8'))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
