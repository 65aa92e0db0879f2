// Renderer parity (issue 2, "Tests"): for realistic valid textfiles, what promdrop serves
// (parse → merge with the file's full path as source id → renderText) is byte for byte what
// node_exporter 1.5.0's textfile collector serves, minus node_exporter's own meta metrics.
// Once per file on its own, and once for the whole directory at once, which exercises the
// merge: one family in several files, "Metric read from a, b" HELP, global ordering.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExposition, mergeSources, renderText, type Source } from '../../src/core/index.js';
import { PEERS, requireProgram, startNodeExporter, withoutMetaMetrics, type RunningProcess } from '../helpers/peers.js';

const nodeExporterBinary = requireProgram(PEERS.nodeExporter, 'prometheus-node-exporter');

const FIXTURES = join(import.meta.dirname, '../fixtures/differential/render-parity');
const fileNames = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.prom'))
  .sort();

/** What promdrop serves for these files, each identified by its full path. */
function promdropServes(paths: readonly string[]): string {
  const sources: Source[] = paths.map((path) => {
    const result = checkExposition(readFileSync(path));
    // The set is meant to be valid for the agent, not only for promtool: otherwise the parity
    // would be about files the agent never serves.
    const errors = result.findings.filter((f) => f.severity === 'error');
    if (!result.accepted) throw new Error(`${path} is not accepted: ${errors.map((f) => `${f.line}: ${f.message}`).join('; ')}`);
    return { id: path, families: result.families };
  });
  return renderText(mergeSources(sources).families);
}

async function scrape(exporter: RunningProcess): Promise<string> {
  const response = await fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  const text = await response.text();
  // 0 means node_exporter read every file without error, so the comparison is of real output.
  expect(/^node_textfile_scrape_error (\S+)$/m.exec(text)?.[1]).toBe('0');
  return text;
}

describe.skipIf(nodeExporterBinary === undefined)('renderText equals node_exporter 1.5.0 output', () => {
  let wholeDirectory = '';
  let singleFileDirectory = '';
  let wholeExporter: RunningProcess | undefined;
  let singleFileExporter: RunningProcess | undefined;

  beforeAll(async () => {
    wholeDirectory = mkdtempSync(join(tmpdir(), 'promdrop-parity-all-'));
    singleFileDirectory = mkdtempSync(join(tmpdir(), 'promdrop-parity-one-'));
    for (const name of fileNames) copyFileSync(join(FIXTURES, name), join(wholeDirectory, name));
    [wholeExporter, singleFileExporter] = await Promise.all([
      startNodeExporter(nodeExporterBinary!, wholeDirectory),
      startNodeExporter(nodeExporterBinary!, singleFileDirectory),
    ]);
  });

  afterAll(async () => {
    await Promise.all([wholeExporter?.stop(), singleFileExporter?.stop()]);
    rmSync(wholeDirectory, { recursive: true, force: true });
    rmSync(singleFileDirectory, { recursive: true, force: true });
  });

  it('has a realistic set of files to compare', () => {
    expect(fileNames.length).toBeGreaterThanOrEqual(15);
  });

  it.each(fileNames)('%s on its own', async (name) => {
    const path = join(singleFileDirectory, name);
    copyFileSync(join(FIXTURES, name), path);
    try {
      const served = withoutMetaMetrics(await scrape(singleFileExporter!));
      expect(promdropServes([path])).toBe(served);
    } finally {
      rmSync(path);
    }
  });

  it('all files of one directory at once', async () => {
    const served = withoutMetaMetrics(await scrape(wholeExporter!));
    const ours = promdropServes(fileNames.map((name) => join(wholeDirectory, name)));
    // Guard against comparing two empty strings: the directory's families are all there.
    expect(ours).toContain('# HELP deploy_version_info Metric read from ');
    expect(ours).toContain('http_request_duration_seconds_bucket{handler="/health"');
    expect(ours).toBe(served);
  });
});
