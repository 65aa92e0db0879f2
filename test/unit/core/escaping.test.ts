// Name escaping against prometheus/common's own tables (model/metric_test.go: TestEscapeName,
// TestValueUnescapeErrors, TestValidationScheme_IsMetricNameValid) and expfmt's writer
// (expfmt/text_create_test.go TestCreate scenario 2, the UTF-8 gauge).
import { describe, expect, it } from 'vitest';
import { escapeFamily, escapeName, familyNeedsEscaping, isLegacyName, REWRITING_SCHEMES, unescapeName } from '../../../src/core/escaping.js';
import { parseExposition } from '../../../src/core/parse.js';
import { renderOpenMetrics, renderText } from '../../../src/core/render.js';
import type { MetricFamily } from '../../../src/core/types.js';

// TestEscapeName: input, underscores, dots, dots unescaped, values.
const ESCAPE_NAME: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['', '', '', '', ''],
  ['no:escaping_required', 'no:escaping_required', 'no:escaping__required', 'no:escaping_required', 'no:escaping_required'],
  [
    'mysystem.prod.west.cpu.load',
    'mysystem_prod_west_cpu_load',
    'mysystem_dot_prod_dot_west_dot_cpu_dot_load',
    'mysystem.prod.west.cpu.load',
    'U__mysystem_2e_prod_2e_west_2e_cpu_2e_load',
  ],
  [
    'mysystem.prod.west.cpu.load_total',
    'mysystem_prod_west_cpu_load_total',
    'mysystem_dot_prod_dot_west_dot_cpu_dot_load__total',
    'mysystem.prod.west.cpu.load_total',
    'U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total',
  ],
  ['http.status:sum', 'http_status:sum', 'http_dot_status:sum', 'http.status:sum', 'U__http_2e_status:sum'],
  ['label with 😱', 'label_with__', 'label__with____', 'label_with__', 'U__label_20_with_20__1f631_'],
  ['花火', '__', '____', '__', 'U___82b1__706b_'],
  ['label with \u0100', 'label_with__', 'label__with____', 'label_with__', 'U__label_20_with_20__100_'],
];

// TestValueUnescapeErrors: input, expected.
const VALUE_UNESCAPE: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['U__no:unescapingrequired', 'no:unescapingrequired'],
  ['U__capitals_2E_ok', 'capitals.ok'],
  ['U__underscores__doubled__', 'underscores_doubled_'],
  ['U__underscores_doubled_', 'U__underscores_doubled_'],
  ['U__underscores__doubled_', 'U__underscores__doubled_'],
  ['U__my__hack_2e_attempt_872348732fabdabbab_', 'U__my__hack_2e_attempt_872348732fabdabbab_'],
  ['U__my__hack_2e', 'U__my__hack_2e'],
  ['U__bad__utf_2eg_', 'U__bad__utf_2eg_'],
  ['U__bad__utf_D900_', 'U__bad__utf_D900_'],
];

// TestValidationScheme_IsMetricNameValid, legacy column (its invalid-UTF-8 case has no JS string).
const LEGACY_VALID: ReadonlyArray<readonly [string, boolean]> = [
  ['Avalid_23name', true],
  ['_Avalid_23name', true],
  ['1valid_23name', false],
  ['avalid_23name', true],
  ['Ava:lid_23name', true],
  ['a lid_23name', false],
  [':leading_colon', true],
  ['colon:in:the:middle', true],
  ['', false],
];

describe('escapeName and unescapeName equal model.EscapeName / UnescapeName', () => {
  it.each(ESCAPE_NAME)('%j', (input, underscores, dots, unescapedDots, values) => {
    expect(escapeName(input, 'underscores')).toBe(underscores);
    expect(unescapeName(underscores, 'underscores')).toBe(underscores);
    expect(escapeName(input, 'dots')).toBe(dots);
    expect(unescapeName(dots, 'dots')).toBe(unescapedDots);
    expect(escapeName(input, 'values')).toBe(values);
    expect(unescapeName(values, 'values')).toBe(input);
    expect(escapeName(input, 'allow-utf-8')).toBe(input);
  });

  it.each(VALUE_UNESCAPE)('unescapes %j under values as %j', (input, expected) => {
    expect(unescapeName(input, 'values')).toBe(expected);
  });

  it.each(LEGACY_VALID)('%j is legacy-valid: %s', (name, valid) => {
    expect(isLegacyName(name)).toBe(valid);
  });
});

const UTF8_GAUGE: MetricFamily = {
  name: 'gauge.name',
  help: 'gauge\ndoc\nstr"ing',
  type: 'gauge',
  firstLine: 1,
  metrics: [
    {
      kind: 'scalar',
      labels: ['name.1', 'val with\nnew line', 'name*2', 'val with \\backslash and "quotes"'],
      value: Infinity,
      timestampMs: undefined,
      line: 1,
    },
    { kind: 'scalar', labels: ['name.1', 'Björn', 'name*2', '佖佥'], value: 3.14e42, timestampMs: undefined, line: 2 },
  ],
};

