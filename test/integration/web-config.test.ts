// --web.config.file with real clients: curl with and without credentials and client
// certificates, a real Prometheus scraping over TLS with basic auth, and rotation of the
// certificate and of a password while the agent runs. Certificates are made with openssl and
// hashes with htpasswd -B, into a temporary directory, as an operator would make them.
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram, runProgram, startProcess, type RunningProcess } from '../helpers/peers.js';
import { IN_FLIGHT_FILE, eventually, makeTempDir, removeDir, runCli, scrapeAcrossSigterm, startAgent, type Agent } from './serve-agent.js';

const curlBinary = requireProgram('curl', 'curl');
const htpasswdBinary = requireProgram('htpasswd', 'apache2-utils');
const opensslBinary = requireProgram('openssl', 'openssl');
const prometheusBinary = requireProgram('prometheus', 'prometheus');
const available = curlBinary !== undefined && htpasswdBinary !== undefined && opensslBinary !== undefined;

let root: string;
let textfiles: string;

function openssl(...args: string[]): void {
  execFileSync(opensslBinary!, args, { cwd: root, stdio: 'ignore' });
}

/** A key and a certificate `name`.crt for `cn` with subjectAltName `san`, signed by ca.crt (or self-signed). */
function issue(name: string, cn: string, san: string, signer: 'ca' | 'self' = 'ca'): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`];
  if (signer === 'self') {
    openssl('req', '-x509', ...ec, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`);
    return;
  }
  openssl('req', ...ec, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  writeFileSync(join(root, `${name}.ext`), `subjectAltName=${san}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

function hashOf(password: string): string {
  const line = execFileSync(htpasswdBinary!, ['-nbB', '-C', '5', 'user', password]).toString().trim();
  return line.slice(line.indexOf(':') + 1);
}

/** Replaces `name` in the temporary directory by rename, as config management and certbot do. */
function replaceFile(name: string, content: string | Buffer): void {
  writeFileSync(join(root, `.${name}.new`), content);
  renameSync(join(root, `.${name}.new`), join(root, name));
}

interface CurlResult {
  readonly exit: number | null;
  /** HTTP status, "000" when there was no HTTP answer (refused handshake). */
  readonly status: string;
  readonly httpVersion: string;
  readonly body: string;
}

async function curl(port: number, path: string, ...args: string[]): Promise<CurlResult> {
  const result = await runProgram(curlBinary!, [
    '-s',
    '--max-time',
    '10',
    '--cacert',
    join(root, 'ca.crt'),
    '-w',
    '\n%{http_code} %{http_version}',
    ...args,
    `https://127.0.0.1:${port}${path}`,
  ]);
  const cut = result.stdout.lastIndexOf('\n');
  const [status, httpVersion] = result.stdout.slice(cut + 1).split(' ');
  return { exit: result.code, status: status!, httpVersion: httpVersion!, body: result.stdout.slice(0, cut) };
}

/** GET /-/ready over TLS with the test CA (and whatever else `extra` adds): true on 200. */
function httpsReady(extra: { auth?: string; cert?: string; key?: string } = {}): (port: number) => Promise<boolean> {
  return (port) =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/-/ready',
          ca: readFileSync(join(root, 'ca.crt')),
          ...(extra.auth === undefined ? {} : { auth: extra.auth }),
          ...(extra.cert === undefined ? {} : { cert: readFileSync(join(root, extra.cert)), key: readFileSync(join(root, extra.key!)) }),
          timeout: 2_000,
        },
        (response) => {
          response.resume();
          resolve(response.statusCode === 200);
        },
      );
      req.on('error', () => resolve(false));
      req.end();
    });
}

/** The CN of the certificate the agent presents to a new connection. */
function presentedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(join(root, 'ca.crt')), servername: 'localhost' }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

