// `npm run bench [-- SCENARIO...] [--iterations N] [--quick] [--keep] [--out FILE]`: runs the
// selected scenarios one after another (never in parallel: the machine has 2 cores and every
// figure is a wall time), and prints one markdown report: machine, command, each scenario's
// figures, and every target with PASS/FAIL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findProgram } from '../helpers/peers.js';
import type { BenchContext, Scenario, TargetResult } from './scenario.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/markdown.js';
import { readMachineBusySeconds, readOwnTreeCpuSeconds } from './lib/proc.js';
import { SCENARIOS } from './scenarios/index.js';

/** Above this share of the machine's CPU used by others, a run's figures are marked unpublishable. */
const MAX_OTHER_SHARE = 0.05;

export interface LaunchOptions {
  readonly argv: readonly string[];
  readonly repoRoot: string;
  readonly bundleDir: string;
}

const USAGE = `usage: npm run bench -- [SCENARIO...] [options]

Scenarios (default: those marked *):
${SCENARIOS.map((scenario) => `  ${scenario.runByDefault ? '*' : ' '} ${scenario.name.padEnd(8)} ${scenario.title}`).join('\n')}

Options:
  --iterations N   rounds: each measurement is taken once per round, median reported (default 5)
  --quick          small inputs, to try the harness (figures not publishable)
  --keep           keep the generated files (their directory is printed)
  --out FILE       also write the report to FILE
  --fail-on-miss   exit 1 when a target is missed
  --executable FILE  run promdrop's agent from this single executable (npm run build:sea) instead
                   of node bin/promdrop; the executable scenario times it
  --help           this text
`;

function parseCommandLine(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      iterations: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      out: { type: 'string' },
      'fail-on-miss': { type: 'boolean', default: false },
      executable: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
}

type CommandLine = ReturnType<typeof parseCommandLine>;

function theCommand(argv: readonly string[]): string {
  const args = argv.join(' ');
  return process.env['npm_lifecycle_event'] === 'bench'
    ? `npm run bench${args === '' ? '' : ` -- ${args}`}`
    : `node --expose-gc test/bench/run.mjs${args === '' ? '' : ` ${args}`}`;
}

function loadAverage(): number {
  return loadavg()[0] ?? 0;
}

/** Share of the machine's CPU, during the run, used by processes other than the benchmark's own. */
interface OtherActivity {
  finish(): number | undefined;
}

function startActivityMeter(): OtherActivity {
  const machineBefore = readMachineBusySeconds();
  const ownBefore = readOwnTreeCpuSeconds();
  const started = performance.now();
  return {
    finish: () => {
      const machineAfter = readMachineBusySeconds();
      const ownAfter = readOwnTreeCpuSeconds();
      if (machineBefore === undefined || ownBefore === undefined || machineAfter === undefined || ownAfter === undefined) return undefined;
      const capacity = ((performance.now() - started) / 1e3) * cpus().length;
      return Math.max(0, machineAfter - machineBefore - (ownAfter - ownBefore)) / capacity;
    },
  };
}

/** Other work on a 2-core machine shows up in every wall time; say how much there was. */
function describeOtherLoad(loadAtStart: number, otherShare: number | undefined): string {
  const start = `Load average (1 min) at start: ${loadAtStart.toFixed(2)} (${cpus().length} CPUs).`;
  if (otherShare === undefined) return `${start} CPU used by other processes during the run: unknown.`;
  const busy = otherShare > MAX_OTHER_SHARE;
  return (
    `${start} CPU used by other processes during the run: ${(otherShare * 100).toFixed(1)}% of the machine.` +
    (busy ? ' **The machine was busy: wall times are disturbed; do not publish these figures.**' : '')
  );
}

function missingPrograms(scenario: Scenario): string[] {
  return scenario.requires
    .filter(({ program }) => findProgram(program) === undefined)
    .map(({ program, debianPackage }) => `${program} (apt-get install ${debianPackage})`);
}

/** Returns the process exit code. */
export async function main(options: LaunchOptions): Promise<number> {
  let parsed: CommandLine;
  try {
    parsed = parseCommandLine(options.argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1) {
    process.stderr.write(`--iterations must be a positive integer, not ${values.iterations}\n`);
    return 2;
  }
  const unknown = positionals.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario: ${unknown.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const selected =
    positionals.length === 0 ? SCENARIOS.filter((scenario) => scenario.runByDefault) : SCENARIOS.filter((scenario) => positionals.includes(scenario.name));
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    process.stderr.write('note: run with node --expose-gc (as `npm run bench` does) for a GC between timed iterations\n');
  }

  // Read by lib/agent.ts wherever a scenario starts the agent.
  if (values.executable !== undefined) process.env['PROMDROP_BENCH_EXECUTABLE'] = resolve(values.executable);
  const workDir = mkdtempSync(join(tmpdir(), 'promdrop-bench-'));
  const context: BenchContext = {
    repoRoot: options.repoRoot,
    bundleDir: options.bundleDir,
    workDir,
    iterations,
    quick: values.quick,
    log: (message) => process.stderr.write(`[bench] ${message}\n`),
  };
  const loadAtStart = loadAverage();
  const activity = startActivityMeter();
  const sections: string[] = [
    '# promdrop benchmark',
    `Command: \`${theCommand(options.argv)}\` (${new Date().toISOString()})${values.quick ? ' — QUICK RUN: small inputs, figures not publishable' : ''}`,
    describeMachine(options.repoRoot, [...new Set(selected.flatMap((scenario) => scenario.requires.map(({ program }) => program)))]),
  ];
  const targets: (TargetResult & { readonly scenario: string })[] = [];
  let crashed = false;
  try {
    for (const scenario of selected) {
      sections.push(`## ${scenario.title}`);
      const missing = missingPrograms(scenario);
      if (missing.length > 0) {
        sections.push(`Not run: missing ${missing.join(', ')}.`);
        crashed = true;
        continue;
      }
      context.log(`scenario ${scenario.name}`);
      try {
        const report = await scenario.run(context);
        sections.push(report.markdown);
        targets.push(...report.targets.map((target) => ({ ...target, scenario: scenario.name })));
      } catch (error) {
        crashed = true;
        sections.push(`Scenario failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }
  } finally {
    if (values.keep) context.log(`generated files kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  // Other work on the machine slows every figure; the report says how much there was.
  sections.splice(3, 0, describeOtherLoad(loadAtStart, activity.finish()));
  if (targets.length > 0) {
    sections.push('## Targets');
    sections.push(
      markdownTable(
        ['scenario', 'target', 'measured', 'result'],
        targets.map((target) => [target.scenario, target.target, target.measured, target.verdict]),
      ),
    );
  }
  const report = `${sections.join('\n\n')}\n`;
  process.stdout.write(report);
  if (values.out !== undefined) writeFileSync(values.out, report);
  if (crashed) return 1;
  return values['fail-on-miss'] && targets.some((target) => target.verdict !== 'PASS') ? 1 : 0;
}
