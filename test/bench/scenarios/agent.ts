// Issue 3's benchmark: `promdrop serve` side by side, in one run, with node_exporter 1.5.0
// (textfile collector only) and with the limit (a bare node:http server answering the same body
// from a Buffer). Six measurements, each a module in ./agent/: throughput with 1,000 files,
// write-to-visible latency, idle CPU, start to ready, one 500,000-series file, and a file
// rewritten in place. Each part starts the peers it needs and stops them before the next.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, Scenario, ScenarioReport, TargetResult } from '../scenario.js';
import { agentProgramDescription, startAgent, type BenchAgent } from '../lib/agent.js';
import { countJobSeries, writeJobFiles, type TextfileSet } from '../lib/textfile-sets.js';
import { fetchText } from '../lib/http-get.js';
import { startTextfileNodeExporter, type BenchNodeExporter } from '../lib/node-exporter.js';
import { attempt, errorText, type Outcome } from '../lib/outcome.js';
import { measureHugeFile } from './agent/huge-file.js';
import { IDLE_SECONDS_VARIABLE, measureIdle } from './agent/idle.js';
import { measureInPlaceRewrite } from './agent/inplace-rewrite.js';
import { measureStartup } from './agent/startup.js';
import { measureThroughput } from './agent/throughput.js';
import { doubleWriteRounds, measureWriteToVisible, visibleRounds, writeToVisibleMarkdown, type VisiblePeer, type VisibleRows } from './agent/write-visible.js';

const JOB_FILES = 1_000;
/** The agent configuration compared with node_exporter, which runs with its exporter metrics off. */
const LIKE_NODE_EXPORTER = ['--web.disable-exporter-metrics'];

interface PartReport {
  readonly markdown: string;
  readonly targets?: readonly TargetResult[];
}

/** Runs one part; a part that throws is reported as not measured, and the others still run. */
async function part(context: BenchContext, name: string, targetNames: readonly string[], measure: () => Promise<PartReport>): Promise<PartReport> {
  try {
    return await measure();
  } catch (error) {
    context.log(`agent: ${name} failed: ${errorText(error)}`);
    return {
      markdown: `**${name}**: not measured: ${errorText(error)}`,
      targets: targetNames.map((target) => ({ target, measured: errorText(error).split('\n')[0] ?? '', verdict: 'NOT MEASURED' as const })),
    };
  }
}

/** Fails unless the peer serves every series of the job files. */
async function checkServesJobs(url: string, set: TextfileSet, label: string): Promise<void> {
  const served = countJobSeries(await fetchText(url, { timeoutMs: 30_000 }));
  if (served !== set.series) throw new Error(`${label} served ${served} of the ${set.series} series of the job files`);
}

async function withPeers<T>(
  context: BenchContext,
  directory: string,
  agentFlags: readonly (readonly string[])[],
  use: (agents: readonly BenchAgent[], nodeExporter: Outcome<BenchNodeExporter>) => Promise<T>,
): Promise<T> {
  const agents: BenchAgent[] = [];
  let nodeExporter: Outcome<BenchNodeExporter> = { ok: false, reason: 'not started' };
  try {
    for (const flags of agentFlags) agents.push(await startAgent({ repoRoot: context.repoRoot, directories: [directory], flags }));
    nodeExporter = await attempt(() => startTextfileNodeExporter(directory));
    return await use(agents, nodeExporter);
  } finally {
    for (const agent of agents) await agent.stop();
    if (nodeExporter.ok) await nodeExporter.value.stop();
  }
}

function visiblePeer(agent: BenchAgent): VisiblePeer {
  return { label: 'promdrop serve', metricsUrl: agent.metricsUrl };
}

function nodeExporterPeer(nodeExporter: Outcome<BenchNodeExporter>): Outcome<VisiblePeer> {
  return nodeExporter.ok ? { ok: true, value: { label: 'node_exporter 1.5.0', metricsUrl: nodeExporter.value.url } } : nodeExporter;
}

function first(agents: readonly BenchAgent[]): BenchAgent {
  const agent = agents[0];
  if (agent === undefined) throw new Error('no agent was started');
  return agent;
}

