// Malformed and hostile HTTP requests to every route, sent over raw sockets (fetch would refuse
// to send most of them): each gets a clean answer (200 where the request is acceptable, else a
// 4xx) or a connection closed by the server, never a crash or a 5xx, and the agent still serves
// afterwards. The push API is on, so that its routes, which read bodies, face the same.
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, sampleValue, startAgent, type Agent } from './serve-agent.js';

const ROUTES = ['/metrics', '/', '/api/v1/files', '/-/healthy', '/-/ready', '/no-such-route'];

let dir: string;
let agent: Agent;

beforeAll(async () => {
  dir = await makeTempDir('promdrop-hostile-');
  await writeFile(join(dir, 'a.prom'), 'hostile_probe 1\n');
  agent = await startAgent([`--textfile.directory=${dir}`, '--web.enable-push', `--push.directory=${dir}-push`]);
});

afterAll(async () => {
  await agent?.stop();
  await removeDir(dir);
  await removeDir(`${dir}-push`);
});

interface RawAnswer {
  /** The status of the first response, or undefined when the server closed without one. */
  readonly status: number | undefined;
  readonly head: string;
  readonly closedByServer: boolean;
}

/**
 * Sends `request` (string or bytes, written in one go, or in `chunks` with `gapMs` between them)
 * and collects what comes back until the server closes or `timeoutMs` passes (then the client
 * closes, and closedByServer is false).
 */
function raw(request: string | Buffer | readonly (string | Buffer)[], timeoutMs = 10_000, gapMs = 0): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(agent.port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(received).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match === null ? undefined : Number(match[1]), head: text.slice(0, 300), closedByServer });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server resetting a connection it refused is an acceptable close.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(true);
      else if (!settled) reject(error);
    });
    const writeParts = async (): Promise<void> => {
      const parts = Array.isArray(request) ? request : [request];
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    };
    socket.once('connect', () => void writeParts());
  });
}

/** A clean outcome: an acceptable request may get 200, anything else a 4xx or a close. */
function expectClean(answer: RawAnswer, allowed: readonly number[] = [200]): void {
  if (answer.status === undefined) {
    expect(answer.closedByServer).toBe(true);
    return;
  }
  expect(
    answer.status >= 400 && answer.status < 500
      ? answer.status
      : allowed.includes(answer.status)
        ? answer.status
        : `unexpected ${answer.status}: ${answer.head}`,
  ).toBe(answer.status);
}

async function stillServes(): Promise<void> {
  const response = await agent.get('/metrics');
  expect(response.status).toBe(200);
  expect(sampleValue(response.body, 'hostile_probe')).toBe('1');
  expect(agent.child.exitCode).toBeNull();
}

const request = (line: string, headers: readonly string[] = []): string =>
  `${line}\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`;

