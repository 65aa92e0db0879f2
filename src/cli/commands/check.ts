// `promdrop check`: answers a cron author's question "will the agent serve this file, and is it
// well written?" with the same verdict the agent reaches (parse, validate, merge across the
// files given) plus promlint's style warnings.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { escapeName, familyNeedsEscaping, isLegacyName } from '../../core/escaping.js';
import { mergeSources, type Source } from '../../core/merge.js';
import { NAME_VALIDATION_SCHEMES, type NameValidationScheme } from '../../core/parse.js';
import type { Finding, MetricFamily } from '../../core/types.js';
import { agentContentOptions, judgeTextfileContent, type TextfileFinding } from '../../core/verdict.js';
import { DEFAULT_MAX_SERIES_PER_FILE } from '../../defaults.js';
import { formatFinding } from '../diagnostics.js';
import { CliError } from '../errors.js';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, EXIT_WARNINGS } from '../exit-codes.js';

interface CheckedInput {
  readonly name: string;
  readonly findings: TextfileFinding[];
}

interface CheckCommandOptions {
  readonly format: string;
  readonly lint: boolean;
  readonly allowTimestamps: boolean;
  readonly metricNameValidationScheme: string;
}

/**
 * One warning per family with a name that is not legacy-valid: the agent serves it, but
 * Prometheus 2 (and any scraper that does not send escaping=allow-utf-8) sees the escaped name,
 * which queries and alerts must use there.
 */
function utf8NameWarnings(families: readonly MetricFamily[]): Finding[] {
  const warnings: Finding[] = [];
  for (const family of families) {
    if (!familyNeedsEscaping(family)) continue;
    const names = new Set<string>();
    if (!isLegacyName(family.name)) names.add(family.name);
    for (const metric of family.metrics) {
      for (let i = 0; i < metric.labels.length; i += 2) if (!isLegacyName(metric.labels[i]!)) names.add(metric.labels[i]!);
    }
    const shown = [...names].map((name) => `${JSON.stringify(name)} as ${escapeName(name, 'underscores')}`).join(', ');
    warnings.push({
      severity: 'warning',
      reason: 'utf8_name',
      message: `UTF-8 names: scrapers that do not ask for them (Prometheus 2, escaping=underscores) see ${shown}`,
      line: family.firstLine,
      family: family.name,
    });
  }
  return warnings;
}

/** The files an argument stands for: a directory means its *.prom files, as the agent sees them. */
function expandArgument(argument: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(argument).isDirectory();
  } catch {
    return [argument]; // reported as unreadable below
  }
  if (!isDirectory) return [argument];
  return readdirSync(argument)
    .filter((name) => name.endsWith('.prom') && !name.startsWith('.'))
    .sort()
    .map((name) => join(argument, name));
}

function readInput(path: string): Buffer | Finding {
  try {
    if (!statSync(path).isFile()) {
      return { severity: 'error', reason: 'parse', message: 'not a regular file; the agent does not read it', line: 0 };
    }
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { severity: 'error', reason: 'parse', message: `cannot read the file (${code})`, line: 0 };
  }
}

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (error) {
    throw new CliError(`cannot read standard input: ${(error as Error).message}`);
  }
}

