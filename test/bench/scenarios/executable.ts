// Issue 16's benchmark: the single executable (scripts/build-sea.mjs) starting up, side by side
// with `node -e 0` of the machine's node (the floor any `node bin/promdrop` pays) and with the
// checkout's `node bin/promdrop write`, timed by hyperfine in one run; and the sizes of the
// executable and the release tarball. `npm run release` makes both first.
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram } from '../../helpers/peers.js';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario.js';
import { formatMilliseconds, formatRatio } from '../lib/format.js';
import { runHyperfine, type HyperfineResult } from '../lib/hyperfine.js';
import { markdownTable } from '../lib/markdown.js';
import { failed, succeeded, targetRow, type Outcome } from '../lib/outcome.js';
import { median } from '../lib/stats.js';
import { benchExecutable } from '../lib/agent.js';

const STARTUP_TARGET_RATIO = 1.0;
const TARBALL_LIMIT_BYTES = 60 * 1000 * 1000;

/** The writer benchmark's small file: a cron job's few series. */
const INPUT =
  '# HELP backup_size_bytes Size of the last backup.\n# TYPE backup_size_bytes gauge\nbackup_size_bytes{volume="data"} 3.4e+10\nbackup_size_bytes{volume="home"} 1.2e+09\n';

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function sizeOf(path: string): Outcome<number> {
  try {
    return succeeded(statSync(path).size);
  } catch {
    return failed(`${path} is missing (npm run release)`);
  }
}

