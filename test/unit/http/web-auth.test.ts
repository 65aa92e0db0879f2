// Basic auth and headers from the web config, through the whole fastify app (inject, no
// socket): which requests need which users, what a refused client sees, and the checker's
// promises (unknown users cost a comparison, successes are cached, concurrent checks share one).
// Hashes are made by the real `htpasswd -B` (Debian's apache2-utils), as operators make them.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SelfMetrics } from '../../../src/program/self-metrics.js';
import type { Snapshot } from '../../../src/agent/store.js';
import { findJob, readJobDetails, readJobReports } from '../../../src/job/job-reports.js';
import { buildHttpApp } from '../../../src/http/app.js';
import { BasicAuthChecker, isPushRequest, parseBasicAuthorization, type Compare } from '../../../src/http/web-config/basic-auth.js';
import type { WebConfig } from '../../../src/http/web-config/schema.js';
import { requireProgram } from '../../helpers/peers.js';

const JOBS_READER = { reports: readJobReports, details: readJobDetails, find: findJob };

const htpasswd = requireProgram('htpasswd', 'apache2-utils');

/** `htpasswd -nbB -C 4 user password` → the $2y$ hash (cost 4 keeps the tests fast). */
function hashOf(password: string): string {
  const line = execFileSync(htpasswd!, ['-nbB', '-C', '4', 'user', password]).toString().trim();
  return line.slice(line.indexOf(':') + 1);
}

const snapshot: Snapshot = {
  generation: 1,
  text: Buffer.from('# TYPE up_files gauge\nup_files 1\n'),
  openMetrics: () => Buffer.from('# TYPE up_files gauge\nup_files 1\n# EOF\n'),
  body: (format) => [Buffer.from(format === 'text' ? '# TYPE up_files gauge\nup_files 1\n' : '# TYPE up_files gauge\nup_files 1\n# EOF\n')],
  deflated: async () => ({ deflated: Buffer.alloc(0), crc: 0, length: 0 }),
  files: [],
  directories: [],
  builtAtMs: 0,
};

function webConfig(overrides: Partial<WebConfig>): WebConfig {
  return {
    file: '/etc/promdrop/web.yml',
    tls: undefined,
    http2: true,
    headers: {},
    basicAuthUsers: new Map(),
    pushBasicAuthUsers: undefined,
    authExcludedPaths: new Set(),
    rateLimit: undefined,
    ...overrides,
  };
}

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** The agent's app behind `config`, plus a stand-in push route added after it, as the push API will be. */
function appWith(config: () => WebConfig, unauthenticatedPaths: readonly string[] = []) {
  const app = buildHttpApp({
    source: { isReady: () => true, snapshot: async () => snapshot },
    jobs: JOBS_READER,
    selfMetrics: new SelfMetrics({ version: '1', exporterMetrics: false }),
    telemetryPath: '/metrics',
    maxRequests: 40,
    version: '1',
    directories: ['/d'],
    webAuth: { current: config, unauthenticatedPaths: new Set(unauthenticatedPaths) },
  });
  app.put('/metrics/job/:job', async () => 'pushed\n');
  app.get('/metrics/job/:job', async () => 'group\n');
  app.delete('/api/v1/admin/wipe', async () => 'wiped\n');
  return app;
}

