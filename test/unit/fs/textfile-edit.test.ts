import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkExposition } from '../../../src/core/check.js';
import type { MetricFamily } from '../../../src/core/types.js';
import {
  addToSeries,
  deleteTextfile,
  editTextfile,
  neighbourConflicts,
  readTextfile,
  replaceTextfile,
  seriesAddressProblem,
  setSeries,
  TextfileError,
} from '../../../src/fs/textfile-edit.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-edit-'));
  path = join(dir, 'backup.prom');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const read = (): string => readFileSync(path, 'utf8');

/** The file's samples as `name{labels} value` lines, for assertions that ignore HELP/TYPE. */
function samples(): string[] {
  return read()
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe('setSeries', () => {
  it('writes UTF-8 names quoted, as Prometheus 3 reads them, and keeps them on the next edit', async () => {
    await setSeries(path, { metric: 'backup.size.bytes', labels: [['volume.name', 'home']], value: 3, help: 'Size.' });
    await setSeries(path, { metric: 'backup.size.bytes', labels: [['volume.name', 'srv']], value: 4 });
    expect(read()).toBe(
      '# HELP "backup.size.bytes" Size.\n# TYPE "backup.size.bytes" gauge\n{"backup.size.bytes","volume.name"="home"} 3\n{"backup.size.bytes","volume.name"="srv"} 4\n',
    );
    expect(checkExposition(readFileSync(path)).accepted).toBe(true);
  });

  it('creates the file with a gauge series that the core accepts', async () => {
    await setSeries(path, { metric: 'backup_size_bytes', labels: [['volume', 'home']], value: 1.5e9, help: 'Size.' });
    expect(read()).toBe('# HELP backup_size_bytes Size.\n# TYPE backup_size_bytes gauge\nbackup_size_bytes{volume="home"} 1.5e+09\n');
    expect(checkExposition(readFileSync(path)).accepted).toBe(true);
  });

  it('keeps every other series, family, HELP and the ttl directive of the file', async () => {
    writeFileSync(
      path,
      '# promdrop: ttl=2h\n# HELP other_metric Other.\n# TYPE other_metric counter\nother_metric{a="1"} 7\nbackup_size_bytes{volume="srv"} 3\n',
    );
    await setSeries(path, { metric: 'backup_size_bytes', labels: [['volume', 'home']], value: 5 });
    const text = read();
    expect(text.startsWith('# promdrop: ttl=2h\n')).toBe(true);
    expect(text).toContain('# HELP other_metric Other.\n');
    expect(samples()).toEqual(['backup_size_bytes{volume="home"} 5', 'backup_size_bytes{volume="srv"} 3', 'other_metric{a="1"} 7']);
  });

  it('replaces the series with the same labels in any order, and escapes label values', async () => {
    await setSeries(path, {
      metric: 'm',
      labels: [
        ['b', '2'],
        ['a', 'x"y\\z\n'],
      ],
      value: 1,
    });
    await setSeries(path, {
      metric: 'm',
      labels: [
        ['a', 'x"y\\z\n'],
        ['b', '2'],
      ],
      value: 2,
    });
    expect(samples()).toEqual(['m{a="x\\"y\\\\z\\n",b="2"} 2']);
  });

  it('treats an empty label value as no label, like Prometheus', async () => {
    writeFileSync(path, 'm{a=""} 1\n');
    await setSeries(path, { metric: 'm', labels: [], value: 2 });
    expect(samples()).toEqual(['m 2']);
  });

  it('refuses to change the TYPE of an existing family, leaving the file as it was', async () => {
    writeFileSync(path, '# TYPE m counter\nm 1\n');
    const error = await setSeries(path, { metric: 'm', labels: [], value: 2, type: 'gauge' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TextfileError);
    expect((error as TextfileError).problem).toBe('conflict');
    expect(read()).toBe('# TYPE m counter\nm 1\n');
  });

  it('refuses histogram and summary families', async () => {
    writeFileSync(path, '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n');
    await expect(setSeries(path, { metric: 'h', labels: [], value: 2 })).rejects.toMatchObject({ problem: 'conflict' });
  });

  it('refuses to edit a file the agent would not serve, with its findings, and leaves it untouched', async () => {
    writeFileSync(path, 'a 1\na 2\n');
    const error = (await setSeries(path, { metric: 'b', labels: [], value: 1 }).catch((caught: unknown) => caught)) as TextfileError;
    expect(error.problem).toBe('invalid-existing');
    expect(error.findings.some((finding) => finding.line === 2 && finding.severity === 'error')).toBe(true);
    expect(read()).toBe('a 1\na 2\n');
  });

  it('refuses a malformed ttl directive in the existing file', async () => {
    writeFileSync(path, '# promdrop: ttl=soon\na 1\n');
    await expect(setSeries(path, { metric: 'b', labels: [], value: 1 })).rejects.toMatchObject({ problem: 'invalid-existing' });
  });

  it('refuses a series the agent would reject, such as a reserved label name', async () => {
    await expect(setSeries(path, { metric: 'm', labels: [['__name__', 'x']], value: 1 })).rejects.toBeInstanceOf(TextfileError);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('addToSeries', () => {
  it('starts a new series at 0 as a counter and adds to it', async () => {
    expect(await addToSeries(path, { metric: 'runs_total', labels: [], delta: 1 })).toBe(1);
    expect(await addToSeries(path, { metric: 'runs_total', labels: [], delta: 2.5 })).toBe(3.5);
    expect(read()).toBe('# TYPE runs_total counter\nruns_total 3.5\n');
  });

  it('refuses to decrease a counter but lets a gauge go down', async () => {
    await addToSeries(path, { metric: 'c_total', labels: [], delta: 1 });
    await expect(addToSeries(path, { metric: 'c_total', labels: [], delta: -1 })).rejects.toMatchObject({ problem: 'conflict' });
    await addToSeries(path, { metric: 'queue', labels: [], delta: -3, type: 'gauge' });
    expect(samples()).toEqual(['c_total 1', 'queue -3']);
  });

  it('loses no increment when many run at once', async () => {
    await Promise.all(Array.from({ length: 40 }, () => addToSeries(path, { metric: 'n_total', labels: [], delta: 1 })));
    expect(samples()).toEqual(['n_total 40']);
  });
});

describe('editTextfile', () => {
  it('edits an invalid file as empty only when the caller says so, and tells it why', async () => {
    writeFileSync(path, 'garbage\n');
    const reasons: string[] = [];
    await editTextfile(path, (current) => ({ ...current, families: [...current.families] }), {
      replaceInvalid: (error) => reasons.push(error.problem),
    });
    expect(reasons).toEqual(['invalid-existing']);
    expect(read()).toBe('');
  });

  it('writes the ttl directive the edit returns', async () => {
    await editTextfile(path, (current) => ({ ...current, ttlMs: 90 * 60_000 }));
    expect(read()).toBe('# promdrop: ttl=1h30m\n');
    expect((await readTextfile(path)).ttlMs).toBe(90 * 60_000);
  });
});

describe('replaceTextfile and deleteTextfile', () => {
  it('replace writes the bytes as given; delete removes the file and reports a missing one', async () => {
    await replaceTextfile(path, '# a comment kept as is\na 1\n', { mode: 0o640 });
    expect(read()).toBe('# a comment kept as is\na 1\n');
    expect(await deleteTextfile(path)).toBe(true);
    expect(await deleteTextfile(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('seriesAddressProblem', () => {
  it("accepts Prometheus 3's UTF-8 names", () => {
    expect(
      seriesAddressProblem({
        metric: '1good.now',
        labels: [
          ['http.method', 'GET'],
          ['bad-name', '1'],
        ],
      }),
    ).toBeUndefined();
  });

  it('explains invalid metric and label names and repeated labels', () => {
    expect(seriesAddressProblem({ metric: 'ok_name:x', labels: [['a', '1']] })).toBeUndefined();
    expect(seriesAddressProblem({ metric: '', labels: [] })).toMatch(/invalid metric name/);
    expect(seriesAddressProblem({ metric: 'a\ud800b', labels: [] })).toMatch(/invalid metric name.*UTF-8/);
    expect(seriesAddressProblem({ metric: 'm', labels: [['', '1']] })).toMatch(/invalid label name/);
    expect(seriesAddressProblem({ metric: 'm', labels: [['__x', '1']] })).toMatch(/reserved/);
    expect(
      seriesAddressProblem({
        metric: 'm',
        labels: [
          ['a', '1'],
          ['a', '2'],
        ],
      }),
    ).toMatch(/twice/);
  });
});

describe('neighbourConflicts', () => {
  const gauge = (name: string, labels: string[] = []): MetricFamily => ({
    name,
    help: undefined,
    type: 'gauge',
    metrics: [{ kind: 'scalar', labels, value: 1, timestampMs: undefined, line: 1 }],
    firstLine: 1,
  });
  const lostNames = async (families: MetricFamily[]): Promise<string[]> =>
    (await neighbourConflicts(join(dir, 'new.prom'), families)).map((conflict) => conflict.family).sort();

  it("finds a plain x_count against another file's histogram x", async () => {
    writeFileSync(join(dir, 'a.prom'), '# TYPE x histogram\nx_bucket{le="+Inf"} 1\nx_sum 2\nx_count 1\n');
    expect(await lostNames([gauge('x_count')])).toEqual(['x_count']);
  });

  it('finds a series another file serves under a quoted UTF-8 name', async () => {
    writeFileSync(join(dir, 'a.prom'), '{"backup.size.bytes",volume="home"} 3\n');
    expect(await lostNames([gauge('backup.size.bytes', ['volume', 'home'])])).toEqual(['backup.size.bytes']);
  });

  it('finds a name that is escaped in the other file', async () => {
    writeFileSync(join(dir, 'a.prom'), '{"odd\\"name",volume="home"} 3\n');
    expect(await lostNames([gauge('odd"name', ['volume', 'home'])])).toEqual(['odd"name']);
  });

  it('finds nothing in files that do not mention the names, valid or not', async () => {
    writeFileSync(join(dir, 'a.prom'), 'other_metric 1\n');
    writeFileSync(join(dir, 'b.prom'), 'this is { not an exposition\n');
    expect(await lostNames([gauge('x_count')])).toEqual([]);
  });
});
