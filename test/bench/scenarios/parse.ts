// Issue 2's benchmark: parse + validate and render throughput of the core on a 50 MB,
// 500,000-series file (and a mixed-family file of the same size), side by side in the same run
// with `promtool check metrics` on the same bytes, plus `promdrop check FILE` end to end.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BenchContext, Scenario, ScenarioReport, TargetResult } from '../scenario.js';
import { verdict } from '../scenario.js';
import type { ParsePeakReport } from '../children/parse-peak.js';
import { loadCore, type Core } from '../lib/core.js';
import { formatCount, formatMegabytes, formatMilliseconds, formatRatio, formatThroughput } from '../lib/format.js';
import { generateHugeFamilyFile, generateMixedFile, type GeneratedFile } from '../lib/generate.js';
import { markdownTable } from '../lib/markdown.js';
import { peakRssMethod, runMeasured, type MeasuredRun } from '../lib/measure.js';
import { maximum, median, megabytesPerSecond } from '../lib/stats.js';

/** Child processes measuring the parse's peak RSS; the largest is reported. */
const PEAK_RUNS = 3;
const MIXED_FILE_SEED = 20_261_120;

const TARGET_SPEEDUP = 4;
/** Issue 14: `promdrop check FILE` against `promtool check metrics < FILE`, both whole processes
 *  (start-up included), same file, same run. */
const TARGET_CLI_SPEEDUP = 5;
const TARGET_PEAK_RSS_BYTES = 400e6;
const TARGET_CHECK_WALL_MS = 1_000;

interface InputFile {
  readonly label: string;
  readonly file: GeneratedFile;
}

/** A figure, or why there is none. */
type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

interface CommandFigures {
  readonly medianWallMs: number;
  readonly medianCpuMs: number | undefined;
  readonly throughput: number;
  readonly peakRssBytes: number | undefined;
  readonly exitCodes: readonly (number | null)[];
}

interface TimedFigures {
  readonly medianMs: number;
  /** CPU time of the whole process (GC threads included) during the call, median. */
  readonly medianCpuMs: number;
  readonly throughput: number;
}

interface RenderFigures extends TimedFigures {
  readonly outputBytes: number;
  readonly merge: Timing;
}

interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

interface PeakFigures {
  readonly peakRssBytes: number;
  readonly beforeParseBytes: number;
}

/**
 * The two ways the core checks a file: `model` keeps every series (what the agent does, since it
 * merges and renders them); `verdict` keeps scalar series as a compact digest, enough for the
 * findings (what `promdrop check` does for a single file).
 */
type CheckMode = 'model' | 'verdict';

interface FileFigures {
  readonly input: InputFile;
  readonly promtool: Outcome<CommandFigures>;
  readonly cli: Outcome<CommandFigures>;
  readonly checkModel: Outcome<TimedFigures>;
  readonly checkVerdict: Outcome<TimedFigures>;
  readonly checkVerdictLint: Outcome<TimedFigures>;
  readonly render: Outcome<RenderFigures>;
  readonly peakModel: Outcome<PeakFigures>;
  readonly peakVerdict: Outcome<PeakFigures>;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Every measurement is taken once per round, and the rounds interleave promtool, the CLI and the
// in-process calls: when the load of a shared 2-core machine changes during the run, it changes
// for both sides of a comparison alike.

/** An external command run once per round. */
class CommandProbe {
  private readonly runs: MeasuredRun[] = [];
  private failure: string | undefined;

  constructor(
    private readonly context: BenchContext,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly options: { readonly stdinFile?: string; readonly acceptedExitCodes: readonly number[] },
  ) {}

  async sample(): Promise<void> {
    if (this.failure !== undefined) return;
    try {
      const run = await runMeasured(this.command, this.args, {
        ...(this.options.stdinFile === undefined ? {} : { stdinFile: this.options.stdinFile }),
        scratchDir: this.context.workDir,
        timeoutMs: 120_000,
      });
      if (run.exitCode === null || !this.options.acceptedExitCodes.includes(run.exitCode)) {
        const output = `${run.stderr}${run.stdout}`.trim().split('\n').slice(0, 3).join(' / ');
        this.failure = `exit ${String(run.exitCode)}: ${output.slice(0, 300) || 'no output'}`;
        return;
      }
      this.runs.push(run);
    } catch (error) {
      this.failure = errorText(error);
    }
  }

