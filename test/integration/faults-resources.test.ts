// The machine running out of something: disk space while the CLI writes, file descriptors in
// the agent, inotify watches for the agent. What the user sees: the CLI's exit status and
// message, the file left as it was, the agent's scrapes and its log.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, makeTempDir, removeDir, sampleValue, startAgent, type Agent } from './serve-agent.js';
import { promdrop, requireBuiltCli } from './writer-support.js';

describe('the disk full while the CLI writes', () => {
  let root: string;
  let mountPoint: string;
  let mounted = false;

  beforeAll(async () => {
    requireBuiltCli();
    root = await makeTempDir('promdrop-diskfull-');
    mountPoint = join(root, 'small');
    mkdirSync(mountPoint);
    // A real full file system: a 1 MiB tmpfs (needs root, as CI runs; elsewhere the test fails
    // with the reason rather than pass without having tested anything).
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (mount.status !== 0) throw new Error(`cannot mount a small tmpfs to fill (run as root): ${mount.stderr}`);
    mounted = true;
  });

  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
    rmSync(root, { recursive: true, force: true });
  });

  function bigExposition(value: number, series: number): string {
    const lines = ['# TYPE disk_full_metric gauge'];
    for (let i = 0; i < series; i++) lines.push(`disk_full_metric{series="${String(i).padStart(6, '0')}",padding="${'p'.repeat(40)}"} ${value}`);
    return `${lines.join('\n')}\n`;
  }

  it('write: exit 1 naming ENOSPC, the old file intact, no temp file left', async () => {
    // ~600 KiB: one copy fits, two (the old file and the new temp file) do not.
    const first = bigExposition(1, 7_500);
    expect((await promdrop(['write', 'big', '-d', mountPoint], { input: first })).code).toBe(0);
    const result = await promdrop(['write', 'big', '-d', mountPoint], { input: bigExposition(2, 7_500) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/big\.prom: cannot write the temporary file: .*ENOSPC|no space left/i);
    expect(readFileSync(join(mountPoint, 'big.prom'), 'utf8')).toBe(first);
    expect(spawnSync('ls', ['-A', mountPoint], { encoding: 'utf8' }).stdout.trim().split('\n').sort()).toEqual(['big.prom']);
  });

  it('set, inc and run on the full disk: the same, and run still runs the command with its status', async () => {
    const before = readFileSync(join(mountPoint, 'big.prom'), 'utf8');
    // Fill what is left, so that even a small file cannot be written.
    writeFileSync(join(mountPoint, '.filler'), Buffer.alloc(0));
    spawnSync('sh', ['-c', `cat /dev/zero > ${join(mountPoint, '.filler')}`]);

    const set = await promdrop(['set', 'big', 'disk_full_metric', '3', '-l', 'series=000000', '-l', `padding=${'p'.repeat(40)}`, '-d', mountPoint]);
    expect(set.code).toBe(1);
    expect(set.stderr).toMatch(/ENOSPC|no space left/i);
    const inc = await promdrop(['inc', 'counter', 'disk_full_total', '-d', mountPoint]);
    expect(inc.code).toBe(1);
    expect(inc.stderr).toMatch(/ENOSPC|no space left/i);
    const run = await promdrop(['run', '--name', 'job', '-d', mountPoint, '--', 'sh', '-c', 'exit 3']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ENOSPC|no space left/i);

    expect(readFileSync(join(mountPoint, 'big.prom'), 'utf8')).toBe(before);
    expect(spawnSync('ls', ['-A', mountPoint], { encoding: 'utf8' }).stdout.trim().split('\n').sort()).toEqual(['.filler', 'big.prom']);
    rmSync(join(mountPoint, '.filler'));
  });

  it('the agent keeps serving the old file while writers fail', async () => {
    const agent = await startAgent([`--textfile.directory=${mountPoint}`]);
    try {
      expect(sampleValue(await agent.metrics(), 'disk_full_metric{padding="' + 'p'.repeat(40) + '",series="000000"}')).toBe('1');
    } finally {
      await agent.stop();
    }
  });
});