describe.skipIf(htpasswd === undefined)('basic auth from the web config', () => {
  const alice = hashOf('alice-secret');
  const ci = hashOf('ci-secret');

  it('asks for credentials on every endpoint, 404s included, and serves them with the right ones', async () => {
    const app = appWith(() => webConfig({ basicAuthUsers: new Map([['alice', alice]]) }));
    for (const url of ['/metrics', '/', '/api/v1/files', '/api/v1/jobs', '/-/healthy', '/-/ready', '/nothing-here']) {
      const refused = await app.inject({ url });
      expect(refused.statusCode, url).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Basic');
      expect(refused.body).toBe('Unauthorized\n');
      expect((await app.inject({ url, headers: basic('alice', 'wrong') })).statusCode, url).toBe(401);
      expect((await app.inject({ url, headers: basic('mallory', 'alice-secret') })).statusCode, url).toBe(401);
      expect((await app.inject({ url, headers: basic('alice', 'alice-secret') })).statusCode, url).toBe(url === '/nothing-here' ? 404 : 200);
    }
  });

  it('leaves the health endpoints open only when told to', async () => {
    const app = appWith(() => webConfig({ basicAuthUsers: new Map([['alice', alice]]) }), ['/-/healthy', '/-/ready']);
    expect((await app.inject({ url: '/-/healthy' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/-/ready?verbose=1' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
  });

  it('needs no credentials when basic_auth_users is empty', async () => {
    const app = appWith(() => webConfig({}));
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/metrics/job/a', payload: '' })).statusCode).toBe(200);
  });

  it('without push_basic_auth_users, pushes take the same users as scrapes (as the Pushgateway)', async () => {
    const app = appWith(() => webConfig({ basicAuthUsers: new Map([['alice', alice]]) }));
    expect((await app.inject({ method: 'PUT', url: '/metrics/job/a', payload: '' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'PUT', url: '/metrics/job/a', payload: '', headers: basic('alice', 'alice-secret') })).statusCode).toBe(200);
  });

  it('with push_basic_auth_users, only push users push and only scrape users read', async () => {
    const app = appWith(() => webConfig({ basicAuthUsers: new Map([['alice', alice]]), pushBasicAuthUsers: new Map([['ci', ci]]) }));
    const push = { method: 'PUT', url: '/metrics/job/a', payload: '' } as const;
    expect((await app.inject({ ...push, headers: basic('ci', 'ci-secret') })).statusCode).toBe(200);
    expect((await app.inject({ ...push, headers: basic('alice', 'alice-secret') })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/admin/wipe', headers: basic('ci', 'ci-secret') })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/admin/wipe', headers: basic('alice', 'alice-secret') })).statusCode).toBe(401);
    // Reading a group is a read, not a push.
    expect((await app.inject({ url: '/metrics/job/a', headers: basic('alice', 'alice-secret') })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics/job/a', headers: basic('ci', 'ci-secret') })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: basic('ci', 'ci-secret') })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: basic('alice', 'alice-secret') })).statusCode).toBe(200);
  });

  it('follows the config as it is now: a new password applies to the next request', async () => {
    let config = webConfig({ basicAuthUsers: new Map([['alice', alice]]) });
    const app = appWith(() => config);
    expect((await app.inject({ url: '/metrics', headers: basic('alice', 'alice-secret') })).statusCode).toBe(200);
    config = webConfig({ basicAuthUsers: new Map([['alice', hashOf('rotated')]]) });
    expect((await app.inject({ url: '/metrics', headers: basic('alice', 'alice-secret') })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: basic('alice', 'rotated') })).statusCode).toBe(200);
  });

  it('sends the configured headers on every answer, the hand-written /metrics one and 401s included', async () => {
    const headers = { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' };
    const app = appWith(() => webConfig({ headers, basicAuthUsers: new Map([['alice', alice]]) }));
    for (const response of [
      await app.inject({ url: '/metrics' }),
      await app.inject({ url: '/metrics', headers: basic('alice', 'alice-secret') }),
      await app.inject({ url: '/', headers: basic('alice', 'alice-secret') }),
    ]) {
      expect(response.headers['x-frame-options']).toBe('deny');
      expect(response.headers['strict-transport-security']).toBe('max-age=31536000');
    }
  });
});

describe('BasicAuthChecker', () => {
  function counting(): { compare: Compare; calls: Array<[string, string]> } {
    const calls: Array<[string, string]> = [];
    return {
      calls,
      compare: async (password, hash) => {
        calls.push([password, hash]);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return hash === `hash-of-${password}`;
      },
    };
  }
  const users = new Map([
    ['alice', 'hash-of-a'],
    ['bob', 'hash-of-b'],
  ]);

  it('caches a success: the second check of the same credentials costs no comparison', async () => {
    const { compare, calls } = counting();
    const checker = new BasicAuthChecker(compare);
    expect(await checker.check(users, { user: 'alice', password: 'a' })).toBe(true);
    expect(checker.check(users, { user: 'alice', password: 'a' })).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('does not cache failures, and a changed hash is a miss', async () => {
    const { compare, calls } = counting();
    const checker = new BasicAuthChecker(compare);
    expect(await checker.check(users, { user: 'alice', password: 'x' })).toBe(false);
    expect(await checker.check(users, { user: 'alice', password: 'x' })).toBe(false);
    expect(await checker.check(users, { user: 'alice', password: 'a' })).toBe(true);
    expect(await checker.check(new Map([['alice', 'hash-of-z']]), { user: 'alice', password: 'a' })).toBe(false);
    expect(calls).toHaveLength(4);
  });

  it('makes an unknown user pay one comparison against a real hash, and refuses it', async () => {
    const { compare, calls } = counting();
    const checker = new BasicAuthChecker(compare);
    // Even with a password that is right for the hash it is compared against.
    expect(await checker.check(users, { user: 'mallory', password: 'a' })).toBe(false);
    expect(calls).toEqual([['a', 'hash-of-a']]);
  });

  it('shares one comparison between concurrent checks of the same credentials', async () => {
    const { compare, calls } = counting();
    const checker = new BasicAuthChecker(compare);
    const results = await Promise.all([1, 2, 3, 4].map(async () => checker.check(users, { user: 'bob', password: 'b' })));
    expect(results).toEqual([true, true, true, true]);
    expect(calls).toHaveLength(1);
  });

  it('runs comparisons one at a time', async () => {
    let running = 0;
    let most = 0;
    const checker = new BasicAuthChecker(async (password, hash) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return hash === `hash-of-${password}`;
    });
    await Promise.all(['p', 'q', 'r', 'a'].map(async (password) => checker.check(users, { user: 'alice', password })));
    expect(most).toBe(1);
  });

  it.skipIf(htpasswd === undefined)('accepts the $2y$ hashes htpasswd -B writes, with the real bcrypt', async () => {
    const hash = hashOf('s3cret: with colon');
    expect(hash).toMatch(/^\$2y\$04\$/);
    const checker = new BasicAuthChecker();
    expect(await checker.check(new Map([['u', hash]]), { user: 'u', password: 's3cret: with colon' })).toBe(true);
    expect(await checker.check(new Map([['u', hash]]), { user: 'u', password: 's3cret' })).toBe(false);
  });
});

describe('request classification', () => {
  it('parses Basic credentials, splitting at the first colon', () => {
    expect(parseBasicAuthorization(basic('a', 'b:c').authorization)).toEqual({ user: 'a', password: 'b:c' });
    expect(parseBasicAuthorization(`basic ${Buffer.from('x:').toString('base64')}`)).toEqual({ user: 'x', password: '' });
    expect(parseBasicAuthorization('Bearer abc')).toBeUndefined();
    expect(parseBasicAuthorization(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
  });

  it('counts writes under /metrics/job/ and anything under /api/v1/admin/ as pushes', () => {
    expect(isPushRequest('PUT', '/metrics/job/backup')).toBe(true);
    expect(isPushRequest('POST', '/metrics/job/backup/instance/db1')).toBe(true);
    expect(isPushRequest('DELETE', '/metrics/job/backup')).toBe(true);
    expect(isPushRequest('GET', '/api/v1/admin/wipe')).toBe(true);
    expect(isPushRequest('PUT', '/api/v1/admin/wipe')).toBe(true);
    expect(isPushRequest('GET', '/metrics/job/backup')).toBe(false);
    expect(isPushRequest('HEAD', '/metrics/job/backup')).toBe(false);
    expect(isPushRequest('PUT', '/metrics')).toBe(false);
    expect(isPushRequest('POST', '/metrics/jobs')).toBe(false);
    expect(isPushRequest('GET', '/api/v1/files')).toBe(false);
  });
});

describe('rate_limit token bucket', () => {
  it('keeps one bucket while the settings stay, and a fresh full one when they change', async () => {
    const { RateLimiterSlot } = await import('../../../src/http/web-config/rate-limit.js');
    let now = 0;
    const slot = new RateLimiterSlot(() => now);
    const settings = { intervalMs: 1000, burst: 2 };
    expect(slot.for(settings)!.allow()).toBe(true);
    expect(slot.for({ ...settings })!.allow()).toBe(true);
    expect(slot.for(settings)!.allow()).toBe(false);
    now = 999;
    expect(slot.for(settings)!.allow()).toBe(false);
    now = 1000;
    expect(slot.for(settings)!.allow()).toBe(true);
    expect(slot.for({ intervalMs: 1000, burst: 1 })!.allow()).toBe(true);
    expect(slot.for(undefined)).toBeUndefined();
  });
});
