// The push API against the real clients people push with: Python's prometheus_client (Debian's
// python3-prometheus-client: push_to_gateway, pushadd_to_gateway, delete_from_gateway),
// prom-client's Pushgateway class and curl, and a real Prometheus scraping the agent with
// honor_labels: true. Also what the Pushgateway gets wrong and promdrop must not: a route that
// hangs after a bad request (B2), a request that never ends, bodies over the limit.
import { connect } from 'node:net';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Counter, Gauge, Pushgateway, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEERS, requireProgram, runProgram, startProcess, type RunningProcess } from '../helpers/peers.js';
import { eventually, makeTempDir, removeDir, sampleValue, startAgent, type Agent } from './serve-agent.js';

const python = requireProgram(PEERS.debianPython, 'python3-prometheus-client');
const prometheusBinary = requireProgram('prometheus', 'prometheus');
const curl = requireProgram('curl', 'curl');

/** Runs a Python snippet with Debian's prometheus_client; `GATEWAY` is the agent's address. */
async function runPython(agent: Agent, script: string): Promise<string> {
  const prelude = [
    'from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram',
    'from prometheus_client import push_to_gateway, pushadd_to_gateway, delete_from_gateway',
    'from prometheus_client.exposition import default_handler',
    `GATEWAY = "127.0.0.1:${agent.port}"`,
    'def ttl_handler(url, method, timeout, headers, data):',
    "    return default_handler(url, method, timeout, headers + [('X-Promdrop-TTL', '15m')], data)",
    '',
  ].join('\n');
  const result = await runProgram(python!, ['-c', `${prelude}${script}`], undefined, 30_000, { PROMETHEUS_DISABLE_CREATED_SERIES: 'True' });
  if (result.code !== 0) throw new Error(`python failed (${result.code}):\n${result.stderr}\n--- agent ---\n${agent.output().slice(-2000)}`);
  return result.stdout;
}