describe.skipIf(!available)('--web.config.file with real clients', () => {
  beforeAll(async () => {
    root = await makeTempDir('promdrop-web-config-');
    textfiles = join(root, 'textfiles');
    await mkdir(textfiles);
    await writeFile(join(textfiles, 'backup.prom'), '# TYPE backup_ok gauge\nbackup_ok 1\n');
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=promdrop test CA',
    );
    issue('server', 'first', 'IP:127.0.0.1,DNS:localhost');
    issue('client', 'scraper', 'DNS:scraper.example');
    issue('other-client', 'intruder', 'DNS:intruder.example');
    issue('untrusted-client', 'scraper', 'DNS:scraper.example', 'self');
  });

  afterAll(async () => {
    await removeDir(root);
  });

  describe('TLS and basic auth, with the health endpoints left open', () => {
    let agent: Agent;
    const config = (hash: string) =>
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  alice: ${hash}\n`;

    beforeAll(async () => {
      writeFileSync(join(root, 'web.yml'), config(hashOf('first password')));
      agent = await startAgent([`--textfile.directory=${textfiles}`, '--web.config.file', join(root, 'web.yml'), '--web.health-without-auth'], {
        ready: httpsReady(),
      });
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it('answers curl 401 without credentials or with wrong ones, and the metrics with the right ones, over HTTP/2', async () => {
      const anonymous = await curl(agent.port, '/metrics');
      expect(anonymous.status).toBe('401');
      expect((await curl(agent.port, '/metrics', '-u', 'alice:wrong')).status).toBe('401');
      expect((await curl(agent.port, '/metrics', '-u', 'bob:first password')).status).toBe('401');
      const scrape = await curl(agent.port, '/metrics', '-u', 'alice:first password', '-D', '-');
      expect(scrape.status).toBe('200');
      expect(scrape.httpVersion).toBe('2');
      expect(scrape.body).toMatch(/^backup_ok 1$/m);
      expect(scrape.body).toMatch(/^x-content-type-options: nosniff\r?$/m);
      expect((await curl(agent.port, '/metrics', '--http1.1', '-u', 'alice:first password')).httpVersion).toBe('1.1');
    });

    it('puts the landing page and the JSON API behind the same auth, and leaves /-/healthy open as told', async () => {
      for (const path of ['/', '/api/v1/files']) {
        expect((await curl(agent.port, path)).status).toBe('401');
        expect((await curl(agent.port, path, '-u', 'alice:first password')).status).toBe('200');
      }
      expect((await curl(agent.port, '/-/healthy')).status).toBe('200');
    });

    it('answers plain HTTP on the TLS port as exporter-toolkit does: 400 and why, no metrics', async () => {
      const plain = await runProgram(curlBinary!, ['-s', '--max-time', '10', '-w', '\n%{http_code}', `http://127.0.0.1:${agent.port}/metrics`]);
      expect(plain.stdout).toBe('Client sent an HTTP request to an HTTPS server.\n\n400');
      // TLS still works on the same port afterwards.
      expect((await curl(agent.port, '/-/healthy')).status).toBe('200');
    });

    it('takes a new password on the next request, without a restart', async () => {
      replaceFile('web.yml', config(hashOf('second password')));
      expect((await curl(agent.port, '/metrics', '-u', 'alice:first password')).status).toBe('401');
      expect((await curl(agent.port, '/metrics', '-u', 'alice:second password')).status).toBe('200');
    });

    it('presents a replaced certificate on the next connection, without a restart', async () => {
      expect(await presentedCommonName(agent.port)).toBe('first');
      const [crt, key] = [readFileSync(join(root, 'server.crt')), readFileSync(join(root, 'server.key'))];
      issue('rotated', 'second', 'IP:127.0.0.1,DNS:localhost');
      replaceFile('server.key', readFileSync(join(root, 'rotated.key')));
      replaceFile('server.crt', readFileSync(join(root, 'rotated.crt')));
      expect(await presentedCommonName(agent.port)).toBe('second');
      expect((await curl(agent.port, '/metrics', '-u', 'alice:second password')).status).toBe('200');
      // Back to the first, for the tests after this one.
      replaceFile('server.key', key);
      replaceFile('server.crt', crt);
      expect(await presentedCommonName(agent.port)).toBe('first');
    });

    it('keeps the last good config when the file breaks, and logs that once with the line', async () => {
      replaceFile('web.yml', `${config(hashOf('third password'))}  bob: plaintext\n`);
      for (let i = 0; i < 3; i++) expect((await curl(agent.port, '/metrics', '-u', 'alice:second password')).status).toBe('200');
      expect((await curl(agent.port, '/metrics', '-u', 'alice:third password')).status).toBe('401');
      const complaints = agent
        .output()
        .split('\n')
        .filter((line) => line.includes('does not load'));
      expect(complaints).toHaveLength(1);
      expect(complaints[0]).toContain(`${join(root, 'web.yml')}:9: basic_auth_users.bob: not a bcrypt hash`);
      replaceFile('web.yml', config(hashOf('second password')));
    });
  });

  describe('client certificates', () => {
    let agent: Agent;
    const config = (clientAuth: string) =>
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${clientAuth}http_server_config:\n  http2: false\n`;
    const withClient = (name: string) => ['--cert', join(root, `${name}.crt`), '--key', join(root, `${name}.key`)];

    beforeAll(async () => {
      writeFileSync(join(root, 'web-mtls.yml'), config('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n'));
      agent = await startAgent([`--textfile.directory=${textfiles}`, '--web.config.file', join(root, 'web-mtls.yml')], {
        ready: httpsReady({ cert: 'client.crt', key: 'client.key' }),
      });
    });

    afterAll(async () => {
      await agent?.stop();
    });

    /** Rewrites the config's client auth and returns the status curl gets as each client. */
    async function statuses(clientAuth: string): Promise<Record<string, string>> {
      replaceFile('web-mtls.yml', config(clientAuth));
      const result: Record<string, string> = {};
      result['none'] = (await curl(agent.port, '/metrics')).status;
      for (const name of ['client', 'other-client', 'untrusted-client']) result[name] = (await curl(agent.port, '/metrics', ...withClient(name))).status;
      return result;
    }

    it('RequireAndVerifyClientCert: only certificates from client_ca_file get through (HTTP/1.1 when http2 is off)', async () => {
      expect(await statuses('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n')).toEqual({
        none: '000',
        client: '200',
        'other-client': '200',
        'untrusted-client': '000',
      });
      expect((await curl(agent.port, '/metrics', ...withClient('client'))).httpVersion).toBe('1.1');
    });

    it('client_allowed_sans: only a verified certificate with one of those SANs', async () => {
      expect(await statuses('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [scraper.example]\n')).toEqual({
        none: '000',
        client: '200',
        'other-client': '000',
        'untrusted-client': '000',
      });
    });

    it('VerifyClientCertIfGiven: no certificate, or a verified one', async () => {
      expect(await statuses('  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n')).toEqual({
        none: '200',
        client: '200',
        'other-client': '200',
        'untrusted-client': '000',
      });
    });

    it('RequireAnyClientCert: any certificate, verified or not', async () => {
      expect(await statuses('  client_auth_type: RequireAnyClientCert\n')).toEqual({
        none: '000',
        client: '200',
        'other-client': '200',
        'untrusted-client': '200',
      });
    });
  });

  it('over TLS too, finishes a scrape in flight before exiting on SIGTERM', async () => {
    const big = join(root, 'big');
    await mkdir(big);
    await writeFile(join(big, 'big.prom'), IN_FLIGHT_FILE.content());
    writeFileSync(join(root, 'web-drain.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
    const agent = await startAgent([`--textfile.directory=${big}`, '--web.disable-exporter-metrics', '--web.config.file', join(root, 'web-drain.yml')], {
      ready: httpsReady(),
    });
    const socket = connect({ host: '127.0.0.1', port: agent.port, ca: readFileSync(join(root, 'ca.crt')), servername: 'localhost' });
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const { response, complete, exit } = await scrapeAcrossSigterm(agent, socket);
    expect(response.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(response).toContain(IN_FLIGHT_FILE.lastSeries);
    expect(complete).toBe(true);
    expect(exit).toMatchObject({ code: 0, signal: null });
  });

  describe('with the push API: pushing and scraping with separate users', () => {
    let agent: Agent;

    beforeAll(async () => {
      const web = join(root, 'push-web.yml');
      writeFileSync(web, `basic_auth_users:\n  scraper: ${hashOf('scrape secret')}\npush_basic_auth_users:\n  cronjob: ${hashOf('push secret')}\n`);
      agent = await startAgent([`--textfile.directory=${textfiles}`, '--web.config.file', web, '--web.enable-push', `--push.directory=${join(root, 'push')}`], {
        ready: async (port) => (await fetch(`http://127.0.0.1:${port}/-/ready`, { headers: basic('scraper', 'scrape secret') })).status === 200,
      });
    });

    afterAll(async () => {
      await agent?.stop();
    });

    const basic = (user: string, password: string): Record<string, string> => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    const push = (headers: Record<string, string>) =>
      fetch(`http://${agent.addresses[0]}/metrics/job/nightly`, { method: 'PUT', headers, body: '# TYPE nightly_ok gauge\nnightly_ok 1\n' });

    it('accepts a push only from a push user', async () => {
      expect((await push({})).status).toBe(401);
      expect((await push(basic('scraper', 'scrape secret'))).status).toBe(401);
      expect((await push(basic('cronjob', 'wrong'))).status).toBe(401);
      expect((await push(basic('cronjob', 'push secret'))).status).toBe(200);
    });

    it('serves the pushed group to the scrape user only', async () => {
      expect((await agent.get('/metrics', basic('cronjob', 'push secret'))).status).toBe(401);
      const scrape = await agent.get('/metrics', basic('scraper', 'scrape secret'));
      expect(scrape.status).toBe(200);
      expect(scrape.body).toContain('nightly_ok{instance="",job="nightly"} 1\n');
    });
  });

  it('refuses to start on a broken file, naming the file and the line', async () => {
    const bad = join(root, 'bad.yml');
    writeFileSync(bad, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireClientCert\n');
    const result = await runCli(['serve', '--web.listen-address=127.0.0.1:0', `--textfile.directory=${textfiles}`, '--web.config.file', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:4: invalid ClientAuth "RequireClientCert"`);
  });

  describe.skipIf(prometheusBinary === undefined)('a real Prometheus scraping over TLS with basic auth', () => {
    let agent: Agent;
    let prometheus: RunningProcess;

    async function up(job: string): Promise<string | undefined> {
      const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(`up{job="${job}"}`)}`, { signal: AbortSignal.timeout(10_000) });
      const json = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
      return json.data.result[0]?.value[1];
    }

    beforeAll(async () => {
      writeFileSync(
        join(root, 'web-prometheus.yml'),
        `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${hashOf('scrape-secret')}\n`,
      );
      agent = await startAgent([`--textfile.directory=${textfiles}`, '--web.config.file', join(root, 'web-prometheus.yml')], {
        ready: httpsReady({ auth: 'prometheus:scrape-secret' }),
      });
      const job = (name: string, password: string) =>
        [
          `  - job_name: ${name}`,
          '    scheme: https',
          '    tls_config:',
          `      ca_file: ${join(root, 'ca.crt')}`,
          '    basic_auth:',
          '      username: prometheus',
          `      password: ${password}`,
          '    static_configs:',
          `      - targets: ['127.0.0.1:${agent.port}']`,
        ].join('\n');
      const config = join(root, 'prometheus.yml');
      await writeFile(
        config,
        ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', job('right', 'scrape-secret'), job('wrong', 'guess'), ''].join('\n'),
      );
      prometheus = await startProcess(
        prometheusBinary!,
        (port) => [`--config.file=${config}`, `--storage.tsdb.path=${join(root, 'prometheus-data')}`, `--web.listen-address=127.0.0.1:${port}`],
        async (url) => (await fetch(`${url}/-/ready`)).ok,
        30_000,
      );
    });

    afterAll(async () => {
      await prometheus?.stop();
      await agent?.stop();
    });

    it('is up with the right password and down with a wrong one', async () => {
      await eventually(
        async () => (await up('right')) === '1' && (await up('wrong')) === '0',
        30_000,
        'up to be 1 for job "right" and 0 for job "wrong"',
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- prometheus ---\n${prometheus.output().slice(-3000)}\n--- agent ---\n${agent.output().slice(-3000)}`);
      });
      const response = await fetch(`${prometheus.url}/api/v1/query?query=backup_ok`);
      const json = (await response.json()) as { data: { result: Array<{ metric: Record<string, string> }> } };
      expect(json.data.result.map((sample) => sample.metric['job'])).toEqual(['right']);
      const targets = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as {
        data: { activeTargets: Array<{ labels: Record<string, string>; lastError: string }> };
      };
      const lastErrors = Object.fromEntries(targets.data.activeTargets.map((target) => [target.labels['job'], target.lastError]));
      expect(lastErrors).toEqual({ right: '', wrong: 'server returned HTTP status 401 Unauthorized' });
    });
  });
});
