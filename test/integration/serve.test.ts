// `promdrop serve` as a user runs it: the built CLI, a real listening socket on 127.0.0.1, real
// temporary directories. What a scraper, a browser, curl and a service manager see.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram, runProgram } from '../helpers/peers.js';
import {
  IN_FLIGHT_FILE,
  eventually,
  makeTempDir,
  removeDir,
  runCli,
  sampleValue,
  scrapeAcrossSigterm,
  startAgent,
  writeAtomically,
  type Agent,
} from './serve-agent.js';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const GOOD =
  '# HELP backup_last_success_seconds Last successful backup.\n# TYPE backup_last_success_seconds gauge\nbackup_last_success_seconds{host="db1"} 1.7e+09\n';
const BROKEN = 'broken_metric{job="a" 1\n';

describe('promdrop serve: one directory with good, bad and odd files', () => {
  let dir: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = await makeTempDir();
    await writeFile(join(dir, 'backup.prom'), GOOD);
    await writeFile(join(dir, 'broken.prom'), BROKEN);
    await writeFile(join(dir, 'notes.txt'), 'not a textfile\n');
    await mkdir(join(dir, 'dir.prom'));
    await writeFile(join(dir, '<img src=x>.prom'), 'html_in_name 1\n');
    agent = await startAgent([`--textfile.directory=${dir}`]);
  });

  afterAll(async () => {
    await agent?.stop();
    await removeDir(dir);
  });

  it('serves the good file, leaves out the bad one and says why, with status 200', async () => {
    const response = await agent.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8; escaping=underscores');
    const body = response.body;
    expect(body).toContain(GOOD);
    expect(body).not.toContain('broken_metric');
    expect(sampleValue(body, 'node_textfile_scrape_error')).toBe('1');
    expect(sampleValue(body, `node_textfile_mtime_seconds{file="${join(dir, 'backup.prom')}"}`)).toMatch(/^\d\.\d+e\+09$/);
    expect(body).not.toContain(`node_textfile_mtime_seconds{file="${join(dir, 'broken.prom')}"}`);
    expect(sampleValue(body, `promdrop_textfile_error{file="${join(dir, 'broken.prom')}",reason="parse"}`)).toBe('1');
    expect(sampleValue(body, `promdrop_textfile_error{file="${join(dir, 'dir.prom')}",reason="not_regular"}`)).toBe('1');
    expect(sampleValue(body, `promdrop_textfile_up{file="${join(dir, 'backup.prom')}"}`)).toBe('1');
    expect(body).not.toContain('notes.txt');
  });

  it('starts with self metrics and build info', async () => {
    const body = await agent.metrics();
    expect(body).toMatch(/^promdrop_build_info\{version="[^"]+",node_version="v\d+/m);
    expect(body).toMatch(/^process_resident_memory_bytes /m);
    expect(body).toMatch(/^promdrop_files\{state="invalid"\} [1-9]/m);
    // Finished scrapes leave the in-flight gauge: only the one being answered counts.
    for (let i = 0; i < 5; i++) await agent.metrics();
    expect(sampleValue(await agent.metrics(), 'promdrop_scrapes_in_flight')).toBe('1');
  });

  it("serves OpenMetrics to Prometheus's Accept header, ending in exactly one # EOF", async () => {
    const response = await agent.get('/metrics', { accept: PROMETHEUS_ACCEPT });
    expect(response.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores');
    expect(response.body.endsWith('\n# EOF\n')).toBe(true);
    expect(response.body.match(/^# EOF$/gm)).toHaveLength(1);
    expect(response.body).toContain('backup_last_success_seconds{host="db1"} 1.7e+09');
  });

  it('gzips for scrapers that accept it, in a form curl --compressed reads whole', async () => {
    const plain = await agent.metrics({ accept: 'text/plain' });
    const raw = await fetch(`${agent.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    // fetch decodes gzip itself; check the decoded body starts with the same textfile content.
    const decoded = await raw.text();
    const textfiles = (body: string): string => body.slice(0, body.indexOf('# HELP node_scrape_collector_duration_seconds'));
    expect(textfiles(decoded)).toContain('# HELP backup_');
    expect(textfiles(decoded)).toBe(textfiles(plain));
    const curl = findProgram('curl');
    if (curl !== undefined) {
      for (const accept of ['text/plain', PROMETHEUS_ACCEPT]) {
        const result = await runProgram(curl, ['-sS', '--compressed', '-H', `Accept: ${accept}`, `${agent.url}/metrics`]);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('promdrop_build_info{');
        expect(result.stdout).toContain('backup_last_success_seconds{host="db1"}');
        expect(result.stdout).toContain('node_textfile_scrape_error');
      }
    }
    const compressed = await rawGet(agent.port, '/metrics', { 'Accept-Encoding': 'gzip' });
    expect(gunzipSync(compressed.body).toString()).toContain('backup_last_success_seconds{host="db1"}');
  });

  it('lists every file on the landing page, escaped, with the reason it is not served', async () => {
    const response = await agent.get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = response.body;
    expect(html).toContain('<a href="/metrics">');
    expect(html).toContain(join(dir, 'backup.prom'));
    expect(html).toContain(join(dir, 'broken.prom'));
    expect(html).toContain('unexpected end of label value');
    expect(html).toContain('not_regular');
    expect(html).not.toContain('<img src=x>');
    expect(html).toContain('&lt;img src=x&gt;.prom');
  });

  it('serves the same list as JSON', async () => {
    const response = await agent.get('/api/v1/files');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const json = JSON.parse(response.body) as {
      status: string;
      data: { files: Array<{ path: string; state: string; reason?: string; series: number; served: boolean }> };
    };
    expect(json.status).toBe('success');
    const byPath = new Map(json.data.files.map((file) => [file.path, file]));
    expect(byPath.get(join(dir, 'backup.prom'))).toMatchObject({ state: 'ok', served: true, series: 1 });
    expect(byPath.get(join(dir, 'broken.prom'))).toMatchObject({ state: 'invalid', served: false, reason: 'parse' });
    expect(byPath.has(join(dir, 'notes.txt'))).toBe(false);
  });

  it('answers health and readiness', async () => {
    expect(await agent.get('/-/healthy')).toMatchObject({ status: 200, body: 'OK' });
    expect(await agent.get('/-/ready')).toMatchObject({ status: 200, body: 'OK' });
  });

  it('shows a file renamed into place on the very next scrape, and drops a deleted one', async () => {
    await writeAtomically(dir, 'fresh.prom', 'fresh_value 42\n');
    expect(sampleValue(await agent.metrics(), 'fresh_value')).toBe('42');
    await writeAtomically(dir, 'fresh.prom', 'fresh_value 43\n');
    expect(sampleValue(await agent.metrics(), 'fresh_value')).toBe('43');
    await removeDir(join(dir, 'fresh.prom'));
    expect(await agent.metrics()).not.toContain('fresh_value');
  });

  it('logs one line at start and one per file state change, never one per scrape', async () => {
    const before = agent.output();
    expect(before.match(/msg="promdrop serving textfiles"/g)).toHaveLength(1);
    expect(before).toMatch(/level=info msg="promdrop serving textfiles" version=\S+ directories=\S+ listen_address=127\.0\.0\.1:\d+/);
    expect(before).toContain(`file=${join(dir, 'broken.prom')}`);
    for (let i = 0; i < 20; i++) await agent.metrics();
    await agent.get('/');
    await agent.get('/no-such-page');
    expect(agent.output()).toBe(before);
  });
});

describe('promdrop serve: flags', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    await writeFile(join(dir, 'a.prom'), GOOD);
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it.each([
    [['--textfile.max-age=soon'], /--textfile.max-age.*Prometheus duration/],
    [['--textfile.grace-period=-1s'], /--textfile.grace-period/],
    [['--web.listen-address=10049'], /use ":10049"/],
    [['--web.listen-address=::1:80'], /IPv6 address must be in brackets/],
    [['--web.telemetry-path=metrics'], /starting with "\/"/],
    [['--web.telemetry-path=/-/ready'], /already one of the agent's own endpoints/],
    [['--web.max-requests=-1'], /--web.max-requests/],
    [['--textfile.max-file-size=lots'], /size such as/],
    [['--log.level=trace'], /--log.level/],
    [['--log.format=xml'], /--log.format/],
  ])('refuses %s with exit status 2 and says why', async (args, message) => {
    const result = await runCli(['serve', `--textfile.directory=${dir}`, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    const first = await startAgent([`--textfile.directory=${dir}`]);
    try {
      const result = await runCli(['serve', `--textfile.directory=${dir}`, `--web.listen-address=127.0.0.1:${first.port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot listen.*EADDRINUSE|cannot listen.*in use/);
    } finally {
      await first.stop();
    }
  });

  it('listens on every --web.listen-address and serves a custom telemetry path', async () => {
    const agent = await startAgent([`--textfile.directory=${dir}`, '--web.listen-address=127.0.0.1:0', '--web.telemetry-path=/custom/metrics']);
    try {
      expect(agent.addresses).toHaveLength(2);
      for (const address of agent.addresses) {
        const response = await fetch(`http://${address}/custom/metrics`);
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('backup_last_success_seconds{host="db1"}');
      }
      expect(new Set(agent.addresses).size).toBe(2);
      expect((await agent.get('/metrics')).status).toBe(404);
      expect((await agent.get('/')).body).toContain('<a href="/custom/metrics">');
    } finally {
      await agent.stop();
    }
  });

  it('reads $PROMDROP_DIR when no directory flag is given, and the node_exporter flag name as an alias', async () => {
    const other = await makeTempDir();
    try {
      await writeFile(join(other, 'other.prom'), 'other_metric 7\n');
      const fromEnv = await startAgent([], { env: { PROMDROP_DIR: dir } });
      try {
        expect(await fromEnv.metrics()).toContain('backup_last_success_seconds');
      } finally {
        await fromEnv.stop();
      }
      const both = await startAgent([`--textfile.directory=${dir}`, `--collector.textfile.directory=${other}`]);
      try {
        const body = await both.metrics();
        expect(body).toContain('backup_last_success_seconds');
        expect(sampleValue(body, 'other_metric')).toBe('7');
      } finally {
        await both.stop();
      }
    } finally {
      await removeDir(other);
    }
  });

  it('with --web.disable-exporter-metrics serves no process metrics, and lets files use their names', async () => {
    const withProcess = await makeTempDir();
    try {
      await writeFile(join(withProcess, 'app.prom'), '# TYPE process_open_fds gauge\nprocess_open_fds 12\n');
      const strict = await startAgent([`--textfile.directory=${withProcess}`]);
      try {
        const body = await strict.metrics();
        // Two process_open_fds families would break the exposition: the file is refused instead.
        expect(body.match(/^# TYPE process_open_fds /gm)).toHaveLength(1);
        expect(sampleValue(body, `promdrop_textfile_error{file="${join(withProcess, 'app.prom')}",reason="reserved_metric"}`)).toBe('1');
      } finally {
        await strict.stop();
      }
      const quiet = await startAgent([`--textfile.directory=${withProcess}`, '--web.disable-exporter-metrics']);
      try {
        const body = await quiet.metrics();
        expect(sampleValue(body, 'process_open_fds')).toBe('12');
        expect(body).not.toMatch(/^(nodejs_|promdrop_scrapes)/m);
        expect(body).toMatch(/^promdrop_build_info\{/m);
      } finally {
        await quiet.stop();
      }
    } finally {
      await removeDir(withProcess);
    }
  });

  it('writes JSON log lines with --log.format=json', async () => {
    const agent = await startAgent([`--textfile.directory=${dir}`, '--log.format=json']);
    try {
      const lines = agent.output().trim().split('\n');
      for (const line of lines) {
        const record = JSON.parse(line) as Record<string, unknown>;
        expect(typeof record['ts']).toBe('string');
        expect(typeof record['level']).toBe('string');
      }
      expect(lines.some((line) => line.includes('"msg":"promdrop serving textfiles"'))).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});

describe('promdrop serve: signals', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    await writeFile(join(dir, 'a.prom'), GOOD);
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('exits 0 on SIGTERM and on SIGINT, well within 5 s', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const agent = await startAgent([`--textfile.directory=${dir}`]);
      await agent.metrics();
      const exit = await agent.terminate(signal);
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(5_000);
      expect(agent.output()).toContain('msg="shutting down"');
    }
  });

  it('rescans on SIGHUP and keeps serving', async () => {
    const agent = await startAgent([`--textfile.directory=${dir}`]);
    try {
      agent.child.kill('SIGHUP');
      await eventually(async () => agent.output().includes('SIGHUP'), 5_000, 'the SIGHUP log line');
      expect(await agent.metrics()).toContain('backup_last_success_seconds');
      expect(agent.child.exitCode).toBeNull();
    } finally {
      await agent.stop();
    }
  });

  it('finishes a scrape in flight before exiting on SIGTERM', async () => {
    const big = await makeTempDir();
    try {
      await writeFile(join(big, 'big.prom'), IN_FLIGHT_FILE.content());
      const agent = await startAgent([`--textfile.directory=${big}`, '--web.disable-exporter-metrics']);
      const socket = connect(agent.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const { response, complete, exit } = await scrapeAcrossSigterm(agent, socket);
      expect(response.startsWith('HTTP/1.1 200 OK')).toBe(true);
      expect(response).toContain(IN_FLIGHT_FILE.lastSeries);
      expect(complete).toBe(true);
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(5_000);
    } finally {
      await removeDir(big);
    }
  });
});

describe('promdrop serve: symlinks', () => {
  it('follows a symlink to a file elsewhere and reports a dangling one', async () => {
    const dir = await makeTempDir();
    const elsewhere = await makeTempDir();
    try {
      await writeFile(join(elsewhere, 'target.prom'), 'linked_metric 5\n');
      await symlink(join(elsewhere, 'target.prom'), join(dir, 'link.prom'));
      await symlink(join(elsewhere, 'missing.prom'), join(dir, 'dangling.prom'));
      const agent = await startAgent([`--textfile.directory=${dir}`]);
      try {
        const body = await agent.metrics();
        expect(sampleValue(body, 'linked_metric')).toBe('5');
        expect(body).toContain(`node_textfile_mtime_seconds{file="${join(dir, 'link.prom')}"}`);
        expect(sampleValue(body, `promdrop_textfile_up{file="${join(dir, 'dangling.prom')}"}`)).toBe('0');
        expect(sampleValue(body, 'node_textfile_scrape_error')).toBe('1');
      } finally {
        await agent.stop();
      }
    } finally {
      await removeDir(dir);
      await removeDir(elsewhere);
    }
  });
});

/** A GET over a plain socket, returning the undecoded body (fetch would gunzip it). */
async function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ head: string; body: Buffer }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
  await new Promise((resolve) => socket.once('close', resolve));
  const all = Buffer.concat(chunks);
  const split = all.indexOf('\r\n\r\n');
  return { head: all.subarray(0, split).toString(), body: all.subarray(split + 4) };
}
