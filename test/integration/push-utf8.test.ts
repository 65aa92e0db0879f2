// Pushes with UTF-8 names, as Pushgateway 1.11 takes them with --push.enable-utf8-names (its
// README: UTF-8 metric and label names in the body, grouping-key label names in the `U__`
// encoding in the URL). Debian's prometheus-pushgateway is 1.5.1, which has no UTF-8 support, so
// this follows the README rather than a live comparison. The pushed group is then served to each
// scraper as it asks (escaped for Prometheus 2, quoted for Prometheus 3).
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';

let root: string | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await removeDir(root);
  root = undefined;
});

const BODY = '# TYPE "backup.files" counter\n{"backup.files","disk.name"="sda"} 12\n';
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

async function start(extra: readonly string[]): Promise<Agent> {
  root = await makeTempDir('promdrop-push-utf8-');
  agent = await startAgent([`--textfile.directory=${join(root, 'textfiles')}`, '--web.enable-push', `--push.directory=${join(root, 'push')}`, ...extra]);
  return agent;
}

function push(target: Agent, path: string, body: string): Promise<Response> {
  return fetch(`http://${target.addresses[0]}${path}`, { method: 'PUT', body, headers: { 'Content-Type': 'text/plain; version=0.0.4' } });
}

describe('pushes with UTF-8 names', () => {
  it('accepts them with --push.enable-utf8-names, U__ grouping-key names decoded, and serves them as each scraper asks', async () => {
    const target = await start(['--push.enable-utf8-names']);
    const response = await push(target, '/metrics/job/backup/U__backup_2e_host/db1', BODY);
    expect(response.status).toBe(200);
    const prometheus2 = await target.metrics({ Accept: 'text/plain;version=0.0.4' });
    expect(prometheus2).toMatch(/^backup_files\{backup_host="db1",disk_name="sda",instance="",job="backup"\} 12$/m);
    const utf8 = await target.get('/metrics', { Accept: PROMETHEUS_3 });
    expect(utf8.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8');
    // A counter without _total is `unknown` in OpenMetrics, as for legacy names.
    expect(utf8.body).toMatch(/^\{"backup\.files","backup\.host"="db1","disk\.name"="sda",instance="",job="backup"\} 12\.0$/m);
    expect(utf8.body).toMatch(/^push_time_seconds\{"backup\.host"="db1",instance="",job="backup"\} /m);
  });

  it("refuses them without the flag, as the Pushgateway does, with the parser's message", async () => {
    const target = await start([]);
    const response = await push(target, '/metrics/job/backup', BODY);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/text format parsing error in line 1: invalid metric name in comment/);
    // A U__ name is an ordinary legacy label name then.
    const legacy = await push(target, '/metrics/job/backup/U__backup_2e_host/db1', 'plain 1\n');
    expect(legacy.status).toBe(200);
    expect(await target.metrics()).toMatch(/^plain\{U__backup_2e_host="db1",instance="",job="backup"\} 1$/m);
  });
});
