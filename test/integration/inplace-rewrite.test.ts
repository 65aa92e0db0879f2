// A writer that rewrites its file in place (open with O_TRUNC, then 64 KiB writes) in a tight
// loop, while the store is scraped every 0.2 s: node_exporter served 0 of 60 such scrapes
// complete (53 silently empty). The store must serve whole versions of the file only. The bound
// here is generous on purpose; the benchmark reports the exact figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRACE_PERIOD_MS, DEFAULT_SETTLE_MS, type TextfileStore } from '../../src/agent/store.js';
import { removeDirectory, sleep, tempDirectory, testStore, waitFor } from './store-helpers.js';

const SERIES = 20_000;
const SCRAPES = 50;
const SCRAPE_INTERVAL_MS = 200;

function content(version: number): string {
  const lines = ['# HELP inplace_metric A series of a file rewritten in place.', '# TYPE inplace_metric gauge'];
  for (let i = 0; i < SERIES; i++) lines.push(`inplace_metric{instance="host-${String(i).padStart(6, '0')}",job="batch-job-name"} ${version}`);
  return `${lines.join('\n')}\n`;
}

// Runs in a child process so that the writes really interleave with the store's reads.
const WRITER = `
const fs = require('node:fs');
const [path, stopAfterMs] = process.argv.slice(1);
const make = (v) => {
  const lines = ['# HELP inplace_metric A series of a file rewritten in place.', '# TYPE inplace_metric gauge'];
  for (let i = 0; i < ${SERIES}; i++) lines.push('inplace_metric{instance="host-' + String(i).padStart(6, '0') + '",job="batch-job-name"} ' + v);
  return Buffer.from(lines.join('\\n') + '\\n');
};
const deadline = Date.now() + Number(stopAfterMs);
let version = 1;
while (Date.now() < deadline) {
  const body = make(version);
  const fd = fs.openSync(path, 'w');
  for (let off = 0; off < body.length; off += 65536) fs.writeSync(fd, body, off, Math.min(65536, body.length - off));
  fs.closeSync(fd);
  version++;
}
process.stdout.write(String(version - 1));
`;

function countSeries(body: Buffer): number {
  const needle = Buffer.from('\ninplace_metric{');
  let count = 0;
  for (let at = body.indexOf(needle); at >= 0; at = body.indexOf(needle, at + 1)) count++;
  return count;
}

let dir: string;
let store: TextfileStore;
let writer: ChildProcess | undefined;

beforeAll(async () => {
  dir = tempDirectory('inplace');
  writeFileSync(join(dir, 'inplace.prom'), content(0));
  store = testStore([dir], { settleMs: DEFAULT_SETTLE_MS, gracePeriodMs: DEFAULT_GRACE_PERIOD_MS }).store;
  await store.start();
});

afterAll(async () => {
  if (writer !== undefined && writer.exitCode === null) writer.kill('SIGKILL');
  await store.close();
  removeDirectory(dir);
});

describe('a file rewritten in place in a loop', () => {
  it('is served whole at (nearly) every scrape, and its final version once the writer stops', async () => {
    expect(countSeries((await store.snapshot()).text)).toBe(SERIES);
    const path = join(dir, 'inplace.prom');
    const child = spawn(process.execPath, ['-e', WRITER, path, String(SCRAPES * SCRAPE_INTERVAL_MS + 500)], { stdio: ['ignore', 'pipe', 'inherit'] });
    writer = child;
    let lastVersion = '';
    child.stdout!.on('data', (chunk: Buffer) => (lastVersion += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

    let complete = 0;
    let partial = 0;
    let empty = 0;
    for (let i = 0; i < SCRAPES; i++) {
      await sleep(SCRAPE_INTERVAL_MS);
      const series = countSeries((await store.snapshot()).text);
      if (series === SERIES) complete++;
      else if (series === 0) empty++;
      else partial++;
    }
    await exited;
    expect(Number(lastVersion)).toBeGreaterThan(5); // the writer really did rewrite, many times
    expect({ complete, partial, empty }).toMatchObject({ partial: expect.toSatisfy((n: number) => n <= 1), empty: 0 });
    expect(complete).toBeGreaterThanOrEqual(Math.ceil(SCRAPES * 0.9));

    // Once the writer is done and the file has been quiet for the settle time, the final
    // version is served, whole.
    await waitFor(
      'the final version to be served',
      async () => {
        const body = (await store.snapshot()).text.toString();
        return body.includes(`batch-job-name"} ${lastVersion}\n`);
      },
      DEFAULT_SETTLE_MS + 8_000,
    );
    const final = await store.snapshot();
    expect(countSeries(final.text)).toBe(SERIES);
    expect(final.files[0]).toMatchObject({ state: 'ok', series: SERIES });
  });
});
