// A file with Prometheus 3's UTF-8 names, scraped by the real Prometheus 2.42 (Debian's), which
// cannot read such names and does not ask for them: the agent serves them escaped with
// underscores (the default scheme), Prometheus stores and answers queries under the escaped
// names, and the scrape holds exactly what the agent serves to that Accept header, the file's
// other series included, unchanged.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram, startPrometheus, type RunningProcess } from '../helpers/peers.js';
import { eventually, makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';

const prometheusBinary = requireProgram('prometheus', 'prometheus');

/** What Prometheus 2.42 sends (scrape/scrape.go's acceptHeader constant then). */
const PROMETHEUS_2_42_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const OTEL = [
  '# HELP "http.server.request.duration" Duration of HTTP server requests.',
  '# TYPE "http.server.request.duration" histogram',
  '{"http.server.request.duration_bucket","http.request.method"="GET",le="0.1"} 3',
  '{"http.server.request.duration_bucket","http.request.method"="GET",le="+Inf"} 4',
  '{"http.server.request.duration_sum","http.request.method"="GET"} 0.5',
  '{"http.server.request.duration_count","http.request.method"="GET"} 4',
  '# TYPE "queue.depth" gauge',
  '{"queue.depth","queue.name"="mail"} 12',
  'plain_gauge{host="db1"} 7',
  '',
].join('\n');

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe.skipIf(prometheusBinary === undefined)('Prometheus 2.42 scraping UTF-8 names', () => {
  let root: string;
  let agent: Agent;
  let prometheus: RunningProcess;

  async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${prometheus.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const json = (await response.json()) as { status: string; data: T };
    if (json.status !== 'success') throw new Error(`${path} failed: ${JSON.stringify(json)}`);
    return json.data;
  }

  async function expectEventually(expression: string, values: readonly string[]): Promise<void> {
    let last: Sample[] = [];
    await eventually(
      async () => {
        last = (await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expression)}`)).result;
        return JSON.stringify(last.map((sample) => sample.value[1]).sort()) === JSON.stringify([...values].sort());
      },
      30_000,
      `${expression} to be [${values.join(', ')}] (last: ${JSON.stringify(last)})`,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- prometheus ---\n${prometheus.output().slice(-3000)}`);
    });
  }

  beforeAll(async () => {
    root = await makeTempDir('promdrop-utf8-e2e-');
    const textfiles = join(root, 'textfiles');
    await mkdir(textfiles);
    await writeFile(join(textfiles, 'otel.prom'), OTEL);
    agent = await startAgent([`--textfile.directory=${textfiles}`]);
    prometheus = await startPrometheus(prometheusBinary!, root, [`127.0.0.1:${agent.port}`]);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await agent?.stop();
    await removeDir(root);
  });

  it('is served the names escaped with underscores, and says so in the Content-Type', async () => {
    const response = await agent.get('/metrics', { Accept: PROMETHEUS_2_42_ACCEPT });
    expect(response.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores');
    expect(response.body).toContain('http_server_request_duration_bucket{http_request_method="GET",le="0.1"} 3\n');
    expect(response.body).not.toContain('"queue.depth"');
  });

  it('scrapes successfully and answers queries under the escaped names', async () => {
    await expectEventually('up{job="promdrop"}', ['1']);
    await expectEventually('queue_depth{queue_name="mail"}', ['12']);
    await expectEventually('http_server_request_duration_bucket{http_request_method="GET"}', ['3', '4']);
    await expectEventually('histogram_quantile(1, http_server_request_duration_bucket)', ['0.1']);
    await expectEventually('plain_gauge{host="db1"}', ['7']);
    const targets = await api<{ activeTargets: Array<{ health: string; lastError: string }> }>('/api/v1/targets');
    expect(targets.activeTargets.map((target) => [target.health, target.lastError])).toEqual([['up', '']]);
  });

  it('stores exactly the series the agent serves to that Accept header, nothing else', async () => {
    await expectEventually('plain_gauge', ['7']);
    const body = (await agent.get('/metrics', { Accept: PROMETHEUS_2_42_ACCEPT })).body;
    const served = new Set(
      body
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0])
        // OpenMetrics counters are stored under their sample names (_total, _created).
        .filter((name) => !name.endsWith('_created')),
    );
    await eventually(
      async () => {
        const series = await api<Array<Record<string, string>>>(`/api/v1/series?match[]=${encodeURIComponent('{job="promdrop"}')}`);
        const stored = new Set(series.map((labels) => labels['__name__']!).filter((name) => name !== 'up' && !name.startsWith('scrape_')));
        return JSON.stringify([...stored].sort()) === JSON.stringify([...served].sort());
      },
      30_000,
      'the stored series names to equal the served ones',
    );
  });
});
