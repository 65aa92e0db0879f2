// rate_limit and auth_excluded_paths (exporter-toolkit v0.15+) with real clients hammering the
// agent: the toolkit's TestServerBehaviour cases (interval 0 lets everything through; 1s with
// burst 0 refuses even the first request) and a bucket's burst spent by concurrent fetches and
// curl, refilled one token per interval.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { upstreamFixtures } from '../helpers/upstream-fixtures.js';
import { eventually, makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';

let root: string | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await removeDir(root);
  root = undefined;
});

async function start(config: string): Promise<Agent> {
  root = await makeTempDir('promdrop-rate-limit-');
  mkdirSync(join(root, 'textfiles'));
  writeFileSync(join(root, 'textfiles', 'a.prom'), 'a 1\n');
  writeFileSync(join(root, 'web.yml'), config);
  // An agent refused every request cannot be polled for readiness: wait for its log line only.
  agent = await startAgent([`--textfile.directory=${join(root, 'textfiles')}`, '--web.config.file', join(root, 'web.yml')], { ready: async () => true });
  return agent;
}

async function statuses(target: Agent, count: number, path = '/metrics'): Promise<number[]> {
  const responses = await Promise.all(Array.from({ length: count }, () => fetch(`http://${target.addresses[0]}${path}`)));
  return Promise.all(
    responses.map(async (response) => {
      const body = await response.text();
      if (response.status === 429) {
        expect(body).toBe('Too Many Requests\n');
        expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      }
      return response.status;
    }),
  );
}

describe('rate_limit', () => {
  it("lets every request through with the toolkit's web_config_rate_limiter_nonblocking.yaml (interval 0)", async () => {
    const target = await start(readFixture('web_config_rate_limiter_nonblocking.yaml'));
    expect(await statuses(target, 11)).toEqual(Array(11).fill(200));
  });

  it("refuses every request with the toolkit's web_config_rate_limiter_one_second.yaml (burst 0)", async () => {
    const target = await start(readFixture('web_config_rate_limiter_one_second.yaml'));
    expect(await statuses(target, 11)).toEqual(Array(11).fill(429));
  });

  it('serves the burst to concurrent clients, refuses the rest with 429, and refills one token per interval', async () => {
    const target = await start('rate_limit:\n  interval: 1s\n  burst: 3\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n');
    const first = await statuses(target, 10);
    expect(first.filter((status) => status === 200)).toHaveLength(3);
    expect(first.filter((status) => status === 429)).toHaveLength(7);
    // curl, as an operator would see it: refused, with the configured headers all the same.
    const curl = spawnSync('curl', ['-s', '-i', `http://${target.addresses[0]}/metrics`], { encoding: 'utf8' });
    if (curl.error === undefined) {
      expect(curl.stdout).toMatch(/^HTTP\/1\.1 429/);
      expect(curl.stdout).toMatch(/^x-frame-options: deny\r$/im);
    }
    // One token a second: within a few seconds a request gets through again.
    await eventually(async () => (await statuses(target, 1))[0] === 200, 10_000, 'a token after the interval');
  });
});

describe('auth_excluded_paths', () => {
  it('answers the excluded path without credentials and still asks for them elsewhere', async () => {
    const target = await start(
      'auth_excluded_paths:\n  - /metrics\nbasic_auth_users:\n  admin: $2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay\n',
    );
    expect(await statuses(target, 1, '/metrics')).toEqual([200]);
    expect(await statuses(target, 1, '/')).toEqual([401]);
    expect(await statuses(target, 1, '/metrics/')).toEqual([401]);
  });
});

function readFixture(name: string): string {
  return readFileSync(upstreamFixtures('exporter-toolkit', 'v0.17.1', 'testdata', name), 'utf8');
}
