// The push API's rules for accepting a push, on real files in a temporary directory: the
// consistency check against other groups and textfiles, what a rejected push leaves behind,
// PUT/POST semantics, TTL expiry and reloading after a restart.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { families, key } from '../../helpers/push-input.js';
import type { MetricFamily } from '../../../src/core/types.js';
import { judgeTextfileContent } from '../../../src/core/verdict.js';
import { PushedGroups, type ServedSource, type WrittenGroupFile } from '../../../src/push/pushed-groups.js';

const SILENT = { info() {}, warn() {}, error() {}, debug() {} };
const CONTENT_OPTIONS = { maxSeriesPerFile: 1000, allowTimestamps: false, extraReservedMetricNames: [] };

describe('pushed groups', () => {
  let directory: string;
  let textfiles: ServedSource[];
  let now: number;
  let groups: PushedGroups;
  /** Each file onWritten was told of, with its bytes at that moment. */
  let written: Array<{ file: WrittenGroupFile; bytes: Buffer }>;

  const open = (defaultTtlMs?: number, maxGroups = 100): Promise<PushedGroups> =>
    PushedGroups.open({
      directory,
      defaultTtlMs,
      maxGroups,
      maxFileBytes: 64 * 1024,
      contentOptions: CONTENT_OPTIONS,
      servedSources: () => textfiles,
      onWritten: (file) => written.push({ file, bytes: readFileSync(file.path) }),
      logger: SILENT,
      now: () => now,
    });

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'promdrop-push-unit-'));
    textfiles = [];
    written = [];
    now = 1_700_000_000_000;
    groups = await open();
  });
  afterEach(async () => {
    groups.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function fileText(): Promise<string> {
    const names = await readdir(directory);
    return (await Promise.all(names.sort().map((name) => readFile(join(directory, name), 'utf8')))).join('');
  }

  it('writes a group as a textfile with the grouping labels applied and the push_* gauges', async () => {
    expect(
      await groups.push('PUT', key('job/cj/env/prod'), families('c1{instance="fromBody",env="fromBody",other="x"} 1\nc2{job="bodyjob"} 2\n'), undefined),
    ).toEqual({ ok: true });
    const text = await fileText();
    expect(text).toContain('c1{env="prod",instance="fromBody",job="cj",other="x"} 1\n');
    expect(text).toContain('c2{env="prod",instance="",job="cj"} 2\n');
    expect(text).toContain('push_time_seconds{env="prod",instance="",job="cj"} 1.7e+09\n');
    expect(text).toContain('push_failure_time_seconds{env="prod",instance="",job="cj"} 0\n');
  });

  it('rejects a TYPE conflict with another group or a textfile, and a duplicate series, leaving everything as it was', async () => {
    await groups.push('PUT', key('job/a'), families('# TYPE tc counter\ntc 1\n'), undefined);
    const before = await fileText();
    const conflict = await groups.push('PUT', key('job/b'), families('# TYPE tc gauge\ntc 1\n'), undefined);
    expect(conflict).toMatchObject({ ok: false, status: 400, reason: 'inconsistent' });
    expect(await fileText()).toBe(before);
    textfiles = [{ id: '/textfiles/x.prom', families: families('# TYPE from_file gauge\nfrom_file{job="c",instance=""} 1\n') }];
    expect(await groups.push('PUT', key('job/c'), families('# TYPE from_file counter\nfrom_file 1\n'), undefined)).toMatchObject({
      ok: false,
      reason: 'inconsistent',
    });
    expect(await groups.push('PUT', key('job/c'), families('# TYPE from_file gauge\nfrom_file 1\n'), undefined)).toMatchObject({
      ok: false,
      message: expect.stringContaining('series from_file{instance="",job="c"} is already served'),
    });
    expect(await fileText()).toBe(before);
  });

  it("finds a duplicate of a textfile series the store keeps as rendered lines, and POST keeps a group's other families whole", async () => {
    // What the store serves for a textfile: its judged content, scalar families as rendered lines.
    const judged = judgeTextfileContent(Buffer.from('# TYPE kept_lines gauge\nkept_lines{instance="",job="d"} 1\nkept_lines{instance="x",job="d"} 2\n'), {
      ...CONTENT_OPTIONS,
      seriesForm: 'kept',
    });
    if (!judged.accepted) throw new Error(judged.rejection?.finding.message);
    expect(judged.families[0]!.rendered).toBeDefined();
    textfiles = [{ id: '/textfiles/y.prom', families: judged.families }];
    expect(await groups.push('PUT', key('job/d'), families('# TYPE kept_lines gauge\nkept_lines 5\n'), undefined)).toMatchObject({
      ok: false,
      message: expect.stringContaining('series kept_lines{instance="",job="d"} is already served'),
    });
    expect(await groups.push('PUT', key('job/d/instance/y'), families('# TYPE kept_lines gauge\nkept_lines 5\nother_family 1\n'), undefined)).toEqual({
      ok: true,
    });
    expect(await groups.push('POST', key('job/d/instance/y'), families('other_family 2\n'), undefined)).toEqual({ ok: true });
    const text = await fileText();
    expect(text).toContain('kept_lines{instance="y",job="d"} 5\n');
    expect(text).toContain('other_family{instance="y",job="d"} 2\n');
  });

  it('finds a duplicate among kept lines however their labels are escaped or left empty', async () => {
    const judged = judgeTextfileContent(
      Buffer.from(
        '# TYPE esc gauge\nesc{a="q\\"uote",b="",instance="",job="e"} 1\nesc{a="back\\\\slash\\nline",b="",instance="",job="e"} 2\nesc{a="ü",b="x",instance="",job="e"} 3\n',
      ),
      { ...CONTENT_OPTIONS, seriesForm: 'kept' },
    );
    expect(judged.families[0]!.rendered).toBeDefined();
    textfiles = [{ id: '/textfiles/e.prom', families: judged.families }];
    for (const labels of [
      ['a', 'q"uote'],
      ['a', 'back\\slash\nline'],
      ['a', 'ü', 'b', 'x'],
    ]) {
      const pushed = [
        {
          name: 'esc',
          help: undefined,
          type: 'gauge' as const,
          firstLine: 1,
          metrics: [{ kind: 'scalar' as const, labels, value: 1, timestampMs: undefined, line: 1 }],
        },
      ];
      expect(await groups.push('PUT', key('job/e'), pushed, undefined)).toMatchObject({ ok: false, reason: 'inconsistent' });
    }
    expect(await groups.push('PUT', key('job/e'), families('# TYPE esc gauge\nesc{a="ü"} 1\n'), undefined)).toEqual({ ok: true });
  });

  it('tells of every file it writes with the content reading that file gives', async () => {
    await groups.push(
      'PUT',
      key('job/w'),
      families('# HELP w_h A histogram.\n# TYPE w_h histogram\nw_h_bucket{le="1"} 1\nw_h_sum 2\nw_h_count 3\nw_g{x="1"} 1\n'),
      60_000,
    );
    now += 1_000;
    await groups.push('POST', key('job/w'), families('w_g 1 1700000000000\n'), undefined);
    expect(written).toHaveLength(2);
    for (const { file, bytes } of written) {
      const read = judgeTextfileContent(bytes, { ...CONTENT_OPTIONS, seriesForm: 'metrics' });
      expect(read.accepted).toBe(true);
      // The parser's per-series hash is its own bookkeeping.
      const withoutHashes = (list: readonly MetricFamily[]): unknown =>
        list.map((family) => ({
          ...family,
          metrics: family.metrics.map((metric) => (metric.kind === 'scalar' ? { ...metric, identityHash: undefined } : metric)),
        }));
      expect(withoutHashes(file.families)).toEqual(withoutHashes(read.families));
      expect(file).toMatchObject({ series: read.series, warnings: read.warnings, ttlMs: read.ttlMs });
      expect(file.identity.size).toBe(BigInt(bytes.length));
    }
    // The failed push's file keeps the last good push's mtime, and says so to the store.
    expect(written[1]!.file.identity.mtimeNs).toBe(1_700_000_000_000n * 1_000_000n);
  });

  it('lets a group change the TYPE of its own family and push the same series again', async () => {
    await groups.push('PUT', key('job/a'), families('# TYPE tc counter\ntc 1\n'), undefined);
    expect(await groups.push('PUT', key('job/a'), families('# TYPE tc gauge\ntc 2\n'), undefined)).toEqual({ ok: true });
    expect(await fileText()).toContain('# TYPE tc gauge\ntc{instance="",job="a"} 2\n');
  });

  it('refuses a key that differs from an existing one only by an empty label, instead of poisoning every scrape (B1, B4)', async () => {
    await groups.push('PUT', key('job/j7'), [], undefined);
    expect(await groups.push('PUT', key('job/j7/instance@base64/='), [], undefined)).toMatchObject({ ok: false, reason: 'inconsistent' });
    expect(await readdir(directory)).toHaveLength(1);
  });

  it('rejects timestamps; a failed push to an existing group only sets its push_failure_time_seconds', async () => {
    expect(await groups.push('PUT', key('job/new'), families('ts_metric 1 1700000000000\n'), undefined)).toMatchObject({
      ok: false,
      message: 'pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps',
    });
    expect(await readdir(directory)).toHaveLength(0);
    await groups.push('PUT', key('job/old'), families('kept 1\n'), undefined);
    now += 5_000;
    await groups.push('POST', key('job/old'), families('kept 2 1700000000000\n'), undefined);
    const text = await fileText();
    expect(text).toContain('kept{instance="",job="old"} 1\n');
    expect(text).toContain('push_failure_time_seconds{instance="",job="old"} 1.700000005e+09\n');
    expect(text).toContain('push_time_seconds{instance="",job="old"} 1.7e+09\n');
  });

  it('refuses what the store would not serve (a reserved name, a duplicate in the body)', async () => {
    expect(await groups.push('PUT', key('job/r'), families('promdrop_fake 1\n'), undefined)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await groups.push('PUT', key('job/r'), families('m 1\nm 2\n'), undefined)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await readdir(directory)).toHaveLength(0);
  });

  it('POST replaces families of the same name, PUT the whole group; an empty PUT keeps the group', async () => {
    await groups.push('PUT', key('job/j1'), families('some_metric{label="val1"} 42\nother 1\n'), undefined);
    await groups.push('POST', key('job/j1'), families('some_metric{label="val2"} 43\n'), undefined);
    let text = await fileText();
    expect(text).toContain('some_metric{instance="",job="j1",label="val2"} 43\n');
    expect(text).not.toContain('val1');
    expect(text).toContain('other{instance="",job="j1"} 1\n');
    await groups.push('PUT', key('job/j1'), [], undefined);
    text = await fileText();
    expect(text).not.toContain('some_metric');
    expect(text).toContain('push_time_seconds{instance="",job="j1"}');
  });

  it('refuses a group whose file would be larger than the store reads', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => `big{series="${'x'.repeat(20)}${i}"} ${i}\n`).join('');
    expect(await groups.push('PUT', key('job/big'), families(big), undefined)).toMatchObject({ ok: false, status: 413, reason: 'too_large' });
    expect(await readdir(directory)).toHaveLength(0);
  });

  it('limits the number of groups', async () => {
    groups.close();
    groups = await open(undefined, 1);
    await groups.push('PUT', key('job/one'), [], undefined);
    expect(await groups.push('PUT', key('job/two'), [], undefined)).toMatchObject({ ok: false, reason: 'too_many_groups' });
    expect(await groups.push('PUT', key('job/one'), families('x 1\n'), undefined)).toEqual({ ok: true });
  });

  it('writes the TTL as the store’s directive, and removes expired groups so they stop counting', async () => {
    groups.close();
    groups = await open(60_000);
    await groups.push('PUT', key('job/short'), families('# TYPE e gauge\ne 1\n'), 1_000);
    expect(await fileText()).toContain('# promdrop: ttl=1s\n');
    now += 2_000;
    // The expired group no longer blocks a conflicting TYPE.
    expect(await groups.push('PUT', key('job/other'), families('# TYPE e counter\ne 1\n'), undefined)).toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const names = await readdir(directory);
    expect(names).toHaveLength(1);
    expect(await fileText()).toContain('# promdrop: ttl=1m\n');
  });

  it('a failed push does not extend the TTL: the group still expires one TTL after its last successful push', async () => {
    await groups.push('PUT', key('job/failing'), families('# TYPE f gauge\nf 1\n'), 10_000);
    const [name] = await readdir(directory);
    now += 8_000;
    expect(await groups.push('POST', key('job/failing'), families('f 2 1700000000000\n'), undefined)).toMatchObject({ ok: false, reason: 'timestamp' });
    expect(await fileText()).toContain('push_failure_time_seconds{instance="",job="failing"} 1.700000008e+09\n');
    // The store counts the TTL from the file's mtime: still the successful push's.
    expect((await stat(join(directory, name!))).mtimeMs).toBe(1_700_000_000_000);
    now += 3_000;
    // 11 s after the last success, 3 s after the failure: expired, so a conflicting TYPE is fine.
    expect(await groups.push('PUT', key('job/other'), families('# TYPE f counter\nf 1\n'), undefined)).toEqual({ ok: true });
  });

  it('removes the temp files of writes cut short by a crash when it loads the directory', async () => {
    await writeFile(join(directory, '.crashed.0123456789abcdef0123456789abcdef.prom.999999999.abc.tmp'), 'half');
    groups.close();
    groups = await open();
    expect(await readdir(directory)).toEqual([]);
  });

  it('loads the groups again after a restart, with their keys, and keeps checking against them', async () => {
    await groups.push('PUT', key('job/dir/path@base64/L3Zhci90bXA'), families('# TYPE tc counter\ntc 1\n'), undefined);
    groups.close();
    groups = await open();
    expect(groups.list().map((group) => group.key.labels)).toEqual([['job', 'dir', 'path', '/var/tmp']]);
    expect(await groups.push('PUT', key('job/b'), families('# TYPE tc gauge\ntc 1\n'), undefined)).toMatchObject({ ok: false });
    await groups.delete(key('job/dir/path@base64/L3Zhci90bXA'));
    expect(await readdir(directory)).toHaveLength(0);
  });
});
