// Every row of node-exporter-textfile.md §1 at the store level. Where node_exporter 1.5.0 is
// right, what the store serves equals what a live node_exporter serves for the same directory
// (minus each side's own extra families). Where it is not (silent drops, crashes, a directory
// served as an empty file, stale files forever...), the store's documented behaviour is asserted
// instead; docs/agent.md explains each difference.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOnce, type FileReport, type Snapshot } from '../../src/agent/load-once.js';
import type { TextfileStore } from '../../src/agent/store.js';
import { PEERS, requireProgram, startNodeExporter } from '../helpers/peers.js';
import { sleep, tempDirectory, testStore, waitFor } from './store-helpers.js';
import { requireBuiltCli } from './writer-support.js';
import { promdropArgv } from '../helpers/promdrop-command.js';

const nodeExporterBinary = requireProgram(PEERS.nodeExporter, 'prometheus-node-exporter');

type Entry = string | Buffer | { readonly symlinkTo: string } | { readonly directory: true } | { readonly content: string; readonly mtimeSeconds: number };

interface Row {
  readonly row: string;
  readonly title: string;
  readonly files: Readonly<Record<string, Entry>>;
  /** The --textfile.directory value, from the row's directory (default: itself). */
  readonly pattern?: (directory: string) => string;
  /** Extra checks on what the store serves, beyond equality with node_exporter. */
  readonly check?: (snapshot: Snapshot, directory: string) => void;
  /** The agent's --textfile.metric-name-validation-scheme (default utf8, as Prometheus 3). */
  readonly nameValidation?: 'legacy';
}

let root: string;

