// Concurrent cron jobs writing the same file through the CLI: every read-modify-write holds the
// file's lock, so no increment and no series is ever lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExposition } from '../../src/core/check.js';
import { makeTempDir, requireBuiltCli } from './writer-support.js';
import { promdropArgv } from '../helpers/promdrop-command.js';

const WORKERS = 20;
const ROUNDS = 25;
/** What this test asserts is that no update is lost, not how fast 20 writers take turns: on a
 *  loaded 2-core machine a writer can wait longer than the default 30 s lock timeout, which
 *  would fail the run for the wrong reason. The wait is bounded by the test's own timeout. */
const LOCK_TIMEOUT = '1h';
const TEST_TIMEOUT_MS = 1_200_000;

const running = new Set<ChildProcess>();

let dir: string;
beforeAll(() => {
  requireBuiltCli();
  dir = makeTempDir('lost-updates');
});
afterAll(() => {
  // A timed-out test leaves its shell loops running: stop them before removing their directory.
  for (const child of running) if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs WORKERS shell loops at once, each running `promdrop ARGS` ROUNDS times in a row. */
async function runWorkers(argsFor: (worker: number) => string): Promise<void> {
  const workers = Array.from({ length: WORKERS }, (_, worker) => {
    const script = `for i in $(seq ${ROUNDS}); do ${promdropArgv(requireBuiltCli())
      .map((word) => `"${word}"`)
      .join(' ')} ${argsFor(worker)} --lock-timeout ${LOCK_TIMEOUT} || exit 1; done`;
    return new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('sh', ['-c', script], {
        env: { ...process.env, PROMDROP_DIR: dir },
        stdio: ['ignore', 'ignore', 'pipe'],
        // Its own process group, so that afterAll's kill reaches the promdrop it is running.
        detached: true,
      });
      running.add(child);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        running.delete(child);
        resolve({ code, stderr });
      });
    });
  });
  const results = await Promise.all(workers);
  expect(results.filter((result) => result.code !== 0)).toEqual([]);
}

describe('no lost updates', () => {
  it(
    `${WORKERS} processes × ${ROUNDS} \`promdrop inc\` on one counter end at exactly ${WORKERS * ROUNDS}`,
    async () => {
      await runWorkers(() => 'inc jobs jobs_done_total');
      expect(readFileSync(join(dir, 'jobs.prom'), 'utf8')).toBe(`# TYPE jobs_done_total counter\njobs_done_total ${WORKERS * ROUNDS}\n`);
      expect(readdirSync(dir)).toEqual(['jobs.prom']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    `${WORKERS} processes × ${ROUNDS} \`promdrop set\` on different series of one file keep every series`,
    async () => {
      await runWorkers((worker) => `set items item_value "$i" -l worker=${worker} -l round="$i"`);
      const bytes = readFileSync(join(dir, 'items.prom'));
      const checked = checkExposition(bytes);
      expect(checked.accepted).toBe(true);
      const series = checked.families.find((family) => family.name === 'item_value')?.metrics ?? [];
      const seen = new Set(series.map((metric) => `${metric.labels.join(',')}=${metric.kind === 'scalar' ? metric.value : ''}`));
      const expected = new Set<string>();
      for (let worker = 0; worker < WORKERS; worker++) {
        for (let round = 1; round <= ROUNDS; round++) expected.add(`round,${round},worker,${worker}=${round}`);
      }
      expect(seen).toEqual(expected);
    },
    TEST_TIMEOUT_MS,
  );
});
