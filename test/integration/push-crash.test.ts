// A push is acknowledged only once its group's file is durable: SIGKILL the agent right after
// the 200 (no shutdown, no chance to flush anything), start it again on the same directories,
// and every acknowledged push is served, with its grouping key and TTL. The Pushgateway loses
// every push since its last persistence interval in the same test (reference §2).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, sampleValue, startAgent, type Agent } from './serve-agent.js';

describe('pushes survive SIGKILL right after their acknowledgement', () => {
  let root: string | undefined;
  let agent: Agent | undefined;
  afterEach(async () => {
    await agent?.terminate('SIGKILL');
    await removeDir(root);
  });

  it('serves every acknowledged group after a restart', async () => {
    root = await makeTempDir('promdrop-push-crash-');
    const args = [`--textfile.directory=${join(root, 'textfiles')}`, '--web.enable-push', `--push.directory=${join(root, 'push')}`];
    agent = await startAgent(args);
    for (let round = 1; round <= 3; round++) {
      for (let group = 0; group < 10; group++) {
        const response = await fetch(`${agent.url}/metrics/job/crash/round/${round}/group@base64/${Buffer.from(`g/${group}`).toString('base64url')}?ttl=1h`, {
          method: 'PUT',
          body: `# TYPE crash_value gauge\ncrash_value ${round * 100 + group}\n`,
        });
        expect(response.status).toBe(200);
      }
      // The last push of the round is acknowledged: kill at once.
      await agent.terminate('SIGKILL');
      agent = await startAgent(args);
      const metrics = await agent.metrics();
      for (let group = 0; group < 10; group++) {
        expect(sampleValue(metrics, `crash_value{group="g/${group}",instance="",job="crash",round="${round}"}`)).toBe(String(round * 100 + group));
      }
      const files = (await readdir(join(root, 'push'))).filter((name) => name.endsWith('.prom'));
      expect(files).toHaveLength(round * 10);
    }
    // The restarted agent knows the groups it loaded: a conflicting TYPE is still refused.
    const conflict = await fetch(`${agent.url}/metrics/job/other`, { method: 'PUT', body: '# TYPE crash_value counter\ncrash_value 1\n' });
    expect(conflict.status).toBe(400);
  });
});
