// What the parser refuses as it reads a file, stated for families that were never text: a
// protobuf push, or a push with the grouping labels applied. Such families are judged as data
// (judgeFamilies in verdict.ts) and then written as a textfile the store serves, so anything the
// parser would refuse in that file must be refused here, with the same reason. Families the
// parser built pass by construction. Pure.
import { escapedLabelProblem, isLegacyName } from './escaping.js';
import { goQuote } from './go-quote.js';
import { labelSignature, type NameValidationScheme } from './parse.js';
import type { Finding, FindingReason, MetricFamily } from './types.js';
import { expandedNames } from './validate.js';

/** A label name the parser reads without quotes (LABEL_START/LABEL_CONTINUE in parse.ts). */
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The errors a parse of these families' text (in their order) would end with: names the scheme
 * does not read, a family written twice or after the histogram or summary whose `_sum`,
 * `_count` or `_bucket` it is named like (a second TYPE line), label names that are empty,
 * `__name__`, repeated or unreadable for a scraper asking for escaping; and two histogram or
 * summary series with one label set, which the parser reads as one series written twice. Also
 * the bucket's `le` or the quantile's `quantile` as a label, which the parser would take for
 * the bound and drop from the series: refused rather than served without it. Lines are the
 * families' own.
 */
export function shapeFindings(families: readonly MetricFamily[], nameValidation: NameValidationScheme = 'utf8'): Finding[] {
  const findings: Finding[] = [];
  const error = (reason: FindingReason, message: string, line: number, family: string): void => {
    findings.push({ severity: 'error', reason, message, line, column: 1, family });
  };
  const familyNames = new Set<string>();
  /** `_bucket`, `_sum`, `_count` of the histograms and summaries so far, and whose they are. */
  const owned = new Map<string, MetricFamily>();
  const goodLabelNames = new Set<string>();
  for (const family of families) {
    const name = family.name;
    const owner = owned.get(name);
    if (name === '') error('parse', 'a metric family has no name', family.firstLine, name);
    else if (familyNames.has(name)) error('parse', `metric family ${goQuote(name)} appears twice; a file holds each family once`, family.firstLine, name);
    else if (owner !== undefined) {
      // The parser files the later family's lines under the earlier one: its TYPE line is a second.
      error('parse', `metric family ${goQuote(name)} after ${owner.type} ${goQuote(owner.name)} would be read as part of it`, family.firstLine, name);
    } else if (nameValidation === 'legacy' && !isLegacyName(name)) {
      error(
        'parse',
        `metric name ${goQuote(name)} is not a legacy name ([a-zA-Z_:][a-zA-Z0-9_:]*), as the name validation scheme legacy requires`,
        family.firstLine,
        name,
      );
    }
    familyNames.add(name);
    for (const expanded of expandedNames(family)) owned.set(expanded, family);
    const special = family.type === 'histogram' ? 'le' : family.type === 'summary' ? 'quantile' : undefined;
    const aggregates = special === undefined ? undefined : new Set<string>();
    for (const metric of family.metrics) {
      const labels = metric.labels;
      let escapable = false;
      for (let i = 0; i < labels.length; i += 2) {
        const label = labels[i]!;
        if (!goodLabelNames.has(label)) {
          const problem = labelNameProblem(label, nameValidation);
          if (problem !== undefined) {
            error(problem.reason, `${problem.message} (series of ${goQuote(name)})`, metric.line, name);
            continue;
          }
          goodLabelNames.add(label);
        }
        if (label === special)
          error('parse', `label name ${goQuote(label)} of ${family.type} ${goQuote(name)} is reserved for its ${special} samples`, metric.line, name);
        for (let j = 0; j < i; j += 2) {
          if (labels[j] === label) error('parse', `duplicate label names for metric ${goQuote(name)}: label "${label}" appears twice`, metric.line, name);
        }
        if (!LEGACY_LABEL_NAME.test(label)) escapable = true;
      }
      if (escapable) {
        const problem = escapedLabelProblem(labels);
        if (problem !== undefined) error(problem.reason, problem.message, metric.line, name);
      }
      if (aggregates !== undefined) {
        const signature = labelSignature(labels);
        if (aggregates.has(signature))
          error('duplicate_series', `${family.type} ${goQuote(name)} has two series with the labels ${describe(labels)}`, metric.line, name);
        aggregates.add(signature);
      }
    }
  }
  return findings;
}

function labelNameProblem(label: string, scheme: NameValidationScheme): { reason: FindingReason; message: string } | undefined {
  if (label === '') return { reason: 'parse', message: 'a label has no name' };
  if (label === '__name__') return { reason: 'parse', message: 'label name "__name__" is reserved' };
  if (LEGACY_LABEL_NAME.test(label)) return undefined;
  if (scheme === 'legacy') {
    return {
      reason: 'parse',
      message: `label name ${goQuote(label)} is not a legacy name ([a-zA-Z_][a-zA-Z0-9_]*), as the name validation scheme legacy requires`,
    };
  }
  // The renderer quotes only names that are not legacy metric names, so `a:b` goes out bare,
  // where a label name cannot have a colon.
  if (isLegacyName(label))
    return { reason: 'parse', message: `label name ${goQuote(label)} has a colon, which a label name written without quotes cannot have` };
  return undefined;
}

function describe(labels: readonly string[]): string {
  const pairs: string[] = [];
  for (let i = 0; i < labels.length; i += 2) pairs.push(`${labels[i]}=${JSON.stringify(labels[i + 1])}`);
  return `{${pairs.join(',')}}`;
}
