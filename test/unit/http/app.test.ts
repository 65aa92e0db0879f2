// The HTTP layer over a stand-in store: what a scraper, a browser and a script see. Requests
// go through fastify's inject (no socket); the real store is exercised by the integration tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync, gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SelfMetricsSource } from '../../../src/http/metrics-route.js';
import type { DeflatedBody } from '../../../src/http/snapshot-source.js';
import { SelfMetrics } from '../../../src/program/self-metrics.js';
import type { FileReport, Snapshot } from '../../../src/agent/store.js';
import { findJob, readJobDetails, readJobReports } from '../../../src/job/job-reports.js';
import { buildHttpApp, type HttpAppOptions } from '../../../src/http/app.js';
import { renderLandingPage } from '../../../src/http/landing-page.js';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from '../../../src/http/negotiate.js';
import type { SnapshotSource } from '../../../src/http/snapshot-source.js';

const JOBS_READER = { reports: readJobReports, details: readJobDetails, find: findJob };

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const TEXT_BODY = '# HELP job_last_success_seconds Last success.\n# TYPE job_last_success_seconds gauge\njob_last_success_seconds{job="backup"} 1.7e+09\n';
const OPENMETRICS_BODY =
  '# HELP job_last_success_seconds Last success.\n# TYPE job_last_success_seconds gauge\njob_last_success_seconds{job="backup"} 1.7e+09\n# EOF\n';

interface FakeSnapshot extends Snapshot {
  readonly gzipCalls: string[];
}

function fakeSnapshot(files: FileReport[] = [], generation = 1): FakeSnapshot {
  const gzipCalls: string[] = [];
  const deflate = (body: string): DeflatedBody => ({
    deflated: deflateRawSync(body, { finishFlush: constants.Z_SYNC_FLUSH }),
    crc: crc32(body),
    length: Buffer.byteLength(body),
  });
  const cached = { text: deflate(TEXT_BODY), openmetrics: deflate(OPENMETRICS_BODY.slice(0, -'# EOF\n'.length)) };
  return {
    generation,
    body: (format) => [Buffer.from(format === 'text' ? TEXT_BODY : OPENMETRICS_BODY)],
    text: Buffer.from(TEXT_BODY),
    openMetrics: () => Buffer.from(OPENMETRICS_BODY),
    deflated: async (format) => {
      gzipCalls.push(format);
      return cached[format];
    },
    files,
    directories: [],
    builtAtMs: 0,
    gzipCalls,
  };
}

function source(snapshot: Snapshot, ready = true): SnapshotSource {
  return { isReady: () => ready, snapshot: async () => snapshot };
}

function app(overrides: Partial<HttpAppOptions> & Pick<HttpAppOptions, 'source'>) {
  return buildHttpApp({
    jobs: JOBS_READER,
    selfMetrics: new SelfMetrics({ version: '1.2.3', exporterMetrics: false }),
    telemetryPath: '/metrics',
    maxRequests: 40,
    version: '1.2.3',
    directories: ['/var/lib/promdrop'],
    now: () => 1_800_000_000_000,
    ...overrides,
  });
}

