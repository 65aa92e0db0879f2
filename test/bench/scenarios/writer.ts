// Issue 4's benchmark: the wall time of `promdrop write` replacing a small file, side by side
// with `node -e 0` (the floor for any Node program) and with `sponge` (what cron jobs use today),
// all three reading the same small file on stdin, timed by hyperfine in the same run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram } from '../../helpers/peers.js';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario.js';
import { formatMilliseconds, formatRatio } from '../lib/format.js';
import { runHyperfine, type HyperfineResult } from '../lib/hyperfine.js';
import { markdownTable } from '../lib/markdown.js';
import { targetRow, type Outcome } from '../lib/outcome.js';
import { median } from '../lib/stats.js';

const TARGET_RATIO = 1.5;

/** What a cron job writes: a few series of its own, with HELP and TYPE. */
const INPUT = [
  '# HELP backup_last_success_timestamp_seconds When the backup last succeeded.',
  '# TYPE backup_last_success_timestamp_seconds gauge',
  'backup_last_success_timestamp_seconds 1.7952e+09',
  '# HELP backup_size_bytes Size of the last backup.',
  '# TYPE backup_size_bytes gauge',
  'backup_size_bytes{volume="data"} 3.4e+10',
  'backup_size_bytes{volume="home"} 1.2e+09',
  '# HELP backup_files_total Files the backup has copied.',
  '# TYPE backup_files_total counter',
  'backup_files_total{volume="data"} 120345',
  'backup_files_total{volume="home"} 88012',
  '',
].join('\n');

