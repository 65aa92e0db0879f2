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
});
