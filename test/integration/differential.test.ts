// promdrop against the real reference implementation, case by case (issue 2, "Tests"):
//  1. promtool (Debian 2.42, expfmt v0.39) still gives the verdicts recorded in the corpus;
//  2. promdrop's parser gives the same verdict, line and expfmt message for every case;
//  3. promdrop's agent verdict (checkExposition) equals promtool's, except for the deliberate
//     differences, which must be rejected for the documented reason;
//  4. for accepted cases, the series promdrop parsed, merged and rendered are the ones
//     node_exporter 1.5.0 (same expfmt) serves for the same file.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExposition, mergeSources, parseExposition, renderText } from '../../src/core/index.js';
import type { DifferentialCase, NodeExporterArtefact } from '../fixtures/differential/case-types.js';
import { cases } from '../fixtures/differential/cases.js';
import { PEERS, requireProgram, runProgram, startNodeExporter, withoutMetaMetrics, type RunningProcess } from '../helpers/peers.js';

/** promtool 2.42 and node_exporter 1.5 parse with expfmt v0.39: the legacy name validation scheme. */
const LEGACY = { nameValidation: 'legacy' } as const;

const promtool = requireProgram(PEERS.promtool, 'prometheus');
const nodeExporterBinary = requireProgram(PEERS.nodeExporter, 'prometheus-node-exporter');

