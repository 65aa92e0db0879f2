// Every metric type the client libraries' own textfile output can hold, served by the agent as
// node_exporter serves the same file: Python's prometheus_client.write_to_textfile (Counter,
// Gauge, Summary, Histogram, Info, Enum, GaugeHistogram) and prom-client's registry (Counter,
// Gauge, Histogram, Summary). A client library's output is never refused; where it is odd
// (Python's GaugeHistogram has no _count/_sum) promdrop warns and serves what node_exporter does.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEERS, requireProgram, runProgram, startNodeExporter, type RunningProcess } from '../helpers/peers.js';
import { makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';
import { promdrop, requireBuiltCli } from './writer-support.js';

const nodeExporter = requireProgram(PEERS.nodeExporter, 'prometheus-node-exporter');
const debianPython = requireProgram(PEERS.debianPython, 'python3-prometheus-client');

const PYTHON_WRITER = `
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, Info, Enum, write_to_textfile
from prometheus_client.core import GaugeHistogramMetricFamily
r = CollectorRegistry()
Counter('py_requests', 'Requests.', ['method'], registry=r).labels('get').inc(3)
Gauge('py_temperature_celsius', 'Temperature.', registry=r).set(-3.5)
Summary('py_latency_seconds', 'Latency.', registry=r).observe(0.2)
Histogram('py_size_bytes', 'Size.', registry=r, buckets=[1, 10]).observe(5)
Info('py_build', 'Build.', registry=r).info({'version': '1.2.3'})
Enum('py_state', 'State.', states=['a', 'b'], registry=r).state('b')
class QueueCollector:
    def collect(self):
        yield GaugeHistogramMetricFamily('py_queue_size', 'Queue size.', buckets=[('1', 4), ('+Inf', 5)], gsum_value=7)
r.register(QueueCollector())
write_to_textfile(sys.argv[1], r)
`;

async function promClientText(): Promise<string> {
  const registry = new Registry();
  new Counter({ name: 'pc_jobs_total', help: 'Jobs.', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'backup' }, 2);
  new Gauge({ name: 'pc_queue_length', help: 'Queue.', registers: [registry] }).set(4);
  new Histogram({ name: 'pc_duration_seconds', help: 'Duration.', buckets: [0.1, 1], registers: [registry] }).observe(0.5);
  new Summary({ name: 'pc_payload_bytes', help: 'Payload.', percentiles: [0.5, 0.9], registers: [registry] }).observe(100);
  return registry.metrics();
}

/** The families of the two clients only, as lines. */
function clientFamilies(exposition: string): string[] {
  return exposition.split('\n').filter((line) => /^(# (HELP|TYPE) )?(py|pc)_/.test(line));
}

describe.skipIf(!nodeExporter || !debianPython)('client libraries through the agent, as node_exporter serves them', () => {
  let root: string;
  let dir: string;
  let agent: Agent | undefined;
  let exporter: RunningProcess | undefined;
  let pythonText: string;
  let promClient: string;

  beforeAll(async () => {
    requireBuiltCli();
    root = await makeTempDir('promdrop-clients-');
    dir = join(root, 'textfiles');
    mkdirSync(dir);
    writeFileSync(join(root, 'writer.py'), PYTHON_WRITER);
    const written = await runProgram(debianPython!, [join(root, 'writer.py'), join(dir, 'python.prom')], undefined, 60_000);
    if (written.code !== 0) throw new Error(`python failed: ${written.stderr}`);
    pythonText = readFileSync(join(dir, 'python.prom'), 'utf8');
    promClient = await promClientText();
    writeFileSync(join(dir, 'prom-client.prom'), promClient);
    exporter = await startNodeExporter(nodeExporter!, dir);
    agent = await startAgent([`--textfile.directory=${dir}`, '--web.disable-exporter-metrics']);
  });
  afterAll(async () => {
    await agent?.stop();
    await exporter?.stop();
    await removeDir(root);
  });

  it('the writers produced every type', () => {
    for (const type of ['counter', 'gauge', 'summary', 'histogram']) expect(pythonText).toMatch(new RegExp(`^# TYPE py_\\w+ ${type}$`, 'm'));
    expect(pythonText).toContain('# TYPE py_queue_size histogram');
    expect(pythonText).toContain('py_queue_size_gsum 7.0');
    expect(pythonText).not.toContain('py_queue_size_count');
    for (const type of ['counter', 'gauge', 'histogram', 'summary']) expect(promClient).toMatch(new RegExp(`^# TYPE pc_\\w+ ${type}$`, 'm'));
  });

  it('the agent serves every family of both, line for line as node_exporter does', async () => {
    const theirs = clientFamilies(await (await fetch(`${exporter!.url}/metrics`)).text());
    const ours = clientFamilies(await agent!.metrics());
    expect(theirs.some((line) => line.startsWith('py_queue_size_sum 0'))).toBe(true);
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThan(40);
  });

  it('promdrop write accepts both as they are; the GaugeHistogram with a warning', async () => {
    // A directory of their own: beside the agent's copies, write would rightly warn that the
    // agent serves those series from the files already there.
    const fresh = join(root, 'fresh');
    mkdirSync(fresh);
    const python = await promdrop(['write', 'python2', '-d', fresh], { input: pythonText });
    expect(python.code).toBe(0);
    expect(python.stderr).toMatch(/^stdin:\d+: warning: histogram py_queue_size has no py_queue_size_count and no py_queue_size_sum/m);
    const fromPromClient = await promdrop(['write', 'prom-client2', '-d', fresh], { input: promClient });
    expect(fromPromClient).toMatchObject({ code: 0, stderr: '' });
  });
});