describe('too many open files in the agent', () => {
  it('with ulimit -n 64 and 500 files: every file served, scrapes answered, nothing logged as lost', async () => {
    const dir = await makeTempDir('promdrop-fds-');
    let agent: Agent | undefined;
    try {
      for (let i = 0; i < 500; i++) writeFileSync(join(dir, `f${String(i).padStart(3, '0')}.prom`), `fd_metric{file="${i}"} ${i}\n`);
      agent = await startAgent([`--textfile.directory=${dir}`], { wrapper: ['bash', '-c', 'ulimit -n 64 && exec "$@"', 'bash'] });
      expect(readFileSync(`/proc/${agent.child.pid}/limits`, 'utf8')).toMatch(/Max open files\s+64\s+64/);
      const body = await agent.metrics();
      for (let i = 0; i < 500; i++) expect(sampleValue(body, `fd_metric{file="${i}"}`)).toBe(String(i));
      expect(sampleValue(body, 'node_textfile_scrape_error')).toBe('0');

      // Many scrapers at once: each connection is a descriptor. Some may be refused while the
      // limit is reached; the agent must survive it and serve every file afterwards.
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, () => fetch(`${agent!.url}/metrics`).then(async (r) => ({ status: r.status, body: await r.text() }))),
      );
      const answered = results.filter((r): r is PromiseFulfilledResult<{ status: number; body: string }> => r.status === 'fulfilled');
      for (const r of answered) {
        // 503 beyond --web.max-requests (40) scrapes at once, as documented.
        expect([200, 503]).toContain(r.value.status);
        if (r.value.status === 200) expect(r.value.body).toContain('fd_metric{file="499"} 499');
      }
      // Rewrites while the scrapers' keep-alive connections still hold descriptors: a listing
      // or a read may fail with EMFILE. That says nothing about the files: what was served stays
      // served, the look is retried, and the new content arrives.
      for (let i = 0; i < 500; i += 50) {
        writeFileSync(join(dir, '.tmp'), `fd_metric{file="${i}"} ${i + 1000}\n`);
        renameSync(join(dir, '.tmp'), join(dir, `f${String(i).padStart(3, '0')}.prom`));
      }
      for (let i = 0; i < 20; i++) {
        const during = await agent.get('/metrics').catch(() => undefined);
        if (during?.status !== 200) continue;
        for (let f = 0; f < 500; f++) expect(during.body).toMatch(new RegExp(`^fd_metric\\{file="${f}"\\} (${f}|${f + 1000})$`, 'm'));
      }
      await eventually(
        async () => {
          const after = await agent!.metrics();
          return Array.from({ length: 10 }, (_, k) => k * 50).every((i) => sampleValue(after, `fd_metric{file="${i}"}`) === String(i + 1000));
        },
        20_000,
        'the rewrites to be read once descriptors are free again',
      );
      expect(sampleValue(await agent.metrics(), 'node_textfile_scrape_error')).toBe('0');
      expect(agent.output().match(/too many open files \(EMFILE\); serving what was read before/g)?.length ?? 0).toBeLessThanOrEqual(1);
      expect(agent.child.exitCode).toBeNull();
      expect(agent.output()).not.toMatch(/level=error/);
    } finally {
      await agent?.stop();
      await removeDir(dir);
    }
  });
});

describe('inotify exhausted for the agent', () => {
  // The limits are lowered for the agent alone: in a user namespace of its own, whose
  // user.max_inotify_* sysctls cap it and nothing else on the machine (Linux ≥ 5.11).
  const limited = (sysctl: string, value: number): string[] => [
    'unshare',
    '--user',
    '--map-root-user',
    'sh',
    '-c',
    `echo ${value} > /proc/sys/user/${sysctl} && exec "$@"`,
    'sh',
  ];

  beforeAll(() => {
    const probe = spawnSync('unshare', ['--user', '--map-root-user', 'sh', '-c', 'echo 0 > /proc/sys/user/max_inotify_instances'], { encoding: 'utf8' });
    if (probe.status !== 0) throw new Error(`cannot lower inotify limits in a user namespace here: ${probe.stderr}`);
  });

  for (const [sysctl, value, what] of [
    ['max_inotify_instances', 0, 'no inotify instance at all (EMFILE)'],
    ['max_inotify_watches', 1, 'one watch only (ENOSPC)'],
  ] as const) {
    it(`${what}: logs the fallback once, and still sees in-place changes through rescans`, async () => {
      const dir = await makeTempDir('promdrop-inotify-');
      let agent: Agent | undefined;
      try {
        for (let i = 0; i < 5; i++) writeFileSync(join(dir, `w${i}.prom`), `watched_metric{file="${i}"} 1\n`);
        agent = await startAgent([`--textfile.directory=${dir}`, '--textfile.settle=200ms'], { wrapper: limited(sysctl, value) });
        expect(sampleValue(await agent.metrics(), 'watched_metric{file="4"}')).toBe('1');
        await eventually(async () => /falling back to periodic rescans/.test(agent!.output()), 15_000, 'the fallback log line');
        // In place: the directory does not change, so only a rescan can find it.
        writeFileSync(join(dir, 'w2.prom'), 'watched_metric{file="2"} 2\n');
        await eventually(async () => sampleValue(await agent!.metrics(), 'watched_metric{file="2"}') === '2', 20_000, 'a rescan to see the in-place change');
        writeFileSync(join(dir, 'w3.prom'), 'watched_metric{file="3"} 3\n');
        await eventually(async () => sampleValue(await agent!.metrics(), 'watched_metric{file="3"}') === '3', 20_000, 'a second rescan');
        expect(agent.output().match(/falling back to periodic rescans/g)).toHaveLength(1);
        expect(agent.output()).not.toMatch(/level=error/);
      } finally {
        await agent?.stop();
        await removeDir(dir);
      }
    }, 90_000);
  }
});