  figures(inputBytes: number): Outcome<CommandFigures> {
    if (this.failure !== undefined) return { ok: false, reason: this.failure };
    const medianWallMs = median(this.runs.map((run) => run.wallMs));
    const cpuTimes = this.runs.flatMap((run) => (run.cpuMs === undefined ? [] : [run.cpuMs]));
    const peaks = this.runs.flatMap((run) => (run.peakRssBytes === undefined ? [] : [run.peakRssBytes]));
    return {
      ok: true,
      value: {
        medianWallMs,
        medianCpuMs: cpuTimes.length === this.runs.length ? median(cpuTimes) : undefined,
        throughput: megabytesPerSecond(inputBytes, medianWallMs),
        peakRssBytes: peaks.length === 0 ? undefined : maximum(peaks),
        exitCodes: this.runs.map((run) => run.exitCode),
      },
    };
  }
}

/** A call into the core, timed once per round after a full GC (wall and process CPU time). */
class CallProbe {
  private readonly wall: number[] = [];
  private readonly cpu: number[] = [];

  constructor(private readonly operation: () => unknown) {
    operation(); // warm-up: the first call also compiles
  }

  sample(): void {
    collectGarbage();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    this.operation();
    this.wall.push(Number(process.hrtime.bigint() - started) / 1e6);
    const cpuUsed = process.cpuUsage(cpuBefore);
    this.cpu.push((cpuUsed.user + cpuUsed.system) / 1e3);
  }

  timing(): Timing {
    return { wallMs: median(this.wall), cpuMs: median(this.cpu) };
  }

