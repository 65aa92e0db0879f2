// Read-your-writes through the whole agent, as a cron job and Prometheus see it: once a writer's
// rename() into the directory has returned, the next HTTP scrape shows the value just written.
// Back-to-back, thousands of times, over one keep-alive connection, with other files around.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, sampleValue, startAgent, writeAtomically, type Agent } from './serve-agent.js';

const ITERATIONS = 2_000;
const NEIGHBOURS = 20;

describe('read-your-writes over HTTP', () => {
  let dir: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-ryw-');
    for (let i = 0; i < NEIGHBOURS; i++) await writeFile(join(dir, `neighbour-${i}.prom`), `# TYPE neighbour gauge\nneighbour{i="${i}"} ${i}\n`);
    agent = await startAgent([`--textfile.directory=${dir}`, '--web.disable-exporter-metrics']);
  });

  afterAll(async () => {
    await agent?.stop();
    await removeDir(dir);
  });

  it(`shows each value on the scrape right after its rename (${ITERATIONS} times)`, async () => {
    const misses: string[] = [];
    for (let i = 0; i < ITERATIONS && misses.length < 10; i++) {
      await writeAtomically(dir, 'job.prom', `# HELP job_runs Runs of the job.\n# TYPE job_runs counter\njob_runs_total ${i}\n`);
      const value = sampleValue(await agent.metrics(), 'job_runs_total');
      if (value !== String(i)) misses.push(`wrote ${i}, scraped ${value ?? 'nothing'}`);
    }
    expect(misses).toEqual([]);
    // The neighbours were served all along.
    expect(sampleValue(await agent.metrics(), `neighbour{i="${NEIGHBOURS - 1}"}`)).toBe(String(NEIGHBOURS - 1));
  });

  it('shows a brand-new file and the removal of one on the next scrape', async () => {
    for (let i = 0; i < 200; i++) {
      await writeAtomically(dir, `new-${i}.prom`, `new_file_${i} 1\n`);
      const body = await agent.metrics();
      expect(sampleValue(body, `new_file_${i}`)).toBe('1');
      await removeDir(join(dir, `new-${i}.prom`));
      expect(await agent.metrics()).not.toContain(`new_file_${i} `);
    }
  });

  it('holds while a rescan is under way: a scrape never takes a listing the snapshot does not reflect yet', async () => {
    // A rescan (SIGHUP here; the periodic one and a retry alike) lists the directory and then
    // reads what changed; a big file is judged on a worker thread, which leaves the event loop
    // free meanwhile. A scrape in that window once compared the directory with the rescan's
    // listing, found it current, and served the snapshot from before the write.
    const busy = await makeTempDir('promdrop-ryw-rescan-');
    const bigFile = (round: number): string => {
      const lines = ['# TYPE big_series gauge'];
      for (let i = 0; i < 60_000; i++) lines.push(`big_series{instance="host-${i}",path="/var/lib/some/long/path/${i}"} ${round}`);
      return `${lines.join('\n')}\n`;
    };
    // Polling (every second) rather than inotify, so that no watch event reads the files first.
    const polled = await startAgent([`--textfile.directory=${busy}`, '--web.disable-exporter-metrics', '--textfile.poll', '--textfile.rescan-interval=1h']);
    try {
      const misses: string[] = [];
      for (let round = 1; round <= 8; round++) {
        await writeAtomically(busy, 'big.prom', bigFile(round));
        await writeAtomically(busy, 'small.prom', `small_value ${round}\n`);
        // Past the racily-clean margin (50 ms), so the rescan's listing is trusted as it is.
        await new Promise((resolve) => setTimeout(resolve, 120));
        polled.child.kill('SIGHUP');
        await new Promise((resolve) => setTimeout(resolve, 15));
        const value = sampleValue(await polled.metrics(), 'small_value');
        if (value !== String(round)) misses.push(`round ${round}: scraped ${value ?? 'nothing'}`);
      }
      expect(misses).toEqual([]);
    } finally {
      await polled.stop();
      await removeDir(busy);
    }
  });
});