export const executableScenario: Scenario = {
  name: 'executable',
  title: 'The single executable: start-up vs node -e 0, and sizes (issue 16)',
  issue: 16,
  runByDefault: false,
  requires: [{ program: 'hyperfine', debianPackage: 'hyperfine' }],
  async run(context: BenchContext): Promise<ScenarioReport> {
    const version = (JSON.parse(readFileSync(join(context.repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const executable = benchExecutable() ?? join(context.repoRoot, 'build', 'sea', 'linux-x64', 'promdrop');
    const tarball = join(context.repoRoot, 'build', `promdrop-${version}.linux-amd64.tar.gz`);
    const base = join(context.workDir, 'executable');
    const directory = join(base, 'textfiles');
    mkdirSync(directory, { recursive: true });
    const input = join(base, 'input.prom');
    writeFileSync(input, INPUT);
    const node = process.execPath;
    const cli = join(context.repoRoot, 'bin', 'promdrop');

    // Each command must do its job before its speed means anything.
    const versionCheck = await runProgram(executable, ['--version']);
    if (versionCheck.stdout.trim() !== version)
      throw new Error(`${executable} --version printed ${JSON.stringify(versionCheck.stdout)} (npm run release builds it)`);
    const writeCheck = await runProgram(executable, ['write', 'bench', '-d', directory], INPUT);
    if (writeCheck.code !== 0 || readFileSync(join(directory, 'bench.prom'), 'utf8') !== INPUT)
      throw new Error(`${executable} write failed: ${writeCheck.stderr}`);

    const stdin = ` < ${shellQuote(input)}`;
    const exe = shellQuote(executable);
    const dir = shellQuote(directory);
    const commands = [
      { name: 'node -e 0', command: `${shellQuote(node)} -e 0${stdin}` },
      { name: 'promdrop --version', command: `${exe} --version${stdin}` },
      { name: 'promdrop write', command: `${exe} write bench -d ${dir}${stdin}` },
      { name: 'promdrop set', command: `${exe} set setbench bench_value 42 -l job=a -d ${dir}${stdin}` },
      { name: 'promdrop run -- true', command: `${exe} run --name bench -d ${dir} -- true${stdin}` },
      { name: 'node bin/promdrop write (checkout)', command: `${shellQuote(node)} ${shellQuote(cli)} write bench -d ${dir}${stdin}` },
    ];
    const rounds = context.quick ? 1 : context.iterations;
    const runs = context.quick ? 10 : 30;
    const results: HyperfineResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      context.log(`executable: hyperfine round ${round}/${rounds} (${runs} runs per command)`);
      const order = commands.map((_, index) => commands[(index + round) % commands.length]!);
      results.push(...(await runHyperfine(order, { runs, warmup: 3, shell: 'sh', scratchDir: context.workDir, timeoutMs: 600_000 })));
    }
    const medianOf = (name: string): number => median(results.filter((result) => result.name === name).map((result) => result.medianMs));
    const floor = medianOf('node -e 0');
    const cpuOf = (name: string): number => median(results.filter((result) => result.name === name).map((result) => result.cpuMs));
    if (readFileSync(join(directory, 'bench.prom'), 'utf8') !== INPUT) throw new Error('after the runs, bench.prom is not the input');
    const leftovers = readdirSync(directory).filter((name) => name.startsWith('.'));

    const executableSize = sizeOf(executable);
    const tarballSize = sizeOf(tarball);
    const table = markdownTable(
      ['command (stdin: the same 4-line file)', 'median', 'median per round', `vs node -e 0 (${process.version})`, 'CPU (user + sys)', 'CPU vs node -e 0'],
      commands.map(({ name }) => [
        name,
        formatMilliseconds(medianOf(name)),
        results
          .filter((result) => result.name === name)
          .map((result) => formatMilliseconds(result.medianMs))
          .join(', '),
        formatRatio(medianOf(name) / floor),
        formatMilliseconds(cpuOf(name)),
        formatRatio(cpuOf(name) / cpuOf('node -e 0')),
      ]),
    );
    const sizes = markdownTable(
      ['artefact', 'size'],
      [
        [`${executable.replace(`${context.repoRoot}/`, '')}`, executableSize.ok ? megabytes(executableSize.value) : executableSize.reason],
        [tarball.replace(`${context.repoRoot}/`, ''), tarballSize.ok ? megabytes(tarballSize.value) : tarballSize.reason],
      ],
    );
    const notes = [
      `hyperfine in ${rounds} round(s), commands in rotating order, ${runs} runs per command per round after 3 warm-ups, through \`sh -c\` (hyperfine subtracts the shell's start-up); the median of the rounds' medians is shown. CPU is hyperfine's mean user + system time per run (median over the rounds): on a busy machine it is disturbed less than wall time.`,
      `\`promdrop\` is the single executable (${executable.replace(`${context.repoRoot}/`, '')}, with its embedded Node.js runtime and code cache); \`node -e 0\` and the checkout's \`bin/promdrop\` run on the machine's node (${node}). \`write\` and \`set\` replace a file with the full protocol (lock, temporary file, fsync, rename, fsync of the directory); \`run -- true\` writes the job's file twice (start and end) and its history (NAME.job.json; the last two side by side), and starts the command: three times the writing protocol and a child process, which is why it is reported, not held to the target.`,
      `After the runs \`bench.prom\` still equals the input; dot-files left in the directory: ${leftovers.length === 0 ? 'none' : leftovers.join(', ')}.`,
    ];
    return {
      markdown: [table, sizes, notes.map((note) => `- ${note}`).join('\n')].join('\n\n'),
      targets: [
        // The issue's target is on `write`; --version, set and run -- true are reported beside it.
        targetRow(`executable \`write\` ≤ ${STARTUP_TARGET_RATIO.toFixed(1)}× \`node -e 0\``, succeeded(medianOf('promdrop write')), (ms) => ({
          measured: `${formatRatio(ms / floor)} (${formatMilliseconds(ms)} vs ${formatMilliseconds(floor)})`,
          pass: ms <= STARTUP_TARGET_RATIO * floor,
        })),
        targetRow(`release tarball ≤ ${megabytes(TARBALL_LIMIT_BYTES)}`, tarballSize, (bytes) => ({
          measured: megabytes(bytes),
          pass: bytes <= TARBALL_LIMIT_BYTES,
        })),
      ],
    };
  },
};
