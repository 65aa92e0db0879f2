// End to end with the real thing: a Prometheus server (Debian's 2.42) scrapes the agent every
// second on 127.0.0.1, and everything is asserted through Prometheus's HTTP API, as a user's
// dashboards and alerts would see it. Prometheus 2.42 asks for OpenMetrics first and gzip, so
// this also proves that Go's readers accept the agent's negotiated, spliced gzip body.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram, runProgram, startProcess, type RunningProcess } from '../helpers/peers.js';
import { eventually, makeTempDir, removeDir, startAgent, writeAtomically, type Agent } from './serve-agent.js';

const prometheusBinary = requireProgram('prometheus', 'prometheus');
const promtoolBinary = requireProgram('promtool', 'prometheus');

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe.skipIf(prometheusBinary === undefined)('a real Prometheus scraping the agent', () => {
  let root: string;
  let textfiles: string;
  let agent: Agent;
  let prometheus: RunningProcess;

  async function query(expression: string): Promise<Sample[]> {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expression)}`, { signal: AbortSignal.timeout(10_000) });
    const json = (await response.json()) as { status: string; data: { resultType: string; result: Sample[] } };
    if (json.status !== 'success') throw new Error(`query ${expression} failed: ${JSON.stringify(json)}`);
    return json.data.result;
  }

  /** Waits until `expression` evaluates to exactly `values` (as strings, any order). */
  async function expectEventually(expression: string, values: readonly string[], timeoutMs = 20_000): Promise<void> {
    let last: Sample[] = [];
    await eventually(
      async () => {
        last = await query(expression);
        const got = last.map((sample) => sample.value[1]).sort();
        return JSON.stringify(got) === JSON.stringify([...values].sort());
      },
      timeoutMs,
      `${expression} to be [${values.join(', ')}] (last: ${JSON.stringify(last)})`,
    ).catch((error: unknown) => {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n--- prometheus ---\n${prometheus.output().slice(-3000)}\n--- agent ---\n${agent.output().slice(-3000)}`,
      );
    });
  }

  beforeAll(async () => {
    root = await makeTempDir('promdrop-e2e-');
    textfiles = join(root, 'textfiles');
    await mkdir(textfiles);
    await writeFile(
      join(textfiles, 'backup.prom'),
      '# HELP backup_last_success_timestamp_seconds Last successful backup.\n# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds{host="db1"} 1700000000\n',
    );
    await writeFile(join(textfiles, 'jobs.prom'), '# TYPE job_runs counter\njob_runs_total{job="a"} 42\njob_runs_total{job="b"} 7\n');
    agent = await startAgent([`--textfile.directory=${textfiles}`]);
    const config = join(root, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: promdrop',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${agent.port}']`,
        '',
      ].join('\n'),
    );
    prometheus = await startProcess(
      prometheusBinary!,
      (port) => [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(root, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
      ],
      async (url) => (await fetch(`${url}/-/ready`)).ok,
      30_000,
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await agent?.stop();
    await removeDir(root);
  });

  it('scrapes the agent successfully (up is 1)', async () => {
    await expectEventually('up{job="promdrop"}', ['1']);
    const health = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ health: string; lastError: string }> };
    };
    expect(health.data.activeTargets.map((target) => [target.health, target.lastError])).toEqual([['up', '']]);
  });

  it("stores the files' values, and the self metrics sent before them in the same gzip body", async () => {
    await expectEventually('backup_last_success_timestamp_seconds{host="db1"}', ['1700000000']);
    await expectEventually('job_runs_total', ['42', '7']);
    await expectEventually('node_textfile_scrape_error', ['0']);
    await expectEventually('count(promdrop_build_info)', ['1']);
    // Prometheus 2.42 negotiated OpenMetrics and gzip.
    await expectEventually('promdrop_scrapes_total{format="openmetrics",encoding="gzip"} > bool 0', ['1']);
  });

  it('shows a changed file as its new value', async () => {
    await writeAtomically(textfiles, 'jobs.prom', '# TYPE job_runs counter\njob_runs_total{job="a"} 43\njob_runs_total{job="b"} 8\n');
    await expectEventually('job_runs_total', ['43', '8']);
  });

  it("drops an expired file's series, and reports it", async () => {
    await writeAtomically(textfiles, 'short.prom', '# promdrop: ttl=4s\n# TYPE short_lived gauge\nshort_lived 1\n');
    await expectEventually('short_lived', ['1']);
    await expectEventually('short_lived', [], 20_000);
    await expectEventually(`promdrop_textfile_error{file="${join(textfiles, 'short.prom')}",reason="expired"}`, ['1']);
    await expectEventually('node_textfile_scrape_error', ['1']);
    // The other files were served throughout.
    await expectEventually('up{job="promdrop"}', ['1']);
    await expectEventually('job_runs_total', ['43', '8']);
  });

  it.skipIf(promtoolBinary === undefined)('passes `promtool check metrics` without a parse error', async () => {
    const body = await agent.metrics({ accept: 'text/plain' });
    const result = await runProgram(promtoolBinary!, ['check', 'metrics'], body);
    // Exit 1 is a parse error; 3 would be lint advice only (e.g. about Node.js metric names).
    expect(result.stderr).not.toContain('error while linting');
    expect([0, 3]).toContain(result.code);
  });
});
