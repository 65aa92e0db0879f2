// Read-your-writes: once a writer's rename() into the directory has returned, the next snapshot
// taken shows the new content. Checked back-to-back thousands of times, with other scrapes in
// flight at the moment of the write (a snapshot must not reuse a directory check that started
// before the rename).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextfileStore } from '../../src/agent/store.js';
import { removeDirectory, tempDirectory, testStore, writeAtomically } from './store-helpers.js';

const ITERATIONS = 2_000;
const NEIGHBOURS = 50;

let dir: string;
let store: TextfileStore;

beforeAll(async () => {
  dir = tempDirectory('ryw');
  for (let i = 0; i < NEIGHBOURS; i++) {
    writeFileSync(join(dir, `neighbour-${i}.prom`), `# TYPE neighbour gauge\nneighbour{i="${i}"} ${i}\n`);
  }
  store = testStore([dir]).store;
  await store.start();
});

afterAll(async () => {
  await store.close();
  removeDirectory(dir);
});

describe('read-your-writes', () => {
  it(`shows every renamed write on the next snapshot (${ITERATIONS} writes, a concurrent scraper)`, async () => {
    let scraping = true;
    let backgroundScrapes = 0;
    const scraper = async (): Promise<void> => {
      while (scraping) {
        await store.snapshot();
        backgroundScrapes++;
      }
    };
    const scrapers = [scraper()];
    const misses: string[] = [];
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        // Rewrite one file, create another, and remove the one created before.
        writeAtomically(join(dir, 'job.prom'), `# TYPE job_runs gauge\njob_runs ${i}\n`);
        writeAtomically(join(dir, `created-${i}.prom`), `created_${i} 1\n`);
        const body = (await store.snapshot()).text.toString();
        if (!body.includes(`job_runs ${i}\n`)) misses.push(`iteration ${i}: job_runs ${i} missing`);
        if (!body.includes(`created_${i} 1\n`)) misses.push(`iteration ${i}: created_${i} missing`);
        if (i > 0 && body.includes(`created_${i - 1} 1\n`)) {
          // Removed below on the previous iteration: must be gone now.
          misses.push(`iteration ${i}: created_${i - 1} still served after unlink`);
        }
        removeDirectory(join(dir, `created-${i}.prom`));
        if (misses.length > 10) break;
      }
    } finally {
      scraping = false;
      await Promise.all(scrapers);
    }
    expect(misses).toEqual([]);
    expect(backgroundScrapes).toBeGreaterThan(0);
    const last = await store.snapshot();
    expect(last.files.filter((f) => f.state === 'ok')).toHaveLength(NEIGHBOURS + 1);
  });
});
