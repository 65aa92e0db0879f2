// Child process for the parse's peak RSS: reads one file and checks it once, then reports its
// own high-water mark. A process of its own so that the figure is the parse's (plus Node's
// baseline and the file's bytes, which any reader pays), not the harness's accumulated heap.
//
// argv: <core module URL> <file> <model|verdict>; prints one JSON line (ParsePeakReport).
// model: checkExposition(bytes), every series kept (what the agent does); verdict:
// checkExposition(bytes, { retainSeries: false }) (what `promdrop check` does).
import { readFileSync } from 'node:fs';
import type { Core } from '../lib/core.js';
import { readProcessMemory } from '../lib/proc.js';

export interface ParsePeakReport {
  readonly accepted: boolean;
  readonly families: number;
  readonly metrics: number;
  readonly errors: number;
  /** Peak RSS before the parse started: Node itself plus the file's bytes. */
  readonly peakRssBeforeParseBytes: number;
  /** Peak RSS of the whole process, parse included (VmHWM). */
  readonly peakRssBytes: number;
  /** The same peak as getrusage reports it, as a cross-check of VmHWM. */
  readonly maxRssRusageBytes: number;
}

const [coreUrl, file, mode] = process.argv.slice(2);
if (coreUrl === undefined || file === undefined || (mode !== 'model' && mode !== 'verdict')) {
  process.stderr.write('usage: parse-peak.js <core module URL> <file> <model|verdict>\n');
  process.exit(2);
}
const core = (await import(coreUrl)) as Core;
const bytes = readFileSync(file);
const before = readProcessMemory('self');
const result = core.checkExposition(bytes, { retainSeries: mode === 'model' });
const after = readProcessMemory('self');
if (before === undefined || after === undefined) {
  process.stderr.write('parse-peak: /proc/self/status is not readable\n');
  process.exit(1);
}
const report: ParsePeakReport = {
  accepted: result.accepted,
  families: result.families.length,
  metrics: result.families.reduce((sum, family) => sum + family.metrics.length + (family.digest?.count ?? 0), 0),
  errors: result.findings.filter((finding) => finding.severity === 'error').length,
  peakRssBeforeParseBytes: before.peakRssBytes,
  peakRssBytes: after.peakRssBytes,
  maxRssRusageBytes: process.resourceUsage().maxRSS * 1024,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
