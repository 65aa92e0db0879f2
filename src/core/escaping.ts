// Metric and label names for scrapers that cannot read UTF-8 names, as prometheus/common's
// model package escapes them (EscapeName, EscapeMetricFamily, UnescapeName). A scraper names the
// scheme in its Accept header (`escaping=`); Prometheus 2.x names none and gets `underscores`.
// Only names that are not legacy-valid are ever touched, and label VALUES never are.
import { goQuote } from './go-quote.js';
import type { Metric, MetricFamily } from './types.js';

/** The values of the `escaping` parameter (model.AllowUTF8, EscapeUnderscores, EscapeDots,
 *  EscapeValues). `allow-utf-8` is model.NoEscaping. */
export type EscapingScheme = 'allow-utf-8' | 'underscores' | 'dots' | 'values';
export const ESCAPING_SCHEMES: readonly EscapingScheme[] = ['allow-utf-8', 'underscores', 'dots', 'values'];
/** The schemes that rewrite names (every scheme but allow-utf-8). */
export const REWRITING_SCHEMES: readonly Exclude<EscapingScheme, 'allow-utf-8'>[] = ['underscores', 'dots', 'values'];

export function isEscapingScheme(value: string): value is EscapingScheme {
  return value === 'allow-utf-8' || value === 'underscores' || value === 'dots' || value === 'values';
}

/** model's isValidLegacyRune: letters, `_`, `:`, and digits except first. `index` is the
 *  character's UTF-8 byte offset in Go; only "is it 0" matters, the same for code units. */
function isLegacyRune(code: number, index: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f || code === 0x3a || (code >= 0x30 && code <= 0x39 && index > 0);
}

/**
 * model.IsValidLegacyMetricName: [a-zA-Z_:][a-zA-Z0-9_:]*. Go's EscapeMetricFamily applies it
 * to label names too (so `a:b` as a label name is left alone), and so do we.
 */
export function isLegacyName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (!isLegacyRune(name.charCodeAt(i), i)) return false;
  return true;
}

/** model.EscapeName. Escaped names are legacy-valid (empty stays empty). */
export function escapeName(name: string, scheme: EscapingScheme): string {
  if (name.length === 0 || scheme === 'allow-utf-8') return name;
  if (scheme !== 'dots' && isLegacyName(name)) return name;
  let out = scheme === 'values' ? 'U__' : '';
  let index = 0;
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (scheme === 'underscores') {
      out += isLegacyRune(code, index) ? char : '_';
    } else if (scheme === 'dots') {
      // Dots escaping doubles underscores even in legacy-valid names (EscapeMetricFamily never
      // passes it one: it escapes only names that need it).
      if (code === 0x5f) out += '__';
      else if (code === 0x2e) out += '_dot_';
      else out += isLegacyRune(code, index) ? char : '__';
    } else if (code === 0x5f) {
      out += '__';
    } else if (isLegacyRune(code, index)) {
      out += char;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      // A lone surrogate: not a valid rune (utf8.ValidRune); UTF-8 input never yields one.
      out += '_FFFD_';
    } else {
      out += `_${code.toString(16)}_`;
    }
    index += char.length;
  }
  return out;
}

/** model.UnescapeName: the name a `values`- or `dots`-escaped name stands for; the input
 *  unchanged when it is not a valid escape (or the scheme cannot be undone). */
export function unescapeName(name: string, scheme: EscapingScheme): string {
  if (name.length === 0) return name;
  if (scheme === 'dots') return name.replaceAll('_dot_', '.').replaceAll('__', '_');
  if (scheme !== 'values' || !name.startsWith('U__')) return name;
  const escaped = name.slice(3);
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] !== '_') {
      out += escaped[i];
      continue;
    }
    i++;
    if (i >= escaped.length) return name;
    if (escaped[i] === '_') {
      out += '_';
      continue;
    }
    let code = 0;
    let closed = false;
    for (let digits = 0; i < escaped.length; digits++) {
      // More hex digits than '\U0010FFFF' has.
      if (digits >= 6) return name;
      const c = escaped[i]!;
      if (c === '_') {
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return name;
        out += String.fromCodePoint(code);
        closed = true;
        break;
      }
      const digit = parseInt(c, 16);
      if (Number.isNaN(digit)) return name;
      code = code * 16 + digit;
      i++;
    }
    if (!closed) return name;
  }
  return out;
}