async function send(
  agent: Agent,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${agent.url}${path}`, { method, headers, signal: AbortSignal.timeout(15_000), ...(body === undefined ? {} : { body }) });
  return { status: response.status, body: await response.text() };
}

describe.skipIf(python === undefined)('real push clients against the agent', () => {
  let root: string;
  let pushDirectory: string;
  let agent: Agent;

  beforeAll(async () => {
    root = await makeTempDir('promdrop-push-');
    await mkdir(join(root, 'textfiles'));
    pushDirectory = join(root, 'push');
    await writeFile(join(root, 'textfiles', 'node.prom'), '# TYPE from_textfile gauge\nfrom_textfile 1\n');
    agent = await startAgent([
      `--textfile.directory=${join(root, 'textfiles')}`,
      '--web.enable-push',
      '--web.enable-admin-api',
      `--push.directory=${pushDirectory}`,
      '--push.max-body-size=64KiB',
      '--push.body-timeout=1s',
    ]);
  });
  afterAll(async () => {
    await agent?.stop();
    await removeDir(root);
  });

  it('takes push_to_gateway, pushadd_to_gateway and delete_from_gateway from Python', async () => {
    await runPython(
      agent,
      [
        'r = CollectorRegistry()',
        "g = Gauge('backup_last_success_unixtime', 'Last time the backup succeeded.', ['volume'], registry=r)",
        "g.labels('home').set(1700000000)",
        "h = Histogram('backup_duration_seconds', 'Backup duration.', registry=r, buckets=(1, 10))",
        'h.observe(4)',
        "push_to_gateway(GATEWAY, job='backup', registry=r, grouping_key={'instance': 'db1', 'path': '/var/tmp'})",
        'r2 = CollectorRegistry()',
        "Counter('backup_files', 'Files copied.', registry=r2).inc(12)",
        "pushadd_to_gateway(GATEWAY, job='backup', registry=r2, grouping_key={'instance': 'db1', 'path': '/var/tmp'})",
        'r3 = CollectorRegistry()',
        "Gauge('gone_soon', 'Deleted below.', registry=r3).set(1)",
        "push_to_gateway(GATEWAY, job='temporary', registry=r3)",
        "delete_from_gateway(GATEWAY, job='temporary')",
      ].join('\n'),
    );
    const metrics = await agent.metrics();
    expect(sampleValue(metrics, 'backup_last_success_unixtime{instance="db1",job="backup",path="/var/tmp",volume="home"}')).toBe('1.7e+09');
    expect(sampleValue(metrics, 'backup_duration_seconds_bucket{instance="db1",job="backup",path="/var/tmp",le="10"}')).toBe('1');
    expect(sampleValue(metrics, 'backup_files_total{instance="db1",job="backup",path="/var/tmp"}')).toBe('12');
    expect(metrics).toMatch(/^push_time_seconds\{instance="db1",job="backup",path="\/var\/tmp"\} \d/m);
    expect(metrics).not.toContain('gone_soon');
    expect(metrics).not.toContain('job="temporary"');
  });

  it('takes a per-push TTL from a header that Python (handler), prom-client (headers) and curl can send', async () => {
    await runPython(
      agent,
      [
        'r = CollectorRegistry()',
        "Gauge('ttl_python', 'x', registry=r).set(1)",
        "push_to_gateway(GATEWAY, job='ttl_python', registry=r, handler=ttl_handler)",
      ].join('\n'),
    );
    const registry = new Registry();
    new Gauge({ name: 'ttl_node', help: 'x', registers: [registry] }).set(2);
    await new Pushgateway(agent.url, { headers: { 'X-Promdrop-TTL': '15m' } }, registry).push({ jobName: 'ttl_node' });
    const fromCurl = await runProgram(curl!, [
      '-s',
      '-w',
      '%{http_code}',
      '-X',
      'PUT',
      '--data-binary',
      'ttl_curl 3\n',
      `${agent.url}/metrics/job/ttl_curl?ttl=15m`,
    ]);
    expect(fromCurl.stdout).toBe('200');
    const files = (await send(agent, 'GET', '/api/v1/files')).body;
    const reports = (JSON.parse(files) as { data: { files: { path: string; ttlMs?: number }[] } }).data.files.filter((file) => file.path.includes('/ttl_'));
    expect(reports.map((file) => file.ttlMs)).toEqual([900_000, 900_000, 900_000]);
  });

  it('takes prom-client pushes, gzip included, and keeps base64-free keys as the Pushgateway does', async () => {
    const registry = new Registry();
    new Counter({ name: 'node_job_runs_total', help: 'Runs.', registers: [registry] }).inc(5);
    const gateway = new Pushgateway(agent.url, { headers: { 'Content-Encoding': 'gzip' } }, registry);
    const pushed = await gateway.pushAdd({ jobName: 'node-job', groupings: { instance: 'web 1' } });
    expect(pushed.resp).toMatchObject({ statusCode: 200 });
    expect(sampleValue(await agent.metrics(), 'node_job_runs_total{instance="web 1",job="node-job"}')).toBe('5');
    // prom-client has no base64: a "/" in a value becomes %2F, a separator, so a clear 400.
    const slash = await new Pushgateway(agent.url, {}, registry).push({ jobName: 'x', groupings: { path: '/var' } }).catch((error: unknown) => error);
    expect(String(slash)).toMatch(/400/);
    await gateway.delete({ jobName: 'node-job', groupings: { instance: 'web 1' } });
    expect(await agent.metrics()).not.toContain('node_job_runs_total');
  });

  it('answers with the Pushgateway status codes and texts for curl pushes', async () => {
    expect(await send(agent, 'PUT', '/metrics/job/j1', 'some_metric{label="val1"} 42\n')).toEqual({ status: 200, body: '' });
    expect(await send(agent, 'PUT', '/metrics/job/j1', 'no_newline 5')).toEqual({
      status: 400,
      body: expect.stringMatching(/^text format parsing error in line 1: unexpected end of input stream/),
    });
    expect(await send(agent, 'POST', '/metrics/job/j1', 'ts_metric 1 1700000000000\n')).toEqual({
      status: 400,
      body: 'pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps\n',
    });
    expect((await send(agent, 'PUT', '/metrics/job/tc', '# TYPE from_textfile counter\nfrom_textfile 2\n')).status).toBe(400);
    expect(await send(agent, 'DELETE', '/metrics/job/never-pushed')).toEqual({ status: 202, body: '' });
    expect(await send(agent, 'PUT', '/metrics/job/gz', gzipSync('gz 1\n'), { 'Content-Encoding': 'gzip' })).toEqual({ status: 200, body: '' });
    expect(await send(agent, 'PUT', '/metrics/job/gz', 'gz 1\n', { 'Content-Encoding': 'gzip' })).toEqual({ status: 400, body: 'gzip: invalid header\n' });
  });

  it('never hangs a route after a bad base64 job (B2), and bounds bodies in size and time', async () => {
    expect((await send(agent, 'PUT', '/metrics/job@base64/!!', 'x 1\n')).status).toBe(400);
    expect(await send(agent, 'PUT', '/metrics/job@base64/Z29vZA', 'good 1\n')).toEqual({ status: 200, body: '' });
    expect((await send(agent, 'PUT', '/metrics/job/big', `big ${'1'.repeat(70_000)}\n`)).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(1_000_000, 0x20));
    expect((await send(agent, 'PUT', '/metrics/job/big', bomb, { 'Content-Encoding': 'gzip' })).status).toBe(413);
    // A client that announces a body and never sends it gets 408 once the time limit is up.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(agent.port, '127.0.0.1', () => socket.write('PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nslow 1'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 10_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(await send(agent, 'PUT', '/metrics/job/slow', 'slow 1\n')).toEqual({ status: 200, body: '' });
  });

  it('resolves HELP conflicts by the merge rule, the same on every scrape (B3)', async () => {
    expect((await send(agent, 'PUT', '/metrics/job/hca', '# HELP hc help one\n# TYPE hc gauge\nhc 1\n')).status).toBe(200);
    expect((await send(agent, 'PUT', '/metrics/job/hcb', '# HELP hc help two\n# TYPE hc gauge\nhc 2\n')).status).toBe(200);
    const helps = new Set<string>();
    for (let i = 0; i < 10; i++) helps.add(/^# HELP hc (.*)$/m.exec(await agent.metrics())?.[1] ?? 'none');
    // hca.<hash>.prom sorts before hcb.<hash>.prom: the first file by path wins.
    expect([...helps]).toEqual(['help one']);
  });

  it('keeps serving when a textfile written later conflicts with a pushed group', async () => {
    expect((await send(agent, 'PUT', '/metrics/job/later', '# TYPE later_family counter\nlater_family 1\n')).status).toBe(200);
    await writeFile(join(root, 'textfiles', 'zz-later.prom'), '# TYPE later_family gauge\nlater_family{source="file"} 5\n');
    await eventually(
      async () => {
        const response = await send(agent, 'GET', '/metrics');
        return (
          response.status === 200 &&
          response.body.includes('later_family_total') === false &&
          /promdrop_textfile_up\{file="[^"]*zz-later\.prom"\} 0|node_textfile_scrape_error 1/.test(response.body)
        );
      },
      10_000,
      'the later textfile to be flagged',
    );
    const metrics = await agent.metrics();
    expect(sampleValue(metrics, 'later_family{instance="",job="later"}')).toBe('1');
    expect(metrics).not.toContain('later_family{source="file"}');
  });

  it('counts rejected pushes by reason, lists groups in /api/v1/metrics and /api/v1/files, and wipes them', async () => {
    const metrics = await agent.metrics();
    expect(Number(sampleValue(metrics, 'promdrop_push_rejected_total{reason="timestamp"}'))).toBeGreaterThanOrEqual(1);
    expect(Number(sampleValue(metrics, 'promdrop_push_rejected_total{reason="too_large"}'))).toBeGreaterThanOrEqual(2);
    expect(Number(sampleValue(metrics, 'promdrop_push_rejected_total{reason="timeout"}'))).toBeGreaterThanOrEqual(1);
    const api = JSON.parse((await send(agent, 'GET', '/api/v1/metrics')).body) as { status: string; data: Record<string, unknown>[] };
    const j1 = api.data.find((group) => JSON.stringify(group['labels']) === '{"job":"j1"}')!;
    expect(j1).toMatchObject({
      last_push_successful: false,
      some_metric: { type: 'UNTYPED', metrics: [{ labels: { instance: '', job: 'j1', label: 'val1' }, value: '42' }] },
      push_time_seconds: { type: 'GAUGE' },
    });
    const files = JSON.parse((await send(agent, 'GET', '/api/v1/files')).body) as { data: { files: { path: string; state: string; served: boolean }[] } };
    const groupFiles = files.data.files.filter((file) => file.path.startsWith(pushDirectory));
    expect(groupFiles.length).toBeGreaterThan(5);
    expect(groupFiles.every((file) => file.served)).toBe(true);
    // The group whose HELP differs above gets a warning only (docs/agent.md): ok and served.
    expect(groupFiles.filter((file) => file.state !== 'ok')).toEqual([]);
    const warned = groupFiles
      .filter((file) => (file as { warnings?: number }).warnings! > 0)
      .map((file) => file.path.slice(pushDirectory.length + 1, pushDirectory.length + 5));
    expect(warned).toContain('hcb.');
    expect(await send(agent, 'PUT', '/api/v1/admin/wipe')).toEqual({ status: 202, body: '' });
    expect(await readdir(pushDirectory)).toEqual([]);
    expect(await agent.metrics()).not.toContain('push_time_seconds');
  });
});

describe.skipIf(python === undefined)('pushes from outside the allowed networks', () => {
  let root: string;
  let agent: Agent;
  beforeAll(async () => {
    root = await makeTempDir('promdrop-push-');
    agent = await startAgent([
      `--textfile.directory=${root}`,
      '--web.enable-push',
      `--push.directory=${join(root, 'push')}`,
      '--push.allowed-networks=10.0.0.0/8',
    ]);
  });
  afterAll(async () => {
    await agent?.stop();
    await removeDir(root);
  });

  it('are refused with 403, and without --web.enable-admin-api there is no wipe', async () => {
    expect(await send(agent, 'PUT', '/metrics/job/x', 'x 1\n')).toEqual({
      status: 403,
      body: 'pushing from 127.0.0.1 is not allowed (--push.allowed-networks)\n',
    });
    expect((await send(agent, 'PUT', '/api/v1/admin/wipe')).status).toBe(404);
    expect(await readdir(join(root, 'push'))).toEqual([]);
  });
});

describe.skipIf(python === undefined || prometheusBinary === undefined)('pushed values in a real Prometheus (honor_labels: true)', () => {
  let root: string;
  let agent: Agent;
  let prometheus: RunningProcess;

  beforeAll(async () => {
    root = await makeTempDir('promdrop-push-e2e-');
    agent = await startAgent([`--textfile.directory=${join(root, 'textfiles')}`, '--web.enable-push', `--push.directory=${join(root, 'push')}`]);
    const config = join(root, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: promdrop',
        '    honor_labels: true',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${agent.port}']`,
        '',
      ].join('\n'),
    );
    prometheus = await startProcess(
      prometheusBinary!,
      (port) => [`--config.file=${config}`, `--storage.tsdb.path=${join(root, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      async (url) => (await fetch(`${url}/-/ready`)).ok,
    );
  });
  afterAll(async () => {
    await prometheus?.stop();
    await agent?.stop();
    await removeDir(root);
  });

  it('shows the pushed job and instance labels, not the scrape target', async () => {
    await runPython(
      agent,
      [
        'r = CollectorRegistry()',
        "Gauge('batch_records', 'Records.', registry=r).set(1234)",
        "push_to_gateway(GATEWAY, job='nightly', registry=r, grouping_key={'instance': 'etl1'})",
      ].join('\n'),
    );
    let last = '';
    await eventually(
      async () => {
        const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('batch_records')}`);
        last = await response.text();
        const json = JSON.parse(last) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        const [sample] = json.data.result;
        return sample !== undefined && sample.metric['job'] === 'nightly' && sample.metric['instance'] === 'etl1' && sample.value[1] === '1234';
      },
      30_000,
      'batch_records{job="nightly",instance="etl1"} 1234 in Prometheus',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nlast: ${last}\n${prometheus.output().slice(-2000)}`);
    });
  });
});
