// parse → validate (→ lint): the one verdict shared by `promdrop check`, the writer commands and
// the agent, so that "check says OK" always means "the agent serves it".
import { lintFamilies } from './lint.js';
import { parseExposition, type ParseOptions } from './parse.js';
import type { Finding, MetricFamily, ParseFailure } from './types.js';
import { validateFamilies, type ValidateOptions } from './validate.js';

export interface CheckOptions extends ValidateOptions, ParseOptions {
  /** Add promlint's style warnings (they never make a file rejected). */
  readonly lint?: boolean;
}

export interface CheckResult {
  /** True when no finding is an error: the agent would serve the input. */
  readonly accepted: boolean;
  /** The parsed families; empty when the input does not parse. With `retainSeries: false` their
   *  scalar series are digests, good for a verdict but not for merging or rendering. */
  readonly families: MetricFamily[];
  /** Every finding, ordered by line. A parse failure is one finding with reason `parse`. */
  readonly findings: Finding[];
  readonly parseFailure?: ParseFailure;
}

export function checkExposition(input: Uint8Array, options: CheckOptions = {}): CheckResult {
  const parsed = parseExposition(input, options);
  if (!parsed.ok) {
    const failure = parsed.error;
    return {
      accepted: false,
      families: [],
      findings: [{ severity: 'error', reason: 'parse', message: failure.message, line: failure.line, column: failure.column }],
      parseFailure: failure,
    };
  }
  const findings = [...parsed.findings, ...checkFamilies(parsed.families, options)];
  findings.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
  return {
    accepted: !findings.some((finding) => finding.severity === 'error'),
    families: parsed.families,
    findings,
  };
}

/** What is checked once families are read: validation, and lint when asked. Unsorted. */
export function checkFamilies(families: readonly MetricFamily[], options: ValidateOptions & { readonly lint?: boolean } = {}): Finding[] {
  const findings = validateFamilies(families, options);
  if (options.lint === true) findings.push(...lintFamilies(families));
  return findings;
}
