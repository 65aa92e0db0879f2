// A description of the machine and software a run was made on, printed with every report:
// figures without their machine are not comparable.
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { findProgram } from '../../helpers/peers.js';
import { markdownTable } from './markdown.js';

/** Programs whose version flag is not --version. */
const VERSION_ARGS: Readonly<Record<string, readonly string[]>> = { wrk: ['-v'] };

/** First line of `<program> <args>`'s output, or a note that it is missing. */
export function programVersion(program: string, args: readonly string[] = ['--version']): string {
  const path = findProgram(program);
  if (path === undefined) return 'not installed';
  try {
    const output = execFileSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return output.split('\n')[0]?.trim() ?? '';
  } catch (error) {
    // Some programs print their version and then exit non-zero (wrk -v), some on stderr.
    const { stdout, stderr } = error as { stdout?: unknown; stderr?: unknown };
    const text = [stdout, stderr].find((output): output is string => typeof output === 'string' && output.trim() !== '');
    return text?.split('\n')[0]?.trim() ?? 'unknown';
  }
}

function git(repoRoot: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** The commit, and whether the sources differ from it (read-only git commands). */
function gitCommit(repoRoot: string): string {
  let commit: string;
  try {
    commit = git(repoRoot, ['rev-parse', '--short', 'HEAD']);
  } catch {
    return 'unknown';
  }
  let dirty: boolean;
  try {
    git(repoRoot, ['diff', '--quiet', 'HEAD', '--', 'src', 'scripts', 'package.json']);
    dirty = git(repoRoot, ['ls-files', '--others', '--exclude-standard', '--', 'src']) !== '';
  } catch {
    dirty = true; // git diff --quiet exits 1 when there are changes
  }
  return dirty ? `${commit} + uncommitted changes in src/` : commit;
}

export function describeMachine(repoRoot: string, peers: readonly string[]): string {
  const processors = cpus();
  const rows: string[][] = [
    ['CPU', `${processors[0]?.model ?? 'unknown'} × ${processors.length}`],
    ['memory', `${(totalmem() / 1e9).toFixed(1)} GB`],
    ['kernel', `Linux ${release()}`],
    ['node', process.version],
    ['promdrop commit', gitCommit(repoRoot)],
    ...peers.map((program) => [program, programVersion(program, VERSION_ARGS[program])]),
  ];
  return markdownTable(['machine', ''], rows);
}