function bytesOf(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

interface PromtoolVerdict {
  readonly verdict: 'accept' | 'reject';
  readonly line?: number;
  readonly message?: string;
}

const PARSE_ERROR = /^error while linting: text format parsing error in line (\d+): ([\s\S]*)\n$/;

async function checkWithPromtool(binary: string, input: Buffer): Promise<PromtoolVerdict> {
  const { code, stderr } = await runProgram(binary, ['check', 'metrics'], input, 30_000);
  // promtool's convention: 0 clean, 3 lint problems only, 1 the input does not parse.
  if (code === 0 || code === 3) return { verdict: 'accept' };
  if (code !== 1) throw new Error(`promtool exited ${String(code)}: ${stderr}`);
  const match = PARSE_ERROR.exec(stderr);
  if (match === null) return { verdict: 'reject', message: stderr };
  return { verdict: 'reject', line: Number(match[1]), message: match[2] ?? '' };
}

async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const deliberate = cases.filter((c) => c.deliberate !== undefined);
const agreeing = cases.filter((c) => c.deliberate === undefined);

describe.skipIf(promtool === undefined)('promdrop vs promtool check metrics', () => {
  const live = new Map<string, PromtoolVerdict>();

  beforeAll(async () => {
    // promtool is mostly start-up time; a few at once keeps the 370 runs to a few seconds.
    await forEachLimited(cases, 4, async (c) => {
      live.set(c.name, await checkWithPromtool(promtool!, bytesOf(c.input)));
    });
  }, 180_000);

  function promtoolSays(c: DifferentialCase): PromtoolVerdict {
    const verdict = live.get(c.name);
    if (verdict === undefined) throw new Error(`promtool did not run for ${c.name}`);
    return verdict;
  }

  describe('promtool still says what the corpus recorded', () => {
    it.each(cases)('$name', (c) => {
      const seen = promtoolSays(c);
      expect({ verdict: seen.verdict, line: seen.line, message: seen.message }).toEqual({
        verdict: c.promtool,
        line: c.promtoolLine,
        message: c.promtoolMessage,
      });
    });
  });

  describe("the parser gives promtool's verdict, line and message", () => {
    it.each(cases)('$name', (c) => {
      const seen = promtoolSays(c);
      const result = parseExposition(bytesOf(c.input), LEGACY);
      if (seen.verdict === 'accept') {
        expect(result.ok ? 'accept' : `reject: line ${result.error.line}: ${result.error.message}`).toBe('accept');
      } else {
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect({ line: result.error.line, message: result.error.referenceMessage }).toEqual({
          line: seen.line,
          message: seen.message,
        });
      }
    });
  });

  describe('the agent accepts exactly what promtool accepts', () => {
    it.each(agreeing)('$name', (c) => {
      const seen = promtoolSays(c);
      const result = checkExposition(bytesOf(c.input), LEGACY);
      const errors = result.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}: ${f.reason}: ${f.message}`);
      expect({ accepted: result.accepted, errors: result.accepted ? [] : errors }).toEqual({
        accepted: seen.verdict === 'accept',
        errors: seen.verdict === 'accept' ? [] : errors,
      });
    });
  });

  describe('deliberate differences: promtool accepts, the agent rejects for the documented reason', () => {
    it.each(deliberate)('$name ($rejectReason)', (c) => {
      expect(promtoolSays(c).verdict).toBe('accept');
      const result = checkExposition(bytesOf(c.input), LEGACY);
      expect(result.accepted).toBe(false);
      const reasons = result.findings.filter((f) => f.severity === 'error').map((f) => f.reason);
      expect(reasons).toContain(c.rejectReason);
    });
  });
});

// ─── Parsed series vs node_exporter ────────────────────────────────────────────────────────

function scrapeErrorOf(text: string): string | undefined {
  return /^node_textfile_scrape_error (\S+)$/m.exec(text)?.[1];
}

function hasReservedLabelName(labels: readonly string[]): boolean {
  for (let i = 0; i < labels.length; i += 2) if (labels[i]!.startsWith('__')) return true;
  return false;
}

/** What the node_exporter comparison does with a case promtool accepts. */
type NodeExporterPlan =
  /** Serve it and compare the series with promdrop's render. */
  | { readonly kind: 'compare' }
  /** It has client-side timestamps: node_exporter must refuse the whole file. */
  | { readonly kind: 'refused' }
  /** It cannot be compared; only cases the agent rejects on purpose may land here. */
  | { readonly kind: 'excluded'; readonly why: string };

/**
 * Decided from what promdrop parsed, so that a new case is sorted for the same reasons without
 * a hand-written flag; the artefacts that need one are the case's `nodeExporter` field.
 */
function planFor(c: DifferentialCase): NodeExporterPlan {
  const parsed = parseExposition(bytesOf(c.input), LEGACY);
  if (!parsed.ok) return { kind: 'compare' }; // the comparison reports the parse failure
  const withSamples = parsed.families.filter((f) => f.metrics.length > 0);
  // node_exporter 1.5.0 panics and exits on both (exposition-format.md §7, observed): nothing
  // to compare, and the rest of the loop would have no exporter to talk to.
  if (withSamples.some((f) => f.metrics.some((m) => hasReservedLabelName(m.labels)))) {
    return { kind: 'excluded', why: 'node_exporter panics on a "__" label name' };
  }
  if (withSamples.some((f) => f.type === 'gauge_histogram')) {
    return { kind: 'excluded', why: 'node_exporter panics on gauge_histogram samples' };
  }
  if (withSamples.some((f) => f.metrics.some((m) => m.timestampMs !== undefined))) return { kind: 'refused' };
  // Bucket maps, uint64 conversions and name collisions: what node_exporter serves is Go's
  // repair of the file, not what expfmt parsed (docs/compatibility.md).
  const uncomparable: readonly NodeExporterArtefact[] = ['bucket_map', 'uint64_count', 'name_collision'];
  if (c.nodeExporter !== undefined && uncomparable.includes(c.nodeExporter)) {
    return { kind: 'excluded', why: `node_exporter artefact: ${c.nodeExporter}` };
  }
  return { kind: 'compare' };
}

/**
 * node_exporter serves the first of two samples of one series in a file (client_golang drops
 * the second at gather time); promdrop's merge leaves a file's own duplicates to validation,
 * which rejects the file. Keep only our first sample of each series to compare the rest.
 */
function firstSampleOfEachSeries(text: string): string {
  const seen = new Set<string>();
  return text
    .split('\n')
    .filter((line) => {
      if (line.startsWith('#') || line === '') return true;
      const series = line.slice(0, line.lastIndexOf(' '));
      if (seen.has(series)) return false;
      seen.add(series);
      return true;
    })
    .join('\n');
}

const planned = cases.filter((c) => c.promtool === 'accept').map((c) => ({ c, plan: planFor(c) }));
const compared = planned.filter(({ plan }) => plan.kind === 'compare').map(({ c }) => c);
const refused = planned.filter(({ plan }) => plan.kind === 'refused').map(({ c }) => c);
const excluded = planned.flatMap(({ c, plan }) => (plan.kind === 'excluded' ? [{ name: c.name, deliberate: c.deliberate, why: plan.why }] : []));

describe('the node_exporter comparison plan', () => {
  it('compares most cases promtool accepts', () => {
    expect(compared.length).toBeGreaterThanOrEqual(150);
    expect(refused.length).toBeGreaterThanOrEqual(10);
  });

  it('leaves out only cases the agent rejects on purpose', () => {
    expect(excluded.filter((e) => e.deliberate === undefined)).toEqual([]);
  });
});

describe.skipIf(nodeExporterBinary === undefined)('parsed series vs node_exporter 1.5.0', () => {
  let directory = '';
  let exporter: RunningProcess | undefined;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'promdrop-differential-'));
    exporter = await startNodeExporter(nodeExporterBinary!, directory);
  });

  afterAll(async () => {
    await exporter?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Puts the case as the only textfile and returns its path and what node_exporter serves. */
  async function serve(input: Buffer): Promise<{ path: string; text: string }> {
    const path = join(directory, 'case.prom');
    // node_exporter re-reads on every scrape; the rename makes it see the whole file or none.
    writeFileSync(`${path}.tmp`, input);
    renameSync(`${path}.tmp`, path);
    const response = await fetch(`${exporter!.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    return { path, text: await response.text() };
  }

  describe('serves what promdrop parsed, merged and rendered', () => {
    it.each(compared)('$name', async (c) => {
      const input = bytesOf(c.input);
      const parsed = parseExposition(input);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      const { path, text } = await serve(input);
      expect(scrapeErrorOf(text)).toBe('0');
      const served = withoutMetaMetrics(text);
      const ours = renderText(mergeSources([{ id: path, families: parsed.families }]).families);
      expect(c.nodeExporter === 'first_duplicate_served' ? firstSampleOfEachSeries(ours) : ours).toBe(served);
    });
  });

  describe('refuses files with client-side timestamps, as the agent does', () => {
    it.each(refused)('$name', async (c) => {
      const { text } = await serve(bytesOf(c.input));
      expect(scrapeErrorOf(text)).toBe('1');
      expect(withoutMetaMetrics(text)).toBe('');
    });
  });

  it('was alive for the whole corpus (no case crashed it)', () => {
    expect(exporter?.child.exitCode ?? null).toBeNull();
    expect(exporter?.child.signalCode ?? null).toBeNull();
  });
});
