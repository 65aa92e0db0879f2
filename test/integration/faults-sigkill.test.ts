// The agent killed with SIGKILL at random moments while files churn, then started again: it
// keeps no state on disk and writes nothing into the directory, so once the directory is quiet
// the restarted agent must serve exactly what a fresh agent started on the same directory serves.
import { openSync, closeSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';

const KILLS = 8;
const FILES = 60;
/** Long enough for both agents to have read every in-place rewrite (the default settle is 2 s). */
const QUIET_MS = 3_000;
/**
 * Without the agent's own process metrics, the bodies of two agents can be compared as bytes.
 * Without a grace period: the last good content of a file that turned invalid lives in memory
 * only, so an agent that saw it (the restarted one) would rightly serve it for a minute and a
 * fresh one, which never saw it, not.
 */
const FLAGS = ['--web.disable-exporter-metrics', '--textfile.grace-period=0s'];

let dir: string;
const agents: Agent[] = [];

beforeAll(async () => {
  dir = await makeTempDir('promdrop-sigkill-');
});

afterAll(async () => {
  for (const agent of agents) await agent.terminate('SIGKILL');
  await removeDir(dir);
});

function body(file: number, version: number): string {
  const lines = [`# HELP churn_value Churned file ${file}.`, '# TYPE churn_value gauge'];
  for (let part = 0; part < 5; part++) lines.push(`churn_value{file="${file}",part="${part}"} ${version}`);
  // Every seventh version of every fifth file is invalid: reported, never served.
  if (file % 5 === 0 && version % 7 === 0) lines.push('churn_value{file="broken" 1');
  return `${lines.join('\n')}\n`;
}

/** Rewrites random files, half renamed into place and half rewritten in place, until stopped. */
function churn(): { stop: () => Promise<number> } {
  let stopped = false;
  let writes = 0;
  const versions = new Array<number>(FILES).fill(0);
  const loop = (async () => {
    while (!stopped) {
      const file = Math.floor(Math.random() * FILES);
      const content = body(file, ++versions[file]!);
      const path = join(dir, `churn-${String(file).padStart(2, '0')}.prom`);
      if (file % 2 === 0) {
        writeFileSync(join(dir, '.churn.tmp'), content);
        renameSync(join(dir, '.churn.tmp'), path);
      } else {
        const fd = openSync(path, 'w');
        writeSync(fd, content.slice(0, content.length >> 1));
        writeSync(fd, content.slice(content.length >> 1));
        closeSync(fd);
      }
      writes++;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return writes;
    },
  };
}

describe('SIGKILL of the agent during heavy churn', () => {
  it(`after ${KILLS} kills at random moments, a restart serves what a fresh start serves`, async () => {
    for (let file = 0; file < FILES; file++) writeFileSync(join(dir, `churn-${String(file).padStart(2, '0')}.prom`), body(file, 0));
    const load = churn();
    let kills = 0;
    try {
      for (let i = 0; i < KILLS; i++) {
        const agent = await startAgent([`--textfile.directory=${dir}`, ...FLAGS]);
        agents.push(agent);
        // Scrapes in flight at the moment of the kill, too.
        const scrapes = Array.from({ length: 3 }, () => agent.get('/metrics').catch(() => undefined));
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 1_000));
        const exit = await agent.terminate('SIGKILL');
        expect(exit.signal).toBe('SIGKILL');
        kills++;
        await Promise.all(scrapes);
      }
      // The restart, while the churn goes on.
      const restarted = await startAgent([`--textfile.directory=${dir}`, ...FLAGS]);
      agents.push(restarted);
      expect((await restarted.get('/metrics')).status).toBe(200);
      const writes = await load.stop();
      expect(writes).toBeGreaterThan(100);
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));

      const fresh = await startAgent([`--textfile.directory=${dir}`, ...FLAGS]);
      agents.push(fresh);
      const [afterRestart, afterFresh] = [await restarted.metrics(), await fresh.metrics()];
      // The same body, but for how long this one scrape took.
      const steady = (body: string): string => body.replace(/^node_scrape_collector_duration_seconds\{.*\n/m, '');
      expect(steady(afterRestart)).toBe(steady(afterFresh));
      // Not trivially equal: every file is there, and the invalid ones are reported.
      expect(afterFresh.match(/^churn_value\{file="\d+",part="0"\} /gm)?.length ?? 0).toBeGreaterThanOrEqual(FILES - FILES / 5);
      expect(afterFresh).not.toContain('file="broken"');
      // The killed agents left nothing behind in the directory.
      expect(readdirSync(dir).filter((name) => !/^churn-\d\d\.prom$/.test(name) && name !== '.churn.tmp')).toEqual([]);
      expect(kills).toBe(KILLS);
    } finally {
      await load.stop();
    }
  }, 120_000);
});