/** True when the family's name or any of its label names is not legacy-valid: only then do the
 *  escaping schemes change anything. */
export function familyNeedsEscaping(family: Pick<MetricFamily, 'name' | 'metrics' | 'rendered'>): boolean {
  if (!isLegacyName(family.name)) return true;
  if (family.rendered !== undefined) return family.rendered.labelOrder.some((name) => !isLegacyName(name));
  // Series of a family nearly always list the same label names in the same order, as the same
  // (interned) strings: compare with the previous series' names first, which is one pointer
  // comparison each; check a name only when it differs.
  let previous: readonly string[] = [];
  for (const metric of family.metrics) {
    const labels = metric.labels;
    for (let i = 0; i < labels.length; i += 2) {
      const name = labels[i]!;
      if (name !== previous[i] && !isLegacyName(name)) return true;
    }
    previous = labels;
  }
  return false;
}

/** model.EscapeMetricFamily: the family with its name and label names escaped (values kept). */
export function escapeFamily(family: MetricFamily, scheme: EscapingScheme): MetricFamily {
  if (scheme === 'allow-utf-8') return family;
  const escapeLabels = (labels: readonly string[]): readonly string[] => {
    let out: string[] | undefined;
    for (let i = 0; i < labels.length; i += 2) {
      const name = labels[i]!;
      if (isLegacyName(name)) continue;
      out ??= labels.slice();
      out[i] = escapeName(name, scheme);
    }
    return out ?? labels;
  };
  const metrics = family.metrics.map((metric): Metric => {
    const labels = escapeLabels(metric.labels);
    return labels === metric.labels ? metric : { ...metric, labels };
  });
  return {
    name: isLegacyName(family.name) ? family.name : escapeName(family.name, scheme),
    help: family.help,
    type: family.type,
    metrics,
    firstLine: family.firstLine,
  };
}

const LEGACY_LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Label names (flat pairs) a scraper asking for escaping could not take: two names of one series
 * that become one (`"a.b"` and `a_b` under underscores), a name that becomes a reserved one
 * (`" name "` is `__name__` under dots), or one that escaping leaves alone but a label name cannot
 * be in Prometheus 2 (`"a:b"`: EscapeMetricFamily applies the metric-name rule). That scraper
 * would drop the whole scrape, so the parser (a file) and family-shape.ts (a push) refuse them.
 */
export function escapedLabelProblem(labels: readonly string[]): { reason: 'duplicate_label' | 'reserved_label'; message: string } | undefined {
  for (const scheme of REWRITING_SCHEMES) {
    const seen = new Map<string, string>();
    for (let i = 0; i < labels.length; i += 2) {
      const label = labels[i]!;
      const escaped = isLegacyName(label) ? label : escapeName(label, scheme);
      if (escaped.startsWith('__') && !label.startsWith('__')) {
        return {
          reason: 'reserved_label',
          message: `label name ${goQuote(label)} is ${escaped} for a scraper that asks for escaping=${scheme}; names starting with "__" are reserved`,
        };
      }
      if (!LEGACY_LABEL_NAME_PATTERN.test(escaped)) {
        return {
          reason: 'reserved_label',
          message: `label name ${goQuote(label)} is ${escaped} for a scraper that asks for escaping=${scheme}, not a label name Prometheus 2 reads ([a-zA-Z_][a-zA-Z0-9_]*)`,
        };
      }
      const other = seen.get(escaped);
      if (other !== undefined) {
        return {
          reason: 'duplicate_label',
          message: `label names ${goQuote(other)} and ${goQuote(label)} are both ${escaped} for a scraper that asks for escaping=${scheme} (Prometheus 2 asks for underscores)`,
        };
      }
      seen.set(escaped, label);
    }
  }
  return undefined;
}