describe('rendering UTF-8 names', () => {
  it("writes them quoted exactly as expfmt's MetricFamilyToText (TestCreate scenario 2)", () => {
    expect(renderText([UTF8_GAUGE], { utf8Names: true })).toBe(
      '# HELP "gauge.name" gauge\\ndoc\\nstr"ing\n' +
        '# TYPE "gauge.name" gauge\n' +
        '{"gauge.name","name.1"="val with\\nnew line","name*2"="val with \\\\backslash and \\"quotes\\""} +Inf\n' +
        '{"gauge.name","name.1"="Björn","name*2"="佖佥"} 3.14e+42\n',
    );
  });

  it('writes legacy names the same with or without UTF-8 support', () => {
    const legacy: MetricFamily = { ...UTF8_GAUGE, name: 'gauge_name', metrics: UTF8_GAUGE.metrics.map((m) => ({ ...m, labels: ['a', 'b'] })) };
    expect(renderText([legacy], { utf8Names: true })).toBe(renderText([legacy]));
    expect(familyNeedsEscaping(legacy)).toBe(false);
    expect(familyNeedsEscaping(UTF8_GAUGE)).toBe(true);
  });

  it('parses its own UTF-8 output back to the same families, in both formats', () => {
    const text = renderText([UTF8_GAUGE], { utf8Names: true });
    const parsed = parseExposition(Buffer.from(text));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.families.map((f) => [f.name, f.help, f.type])).toEqual([['gauge.name', UTF8_GAUGE.help, 'gauge']]);
    expect(parsed.families[0]!.metrics.map((m) => m.labels)).toEqual(UTF8_GAUGE.metrics.map((m) => m.labels));
    const om = renderOpenMetrics([UTF8_GAUGE], { utf8Names: true });
    expect(om).toContain('{"gauge.name","name.1"="Björn","name*2"="佖佥"} 3.14e+42\n');
    expect(om).toContain('# TYPE "gauge.name" gauge\n');
  });

  it('escapes names but never label values (EscapeMetricFamily)', () => {
    const escaped = escapeFamily(UTF8_GAUGE, 'underscores');
    expect(escaped.name).toBe('gauge_name');
    expect(escaped.metrics[0]!.labels).toEqual(['name_1', 'val with\nnew line', 'name_2', 'val with \\backslash and "quotes"']);
    expect(escapeFamily(UTF8_GAUGE, 'values').metrics[1]!.labels).toEqual(['U__name_2e_1', 'Björn', 'U__name_2a_2', '佖佥']);
    expect(escapeFamily(UTF8_GAUGE, 'dots').name).toBe('gauge_dot_name');
  });
});

describe('any UTF-8 names (generated)', () => {
  it('round-trip through the quoted writer and the parser, and escape to legacy names under every rewriting scheme', async () => {
    const fc = (await import('fast-check')).default;
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((text) => !text.startsWith('__'));
    fc.assert(
      // A label name that becomes reserved under some scheme is refused (tested below).
      fc.property(
        name,
        name.filter((text) =>
          REWRITING_SCHEMES.every(
            (scheme) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(isLegacyName(text) ? text : escapeName(text, scheme)) && !escapeName(text, scheme).startsWith('__'),
          ),
        ),
        fc.string({ maxLength: 8 }),
        (metric, label, value) => {
          const family: MetricFamily = {
            name: metric,
            help: undefined,
            type: 'gauge',
            firstLine: 1,
            metrics: [{ kind: 'scalar', labels: [label, value], value: 1, timestampMs: undefined, line: 1 }],
          };
          const parsed = parseExposition(Buffer.from(renderText([family], { utf8Names: true })));
          expect(parsed.ok && parsed.families.map((f) => [f.name, f.metrics[0]!.labels])).toEqual([[metric, [label, value]]]);
          for (const scheme of ['underscores', 'dots', 'values'] as const) {
            const escaped = escapeFamily(family, scheme);
            expect(isLegacyName(escaped.name)).toBe(true);
            expect(parseExposition(Buffer.from(renderText([escaped])), { nameValidation: 'legacy' }).ok).toBe(true);
          }
          expect(unescapeName(escapeName(metric, 'values'), 'values')).toBe(metric);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('label names that escaping would make clash or reserved', () => {
  it('refuses a series whose label names become one name, or a reserved one, under some scheme', () => {
    const clash = parseExposition(Buffer.from('{"m","a.b"="1",a_b="2"} 1\n'));
    expect(clash.ok && clash.findings.map((f) => [f.severity, f.reason, f.message])).toEqual([
      [
        'error',
        'duplicate_label',
        'label names "a.b" and "a_b" are both a_b for a scraper that asks for escaping=underscores (Prometheus 2 asks for underscores)',
      ],
    ]);
    const reserved = parseExposition(Buffer.from('{"m"," name "="1"} 1\n'));
    expect(reserved.ok && reserved.findings.map((f) => [f.severity, f.reason, f.message])).toEqual([
      ['error', 'reserved_label', 'label name " name " is __name__ for a scraper that asks for escaping=dots; names starting with "__" are reserved'],
    ]);
    const colon = parseExposition(Buffer.from('{"m","a:b"="1"} 1\n'));
    expect(colon.ok && colon.findings.map((f) => f.message)).toEqual([
      'label name "a:b" is a:b for a scraper that asks for escaping=underscores, not a label name Prometheus 2 reads ([a-zA-Z_][a-zA-Z0-9_]*)',
    ]);
  });
});