function runCheck(inputs: readonly string[], options: CheckCommandOptions): number {
  if (options.format !== 'text' && options.format !== 'json') {
    throw new CliError(`--format must be text or json, not "${options.format}"`, EXIT_USAGE);
  }
  const checked: CheckedInput[] = [];
  const sources: Source[] = [];
  if (inputs.length === 0 && process.stdin.isTTY) {
    // Waiting silently for a terminal to type metrics looks like a hang.
    throw new CliError(
      'check reads stdin when no file is given: give files or directories, or pipe the metrics in, e.g. `my-collector | promdrop check`',
      EXIT_USAGE,
    );
  }
  const paths = inputs.length === 0 ? ['-'] : inputs.flatMap(expandArgument);
  // One input needs a verdict, not a model: its series are checked without being kept, which
  // is several times faster on a large file. Several inputs are merged, which needs them.
  const scheme = options.metricNameValidationScheme;
  if (!(NAME_VALIDATION_SCHEMES as readonly string[]).includes(scheme)) {
    throw new CliError(`--metric-name-validation-scheme must be utf8 or legacy, not "${scheme}"`, EXIT_USAGE);
  }
  // UTF-8 names need the series kept, to name them in warnings: the parser keeps them anyway
  // for files that have such names (parse.ts), so this costs nothing for the others.
  const checkOptions = {
    ...agentContentOptions({
      maxSeriesPerFile: DEFAULT_MAX_SERIES_PER_FILE,
      allowTimestamps: options.allowTimestamps,
      nameValidation: scheme as NameValidationScheme,
    }),
    lint: options.lint,
    seriesForm: paths.length > 1 ? ('metrics' as const) : ('none' as const),
  };
  for (const path of paths) {
    const name = path === '-' ? 'stdin' : path;
    const content = path === '-' ? readStdin() : readInput(path);
    if (!Buffer.isBuffer(content)) {
      checked.push({ name, findings: [content] });
      continue;
    }
    // The agent's own verdict: parse, validation, `# promdrop:` directives, limits, reserved names.
    const verdict = judgeTextfileContent(content, checkOptions);
    const utf8 = verdict.accepted ? utf8NameWarnings(verdict.families) : [];
    const findings: TextfileFinding[] = [...verdict.findings, ...utf8].sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
    checked.push({ name, findings });
    if (verdict.accepted) sources.push({ id: name, families: verdict.families });
  }
  // Files that are fine alone can still collide when the agent serves them together.
  if (sources.length > 1) {
    for (const conflict of mergeSources(sources).conflicts) {
      const target = checked.find((input) => input.name === conflict.source);
      target?.findings.push({
        severity: conflict.severity,
        reason: 'conflict',
        message: conflict.message,
        line: conflict.line,
        ...(conflict.severity === 'error' ? { column: 1 } : {}),
      });
    }
  }

  const hasError = checked.some((input) => input.findings.some((f) => f.severity === 'error'));
  const hasWarning = checked.some((input) => input.findings.length > 0);
  if (options.format === 'json') {
    const report = {
      accepted: !hasError,
      files: checked.map((input) => ({
        file: input.name,
        accepted: !input.findings.some((f) => f.severity === 'error'),
        findings: input.findings.map(({ severity, reason, line, column, message }) => ({ severity, reason, line, column, message })),
      })),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines: string[] = [];
    for (const input of checked) {
      for (const finding of input.findings) {
        // Lint warnings point at a family, not a column: FILE:LINE: warning: ...
        lines.push(formatFinding(input.name, finding.severity === 'warning' ? { ...finding, column: 0 } : finding));
      }
    }
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (hasError) return EXIT_INVALID;
  return hasWarning ? EXIT_WARNINGS : EXIT_OK;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check that the agent would serve these files, and lint them like promtool')
    .argument('[paths...]', 'files or directories (a directory means its *.prom files); standard input when none')
    .option('--format <format>', 'output format: text or json', 'text')
    .option('--no-lint', 'leave out promlint style warnings')
    .option('--allow-timestamps', 'accept client-side timestamps (only if the agent runs with --textfile.allow-timestamps)', false)
    .option(
      '--metric-name-validation-scheme <SCHEME>',
      "utf8 (quoted UTF-8 names allowed, with a warning) or legacy, as the agent's --textfile.metric-name-validation-scheme",
      'utf8',
    )
    .addHelpText(
      'after',
      `
Output, one line per finding:
  FILE:LINE:COL: error: MESSAGE    the agent would not serve the file
  FILE:LINE: warning: MESSAGE      served, but not well written (promlint)

Exit status: 0 clean, 1 a file would be rejected, 2 usage error, 3 warnings only.

Examples:
  $ promdrop check /var/lib/promdrop
  $ my-collector | promdrop check
  $ promdrop check --format json backup.prom`,
    )
    .action((paths: string[], options: CheckCommandOptions) => {
      process.exitCode = runCheck(paths, options);
    });
}
