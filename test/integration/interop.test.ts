// promdrop's files in the Prometheus ecosystem, both ways:
//  - what promdrop writes passes `promtool check metrics` and is served unchanged by
//    node_exporter's textfile collector (users can switch back at any time);
//  - what the ecosystem's writers produce (Python's prometheus_client.write_to_textfile, the
//    Debian textfile collector scripts) is accepted by `promdrop write` and stored as is.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExposition } from '../../src/core/check.js';
import { mergeSources } from '../../src/core/merge.js';
import { renderText } from '../../src/core/render.js';
import { PEERS, requireProgram, runProgram, startNodeExporter } from '../helpers/peers.js';
import { makeTempDir, promdrop, requireBuiltCli } from './writer-support.js';

const COLLECTORS = '/usr/share/prometheus-node-exporter-collectors';
const COLLECTORS_PACKAGE = 'prometheus-node-exporter-collectors';

const promtool = requireProgram(PEERS.promtool, 'prometheus');
const nodeExporter = requireProgram(PEERS.nodeExporter, 'prometheus-node-exporter');
const debianPython = requireProgram(PEERS.debianPython, 'python3-prometheus-client');
const aptInfo = requireProgram(join(COLLECTORS, 'apt_info.py'), COLLECTORS_PACKAGE);
const directorySize = requireProgram(join(COLLECTORS, 'directory-size.sh'), COLLECTORS_PACKAGE);
const nodeOsInfo = requireProgram(join(COLLECTORS, 'node_os_info.sh'), COLLECTORS_PACKAGE);