  figures(bytes: number): TimedFigures {
    const { wallMs, cpuMs } = this.timing();
    return { medianMs: wallMs, medianCpuMs: cpuMs, throughput: megabytesPerSecond(bytes, wallMs) };
  }
}

interface CoreProbes {
  readonly checkModel: CallProbe;
  readonly checkVerdict: CallProbe;
  readonly checkVerdictLint: CallProbe;
  readonly merge: CallProbe;
  readonly render: CallProbe;
  readonly renderedBytes: number;
}

/** Why the core's result for a generated file cannot be trusted as a measurement, if it cannot. */
function resultProblem(result: ReturnType<Core['checkExposition']>, file: GeneratedFile): string | undefined {
  if (!result.accepted) {
    const first = result.findings.find((finding) => finding.severity === 'error');
    return `the core rejected the generated file (${first === undefined ? 'no error finding' : `line ${first.line}: ${first.message}`})`;
  }
  const metrics = result.families.reduce((sum, family) => sum + family.metrics.length + (family.digest?.count ?? 0), 0);
  if (result.families.length !== file.families || metrics !== file.metrics) {
    return `the core found ${result.families.length} families / ${metrics} metrics, the generator wrote ${file.families} / ${file.metrics}`;
  }
  return undefined;
}

/** Checks that the core handles the file correctly before anything is timed, then warms up. */
function prepareCoreProbes(core: Core, bytes: Uint8Array, file: GeneratedFile): Outcome<CoreProbes> {
  try {
    const checked = core.checkExposition(bytes);
    const problem =
      resultProblem(checked, file) ??
      resultProblem(core.checkExposition(bytes, { retainSeries: false }), file) ??
      resultProblem(core.checkExposition(bytes, { retainSeries: false, lint: true }), file);
    if (problem !== undefined) return { ok: false, reason: problem };
    const sources = [{ id: basename(file.path), families: checked.families }];
    const merged = core.mergeSources(sources);
    if (merged.conflicts.length > 0) return { ok: false, reason: `merging one valid file gave ${merged.conflicts.length} conflicts` };
    const renderedBytes = Buffer.byteLength(core.renderText(merged.families), 'utf8');
    return {
      ok: true,
      value: {
        checkModel: new CallProbe(() => core.checkExposition(bytes)),
        checkVerdict: new CallProbe(() => core.checkExposition(bytes, { retainSeries: false })),
        checkVerdictLint: new CallProbe(() => core.checkExposition(bytes, { retainSeries: false, lint: true })),
        merge: new CallProbe(() => core.mergeSources(sources)),
        render: new CallProbe(() => core.renderText(merged.families)),
        renderedBytes,
      },
    };
  } catch (error) {
    return { ok: false, reason: `the core threw: ${errorText(error)}` };
  }
}

async function measureParsePeak(context: BenchContext, coreUrl: string, file: GeneratedFile, mode: CheckMode): Promise<Outcome<PeakFigures>> {
  const reports: ParsePeakReport[] = [];
  for (let i = 0; i < PEAK_RUNS; i++) {
    const run = await runMeasured(process.execPath, [join(context.bundleDir, 'parse-peak.js'), coreUrl, file.path, mode], {
      scratchDir: context.workDir,
      timeoutMs: 120_000,
    });
    if (run.exitCode !== 0) return { ok: false, reason: `parse-peak child exited ${String(run.exitCode)}: ${run.stderr.slice(0, 300)}` };
    const report = JSON.parse(run.stdout) as ParsePeakReport;
    if (!report.accepted || report.metrics !== file.metrics) {
      return { ok: false, reason: `parse-peak child: accepted=${String(report.accepted)}, ${report.metrics} metrics` };
    }
    reports.push(report);
  }
  return {
    ok: true,
    value: {
      peakRssBytes: maximum(reports.map((report) => report.peakRssBytes)),
      beforeParseBytes: maximum(reports.map((report) => report.peakRssBeforeParseBytes)),
    },
  };
}

async function measureFile(context: BenchContext, input: InputFile, core: Outcome<{ core: Core; url: string }>): Promise<FileFigures> {
  const { file } = input;
  const name = basename(file.path);
  const promtool = new CommandProbe(context, 'promtool', ['check', 'metrics'], {
    stdinFile: file.path,
    // 3: lint problems only (promtool's convention); 1 would be a parse error.
    acceptedExitCodes: [0, 3],
  });
  const cli = new CommandProbe(context, join(context.repoRoot, 'bin', 'promdrop'), ['check', file.path], { acceptedExitCodes: [0, 3] });
  const bytes = readFileSync(file.path);
  context.log(`parse: ${name}: verifying the core's result and warming up`);
  const probes: Outcome<CoreProbes> = core.ok ? prepareCoreProbes(core.value.core, bytes, file) : core;
  for (let round = 1; round <= context.iterations; round++) {
    context.log(`parse: ${name}: round ${round}/${context.iterations}: promtool, promdrop check, checkExposition ×3, mergeSources, renderText`);
    // The order rotates from round to round, so that no measurement always runs in the same
    // slot (say, right after a 300 MB child process exits).
    const calls = probes.ok ? [probes.value.checkModel, probes.value.checkVerdict, probes.value.checkVerdictLint, probes.value.merge, probes.value.render] : [];
    const steps: (() => Promise<void> | void)[] = [() => promtool.sample(), () => cli.sample(), ...calls.map((probe) => () => probe.sample())];
    for (let step = 0; step < steps.length; step++) await steps[(step + round) % steps.length]?.();
  }
  collectGarbage();
  context.log(`parse: ${name}: peak RSS in a child process (${PEAK_RUNS} runs per mode)`);
  const peakModel = core.ok ? await measureParsePeak(context, core.value.url, file, 'model') : core;
  const peakVerdict = core.ok ? await measureParsePeak(context, core.value.url, file, 'verdict') : core;
  const fromProbes = <T>(figures: (value: CoreProbes) => T): Outcome<T> => (probes.ok ? { ok: true, value: figures(probes.value) } : probes);
  return {
    input,
    promtool: promtool.figures(file.bytes),
    cli: cli.figures(file.bytes),
    checkModel: fromProbes((value) => value.checkModel.figures(file.bytes)),
    checkVerdict: fromProbes((value) => value.checkVerdict.figures(file.bytes)),
    checkVerdictLint: fromProbes((value) => value.checkVerdictLint.figures(file.bytes)),
    render: fromProbes((value) => ({ ...value.render.figures(value.renderedBytes), outputBytes: value.renderedBytes, merge: value.merge.timing() })),
    peakModel,
    peakVerdict,
  };
}

function cell<T>(outcome: Outcome<T>, describe: (value: T) => string): string {
  return outcome.ok ? describe(outcome.value) : `not measured: ${outcome.reason}`;
}

function ratioCell(ours: Outcome<TimedFigures>, theirs: Outcome<CommandFigures>): string {
  if (!ours.ok || !theirs.ok) return 'not measured';
  return formatRatio(ours.value.throughput / theirs.value.throughput);
}

function rssCell(bytes: number | undefined): string {
  return bytes === undefined ? 'unknown' : formatMegabytes(bytes);
}

function figuresTable(all: readonly FileFigures[], iterations: number): string {
  const row = (measurement: string, describe: (figures: FileFigures) => string): string[] => [measurement, ...all.map(describe)];
  const timed = (value: TimedFigures): string =>
    `${formatThroughput(value.throughput)} (${formatMilliseconds(value.medianMs)}; CPU ${formatMilliseconds(value.medianCpuMs)})`;
  const command = (value: CommandFigures): string =>
    `${formatThroughput(value.throughput)} (${formatMilliseconds(value.medianWallMs)}; CPU ${value.medianCpuMs === undefined ? 'unknown' : formatMilliseconds(value.medianCpuMs)}; exit ${value.exitCodes.join('/')})`;
  const peakText = (value: PeakFigures): string => `${formatMegabytes(value.peakRssBytes)} (${formatMegabytes(value.beforeParseBytes)} before the parse)`;
  return markdownTable(
    ['measurement', ...all.map((figures) => figures.input.label)],
    [
      row(`\`promtool check metrics < FILE\` (parse + lint), median of ${iterations}`, (f) => cell(f.promtool, command)),
      row(`promdrop \`checkExposition(bytes)\`: parse + validate, every series kept (the agent), median of ${iterations}`, (f) => cell(f.checkModel, timed)),
      row('↳ speed-up vs promtool', (f) => ratioCell(f.checkModel, f.promtool)),
      row(`promdrop \`checkExposition(bytes, { retainSeries: false })\`: parse + validate, verdict only (\`promdrop check\`), median of ${iterations}`, (f) =>
        cell(f.checkVerdict, timed),
      ),
      row('↳ speed-up vs promtool', (f) => ratioCell(f.checkVerdict, f.promtool)),
      row(`the same with \`lint: true\` (promlint's rules, as promtool runs them), median of ${iterations}`, (f) => cell(f.checkVerdictLint, timed)),
      row('↳ speed-up vs promtool', (f) => ratioCell(f.checkVerdictLint, f.promtool)),
      row(`promdrop \`mergeSources\` (the file as one source), median of ${iterations}`, (f) =>
        cell(f.render, (value) => `${formatMilliseconds(value.merge.wallMs)} (CPU ${formatMilliseconds(value.merge.cpuMs)})`),
      ),
      row(`promdrop \`renderText\` of the merged families (MB/s of output), median of ${iterations}`, (f) =>
        cell(f.render, (value) => `${timed(value)}, ${formatMegabytes(value.outputBytes)} out`),
      ),
      row(`peak RSS: promdrop parse + validate, every series kept, own process, max of ${PEAK_RUNS}`, (f) => cell(f.peakModel, peakText)),
      row(`peak RSS: promdrop parse + validate, verdict only, own process, max of ${PEAK_RUNS}`, (f) => cell(f.peakVerdict, peakText)),
      row('peak RSS: `promtool check metrics`', (f) => cell(f.promtool, (value) => rssCell(value.peakRssBytes))),
      row(`\`promdrop check FILE\` (CLI end to end), median of ${iterations}`, (f) => cell(f.cli, command)),
      row('peak RSS: `promdrop check FILE`', (f) => cell(f.cli, (value) => rssCell(value.peakRssBytes))),
    ],
  );
}

function filesTable(inputs: readonly InputFile[]): string {
  return markdownTable(
    ['input', 'size', 'families', 'metrics', 'sample lines'],
    inputs.map(({ label, file }) => [label, formatMegabytes(file.bytes), formatCount(file.families), formatCount(file.metrics), formatCount(file.samples)]),
  );
}

/** A target row: PASS/FAIL from the figure, or NOT MEASURED with the reason. */
function targetRow<T>(target: string, outcome: Outcome<T>, judge: (value: T) => { measured: string; pass: boolean }): TargetResult {
  if (!outcome.ok) return { target, measured: outcome.reason, verdict: 'NOT MEASURED' };
  const { measured, pass } = judge(outcome.value);
  return { target, measured, verdict: verdict(pass) };
}

function both<A, B>(a: Outcome<A>, b: Outcome<B>): Outcome<readonly [A, B]> {
  if (!a.ok) return a;
  if (!b.ok) return { ok: false, reason: `promtool: ${b.reason}` };
  return { ok: true, value: [a.value, b.value] };
}

function targetsFor(huge: FileFigures): TargetResult[] {
  const speedUp = (what: string, ours: Outcome<TimedFigures>): TargetResult =>
    targetRow(`parse + validate (${what}) ≥ ${TARGET_SPEEDUP}× promtool's throughput, ${huge.input.label}`, both(ours, huge.promtool), ([mine, theirs]) => ({
      measured: `${formatRatio(mine.throughput / theirs.throughput)} (${formatThroughput(mine.throughput)} vs ${formatThroughput(theirs.throughput)})`,
      pass: mine.throughput >= TARGET_SPEEDUP * theirs.throughput,
    }));
  const peak = (what: string, outcome: Outcome<PeakFigures>): TargetResult =>
    targetRow(`peak RSS of the parse (${what}) ≤ ${formatMegabytes(TARGET_PEAK_RSS_BYTES)}`, outcome, (value) => ({
      measured: formatMegabytes(value.peakRssBytes),
      pass: value.peakRssBytes <= TARGET_PEAK_RSS_BYTES,
    }));
  return [
    speedUp('every series kept, as the agent does', huge.checkModel),
    speedUp('verdict only, as `promdrop check` does', huge.checkVerdict),
    peak('every series kept', huge.peakModel),
    peak('verdict only', huge.peakVerdict),
    targetRow(`\`promdrop check\` of the ${formatMegabytes(huge.input.file.bytes)} file "well under a second" (< 1 s)`, huge.cli, (value) => ({
      measured: formatMilliseconds(value.medianWallMs),
      pass: value.medianWallMs < TARGET_CHECK_WALL_MS,
    })),
    targetRow(
      `\`promdrop check FILE\` ≥ ${TARGET_CLI_SPEEDUP}× faster than \`promtool check metrics < FILE\`, whole processes, ${huge.input.label}`,
      both(huge.cli, huge.promtool),
      ([mine, theirs]) => ({
        measured: `${formatRatio(theirs.medianWallMs / mine.medianWallMs)} (${formatMilliseconds(mine.medianWallMs)} vs ${formatMilliseconds(theirs.medianWallMs)})`,
        pass: theirs.medianWallMs >= TARGET_CLI_SPEEDUP * mine.medianWallMs,
      }),
    ),
  ];
}

export const parseScenario: Scenario = {
  name: 'parse',
  title: 'Parse, validate, render: promdrop core vs promtool (issue 2)',
  issue: 2,
  runByDefault: true,
  requires: [{ program: 'promtool', debianPackage: 'prometheus' }],
  async run(context: BenchContext): Promise<ScenarioReport> {
    const series = context.quick ? 50_000 : 500_000;
    const mixedBytes = context.quick ? 5e6 : 50e6;
    context.log(`parse: generating ${formatCount(series)}-series and mixed files in ${context.workDir}`);
    const inputs: InputFile[] = [
      { label: `one family, ${formatCount(series)} series`, file: generateHugeFamilyFile(join(context.workDir, 'huge.prom'), series) },
      { label: 'mixed families', file: generateMixedFile(join(context.workDir, 'mixed.prom'), mixedBytes, MIXED_FILE_SEED) },
    ];
    const loaded = await loadCore(context.repoRoot);
    const core: Outcome<{ core: Core; url: string }> = loaded.ok
      ? { ok: true, value: { core: loaded.core, url: loaded.url } }
      : { ok: false, reason: loaded.reason };
    const all: FileFigures[] = [];
    for (const input of inputs) all.push(await measureFile(context, input, core));
    const huge = all[0];
    if (huge === undefined) throw new Error('no input files');
    const notes = [
      'Throughput is input bytes per second of wall time (MB = 10^6 bytes); for `renderText`, output bytes.',
      'In-process figures use `dist/core.js` (the shipped bundle) after one warm-up call, with a full GC before each timed call.',
      `Each of the ${context.iterations} rounds runs every measurement once, in an order that rotates from round to round, so that a change in machine load affects both sides of a comparison alike; medians are reported.`,
      "`promtool check metrics` parses the whole file into expfmt's in-memory model and then runs promlint; the `lint: true` row adds promlint's rules to the verdict-only check, so that promdrop does every check promtool does. The issue's targets are about parse + validate.",
      `Peak RSS is the whole process's high-water mark (Node itself and the file's bytes included), read ${peakRssMethod() === 'rusage' ? "from wait4's ru_maxrss via GNU time (external commands) and VmHWM (the parse child)" : 'by sampling /proc/<pid>/status VmHWM (GNU time is not installed; brief final growth can be missed)'}.`,
      'External commands are timed from spawn to exit, so their figures include process start-up.',
      'Throughput and targets use wall time. CPU is user + system time of the whole process (every thread: Go runs its GC in parallel, V8 some of its GC); it is less disturbed than wall time when the machine is busy.',
    ];
    return {
      markdown: [filesTable(inputs), figuresTable(all, context.iterations), notes.map((note) => `- ${note}`).join('\n')].join('\n\n'),
      targets: targetsFor(huge),
    };
  },
};