/** The file system type of `directory` as `stat -f` names it ("tmpfs", "ext2/ext3", …). */
function fileSystemType(directory: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', directory], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Quoted for sh: the paths come from mkdtemp, but a TMPDIR may hold anything. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

interface CommandFigures {
  readonly name: string;
  /** Median of the rounds' medians. */
  readonly medianMs: number;
  readonly roundMedians: readonly number[];
  readonly meanMs: number;
  readonly stddevMs: number;
  readonly runs: number;
}

function summarise(name: string, rounds: readonly HyperfineResult[]): CommandFigures {
  const mine = rounds.filter((result) => result.name === name);
  return {
    name,
    medianMs: median(mine.map((result) => result.medianMs)),
    roundMedians: mine.map((result) => result.medianMs),
    meanMs: median(mine.map((result) => result.meanMs)),
    stddevMs: median(mine.map((result) => result.stddevMs)),
    runs: mine.reduce((sum, result) => sum + result.runs, 0),
  };
}

export const writerScenario: Scenario = {
  name: 'writer',
  title: 'The writer CLI: promdrop write vs node -e 0 and sponge (issue 4)',
  issue: 4,
  runByDefault: true,
  requires: [
    { program: 'hyperfine', debianPackage: 'hyperfine' },
    { program: 'sponge', debianPackage: 'moreutils' },
  ],
  async run(context: BenchContext): Promise<ScenarioReport> {
    const base = join(context.workDir, 'writer');
    const directory = join(base, 'textfiles');
    mkdirSync(directory, { recursive: true });
    const input = join(base, 'input.prom');
    writeFileSync(input, INPUT);
    const node = process.execPath;
    const cli = join(context.repoRoot, 'bin', 'promdrop');

    // The command must do its job before its speed means anything.
    const check = await runProgram(node, [cli, 'write', 'bench', '-d', directory], INPUT, 30_000);
    if (check.code !== 0) throw new Error(`promdrop write failed (exit ${String(check.code)}): ${check.stderr.slice(0, 500)}`);
    if (readFileSync(join(directory, 'bench.prom'), 'utf8') !== INPUT) throw new Error('promdrop write did not write its input unchanged');

    const stdin = ` < ${shellQuote(input)}`;
    const commands = [
      { name: 'node -e 0', command: `${shellQuote(node)} -e 0${stdin}` },
      { name: 'promdrop write', command: `${shellQuote(node)} ${shellQuote(cli)} write bench -d ${shellQuote(directory)}${stdin}` },
      { name: 'sponge', command: `sponge ${shellQuote(join(directory, 'sponge.prom'))}${stdin}` },
      { name: 'promdrop --version (start-up only)', command: `${shellQuote(node)} ${shellQuote(cli)} --version${stdin}` },
    ];
    // --iterations rounds, as for every other measurement of the harness.
    const rounds = context.quick ? 1 : context.iterations;
    const runs = context.quick ? 10 : 30;
    const results: HyperfineResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      context.log(`writer: hyperfine round ${round}/${rounds} (${runs} runs per command)`);
      // Rotate the order so that no command is always first after a pause.
      const order = commands.map((_, index) => commands[(index + round) % commands.length]!);
      results.push(...(await runHyperfine(order, { runs, warmup: 3, shell: 'sh', scratchDir: context.workDir, timeoutMs: 600_000 })));
    }

    if (readFileSync(join(directory, 'bench.prom'), 'utf8') !== INPUT) throw new Error('after the runs, bench.prom is not the input');
    const leftovers = readdirSync(directory).filter((name) => name.startsWith('.'));
    const figures = commands.map((command) => summarise(command.name, results));
    const [nodeFigures, writeFigures] = figures;
    const table = markdownTable(
      ['command (stdin: the same 11-line file)', 'median', 'mean ± σ', 'runs', 'median per round', 'vs node -e 0'],
      figures.map((figure) => [
        figure.name,
        formatMilliseconds(figure.medianMs),
        `${formatMilliseconds(figure.meanMs)} ± ${formatMilliseconds(figure.stddevMs)}`,
        String(figure.runs),
        figure.roundMedians.map(formatMilliseconds).join(', '),
        nodeFigures === undefined ? '—' : formatRatio(figure.medianMs / nodeFigures.medianMs),
      ]),
    );
    const notes = [
      `hyperfine ${rounds === 1 ? '' : `in ${rounds} rounds, commands in rotating order, `}${runs} runs per command per round after 3 warm-ups, through \`sh -c\` (hyperfine subtracts the shell's own start-up); the median of the rounds' medians is shown.`,
      `\`promdrop write bench -d DIR\` runs \`bin/promdrop\` on the same node as \`node -e 0\` (${node}). Each run validates the input, takes the file's lock, writes a dot-named temporary file, fsyncs it, renames it over \`bench.prom\` and fsyncs the directory; the directory is on a file system of type ${fileSystemType(directory)} (\`stat -f\`; on a tmpfs fsync costs nothing).`,
      '`sponge FILE` (moreutils) reads stdin, writes it to a temporary file in $TMPDIR and renames that over FILE (strace: no fsync, no lock; when $TMPDIR is on another file system it rewrites FILE in place instead).',
      `After the runs \`bench.prom\` still equals the input; dot-files left in the directory: ${leftovers.length === 0 ? 'none' : leftovers.join(', ')}.`,
    ];
    const ratio: Outcome<readonly [CommandFigures, CommandFigures]> =
      nodeFigures !== undefined && writeFigures !== undefined ? { ok: true, value: [writeFigures, nodeFigures] } : { ok: false, reason: 'missing figures' };
    return {
      markdown: [table, notes.map((note) => `- ${note}`).join('\n')].join('\n\n'),
      targets: [
        targetRow(`\`promdrop write\` of a small file ≤ ${TARGET_RATIO}× \`node -e 0\``, ratio, ([write, floor]) => ({
          measured: `${formatRatio(write.medianMs / floor.medianMs)} (${formatMilliseconds(write.medianMs)} vs ${formatMilliseconds(floor.medianMs)})`,
          pass: write.medianMs <= TARGET_RATIO * floor.medianMs,
        })),
      ],
    };
  },
};