beforeAll(() => {
  root = tempDirectory('rows');
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function makeRow(row: Row): string {
  const directory = join(root, `row-${row.row}`);
  mkdirSync(directory, { recursive: true });
  for (const [name, entry] of Object.entries(row.files)) {
    const path = join(directory, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) writeFileSync(path, entry);
    else if ('symlinkTo' in entry) symlinkSync(entry.symlinkTo, path);
    else if ('directory' in entry) mkdirSync(path);
    else {
      writeFileSync(path, entry.content);
      utimesSync(path, entry.mtimeSeconds, entry.mtimeSeconds);
    }
  }
  return directory;
}

/** The text split into families (HELP line first), without the families `drop` names. */
function familiesExcept(text: string, drop: RegExp): string {
  const blocks = text.split(/(?=^# HELP )/m);
  return blocks.filter((block) => !drop.test(/^# HELP (\S+)/.exec(block)?.[1] ?? '')).join('');
}

const NODE_EXPORTER_OWN = /^(node_exporter_build_info|node_scrape_collector_\w+|promhttp_\w+)$/;
const PROMDROP_OWN = /^promdrop_/;

function scrapeError(snapshot: Snapshot): string | undefined {
  return /^node_textfile_scrape_error (\S+)$/m.exec(snapshot.text.toString())?.[1];
}

function report(snapshot: Snapshot, directory: string, name: string): FileReport | undefined {
  return snapshot.files.find((file) => file.path === join(directory, name));
}

const OK_FILE = '# HELP ok_metric A file that is fine.\n# TYPE ok_metric gauge\nok_metric 1\n';

// ---------------------------------------------------------------------------------------------
// Rows where node_exporter is right: same bytes.

const PARITY_ROWS: Row[] = [
  {
    row: '1',
    title: 'valid file',
    files: { 'good.prom': '# HELP fam_a Help text.\n# TYPE fam_a gauge\nfam_a{x="1"} 1\nfam_a{x="2"} 2\n' },
    check: (s) => expect(scrapeError(s)).toBe('0'),
  },
  {
    row: '2',
    title: 'syntax error in one file, another valid',
    files: { 'bad.prom': 'bad_metric{job="a" 1\n', 'ok.prom': OK_FILE },
    check: (s, d) => {
      expect(scrapeError(s)).toBe('1');
      expect(report(s, d, 'bad.prom')).toMatchObject({ state: 'invalid', reason: 'parse' });
    },
  },
  { row: '3', title: 'empty file (valid, mtime emitted)', files: { 'empty.prom': '' }, check: (s) => expect(scrapeError(s)).toBe('0') },
  {
    row: '4',
    title: 'client-side timestamp drops the whole file',
    files: { 'ts.prom': 'ts_metric 1 1700000000000\nts_other 2\n', 'ok.prom': OK_FILE },
    check: (s, d) => expect(report(s, d, 'ts.prom')).toMatchObject({ reason: 'timestamp', served: false }),
  },
  {
    row: '5',
    title: 'one family in two files, same HELP and TYPE',
    files: { 'a.prom': '# HELP fam Shared.\n# TYPE fam gauge\nfam{src="a"} 1\n', 'b.prom': '# HELP fam Shared.\n# TYPE fam gauge\nfam{src="b"} 2\n' },
  },
  { row: '6c', title: 'neither file has HELP', files: { 'a.prom': 'fam{src="a"} 1\n', 'b.prom': 'fam{src="b"} 2\n' } },
  { row: '8c', title: 'different label names in two files', files: { 'a.prom': 'fam{a="1"} 1\n', 'b.prom': 'fam{b="2"} 2\n' } },
  { row: '8d', title: 'different label names within one file (padded)', files: { 'a.prom': 'fam{a="1"} 1\nfam{b="2"} 2\na_m 1\na_m{x="1"} 2\n' } },
  { row: '9', title: 'no trailing newline', files: { 'nonl.prom': 'm 1\nm2 2', 'ok.prom': OK_FILE }, check: (s) => expect(scrapeError(s)).toBe('1') },
  { row: '11', title: 'subdirectory not recursed', files: { 'sub/inner.prom': 'inner 1\n', 'ok.prom': OK_FILE } },
  {
    row: '12',
    title: 'symlink to a regular file elsewhere (link path, target mtime)',
    files: {
      '../row-12-target/target.txt': { content: 'linked_metric 7\n', mtimeSeconds: 1_600_000_000 },
      'link.prom': { symlinkTo: '../row-12-target/target.txt' },
    },
    check: (s, d) => expect(s.text.toString()).toContain(`node_textfile_mtime_seconds{file="${join(d, 'link.prom')}"} 1.6e+09\n`),
  },
  {
    row: '12b',
    title: 'dangling symlink',
    files: { 'dangling.prom': { symlinkTo: 'nowhere' }, 'ok.prom': OK_FILE },
    check: (s, d) => expect(report(s, d, 'dangling.prom')).toMatchObject({ reason: 'io', served: false }),
  },
  { row: '13', title: 'missing directory', files: {}, pattern: (d) => join(d, 'missing'), check: (s) => expect(scrapeError(s)).toBe('1') },
  {
    row: '13b',
    title: 'directory given as a glob',
    files: { 'one/a.prom': 'from_one 1\n', 'two/b.prom': 'from_two 2\n' },
    pattern: (d) => `${d}/*`,
    check: (s) => expect(s.text.toString()).toContain('from_two 2\n'),
  },
  { row: '14', title: 'invalid UTF-8 in a label value', files: { 'utf.prom': Buffer.from('bad_utf{v="\xff\xfe"} 1\n', 'latin1'), 'ok.prom': OK_FILE } },
  { row: '14b', title: 'valid UTF-8 in a label value and HELP', files: { 'utf.prom': '# HELP utf_metric héllo ✓\nutf_metric{v="héllo ✓"} 1\n' } },
  {
    row: '15',
    title: 'well-formed histogram and summary',
    files: {
      'h.prom':
        '# HELP req_seconds Request time.\n# TYPE req_seconds histogram\nreq_seconds_bucket{le="0.1"} 1\nreq_seconds_bucket{le="1"} 3\nreq_seconds_bucket{le="+Inf"} 4\nreq_seconds_sum 2.5\nreq_seconds_count 4\n' +
        '# HELP rpc_seconds RPC time.\n# TYPE rpc_seconds summary\nrpc_seconds{quantile="0.5"} 0.2\nrpc_seconds{quantile="0.99"} 0.9\nrpc_seconds_sum 10\nrpc_seconds_count 30\n',
    },
  },
  {
    row: '15b',
    title: 'histogram without +Inf bucket (served with +Inf = _count, like node_exporter)',
    files: { 'h.prom': '# TYPE req_seconds histogram\nreq_seconds_bucket{le="1"} 3\nreq_seconds_sum 2.5\nreq_seconds_count 4\n' },
    check: (s, d) => expect(report(s, d, 'h.prom')).toMatchObject({ state: 'ok', warnings: 1 }),
  },
  { row: '15d', title: 'histogram le="abc"', files: { 'h.prom': '# TYPE h histogram\nh_bucket{le="abc"} 1\n', 'ok.prom': OK_FILE } },
  { row: '15e', title: 'summary with only _sum and _count', files: { 's.prom': '# TYPE s summary\ns_sum 1\ns_count 2\n' } },
  { row: '15f', title: 'OpenMetrics type info', files: { 'i.prom': '# TYPE x info\nx 1\n', 'ok.prom': OK_FILE } },
  { row: '16', title: 'invalid metric name', files: { 'n.prom': 'my-metric 1\n', 'ok.prom': OK_FILE } },
  { row: '16b', title: 'name starting with a digit', files: { 'n.prom': '1abc 1\n', 'ok.prom': OK_FILE } },
  {
    row: '16c',
    title: 'quoted UTF-8 name; name-less sample (legacy names, as node_exporter 1.5 reads them)',
    files: { 'q.prom': '{"my.dotted"} 1\n', 'nameless.prom': '{host="x"} 1\n', 'ok.prom': OK_FILE },
    nameValidation: 'legacy',
  },
  { row: '16d', title: 'colon in a name', files: { 'c.prom': 'ok:colon_metric 1\n' } },
  { row: '16e', title: 'invalid label name', files: { 'l.prom': 'm{bad-label="x"} 1\n', 'ok.prom': OK_FILE } },
  { row: '17', title: 'duplicate label name', files: { 'dl.prom': 'dl_metric{a="1",a="2"} 1\n', 'ok.prom': OK_FILE } },
  {
    row: '18',
    title: 'special float values',
    files: {
      'v.prom': ['NaN', '+Inf', '-Inf', 'Inf', 'nan', 'inf', '+inf', '-inf', '1.5e3', '-3'].map((v, i) => `v{i="${i}"} ${v}\n`).join(''),
    },
  },
  { row: '18b', title: 'hex and overflow values', files: { 'hex.prom': 'm 0x10\n', 'big.prom': 'm 1e400\n', 'ok.prom': OK_FILE } },
  { row: '18c', title: 'negative counter (served, with a warning)', files: { 'c.prom': '# TYPE c_neg counter\nc_neg -5\n' } },
  {
    row: '19',
    title: 'escapes in label values and HELP',
    files: { 'e.prom': '# HELP esc_metric back\\\\slash new\\nline "quote"\nesc_metric{v="q\\"uote",w="back\\\\slash",x="new\\nline"} 1\n' },
  },
  { row: '19b', title: 'unknown escape in a label value', files: { 'e.prom': 'm{v="a\\tb"} 1\n', 'ok.prom': OK_FILE } },
  { row: '20', title: 'CRLF line endings', files: { 'crlf.prom': '# TYPE m gauge\r\nm 1\r\n', 'ok.prom': OK_FILE } },
  { row: '20b', title: 'UTF-8 BOM', files: { 'bom.prom': '\ufeffm 1\n', 'ok.prom': OK_FILE } },
  { row: '20c', title: 'trailing space after the value', files: { 'ws.prom': 'm 3   \n', 'ok.prom': OK_FILE } },
  { row: '20d', title: 'whitespace inside braces, trailing comma, tab separator', files: { 'w.prom': 'm{ a = "1" , b="2", } 1\nn\t2\n' } },
  { row: '20e', title: 'comments, #nospace, blank and whitespace-only lines', files: { 'c.prom': '# a comment\n#nospace\n\n   \t\nm 1\n' } },
  {
    row: '20f',
    title: 'TYPE after samples; second HELP',
    files: { 'late.prom': 'm 1\n# TYPE m gauge\n', 'twice.prom': '# HELP n one\n# HELP n two\nn 1\n', 'ok.prom': OK_FILE },
  },
  { row: '20g', title: 'OpenMetrics # EOF line (a comment)', files: { 'eof.prom': 'm 1\n# EOF\n' } },
  { row: '20h', title: 'exemplar', files: { 'ex.prom': 'm_total 1 # {trace_id="abc"} 1.0\n', 'ok.prom': OK_FILE } },
  { row: '20i', title: '# UNIT line (a comment)', files: { 'u.prom': '# UNIT m_seconds seconds\nm_seconds 1\n' } },
  {
    row: '22b',
    title: 'old file without a ttl is still served (no max-age by default)',
    files: { 'old.prom': { content: 'old_metric 1\n', mtimeSeconds: 1_577_836_800 } },
    check: (s, d) => expect(s.text.toString()).toContain(`node_textfile_mtime_seconds{file="${join(d, 'old.prom')}"} 1.5778368e+09\n`),
  },
];

describe.skipIf(nodeExporterBinary === undefined)('rows where node_exporter 1.5.0 is right: same output', () => {
  for (const row of PARITY_ROWS) {
    it(`row ${row.row}: ${row.title}`, async () => {
      const directory = makeRow(row);
      const pattern = row.pattern?.(directory) ?? directory;
      const ours = await loadOnce({ directories: [pattern], ...(row.nameValidation === undefined ? {} : { nameValidation: row.nameValidation }) });
      const exporter = await startNodeExporter(nodeExporterBinary!, pattern);
      let theirs: string;
      try {
        const response = await fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
        theirs = await response.text();
      } finally {
        await exporter.stop();
      }
      expect(familiesExcept(ours.text.toString(), PROMDROP_OWN)).toBe(familiesExcept(theirs, NODE_EXPORTER_OWN));
      row.check?.(ours, directory);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Rows where node_exporter is wrong: the documented better result.

async function load(row: Row): Promise<{ snapshot: Snapshot; directory: string }> {
  const directory = makeRow(row);
  return { snapshot: await loadOnce({ directories: [row.pattern?.(directory) ?? directory] }), directory };
}

describe('rows where the store differs from node_exporter on purpose', () => {
  it('row 6: different HELP keeps every series under the first HELP and warns about the second file', async () => {
    const { snapshot, directory } = await load({
      row: '6',
      title: '',
      files: { 'a.prom': '# HELP fam Help one\n# TYPE fam gauge\nfam{src="a"} 1\n', 'b.prom': '# HELP fam Help two\n# TYPE fam gauge\nfam{src="b"} 2\n' },
    });
    expect(snapshot.text.toString()).toContain('# HELP fam Help one\n# TYPE fam gauge\nfam{src="a"} 1\nfam{src="b"} 2\n');
    // A warning, not an error (docs/agent.md): b is served whole, so nothing is missing.
    expect(report(snapshot, directory, 'b.prom')).toMatchObject({ state: 'ok', served: true, series: 1, warnings: 1 });
    expect(report(snapshot, directory, 'b.prom')!.reason).toBeUndefined();
    expect(report(snapshot, directory, 'b.prom')!.message).toContain(`HELP of fam differs from the one in ${join(directory, 'a.prom')}`);
    expect(scrapeError(snapshot)).toBe('0'); // node_exporter: 0 too, but b's series silently dropped
  });

  it('row 6b: a file without HELP joins the family of a file with HELP, nothing dropped', async () => {
    const { snapshot } = await load({
      row: '6b',
      title: '',
      files: { 'a.prom': '# HELP fam Help one\n# TYPE fam gauge\nfam{src="a"} 1\n', 'b.prom': '# TYPE fam gauge\nfam{src="b"} 2\n' },
    });
    expect(snapshot.text.toString()).toContain('# HELP fam Help one\n# TYPE fam gauge\nfam{src="a"} 1\nfam{src="b"} 2\n');
    expect(scrapeError(snapshot)).toBe('0');
    expect(snapshot.files.map((f) => f.state)).toEqual(['ok', 'ok']);
  });

  it('row 7: a TYPE conflict keeps the first file and flags the second', async () => {
    const { snapshot, directory } = await load({
      row: '7',
      title: '',
      files: { 'a.prom': '# TYPE fam gauge\nfam{src="a"} 1\n', 'b.prom': '# TYPE fam counter\nfam{src="b"} 2\n' },
    });
    const text = snapshot.text.toString();
    expect(text).toContain('# TYPE fam gauge\nfam{src="a"} 1\n');
    expect(text).not.toContain('fam{src="b"}');
    expect(report(snapshot, directory, 'b.prom')).toMatchObject({ state: 'conflict', reason: 'conflict' });
    expect(report(snapshot, directory, 'b.prom')!.message).toContain(join(directory, 'a.prom'));
    expect(text).toContain(`promdrop_textfile_error{file="${join(directory, 'b.prom')}",reason="conflict"} 1\n`);
    expect(scrapeError(snapshot)).toBe('1');
  });

  it('row 8: the same series in two files: the first is served, the duplicate flagged', async () => {
    const { snapshot, directory } = await load({
      row: '8',
      title: '',
      files: { 'a.prom': 'fam{src="x"} 1\n', 'b.prom': 'fam{src="x"} 2\n', 'c.prom': 'other 3\n' },
    });
    const text = snapshot.text.toString();
    expect(text).toContain('fam{src="x"} 1\n');
    expect(text).not.toContain('fam{src="x"} 2');
    expect(text).toContain('other 3\n');
    // b's only series is the duplicate: nothing of b is served, and b is not counted as served.
    expect(report(snapshot, directory, 'b.prom')).toMatchObject({ state: 'conflict', served: false, series: 0, reason: 'duplicate' });
    expect(snapshot.text.toString()).toContain(`promdrop_textfile_up{file="${join(directory, 'b.prom')}"} 0\n`);
    expect(scrapeError(snapshot)).toBe('1');
  });

  it('row 8b: a duplicate series inside one file rejects that file', async () => {
    const { snapshot, directory } = await load({ row: '8b', title: '', files: { 'dup.prom': 'dup{a="1"} 1\ndup{a="1"} 2\n', 'ok.prom': OK_FILE } });
    expect(snapshot.text.toString()).not.toContain('dup{');
    expect(report(snapshot, directory, 'dup.prom')).toMatchObject({ state: 'invalid', reason: 'duplicate' });
    expect(report(snapshot, directory, 'dup.prom')!.message).toMatch(/dup\.prom:2:1: /);
  });

  it('row 10: only a.prom is read; dotfiles like .hidden.prom are not', async () => {
    const names = ['a.prom', '.hidden.prom', 'a.prom.tmp', 'a.prom.12345', 'a.PROM', 'a.prom~', 'a.txt', 'b.prom.swp', '.a.prom.tmp', 'c'];
    const { snapshot, directory } = await load({ row: '10', title: '', files: Object.fromEntries(names.map((n, i) => [n, `name_${i} 1\n`])) });
    expect(snapshot.files.map((f) => f.path)).toEqual([join(directory, 'a.prom')]);
    expect(snapshot.text.toString()).not.toContain('name_1 '); // node_exporter serves .hidden.prom
  });

  it('rows 11b and 12c: a directory named *.prom (or a symlink to one) is reported, not served as empty', async () => {
    const { snapshot, directory } = await load({
      row: '11b',
      title: '',
      files: { 'dir.prom': { directory: true }, target: { directory: true }, 'linkdir.prom': { symlinkTo: 'target' }, 'ok.prom': OK_FILE },
    });
    expect(report(snapshot, directory, 'dir.prom')).toMatchObject({ state: 'invalid', served: false, reason: 'not_regular' });
    expect(report(snapshot, directory, 'linkdir.prom')).toMatchObject({ state: 'invalid', reason: 'not_regular' });
    expect(snapshot.text.toString()).not.toContain(`node_textfile_mtime_seconds{file="${join(directory, 'dir.prom')}"}`);
    expect(scrapeError(snapshot)).toBe('1');
  });

  it('row 15c: a histogram without _sum/_count and with non-cumulative buckets is rejected', async () => {
    const { snapshot, directory } = await load({
      row: '15c',
      title: '',
      files: { 'h.prom': '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="2"} 3\nh_bucket{le="+Inf"} 4\n', 'ok.prom': OK_FILE },
    });
    expect(report(snapshot, directory, 'h.prom')).toMatchObject({ state: 'invalid', reason: 'validation' });
    expect(snapshot.text.toString()).toContain('ok_metric 1\n');
  });

  it('row 16f: a reserved label name rejects the file instead of crashing the agent', async () => {
    const { snapshot, directory } = await load({ row: '16f', title: '', files: { 'r.prom': 'ok_metric2{__reserved="x"} 1\n', 'ok.prom': OK_FILE } });
    expect(report(snapshot, directory, 'r.prom')).toMatchObject({ state: 'invalid', reason: 'validation' });
    expect(report(snapshot, directory, 'r.prom')!.message).toContain('__reserved');
    expect(snapshot.text.toString()).toContain('ok_metric 1\n');
  });

  it('rows 21 and 21b: a file cannot replace the meta metrics', async () => {
    const { snapshot, directory } = await load({
      row: '21',
      title: '',
      files: { 'se.prom': 'node_textfile_scrape_error 5\n', 'mt.prom': 'node_textfile_mtime_seconds{file="x"} 5\n', 'ok.prom': OK_FILE },
    });
    const text = snapshot.text.toString();
    expect(text).not.toContain('node_textfile_scrape_error 5');
    expect(text).not.toContain('file="x"');
    expect(text).toContain(`node_textfile_mtime_seconds{file="${join(directory, 'ok.prom')}"}`);
    expect(report(snapshot, directory, 'se.prom')).toMatchObject({ reason: 'reserved_metric' });
    expect(report(snapshot, directory, 'mt.prom')).toMatchObject({ reason: 'reserved_metric' });
    expect(scrapeError(snapshot)).toBe('1');
  });

  it('row 22b with --textfile.max-age: an old file expires (never deleted)', async () => {
    const directory = makeRow({ row: '22b-max-age', title: '', files: { 'old.prom': { content: 'old_metric 1\n', mtimeSeconds: 1_577_836_800 } } });
    const snapshot = await loadOnce({ directories: [directory], defaultTtlMs: 26 * 3_600_000 });
    expect(snapshot.text.toString()).not.toContain('old_metric');
    expect(report(snapshot, directory, 'old.prom')).toMatchObject({ state: 'expired', reason: 'expired', ttlMs: 26 * 3_600_000 });
  });
});

// ---------------------------------------------------------------------------------------------
// Rows about a file changing under a running store.

describe('rows about files changing while the agent runs', () => {
  let store: TextfileStore | undefined;

  afterAll(async () => {
    await store?.close();
  });

  async function running(row: string, files: Record<string, Entry>, settleMs = 200): Promise<string> {
    await store?.close();
    const directory = makeRow({ row, title: '', files });
    store = testStore([directory], { settleMs, gracePeriodMs: 60_000 }).store;
    await store.start();
    await sleep(80); // past the racy window: from here the directory's mtime is trusted
    await store.snapshot();
    return directory;
  }

  const text = async (): Promise<string> => (await store!.snapshot()).text.toString();

  it('row 22: a rename is served on the next scrape; an in-place rewrite once it settles', async () => {
    const directory = await running('22', { 'r.prom': 'renamed 1\n', 'i.prom': 'inplace 1\n' });
    writeFileSync(join(directory, '.r.prom.tmp'), 'renamed 2\n');
    renameSync(join(directory, '.r.prom.tmp'), join(directory, 'r.prom'));
    expect(await text()).toContain('renamed 2\n');
    writeFileSync(join(directory, 'i.prom'), 'inplace 2\n');
    await waitFor('the in-place rewrite to be served', async () => (await text()).includes('inplace 2\n'), 5_000);
  });

  it('row 22c: a half-written last line keeps the last good content served, flagged', async () => {
    const directory = await running('22c', { 'h.prom': 'half 1\nhalf_two 2\n' });
    writeFileSync(join(directory, 'h.prom'), 'half 10\nhalf_tw'); // in place, cut mid-line
    await waitFor('the cut file to be judged', async () => report(await store!.snapshot(), directory, 'h.prom')?.reason === 'parse', 5_000);
    const snapshot = await store!.snapshot();
    expect(snapshot.text.toString()).toContain('half 1\n');
    expect(snapshot.text.toString()).toContain('half_two 2\n');
    expect(report(snapshot, directory, 'h.prom')).toMatchObject({ state: 'stale_grace', served: true, reason: 'parse' });
    expect(scrapeError(snapshot)).toBe('1'); // flagged: node_exporter would also say 1, but serve nothing
  });

  it('row 22d: a rewrite cut at a line boundary is not served while it is being written', async () => {
    const directory = await running('22d', { 'c.prom': 'cut 1\ncut_two 2\n' }, 1_500);
    writeFileSync(join(directory, 'c.prom'), 'cut 10\n'); // in place: the first line of a rewrite
    const during = await store!.snapshot();
    expect(during.text.toString()).toContain('cut_two 2\n');
    expect(during.text.toString()).not.toContain('cut 10');
    await sleep(300);
    const still = await store!.snapshot();
    expect(still.text.toString()).toContain('cut_two 2\n');
    expect(report(still, directory, 'c.prom')).toMatchObject({ state: 'stale_grace', served: true });
    writeFileSync(join(directory, 'c.prom'), 'cut_two 20\n', { flag: 'a' });
    await waitFor('the whole rewrite to be served', async () => (await text()).includes('cut_two 20\n'), 5_000);
    expect(await text()).toContain('cut 10\n');
  });
});

// ---------------------------------------------------------------------------------------------
// Rows about permissions: the agent runs as an unprivileged user.

/** Runs `promdrop list --json` as `nobody` when we are root, else as ourselves. */
async function listAs(directory: string): Promise<{ files: FileReport[]; directories: Array<{ path: string; ok: boolean }> }> {
  const cli = requireBuiltCli();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The private copy of the bundle lives in a 0700 temporary directory: let nobody in.
    chmodSync(dirname(dirname(cli)), 0o755);
  }
  const child = spawn(promdropArgv(cli)[0], [...promdropArgv(cli).slice(1), 'list', '--json', '-d', directory], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  if (stdout === '') throw new Error(`promdrop list printed nothing: ${stderr}`);
  return JSON.parse(stdout) as { files: FileReport[]; directories: Array<{ path: string; ok: boolean }> };
}

describe('rows about permissions', () => {
  it('row 13c: an unreadable file is reported as permission; the others are served', async () => {
    const directory = makeRow({ row: '13c', title: '', files: { 'secret.prom': 'secret 1\n', 'ok.prom': OK_FILE } });
    chmodSync(root, 0o755);
    chmodSync(directory, 0o755);
    chmodSync(join(directory, 'ok.prom'), 0o644);
    chmodSync(join(directory, 'secret.prom'), process.getuid?.() === 0 ? 0o600 : 0o000);
    const listed = await listAs(directory);
    expect(listed.files.find((f) => f.path.endsWith('secret.prom'))).toMatchObject({ state: 'invalid', served: false, reason: 'permission' });
    expect(listed.files.find((f) => f.path.endsWith('ok.prom'))).toMatchObject({ state: 'ok' });
  });

  it('row 13d: an unlistable directory is reported', async () => {
    const directory = makeRow({ row: '13d', title: '', files: { 'a.prom': OK_FILE } });
    chmodSync(root, 0o755);
    chmodSync(directory, process.getuid?.() === 0 ? 0o700 : 0o000);
    try {
      const listed = await listAs(directory);
      expect(listed.directories).toEqual([expect.objectContaining({ path: directory, ok: false })]);
      expect(listed.files).toEqual([]);
    } finally {
      chmodSync(directory, 0o755);
    }
  });
});
