// A writer that rewrites its file in place (open with O_TRUNC, write in 64 KiB pieces) in a loop
// while Prometheus scrapes every 0.2 s. node_exporter served 0 of 60 such scrapes complete (53
// silently empty, node-exporter-textfile.md §1). The agent must serve whole content: the last
// good version while the file is being rewritten. This test counts; exact figures are the
// benchmark's (docs/benchmarks.md).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';

const SERIES = 20_000;
const SCRAPES = 60;
const SCRAPE_INTERVAL_MS = 200;

function content(generation: number): string {
  const lines = ['# HELP inplace_series A series of a file rewritten in place.', '# TYPE inplace_series gauge'];
  for (let i = 0; i < SERIES; i++) lines.push(`inplace_series{i="${i}"} ${generation}`);
  return `${lines.join('\n')}\n`;
}

// Runs in a child process: rewrites the file in place, 64 KiB at a time, as fast as it can,
// until a stop file appears (a killed writer would leave a cut file behind).
const WRITER = `
const fs = require('node:fs');
const [path, series, stopFile] = process.argv.slice(1);
for (let generation = 1; !fs.existsSync(stopFile); generation++) {
  const lines = ['# HELP inplace_series A series of a file rewritten in place.', '# TYPE inplace_series gauge'];
  for (let i = 0; i < Number(series); i++) lines.push('inplace_series{i="' + i + '"} ' + generation);
  const bytes = Buffer.from(lines.join('\\n') + '\\n');
  const fd = fs.openSync(path, 'w');
  for (let offset = 0; offset < bytes.length; offset += 65536) fs.writeSync(fd, bytes, offset, Math.min(65536, bytes.length - offset));
  fs.closeSync(fd);
}
`;

interface Tally {
  complete: number;
  partial: number;
  empty: number;
}

/** complete: all series, all from one write; partial: some, or from two writes; empty: none. */
function classify(body: string, tally: Tally): void {
  let count = 0;
  const generations = new Set<string>();
  for (const line of body.split('\n')) {
    if (!line.startsWith('inplace_series{')) continue;
    count++;
    generations.add(line.slice(line.lastIndexOf(' ') + 1));
  }
  if (count === 0) tally.empty++;
  else if (count === SERIES && generations.size === 1) tally.complete++;
  else tally.partial++;
}

describe('a file rewritten in place while being scraped', () => {
  let dir: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = await makeTempDir('promdrop-inplace-');
    await writeFile(join(dir, 'inplace.prom'), content(0));
    agent = await startAgent([`--textfile.directory=${dir}`, '--web.disable-exporter-metrics']);
  });

  afterAll(async () => {
    await agent?.stop();
    await removeDir(dir);
  });

  it(`serves whole content in nearly every one of ${SCRAPES} scrapes`, async () => {
    const stopFile = join(dir, 'stop-writer');
    const writer = spawn(process.execPath, ['-e', WRITER, join(dir, 'inplace.prom'), String(SERIES), stopFile], { stdio: 'ignore' });
    const writerExited = new Promise((resolve) => writer.once('exit', resolve));
    const tally: Tally = { complete: 0, partial: 0, empty: 0 };
    try {
      for (let i = 0; i < SCRAPES; i++) {
        const started = Date.now();
        classify(await agent.metrics(), tally);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, SCRAPE_INTERVAL_MS - (Date.now() - started))));
      }
    } finally {
      await writeFile(stopFile, '');
      const killer = setTimeout(() => writer.kill('SIGKILL'), 10_000);
      await writerExited;
      clearTimeout(killer);
    }
    console.log(`in-place rewrite: ${tally.complete} complete, ${tally.partial} partial, ${tally.empty} empty of ${SCRAPES} scrapes`);
    // Targets: >= 95 % complete, <= 1 % partial; bounds here leave room for a loaded CI machine.
    expect(tally.complete).toBeGreaterThanOrEqual(Math.ceil(SCRAPES * 0.9));
    expect(tally.partial).toBeLessThanOrEqual(1);
    // Once the writer has stopped and the file has settled (--textfile.settle, 2 s by
    // default), its last write is served, whole.
    let served = '0';
    await eventually(
      async () => {
        const body = await agent.metrics();
        const after: Tally = { complete: 0, partial: 0, empty: 0 };
        classify(body, after);
        served = /^inplace_series\{i="0"\} (\d+)$/m.exec(body)?.[1] ?? '0';
        return after.complete === 1 && served !== '0';
      },
      15_000,
      'the last in-place write to be served',
    );
    expect(Number(served)).toBeGreaterThan(0);
  });
});