describe('malformed requests to every route', () => {
  it.each(ROUTES)('%s: bad methods get 404/405, never 5xx', async (route) => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'FOO', 'PROPFIND']) {
      const answer = await raw(request(`${method} ${route} HTTP/1.1`, ['Content-Length: 0']));
      expectClean(answer);
      expect(answer.status === undefined || answer.status >= 400).toBe(true);
    }
    // HEAD and OPTIONS are acceptable methods for a GET route.
    expectClean(await raw(request(`HEAD ${route} HTTP/1.1`)));
    expectClean(await raw(request(`OPTIONS ${route} HTTP/1.1`)));
    await stillServes();
  });

  it.each(ROUTES)('%s: bad Accept and Accept-Encoding values are answered, never 5xx', async (route) => {
    for (const accept of [
      ';;;;,,,q=',
      '*/*;q=0',
      'application/openmetrics-text;version=9.9.9;q=abc',
      'text/plain;version=0.0.4;q=-1, application/openmetrics-text;q=NaN',
      `${'text/plain;q=0.5,'.repeat(800)}x`,
      '\u00ff\u00fe/\u00e9',
      '"',
    ]) {
      expectClean(await raw(request(`GET ${route} HTTP/1.1`, [`Accept: ${accept}`])), [200, 404]);
    }
    for (const encoding of ['gzip;q=abc, *;q=-1', 'identity;q=0, *;q=0', `${'br,'.repeat(2000)}gzip`, 'gzip;;;;q']) {
      expectClean(await raw(request(`GET ${route} HTTP/1.1`, [`Accept-Encoding: ${encoding}`])), [200, 404]);
    }
    await stillServes();
  });

  it.each(ROUTES)('%s: oversized headers get 431', async (route) => {
    const answer = await raw(request(`GET ${route} HTTP/1.1`, [`X-Padding: ${'a'.repeat(64 * 1024)}`]));
    expectClean(answer);
    if (answer.status !== undefined) expect(answer.status).toBe(431);
    const many = await raw(
      request(
        `GET ${route} HTTP/1.1`,
        Array.from({ length: 3_000 }, (_, i) => `X-H${i}: v`),
      ),
    );
    expectClean(many);
    expect(many.status === undefined || many.status === 431).toBe(true);
    await stillServes();
  });

  it('invalid paths and percent-encodings get a 4xx', async () => {
    for (const target of [
      '/%',
      '/%zz',
      '/metrics%00',
      '/%E0%A4%A',
      '/%C0%AF',
      '//metrics/../../etc/passwd',
      '/..%2f..%2fetc%2fpasswd',
      '/api/v1/files?x=%zz&&&=',
      '/metrics?%',
      '*',
      `/${'a'.repeat(100_000)}`,
      '/\u00ff',
    ]) {
      const answer = await raw(Buffer.from(request(`GET ${target} HTTP/1.1`), 'latin1'));
      expectClean(answer, [200]);
      // A query string is ignored; `*` (asterisk-form) is routed as `/` by fastify: harmless.
      if (answer.status === 200) expect(target).toMatch(/^\/metrics\?|^\/api\/v1\/files\?|^\*$/);
    }
    await stillServes();
  });

  it('broken request lines, versions and framing are refused or closed', async () => {
    for (const bad of [
      'GARBAGE\r\n\r\n',
      'GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /metrics\r\n\r\n',
      'GET  /metrics  HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /metrics HTTP/1.1\r\nHo st: x\r\n\r\n',
      'GET /metrics HTTP/1.1\nHost: x\n\n',
      '\x00\x01\x02\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
    ]) {
      expectClean(await raw(Buffer.from(bad, 'latin1'), 5_000), [200]);
    }
    await stillServes();
  });

  it('a huge body is refused or cut off, without the agent reading a gigabyte', async () => {
    for (const route of ['/metrics', '/api/v1/files', '/no-such-route']) {
      const head = `POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\n`;
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      const answer = await raw([head, ...Array.from({ length: 16 }, () => chunk)], 10_000);
      expectClean(answer);
      expect(answer.status === undefined || answer.status >= 400).toBe(true);
    }
    const rss = Number(sampleValue((await agent.get('/metrics')).body, 'process_resident_memory_bytes'));
    expect(rss).toBeLessThan(512 * 1024 * 1024);
    await stillServes();
  });
});

describe('hostile pushes (push API on)', () => {
  const put = (path: string, headers: readonly string[], body: string | Buffer): (string | Buffer)[] => [
    `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    body,
  ];

  async function noGroupStored(): Promise<void> {
    const groups = JSON.parse((await agent.get('/api/v1/metrics')).body) as { data: unknown[] };
    expect(groups.data).toEqual([]);
  }

  it('bad grouping paths, bodies and encodings get a 4xx and store nothing', async () => {
    const answers = [
      await raw(put('/metrics/job/', [], 'm 1\n')),
      await raw(put('/metrics/job/x/dangling_label', [], 'm 1\n')),
      await raw(put('/metrics/job@base64/!!!', [], 'm 1\n')),
      await raw(put('/metrics/job/x/%zz/1', [], 'm 1\n')),
      await raw(put('/metrics/job/x', [], Buffer.from([0xff, 0x00, 0x80, 0x0a]))),
      await raw(put('/metrics/job/x', [], 'm 1')),
      await raw(
        put(
          '/metrics/job/x',
          ['Content-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'],
          Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        ),
      ),
      await raw(put('/metrics/job/x', ['Content-Encoding: gzip'], 'not gzip at all\n')),
    ];
    for (const answer of answers) {
      expectClean(answer, []);
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
    await noGroupStored();
    await stillServes();
  });

  it('a huge push body is refused before it is read whole', async () => {
    const head = `PUT /metrics/job/huge HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n`;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const answer = await raw([head, ...Array.from({ length: 24 }, () => chunk)], 10_000);
    expectClean(answer, []);
    expect(answer.status === undefined || answer.status === 413).toBe(true);
    const rss = Number(sampleValue((await agent.get('/metrics')).body, 'process_resident_memory_bytes'));
    expect(rss).toBeLessThan(512 * 1024 * 1024);
    await noGroupStored();
    await stillServes();
  });
});

describe('slow clients (slowloris)', () => {
  it('partial requests are closed by the server within its header timeout, and scrapes go on meanwhile', async () => {
    // 50 connections sending one header byte every 500 ms, never finishing.
    const slow = Array.from({ length: 50 }, () => raw(['GET /metrics HTTP/1.1\r\nHost: x\r\n', ...Array.from({ length: 200 }, () => 'X')], 60_000, 500));
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await stillServes();
    }
    const answers = await Promise.all(slow);
    for (const answer of answers) {
      // Closed by the server (408 or a bare close) well before the client's 60 s.
      expect(answer.closedByServer).toBe(true);
      expectClean(answer);
    }
    await stillServes();
  }, 90_000);
});
