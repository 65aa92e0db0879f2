// What a benchmark scenario is. Each issue's benchmark is one module in scenarios/ that
// measures promdrop and its reference peer in the same run and states its targets; main.ts only
// selects scenarios, runs them one after another and assembles the report.

export interface BenchContext {
  /** The checkout: dist/ and bin/ are found from here. */
  readonly repoRoot: string;
  /** Where run.mjs put the bundled bench modules, including the child-process entry points. */
  readonly bundleDir: string;
  /** A private temporary directory for this run's generated files; removed unless --keep. */
  readonly workDir: string;
  /** Repetitions for in-process measurements (the median is reported). */
  readonly iterations: number;
  /** Smaller inputs, for trying the harness itself; figures from a quick run are not publishable. */
  readonly quick: boolean;
  /** Progress for the person waiting; goes to stderr so that stdout stays pure markdown. */
  log(message: string): void;
}

export type Verdict = 'PASS' | 'FAIL' | 'NOT MEASURED';

export interface TargetResult {
  /** The issue's target in words, e.g. "parse + validate ≥ 4× promtool's throughput". */
  readonly target: string;
  readonly measured: string;
  readonly verdict: Verdict;
}

export interface ScenarioReport {
  /** Markdown sections (tables and notes) for this scenario, without the scenario's heading. */
  readonly markdown: string;
  readonly targets: readonly TargetResult[];
}

export interface Scenario {
  /** The command-line name: `npm run bench -- <name>`. */
  readonly name: string;
  readonly title: string;
  /** The issue whose benchmark this is; undefined for harness self-checks. */
  readonly issue: number | undefined;
  /** Whether `npm run bench` without names runs it. */
  readonly runByDefault: boolean;
  /** Programs the scenario needs besides node (checked before it starts). */
  readonly requires: readonly { readonly program: string; readonly debianPackage: string }[];
  run(context: BenchContext): Promise<ScenarioReport>;
}

export function verdict(pass: boolean): Verdict {
  return pass ? 'PASS' : 'FAIL';
}