describe('/metrics', () => {
  it('serves text 0.0.4 by default: the snapshot byte for byte first, then the collector gauges and self metrics', async () => {
    const response = await app({ source: source(fakeSnapshot()) }).inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(`${TEXT_CONTENT_TYPE}; escaping=underscores`);
    expect(response.body.startsWith(TEXT_BODY)).toBe(true);
    expect(response.body.slice(TEXT_BODY.length)).toMatch(
      /^# HELP node_scrape_collector_duration_seconds node_exporter: Duration of a collector scrape\.\n# TYPE node_scrape_collector_duration_seconds gauge\nnode_scrape_collector_duration_seconds\{collector="textfile"\} \d[\d.e+-]*\n# HELP node_scrape_collector_success node_exporter: Whether a collector succeeded\.\n# TYPE node_scrape_collector_success gauge\nnode_scrape_collector_success\{collector="textfile"\} 1\n# HELP promdrop_build_info /,
    );
    expect(response.body).toContain('promdrop_build_info{version="1.2.3",');
    expect(Number(response.headers['content-length'])).toBe(response.rawPayload.length);
  });

  it('with exporter metrics: promdrop_* then process_* and nodejs_*, all after the textfiles, and no blank lines', async () => {
    const server = app({ source: source(fakeSnapshot()), selfMetrics: new SelfMetrics({ version: '1.2.3', exporterMetrics: true }) });
    const body = (await server.inject({ url: '/metrics' })).body;
    expect(body.startsWith(TEXT_BODY)).toBe(true);
    expect(body).not.toContain('\n\n');
    const firstOf = (prefix: string): number => body.search(new RegExp(`^# HELP ${prefix}`, 'm'));
    expect(firstOf('node_scrape_collector_')).toBeGreaterThan(0);
    expect(firstOf('promdrop_')).toBeGreaterThan(firstOf('node_scrape_collector_'));
    expect(firstOf('process_')).toBeGreaterThan(firstOf('promdrop_'));
    expect(firstOf('nodejs_')).toBeGreaterThan(firstOf('promdrop_'));
  });

  it("serves OpenMetrics to Prometheus's Accept header, with exactly one # EOF, at the end", async () => {
    const response = await app({ source: source(fakeSnapshot()) }).inject({ url: '/metrics', headers: { accept: PROMETHEUS_ACCEPT } });
    expect(response.headers['content-type']).toBe(`${OPENMETRICS_CONTENT_TYPE}; escaping=underscores`);
    expect(response.body.match(/^# EOF$/gm)).toHaveLength(1);
    expect(response.body.startsWith(OPENMETRICS_BODY.slice(0, -'# EOF\n'.length))).toBe(true);
    expect(response.body.endsWith('# EOF\n')).toBe(true);
    expect(response.body).toContain('# TYPE promdrop_build_info gauge\n');
    expect(response.body).toContain('node_scrape_collector_success{collector="textfile"} 1\n');
  });

  it("answers gzip as one member that reuses the snapshot's compressed body", async () => {
    const snapshot = fakeSnapshot();
    const server = app({ source: source(snapshot) });
    for (const [accept, format, body] of [
      ['text/plain', 'text', TEXT_BODY],
      [PROMETHEUS_ACCEPT, 'openmetrics', OPENMETRICS_BODY],
    ] as const) {
      const response = await server.inject({ url: '/metrics', headers: { accept, 'accept-encoding': 'gzip' } });
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.headers['vary']).toBe('Accept, Accept-Encoding');
      const raw = response.rawPayload;
      const plain = gunzipSync(raw).toString('utf8');
      expect(plain.startsWith(body.replace(/# EOF\n$/, ''))).toBe(true);
      expect(plain).toContain('promdrop_build_info{');
      // One DEFLATE stream between header and trailer: readers that stop after the first gzip
      // member (curl --compressed) still see everything.
      expect(inflateRawSync(raw.subarray(10, raw.length - 8)).toString('utf8')).toBe(plain);
      // The snapshot's compressed body went out as it was, not compressed again.
      const cached = await snapshot.deflated(format);
      expect(raw.includes(cached.deflated)).toBe(true);
    }
  });

  it('does not compress when gzip is refused', async () => {
    const response = await app({ source: source(fakeSnapshot()) }).inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip;q=0, identity' } });
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.body.startsWith(TEXT_BODY)).toBe(true);
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await app({ source: source(fakeSnapshot()) }).inject({ method: 'HEAD', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(`${TEXT_CONTENT_TYPE}; escaping=underscores`);
    expect(response.rawPayload.length).toBe(0);
  });

  it('answers 503 beyond --web.max-requests scrapes in flight, and serves again once they finish', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const snapshot = fakeSnapshot();
    const slow: SnapshotSource = { isReady: () => true, snapshot: async () => (await gate, snapshot) };
    const server = app({ source: slow, maxRequests: 2 });
    const first = server.inject({ url: '/metrics' });
    const second = server.inject({ url: '/metrics' });
    // Let both reach the snapshot wait before the third arrives.
    await new Promise((resolve) => setImmediate(resolve));
    const third = await server.inject({ url: '/metrics' });
    expect(third.statusCode).toBe(503);
    expect(third.body).toBe('Limit of concurrent requests reached (2), try again later.\n');
    release();
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
    expect((await server.inject({ url: '/metrics' })).statusCode).toBe(200);
  });

  it('counts scrapes and files by state in the self metrics, in text and OpenMetrics', async () => {
    const files: FileReport[] = [
      { path: '/d/a.prom', state: 'ok', served: true, series: 3, warnings: 0 },
      { path: '/d/b.prom', state: 'invalid', served: false, reason: 'parse', message: '/d/b.prom:1:5: bad', series: 0, warnings: 0 },
      { path: '/d/c.prom', state: 'stale_grace', served: true, reason: 'parse', series: 4, warnings: 0 },
    ];
    const server = app({ source: source(fakeSnapshot(files, 7)), selfMetrics: new SelfMetrics({ version: 'x', exporterMetrics: true }) });
    await server.inject({ url: '/metrics' });
    const text = (await server.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/^promdrop_scrapes_total\{format="text",encoding="identity"\} 1$/m);
    expect(text).toMatch(/^promdrop_files\{state="ok"\} 1$/m);
    expect(text).toMatch(/^promdrop_files\{state="invalid"\} 1$/m);
    expect(text).toMatch(/^promdrop_files\{state="expired"\} 0$/m);
    expect(text).toMatch(/^promdrop_served_series 7$/m);
    expect(text).toMatch(/^promdrop_snapshot_generation 7$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    const openMetrics = (await server.inject({ url: '/metrics', headers: { accept: PROMETHEUS_ACCEPT } })).body;
    expect(openMetrics).toContain('# TYPE promdrop_scrapes counter\n');
    expect(openMetrics).toMatch(/^promdrop_scrapes_total\{format="text",encoding="identity"\} 2(\.0)?$/m);
    expect(openMetrics.match(/^# EOF$/gm)).toHaveLength(1);
    expect(openMetrics.startsWith(OPENMETRICS_BODY.slice(0, -'# EOF\n'.length))).toBe(true);
    expect(openMetrics.endsWith('# EOF\n')).toBe(true);
  });

  it('reports the event-loop delay without the 100 ms sampling interval: about 0 on a free loop', async () => {
    const server = app({ source: source(fakeSnapshot()), selfMetrics: new SelfMetrics({ version: 'x', exporterMetrics: true }) });
    // A few samples of the histogram (one per 100 ms) with the loop free.
    await new Promise((resolve) => setTimeout(resolve, 450));
    const text = (await server.inject({ url: '/metrics' })).body;
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    // Node's histogram counts the timer's interval in every delay: the smallest one read 0.099 s.
    expect(value('nodejs_eventloop_lag_min_seconds')).toBeLessThan(0.05);
    expect(value('nodejs_eventloop_lag_min_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(value('nodejs_eventloop_lag_min_seconds'));
  });

  it('leaves out process and scrape metrics with exporter metrics disabled, keeping build info', async () => {
    const body = (await app({ source: source(fakeSnapshot()) }).inject({ url: '/metrics' })).body;
    expect(body).toContain('promdrop_build_info{');
    expect(body).not.toMatch(/^(process_|nodejs_|promdrop_scrapes)/m);
  });

  it('serves metrics at / when the telemetry path is /, without a landing page', async () => {
    const response = await app({ source: source(fakeSnapshot()), telemetryPath: '/' }).inject({ url: '/' });
    expect(response.headers['content-type']).toBe(`${TEXT_CONTENT_TYPE}; escaping=underscores`);
    expect(response.body.startsWith(TEXT_BODY)).toBe(true);
  });

  describe("node_exporter's collect[] and exclude[] filter (a scrape config copied from a node_exporter job)", () => {
    it('collect[]=textfile serves everything, as without the filter', async () => {
      const server = app({ source: source(fakeSnapshot()) });
      const plain = await server.inject({ url: '/metrics' });
      const filtered = await server.inject({ url: '/metrics?collect[]=textfile' });
      expect(filtered.statusCode).toBe(200);
      // The same but for the time the collector took, which differs from scrape to scrape.
      const withoutDuration = (body: string): string => body.replace(/^(node_scrape_collector_duration_seconds\S*) .*$/m, '$1');
      expect(withoutDuration(filtered.body)).toBe(withoutDuration(plain.body));
    });

    it("refuses a collector promdrop does not have with 400 and node_exporter's message", async () => {
      const response = await app({ source: source(fakeSnapshot()) }).inject({ url: '/metrics?collect[]=textfile&collect[]=cpu' });
      expect(response.statusCode).toBe(400);
      expect(response.body).toBe("Couldn't create filtered metrics handler: couldn't create collector: missing collector: cpu\n");
    });

    it("exclude[]=textfile serves only the agent's own metrics, in either format and with gzip", async () => {
      const server = app({ source: source(fakeSnapshot()) });
      const text = await server.inject({ url: '/metrics?exclude[]=textfile' });
      expect(text.statusCode).toBe(200);
      expect(text.body).toContain('promdrop_build_info{');
      expect(text.body).not.toContain('job_last_success_seconds');
      expect(text.body).not.toContain('node_scrape_collector_');
      const openMetrics = await server.inject({ url: '/metrics?exclude[]=textfile', headers: { accept: PROMETHEUS_ACCEPT, 'accept-encoding': 'gzip' } });
      const body = gunzipSync(openMetrics.rawPayload).toString();
      expect(body).toContain('promdrop_build_info{');
      expect(body).not.toContain('job_last_success_seconds');
      expect(body.endsWith('# EOF\n')).toBe(true);
      expect(body.match(/^# EOF$/gm)).toHaveLength(1);
    });

    it('refuses collect[] and exclude[] together, as node_exporter does', async () => {
      const response = await app({ source: source(fakeSnapshot()) }).inject({ url: '/metrics?collect[]=textfile&exclude[]=textfile' });
      expect(response.statusCode).toBe(400);
      expect(response.body).toBe('Combined collect and exclude queries are not allowed.\n');
    });
  });
});

describe('landing page and file API', () => {
  const files: FileReport[] = [
    {
      path: '/d/good.prom',
      state: 'ok',
      served: true,
      mtimeMs: 1_800_000_000_000 - 90_000,
      sizeBytes: 120,
      series: 2,
      ttlMs: 3_600_000,
      expiresAtMs: 1_800_000_000_000 + 3_510_000,
      warnings: 1,
    },
    {
      path: '/d/<script>alert(1)</script>.prom',
      state: 'invalid',
      served: false,
      reason: 'parse',
      message: '/d/<script>.prom:1:9: unexpected end of label value "<b>"',
      series: 0,
      warnings: 0,
    },
  ];

  it('lists every file with state, age, series, TTL and error, escaped', async () => {
    const response = await app({ source: source(fakeSnapshot(files)) }).inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = response.body;
    expect(html).toContain('<a href="/metrics">');
    expect(html).toContain('1.2.3');
    expect(html).toContain('/d/good.prom');
    expect(html).toContain('>1m30s<');
    expect(html).toContain('>1h<');
    expect(html).toContain('in 58m30s');
    // The page's own refresh script is the only one.
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>');
    expect(html).toContain('/d/&lt;script&gt;alert(1)&lt;/script&gt;.prom');
    expect(html).toContain('unexpected end of label value &quot;&lt;b&gt;&quot;');
    expect(html).toContain('2 files, 1 served, 1 with a problem');
  });

  it('names a directory that cannot be read, and the glob it came from', async () => {
    const snapshot: Snapshot = {
      ...fakeSnapshot(),
      directories: [
        { path: '/srv/a/metrics', pattern: '/srv/*/metrics', ok: true },
        { path: '/srv/b/metrics', pattern: '/srv/*/metrics', ok: false, message: 'EACCES: permission denied, scandir' },
      ],
    };
    const html = (await app({ source: source(snapshot) }).inject({ url: '/' })).body;
    expect(html).toContain('<code>/srv/a/metrics</code> (from <code>/srv/*/metrics</code>)</li>');
    expect(html).toMatch(/\/srv\/b\/metrics.*cannot be read.*EACCES: permission denied/);
  });

  it('says the agent is starting instead of waiting for the first scan', async () => {
    const pending: SnapshotSource = { isReady: () => false, snapshot: () => new Promise(() => {}) };
    const response = await app({ source: pending }).inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('first scan');
  });

  it('serves the same files as JSON', async () => {
    const response = await app({ source: source(fakeSnapshot(files, 4)) }).inject({ url: '/api/v1/files' });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json()).toEqual({ status: 'success', data: { generation: 4, files, directories: [] } });
  });
});

describe('landing page: jobs, pushed groups, problems first', () => {
  it('escapes a job name and its output, shows problems first by directory, and filters them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promdrop-page-'));
    try {
      const name = '<img src=x onerror=alert(1)>';
      writeFileSync(
        join(dir, `${name}.job.json`),
        JSON.stringify({
          version: 1,
          name,
          runs: [{ start: 1_799_999_000, end: 1_799_999_001, durationSeconds: 1, exitCode: 3, result: 'failure', output: '<script>steal()</script>\n' }],
        }),
      );
      const snapshot: Snapshot = {
        ...fakeSnapshot([
          { path: `${dir}/good.prom`, state: 'ok', served: true, series: 1, warnings: 0 },
          {
            path: `${dir}/bad.prom`,
            state: 'invalid',
            served: false,
            reason: 'parse',
            message: `${dir}/bad.prom:3:1: unexpected end of input`,
            series: 0,
            warnings: 0,
          },
        ]),
        directories: [{ path: dir, pattern: dir, ok: true }],
      };
      const html = (await app({ source: source(snapshot) }).inject({ url: '/' })).body;
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<script>steal');
      expect(html).toContain('&lt;script&gt;steal()&lt;/script&gt;');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
      // Jobs before files; in the files, the bad one first, named relative to its directory,
      // its error without the path repeated.
      expect(html.indexOf('id="jobs"')).toBeLessThan(html.indexOf('id="files"'));
      expect(html.indexOf('>bad.prom<')).toBeLessThan(html.indexOf('>good.prom<'));
      expect(html).toContain('bad.prom:3:1: unexpected end of input');
      expect(html).not.toContain(`${dir}/bad.prom:3:1`);
      const problems = (await app({ source: source(snapshot) }).inject({ url: '/?state=problems' })).body;
      expect(problems).toContain('>bad.prom<');
      expect(problems).not.toContain('>good.prom<');
      // One state: only files in it; the links name each state present with its count.
      const okOnly = (await app({ source: source(snapshot) }).inject({ url: '/?state=ok' })).body;
      expect(okOnly).toContain('>good.prom<');
      expect(okOnly).not.toContain('>bad.prom<');
      expect(okOnly).toContain('<strong>ok (1)</strong>');
      expect(okOnly).toContain('<a href="?state=invalid">invalid (1)</a>');
      // An unknown state is not echoed: everything is shown.
      const unknown = (await app({ source: source(snapshot) }).inject({ url: '/?state=%3Cscript%3E' })).body;
      expect(unknown).toContain('>good.prom<');
      expect(unknown).toContain('>bad.prom<');
      expect(unknown).toContain('<strong>All (');
      expect(unknown).not.toContain('script&gt; (0)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows pushed groups by their grouping labels, not as files of the push directory', async () => {
    const snapshot: Snapshot = {
      ...fakeSnapshot([{ path: '/push/job.f95773aa.prom', state: 'ok', served: true, series: 1, warnings: 0 }]),
      directories: [{ path: '/push', pattern: '/push', ok: true }],
    };
    const group = {
      labels: [
        ['job', 'backup'],
        ['instance', 'db1'],
      ] as const,
      pushTimeMs: 1_800_000_000_000 - 60_000,
      failureTimeMs: 1_800_000_000_000 - 30_000,
      expiresAtMs: 1_800_000_000_000 + 3_600_000,
      ttlMs: 3_660_000,
    };
    const context = { version: '1', telemetryPath: '/metrics', directories: ['/push'], ready: true, nowMs: 1_800_000_000_000, pushDirectory: '/push' };
    const html = renderLandingPage(context, snapshot, [], [group]);
    expect(html).toMatch(
      /<code>job="backup"<\/code> <code>instance="db1"<\/code><\/td><td[^>]*>1m ago<\/td><td[^>]*><span class="state state-invalid">30s ago<\/span><\/td><td[^>]*>1h1m<\/td><td[^>]*>in 1h<\/td>/,
    );
    expect(html).not.toContain('job.f95773aa.prom');
  });
});

describe('health', () => {
  it('is healthy at once and ready only after the first scan', async () => {
    let ready = false;
    const server = app({ source: { isReady: () => ready, snapshot: async () => fakeSnapshot() } });
    expect((await server.inject({ url: '/-/healthy' })).body).toBe('OK');
    expect((await server.inject({ url: '/-/ready' })).statusCode).toBe(503);
    ready = true;
    const response = await server.inject({ url: '/-/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('OK');
  });
});

describe('self metrics', () => {
  it('reserves every name it can emit, histogram samples included', () => {
    const names = new SelfMetrics({ version: 'x', exporterMetrics: true }).reservedNames();
    for (const name of ['promdrop_build_info', 'process_cpu_seconds_total', 'nodejs_gc_duration_seconds_bucket', 'promdrop_scrape_duration_seconds_count']) {
      expect(names.has(name)).toBe(true);
    }
  });

  it('renders per scrape: the scrape counter moves between two renders', async () => {
    const metrics: SelfMetricsSource = new SelfMetrics({ version: 'x', exporterMetrics: true });
    const snapshot = fakeSnapshot();
    const before = (await metrics.render('text', snapshot)).toString();
    metrics.scrapeStarted();
    metrics.scrapeFinished('openmetrics', true, 0.002);
    const after = (await metrics.render('text', snapshot)).toString();
    expect(before).toMatch(/^promdrop_scrapes_total\{format="openmetrics",encoding="gzip"\} 0$/m);
    expect(after).toMatch(/^promdrop_scrapes_total\{format="openmetrics",encoding="gzip"\} 1$/m);
    expect(after).toMatch(/^promdrop_scrape_duration_seconds_count 1$/m);
  });
});
