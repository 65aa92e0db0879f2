// promlint's rules (client_golang v1.14, the version inside Debian's promtool 2.42) with its
// messages, so that `promdrop check` warns about what `promtool check metrics` warns about.
// Warnings never make a file rejected. Where promlint's result depends on Go map iteration
// order (a name with several unit words), we report the non-base unit deterministically.
import type { Finding, MetricFamily } from './types.js';
import { firstSampleLine } from './validate.js';

const UNITS: ReadonlyMap<string, string> = new Map([
  ['amperes', 'amperes'],
  ['bytes', 'bytes'],
  ['celsius', 'celsius'],
  ['grams', 'grams'],
  ['joules', 'joules'],
  ['kelvin', 'kelvin'],
  ['meters', 'meters'],
  ['metres', 'metres'],
  ['seconds', 'seconds'],
  ['volts', 'volts'],
  ['minutes', 'seconds'],
  ['hours', 'seconds'],
  ['days', 'seconds'],
  ['weeks', 'seconds'],
  ['kelvins', 'kelvin'],
  ['fahrenheit', 'celsius'],
  ['rankine', 'celsius'],
  ['inches', 'meters'],
  ['yards', 'meters'],
  ['miles', 'meters'],
  ['bits', 'bytes'],
  ['calories', 'joules'],
  ['pounds', 'grams'],
  ['ounces', 'grams'],
]);

const UNIT_PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mibi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
  '',
];

const TYPE_WORDS_IN_NAMES = ['counter', 'gauge', 'summary', 'histogram', 'gauge_histogram'];
const UNIT_ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];
const CAMEL_CASE = /[a-z][A-Z]/;

/** The unit word in `name` and its base unit, preferring a part that is not already a base. */
function findUnit(name: string): { unit: string; base: string } | undefined {
  let found: { unit: string; base: string } | undefined;
  for (const part of name.split('_')) {
    for (const [unit, base] of UNITS) {
      for (const prefix of UNIT_PREFIXES) {
        if (part !== prefix + unit) continue;
        if (prefix + unit !== base) return { unit: prefix + unit, base };
        found ??= { unit: part, base };
      }
    }
  }
  return found;
}

function containsWord(lowerName: string, word: string): boolean {
  return lowerName.includes(`_${word}_`) || lowerName.endsWith(`_${word}`);
}

/** The family's label names in order of first appearance (promlint looks at every series;
 *  its messages depend only on which names occur). */
function labelNames(family: MetricFamily): readonly string[] {
  if (family.digest !== undefined) return family.digest.labelNames;
  const names = new Set<string>();
  for (const metric of family.metrics) {
    for (let i = 0; i < metric.labels.length; i += 2) names.add(metric.labels[i]!);
  }
  return [...names];
}

function problemsOf(family: MetricFamily): string[] {
  const problems: string[] = [];
  const name = family.name;
  const type = family.type;
  if (family.help === undefined || family.help === '') problems.push('no help text');

  const unit = findUnit(name);
  if (unit !== undefined && unit.unit !== unit.base) {
    problems.push(`use base unit "${unit.base}" instead of "${unit.unit}"`);
  }

  const isCounter = type === 'counter';
  const hasTotal = name.endsWith('_total');
  if (isCounter && !hasTotal) problems.push('counter metrics should have "_total" suffix');
  else if (type !== 'untyped' && !isCounter && hasTotal) problems.push('non-counter metrics should not have "_total" suffix');

  if (type !== 'untyped') {
    const isHistogram = type === 'histogram';
    const isSummary = type === 'summary';
    if (!isHistogram && name.endsWith('_bucket')) problems.push('non-histogram metrics should not have "_bucket" suffix');
    if (!isHistogram && !isSummary && name.endsWith('_count')) {
      problems.push('non-histogram and non-summary metrics should not have "_count" suffix');
    }
    if (!isHistogram && !isSummary && name.endsWith('_sum')) {
      problems.push('non-histogram and non-summary metrics should not have "_sum" suffix');
    }
    for (const label of labelNames(family)) {
      if (!isHistogram && label === 'le') problems.push('non-histogram metrics should not have "le" label');
      if (!isSummary && label === 'quantile') problems.push('non-summary metrics should not have "quantile" label');
    }
  }

  const lower = name.toLowerCase();
  for (const word of TYPE_WORDS_IN_NAMES) {
    if (containsWord(lower, word)) problems.push(`metric name should not include type '${word}'`);
  }
  if (name.includes(':')) problems.push("metric names should not contain ':'");
  if (CAMEL_CASE.test(name)) problems.push("metric names should be written in 'snake_case' not 'camelCase'");
  for (const label of labelNames(family)) {
    if (CAMEL_CASE.test(label)) problems.push("label names should be written in 'snake_case' not 'camelCase'");
  }
  for (const abbreviation of UNIT_ABBREVIATIONS) {
    if (containsWord(lower, abbreviation)) problems.push('metric names should not contain abbreviated units');
  }
  return problems;
}

/** promlint's warnings, one per family and message (promlint repeats some per series). */
export function lintFamilies(families: readonly MetricFamily[]): Finding[] {
  const findings: Finding[] = [];
  for (const family of families) {
    const line = firstSampleLine(family);
    for (const message of new Set(problemsOf(family))) {
      findings.push({ severity: 'warning', reason: 'lint', message: `${family.name}: ${message}`, line, family: family.name });
    }
  }
  return findings;
}
