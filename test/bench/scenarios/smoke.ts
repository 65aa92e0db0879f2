// A self-check of the measuring tools the serving and writing benchmarks (issues 3, 4, 6) are
// built on: wrk against the bare static server and against node_exporter, hyperfine on trivial
// commands, /proc readings of a peer. Its figures are not targets; a broken tool shows here
// before it can spoil a real comparison.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario.js';
import { formatMegabytes, formatMilliseconds } from '../lib/format.js';
import { runHyperfine } from '../lib/hyperfine.js';
import { markdownTable } from '../lib/markdown.js';
import { startTextfileNodeExporter } from '../lib/node-exporter.js';
import { startStaticServer } from '../lib/static-server.js';
import { runWrk, type WrkResult } from '../lib/wrk.js';

function smallTextfile(index: number): string {
  return [
    '# HELP smoke_job_last_success_timestamp_seconds Last time the job succeeded.',
    '# TYPE smoke_job_last_success_timestamp_seconds gauge',
    `smoke_job_last_success_timestamp_seconds{name="job-${index}"} 1.7e+09`,
    '',
  ].join('\n');
}

function wrkRow(peer: string, result: WrkResult): string[] {
  const errors = Object.values(result.errors).reduce((sum, count) => sum + count, 0);
  return [
    peer,
    result.requestsPerSecond.toFixed(0),
    formatMilliseconds(result.latencyMs.p50),
    formatMilliseconds(result.latencyMs.p99),
    formatMegabytes(result.bytesRead),
    String(errors),
  ];
}

export const smokeScenario: Scenario = {
  name: 'smoke',
  title: 'Harness self-check: wrk, hyperfine, static server, node_exporter',
  issue: undefined,
  runByDefault: false,
  requires: [
    { program: 'wrk', debianPackage: 'wrk' },
    { program: 'hyperfine', debianPackage: 'hyperfine' },
    { program: 'prometheus-node-exporter', debianPackage: 'prometheus-node-exporter' },
  ],
  async run(context: BenchContext): Promise<ScenarioReport> {
    const directory = join(context.workDir, 'smoke-textfiles');
    mkdirSync(directory, { recursive: true });
    const files = 20;
    for (let i = 0; i < files; i++) writeFileSync(join(directory, `job-${i}.prom`), smallTextfile(i));

    const wrkRows: string[][] = [];
    const exporter = await startTextfileNodeExporter(directory);
    let exporterPeak: number | undefined;
    try {
      const body = Buffer.from(await (await fetch(exporter.url)).text(), 'utf8');
      const server = await startStaticServer(body, { gzipBody: gzipSync(body) });
      try {
        context.log('smoke: wrk against the static server (plain and gzip) and node_exporter');
        wrkRows.push(wrkRow('static server', await runWrk({ url: server.url, connections: 4, durationSeconds: 2, scratchDir: context.workDir })));
        wrkRows.push(
          wrkRow(
            'static server, gzip',
            await runWrk({ url: server.url, connections: 4, durationSeconds: 2, headers: { 'Accept-Encoding': 'gzip' }, scratchDir: context.workDir }),
          ),
        );
      } finally {
        await server.stop();
      }
      wrkRows.push(
        wrkRow(`node_exporter, ${files} files`, await runWrk({ url: exporter.url, connections: 4, durationSeconds: 2, scratchDir: context.workDir })),
      );
      exporterPeak = exporter.memory()?.peakRssBytes;
    } finally {
      await exporter.stop();
    }

    context.log('smoke: hyperfine on `true` and `node -e 0`');
    const timings = await runHyperfine(
      [
        { name: 'true', command: 'true' },
        { name: 'node -e 0', command: `${process.execPath} -e 0` },
      ],
      { runs: 10, warmup: 2, shell: 'none', scratchDir: context.workDir },
    );

    const markdown = [
      markdownTable(['peer (wrk, 4 connections, 2 s)', 'requests/s', 'p50', 'p99', 'read', 'errors'], wrkRows),
      `node_exporter peak RSS (VmHWM) after the run: ${exporterPeak === undefined ? 'unknown' : formatMegabytes(exporterPeak)}`,
      markdownTable(
        ['command (hyperfine, no shell)', 'runs', 'median', 'mean ± σ'],
        timings.map((timing) => [
          timing.name,
          String(timing.runs),
          formatMilliseconds(timing.medianMs),
          `${formatMilliseconds(timing.meanMs)} ± ${formatMilliseconds(timing.stddevMs)}`,
        ]),
      ),
    ].join('\n\n');
    return { markdown, targets: [] };
  },
};