let root: string;
let dir: string;
beforeAll(() => {
  requireBuiltCli();
  root = makeTempDir('interop');
  dir = join(root, 'textfiles');
  mkdirSync(dir);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const PYTHON_WRITER = `
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, Info, Enum, write_to_textfile
r = CollectorRegistry()
c = Counter('demo_requests', 'Requests handled.', ['method'], registry=r)
c.labels('get').inc(3)
c.labels('post').inc()
Gauge('demo_temperature_celsius', 'Temperature with "quotes" and \\\\ a backslash.', registry=r).set(-3.5)
h = Histogram('demo_latency_seconds', 'Latency.', registry=r)
h.observe(0.2)
h.observe(3)
Summary('demo_size_bytes', 'Size.', registry=r).observe(512)
Info('demo_build', 'Build info.', registry=r).info({'version': '1.2.3', 'path': 'C:\\\\dir "x"\\nnext'})
Enum('demo_state', 'State.', states=['a', 'b'], registry=r).state('b')
write_to_textfile(sys.argv[1], r)
`;

/** Output of a program, failing the test when it fails. */
async function outputOf(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await runProgram(command, args, undefined, 60_000, env);
  expect(result.code, `${command} failed: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Pipes `text` into `promdrop write NAME`: accepted, and stored byte for byte. */
async function expectWriteAccepts(name: string, text: string): Promise<void> {
  expect(text).toMatch(/^[a-z_]+(\{.*\})? \S+$/m); // the producer really produced samples
  const result = await promdrop(['write', name], { dir, input: text });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(readFileSync(join(dir, `${name}.prom`), 'utf8')).toBe(text);
}

describe.skipIf(!debianPython)("Python's prometheus_client.write_to_textfile", () => {
  it('is accepted by promdrop write, every metric type included', async () => {
    const pythonFile = join(root, 'python-client.prom');
    writeFileSync(join(root, 'writer.py'), PYTHON_WRITER);
    await outputOf(debianPython!, [join(root, 'writer.py'), pythonFile]);
    const text = readFileSync(pythonFile, 'utf8');
    expect(text).toContain('# TYPE demo_latency_seconds histogram');
    expect(text).toContain('# TYPE demo_size_bytes summary');
    await expectWriteAccepts('python', text);
  });
});

describe('Debian textfile collector scripts piped into promdrop write', () => {
  it.skipIf(!aptInfo || !debianPython)('apt_info.py', async () => {
    await expectWriteAccepts('apt', await outputOf(debianPython!, [aptInfo!]));
  });

  it.skipIf(!directorySize)('directory-size.sh, on directories whose names need escaping', async () => {
    const measured = join(root, 'sizes');
    for (const name of ['plain', 'with space', 'with "quotes"']) {
      mkdirSync(join(measured, name), { recursive: true });
      writeFileSync(join(measured, name, 'data'), 'x'.repeat(10_000));
    }
    const dirs = readdirSync(measured).map((name) => join(measured, name));
    const text = await outputOf(directorySize!, dirs);
    expect(text).toContain('\\"quotes\\"');
    await expectWriteAccepts('directory_size', text);
  });

  it.skipIf(!nodeOsInfo)('node_os_info.sh, in a sandbox that looks like a legacy system with /etc/lsb-release', async () => {
    // The script only reports on systems without os-release; point its absolute paths into a
    // sandbox holding an Ubuntu 12.04 lsb-release instead.
    const sandbox = join(root, 'legacy-system');
    mkdirSync(join(sandbox, 'etc'), { recursive: true });
    writeFileSync(
      join(sandbox, 'etc', 'lsb-release'),
      'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\nDISTRIB_CODENAME=precise\nDISTRIB_DESCRIPTION="Ubuntu 12.04.5 LTS"\n',
    );
    const script = readFileSync(nodeOsInfo!, 'utf8').replaceAll('/etc/', `${sandbox}/etc/`).replaceAll('/usr/lib/os-release', `${sandbox}/usr/lib/os-release`);
    const sandboxedScript = join(sandbox, 'node_os_info.sh');
    writeFileSync(sandboxedScript, script);
    chmodSync(sandboxedScript, 0o755);
    const text = await outputOf(sandboxedScript, []);
    expect(text).toContain('node_os_version{id="ubuntu",id_like="",name="Ubuntu"} 12.04');
    await expectWriteAccepts('node_os_info', text);
  });
});

describe('files written by promdrop', () => {
  /** Writes one file of every kind promdrop produces into `into`; returns their names. */
  async function writeEveryKind(into: string): Promise<string[]> {
    const run = async (args: string[], input?: string, expectedCode = 0): Promise<void> => {
      const result = await promdrop(args, { dir: into, ...(input === undefined ? {} : { input }) });
      expect(result.code, result.stderr).toBe(expectedCode);
    };
    await run(
      ['write', 'written', '--ttl', '26h'],
      '# HELP written_value A value.\n# TYPE written_value gauge\nwritten_value{kind="a \\"quoted\\" \\\\ value"} 1.5\n',
    );
    await run(['set', 'set', 'backup_size_bytes', '1.2e9', '-l', 'volume=home', '--help', 'Size of the last backup, in bytes.']);
    await run(['set', 'set', 'backup_size_bytes', '-0.5', '-l', 'volume=srv']);
    await run(['inc', 'inc', 'mails_sent_total', '41', '--help', 'Mails sent.']);
    await run(['inc', 'inc', 'mails_sent_total']);
    await run(['run', '--name', 'nightly', '--', 'true']);
    await run(['run', '--name', 'nightly', '--', 'false'], undefined, 1);
    return readdirSync(into)
      .filter((name) => name.endsWith('.prom'))
      .sort();
  }

  it.skipIf(!promtool)('pass promtool check metrics without a single complaint', async () => {
    const into = join(root, 'for-promtool');
    mkdirSync(into);
    const names = await writeEveryKind(into);
    expect(names).toEqual(['inc.prom', 'nightly.job.prom', 'set.prom', 'written.prom']);
    for (const name of names) {
      const result = await runProgram(promtool!, ['check', 'metrics'], readFileSync(join(into, name)));
      expect({ name, code: result.code, output: result.stdout + result.stderr }).toEqual({ name, code: 0, output: '' });
    }
  });

  it.skipIf(!nodeExporter)('are served unchanged by node_exporter, without a scrape error', async () => {
    const into = join(root, 'for-node-exporter');
    mkdirSync(into);
    const names = await writeEveryKind(into);
    const sources = names.map((name) => {
      const checked = checkExposition(readFileSync(join(into, name)));
      expect(checked.accepted).toBe(true);
      return { id: join(into, name), families: checked.families };
    });
    const ours = new Set(sources.flatMap((source) => source.families.map((family) => family.name)));

    const exporter = await startNodeExporter(nodeExporter!, into);
    let served: string;
    try {
      served = await (await fetch(`${exporter.url}/metrics`)).text();
    } finally {
      await exporter.stop();
    }
    expect(served).toContain('node_textfile_scrape_error 0\n');
    for (const name of names) expect(served).toContain(`node_textfile_mtime_seconds{file="${join(into, name)}"}`);

    const servedChecked = checkExposition(Buffer.from(served));
    expect(servedChecked.parseFailure).toBeUndefined();
    const servedOurs = servedChecked.families.filter((family) => ours.has(family.name));
    // Both sides normalised by the same renderer: same families, HELP, TYPE, series and values.
    const expected = renderText(mergeSources(sources).families);
    expect(renderText(mergeSources([{ id: 'node_exporter', families: servedOurs }]).families)).toBe(expected);
  });
});