export const agentScenario: Scenario = {
  name: 'agent',
  title: 'The agent: promdrop serve vs node_exporter and a static server (issue 3)',
  issue: 3,
  runByDefault: true,
  requires: [
    { program: 'wrk', debianPackage: 'wrk' },
    { program: 'curl', debianPackage: 'curl' },
    { program: 'prometheus-node-exporter', debianPackage: 'prometheus-node-exporter' },
  ],
  async run(context: BenchContext): Promise<ScenarioReport> {
    context.log(`agent: writing ${JOB_FILES} job files`);
    const jobs = writeJobFiles(join(context.workDir, 'jobs'), JOB_FILES);
    const parts: PartReport[] = [];

    const visibleRows: (readonly string[])[] = [];
    const collectVisible = (rows: VisibleRows): PartReport => {
      visibleRows.push(...rows.rows);
      return { markdown: '', targets: rows.targets };
    };
    parts.push(
      await part(
        context,
        'Throughput and write-to-visible latency among 1,000 files',
        ['1,000 files: throughput', 'write-to-visible p99, among 1,000 files'],
        () =>
          withPeers(context, jobs.directory, [LIKE_NODE_EXPORTER, []], async (agents, nodeExporter) => {
            const [promdrop, promdropWithExporterMetrics] = [first(agents), agents[1] ?? first(agents)];
            await checkServesJobs(promdrop.metricsUrl, jobs, 'promdrop');
            const throughput = await measureThroughput(context, jobs, { promdrop, promdropWithExporterMetrics, nodeExporter });
            const visible = collectVisible(
              await measureWriteToVisible(
                context,
                { label: `among ${JOB_FILES.toLocaleString('en-US')} files`, directory: jobs.directory, writesPerRound: 1, rounds: visibleRounds(context) },
                visiblePeer(promdrop),
                nodeExporterPeer(nodeExporter),
              ),
            );
            return { markdown: throughput.markdown, targets: [...throughput.targets, ...(visible.targets ?? [])] };
          }),
      ),
    );
    const loneDirectory = join(context.workDir, 'lone');
    mkdirSync(loneDirectory, { recursive: true });
    const lone = await part(
      context,
      'Write-to-visible latency, alone in a directory',
      ['write-to-visible p99, alone in its directory', 'write-to-visible p99, two writes back to back'],
      () =>
        withPeers(context, loneDirectory, [LIKE_NODE_EXPORTER], async (agents, nodeExporter) => {
          const promdrop = visiblePeer(first(agents));
          const exporter = nodeExporterPeer(nodeExporter);
          const single = await measureWriteToVisible(
            context,
            { label: 'alone in its directory', directory: loneDirectory, writesPerRound: 1, rounds: visibleRounds(context) },
            promdrop,
            exporter,
          );
          const double = await measureWriteToVisible(
            context,
            { label: 'alone in its directory, two writes back to back', directory: loneDirectory, writesPerRound: 2, rounds: doubleWriteRounds(context) },
            promdrop,
            exporter,
          );
          return collectVisible({ rows: [...single.rows, ...double.rows], targets: [...single.targets, ...double.targets] });
        }),
    );
    parts.push({
      markdown: [writeToVisibleMarkdown(context, visibleRows), lone.markdown].filter((text) => text !== '').join('\n\n'),
      targets: lone.targets ?? [],
    });

    parts.push(
      await part(context, 'Idle CPU', ['idle CPU'], () =>
        withPeers(context, jobs.directory, [[]], async (agents, nodeExporter) => {
          const promdrop = first(agents);
          await checkServesJobs(promdrop.metricsUrl, jobs, 'promdrop');
          if (nodeExporter.ok) await checkServesJobs(nodeExporter.value.url, jobs, 'node_exporter');
          return measureIdle(context, jobs.files, promdrop, nodeExporter);
        }),
      ),
    );

    parts.push(await part(context, 'Start to ready', [], () => measureStartup(context)));
    parts.push(await part(context, 'One 500,000-series file', ['huge file: plain', 'huge file: gzip', 'huge file: peak RSS'], () => measureHugeFile(context)));

    const rewriteDirectory = join(context.workDir, 'rewrite');
    parts.push(
      await part(context, 'Rewrite loop', ['in-place rewrite: complete', 'in-place rewrite: partial'], async () => {
        mkdirSync(rewriteDirectory, { recursive: true });
        return withPeers(context, rewriteDirectory, [LIKE_NODE_EXPORTER], (agents, nodeExporter) =>
          measureInPlaceRewrite(context, rewriteDirectory, first(agents), nodeExporter),
        );
      }),
    );

    const notes = [
      `All peers listen on 127.0.0.1 and are started and stopped by the harness; node_exporter runs as the harness's \`smoke\` scenario runs it (\`--collector.disable-defaults --collector.textfile --web.disable-exporter-metrics\`, its default GOMAXPROCS of 1), promdrop as ${agentProgramDescription()}, with \`--web.disable-exporter-metrics\` except where a row says otherwise.`,
      'Every peer is checked to serve every series of the files before it is measured.',
      `The idle period is ${process.env[IDLE_SECONDS_VARIABLE] ? `set by ${IDLE_SECONDS_VARIABLE}` : context.quick ? 'shortened by --quick' : 'one minute'}; \`--quick\` also shortens the wrk runs and the rewrite loops and uses a 50,000-series file instead of 500,000.`,
      'On a 2-core machine the load generator (wrk, curl, the harness) shares the CPUs with the server it measures; this holds for every peer alike.',
    ];
    return {
      markdown: [...parts.map((report) => report.markdown).filter((text) => text !== ''), notes.map((note) => `- ${note}`).join('\n')].join('\n\n'),
      targets: parts.flatMap((report) => report.targets ?? []),
    };
  },
};
