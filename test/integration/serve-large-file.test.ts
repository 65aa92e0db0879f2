// Large files take the agent's other road: judged on a worker thread (judge-off-thread.ts), their
// scalar families kept as rendered lines (rendered-series.ts) and served as chunks. What a
// scraper gets must still be exactly what the core's full model merges and renders, in every
// format, with the same conflicts, including a family that a small file defines too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUDGE_OFF_THREAD_MIN_BYTES } from '../../src/agent/judge-off-thread.js';
import { checkExposition, mergeSources, renderOpenMetrics, renderText, type Source } from '../../src/core/index.js';
import { seededRandom as random } from '../bench/lib/generate.js';
import { startAgent, type Agent } from './serve-agent.js';

function shuffled<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Over the worker threshold: series in no particular order (the agent sorts them), values
 *  and escapes the renderer rewrites, a histogram, and a family the small file shares. */
function sortableFile(): string {
  const next = random(7);
  const lines = ['# HELP big_items One series per item.', '# TYPE big_items gauge'];
  const series: string[] = [];
  for (let i = 0, size = 0; size < JUDGE_OFF_THREAD_MIN_BYTES * 1.2; i++) {
    const value = ['1', '1.50', '2e3', '-0', 'NaN', '+Inf', '0.000001'][i % 7];
    series.push(`big_items{id="item-${i}",path="/var/lib/x \\"${i % 13}\\"\\\\y",zone="é-${i % 5}"} ${value}`);
    size += series[series.length - 1]!.length + 1;
  }
  lines.push(...shuffled(series, next));
  lines.push('# TYPE shared_total counter');
  for (let i = 0; i < 50; i++) lines.push(`shared_total{n="${i}",m="${i % 2}"} ${i}`);
  lines.push('# TYPE latency_seconds histogram');
  for (const le of ['0.1', '1', '+Inf']) lines.push(`latency_seconds_bucket{le="${le}"} ${le === '0.1' ? 1 : 3}`);
  lines.push('latency_seconds_sum 2.5', 'latency_seconds_count 3', '');
  return lines.join('\n');
}

/** Over the threshold too, with labels listed in varying order: kept as Metrics, same output. */
function unsortedLabelsFile(): string {
  const lines: string[] = [];
  for (let i = 0, size = 0; size < JUDGE_OFF_THREAD_MIN_BYTES * 1.2; i++) {
    lines.push(i % 2 === 0 ? `other_items{z="${i}",a="x"} ${i}` : `other_items{a="x",z="${i}"} ${i}`);
    size += lines[lines.length - 1]!.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

const SMALL = '# TYPE shared_total counter\nshared_total{n="3",m="1"} 30\nshared_total{n="x"} 1\nsmall_gauge 1\n';

function withoutMeta(body: string): string {
  return body
    .split('\n')
    .filter((line) => !/^(# (HELP|TYPE) )?(node_textfile_|node_scrape_collector_|promdrop_textfile_|promdrop_build_info)/.test(line) && line !== '# EOF')
    .join('\n');
}

describe('promdrop serve: files over the worker-thread threshold', () => {
  let directory: string;
  let agent: Agent;
  let sources: Source[];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'promdrop-large-'));
    const files: Array<[string, string]> = [
      ['a-big.prom', sortableFile()],
      ['b-unsorted.prom', unsortedLabelsFile()],
      ['c-small.prom', SMALL],
    ];
    sources = files.map(([name, text]) => {
      writeFileSync(join(directory, name), text);
      const check = checkExposition(Buffer.from(text));
      expect(check.accepted).toBe(true);
      return { id: join(directory, name), families: check.families };
    });
    expect(Buffer.byteLength(files[0]![1])).toBeGreaterThan(JUDGE_OFF_THREAD_MIN_BYTES);
    expect(Buffer.byteLength(files[1]![1])).toBeGreaterThan(JUDGE_OFF_THREAD_MIN_BYTES);
    agent = await startAgent([`--textfile.directory=${directory}`, '--web.disable-exporter-metrics']);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('serves text 0.0.4 byte for byte as the full model merges and renders it', async () => {
    const expected = mergeSources(sources);
    expect(withoutMeta(await agent.metrics())).toBe(withoutMeta(renderText(expected.families)));
  });

  it('serves the same with gzip, and OpenMetrics the same as the full model', async () => {
    const expected = mergeSources(sources);
    expect(withoutMeta(await agent.metrics({ 'accept-encoding': 'gzip' }))).toBe(withoutMeta(renderText(expected.families)));
    const openMetrics = await agent.metrics({ accept: 'application/openmetrics-text;version=1.0.0', 'accept-encoding': 'gzip' });
    expect(withoutMeta(openMetrics)).toBe(withoutMeta(renderOpenMetrics(expected.families)));
  });

  it('flags the small file for the series the large one already serves', async () => {
    const response = await agent.get('/api/v1/files');
    const files = (JSON.parse(response.body) as { data: { files: Array<{ path: string; state: string; reason?: string; message?: string }> } }).data.files;
    const small = files.find((file) => file.path.endsWith('c-small.prom'));
    const conflict = mergeSources(sources).conflicts[0]!;
    expect(small).toMatchObject({ state: 'conflict', reason: 'duplicate' });
    expect(small?.message).toBe(`${conflict.source}:${conflict.line}: ${conflict.message}`);
    expect(files.find((file) => file.path.endsWith('a-big.prom'))).toMatchObject({ state: 'ok' });
  });
});
