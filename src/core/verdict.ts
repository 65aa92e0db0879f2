// The one verdict on a textfile's content: parse, validate, `# promdrop:` directives, the series
// limit and the names that belong to the agent. `promdrop check`, the writer commands and the
// agent's store call judgeTextfileContent and nothing else, so that "check says OK" means "the
// agent serves it" by construction; the push API judges a group's families as data with
// judgeFamilies, the same rules after the parse, before it writes them as the group's file. What
// a set of accepted files serves together is merge.ts's business (mergeSources), the other half
// of the verdict.
import { checkFamilies } from './check.js';
import { readDirectives, type DirectiveFinding } from './directives.js';
import { escapeName, isLegacyName, REWRITING_SCHEMES } from './escaping.js';
import { shapeFindings } from './family-shape.js';
import { seriesOfMetric } from './merge.js';
import { parseExposition, type NameValidationScheme } from './parse.js';
import { familiesToKeep } from './rendered-series.js';
import type { Finding, FindingReason, MetricFamily } from './types.js';

/** Why a file is not served, is served from its last good content, or conflicts. Stable: these
 *  are label values of promdrop_textfile_error and keys of the JSON API. */
export type FileErrorReason =
  | 'parse'
  | 'validation'
  | 'timestamp'
  | 'conflict'
  | 'duplicate'
  | 'expired'
  | 'too_large'
  | 'too_many_series'
  | 'permission'
  | 'not_regular'
  | 'io'
  | 'reserved_metric';

/** The agent's own metrics. A file defining one would silently replace the real value
 *  (node_exporter rows 21/21b), so no file may. */
export const TEXTFILE_MTIME_METRIC = 'node_textfile_mtime_seconds';
export const TEXTFILE_SCRAPE_ERROR_METRIC = 'node_textfile_scrape_error';
const AGENT_PREFIX = 'promdrop_';
/** node_exporter's per-collector gauges, which every scrape carries for the textfile collector. */
const COLLECTOR_METRICS: readonly string[] = ['node_scrape_collector_duration_seconds', 'node_scrape_collector_success'];

export function isAgentMetricName(name: string): boolean {
  return name === TEXTFILE_MTIME_METRIC || name === TEXTFILE_SCRAPE_ERROR_METRIC || COLLECTOR_METRICS.includes(name) || name.startsWith(AGENT_PREFIX);
}

/**
 * How the accepted families come back:
 * - `metrics`: every series a Metric, to edit or to merge in one process (the CLI);
 * - `kept`: counter, gauge and untyped families as their rendered lines (RenderedSeries), what
 *   the agent keeps for as long as the file is unchanged;
 * - `none`: scalar series as digests, good for a verdict only (`promdrop check` of one file).
 */
export type SeriesForm = 'metrics' | 'kept' | 'none';

/** Plain data (no functions), so that a worker thread can judge with the same options. */
export interface ContentOptions {
  /** Files with more series are refused (`--textfile.max-series`); no limit when absent. */
  readonly maxSeriesPerFile?: number;
  readonly allowTimestamps?: boolean;
  /** Names files may not define besides the agent's own (isAgentMetricName), e.g. the self
   *  metrics' names. */
  readonly extraReservedMetricNames?: readonly string[];
  /** Add promlint's style warnings (they never make a file refused). */
  readonly lint?: boolean;
  readonly seriesForm?: SeriesForm;
  /** Whether quoted UTF-8 names are read (Prometheus 3, the default) or refused (`legacy`). */
  readonly nameValidation?: NameValidationScheme;
}

/** What an agent is started with that changes a verdict: --textfile.max-series,
 *  --textfile.allow-timestamps, --textfile.metric-name-validation-scheme, and the names of its
 *  self metrics. */
export interface AgentContentSettings {
  readonly maxSeriesPerFile: number;
  readonly allowTimestamps: boolean;
  /** Names files may not define besides the agent's own (isAgentMetricName). */
  readonly reservedMetricNames?: Iterable<string> | undefined;
  /** utf8 when not given, as the agent's flag. */
  readonly nameValidation?: NameValidationScheme | undefined;
}

/**
 * The verdict's options for the content an agent with these settings serves. The store, the push
 * API (whose accepted groups the store must serve) and the commands that judge as an agent with
 * its defaults would (`check`, the writers, `list`) all build their options here, so that no
 * caller can leave out a rule the others apply. Callers add only the form of the result
 * (`seriesForm`) and promlint's warnings (`lint`), which never decide whether a file is served.
 */
export function agentContentOptions(settings: AgentContentSettings): ContentOptions {
  return {
    maxSeriesPerFile: settings.maxSeriesPerFile,
    allowTimestamps: settings.allowTimestamps,
    extraReservedMetricNames: [...(settings.reservedMetricNames ?? [])],
    nameValidation: settings.nameValidation ?? 'utf8',
  };
}

/** A finding of the core or about a `# promdrop:` directive line. */
export type TextfileFinding = Finding | DirectiveFinding;

export interface ContentRejection {
  readonly reason: FileErrorReason;
  /** The first error, by line (line 0 for the series limit). */
  readonly finding: TextfileFinding;
}

/** The verdict on families, whatever they were read from. */
export interface FamiliesVerdict {
  /** True when no finding is an error: the agent serves the families (minus what conflicts). */
  readonly accepted: boolean;
  /** Empty when the input does not parse. In the form options.seriesForm asks for. */
  readonly families: MetricFamily[];
  /** Series as Prometheus stores them: each bucket or quantile, `_sum` and `_count` count. */
  readonly series: number;
  /** Every finding, ordered by line. */
  readonly findings: TextfileFinding[];
  readonly warnings: number;
  /** Set exactly when not accepted. */
  readonly rejection?: ContentRejection;
}

export interface ContentVerdict extends FamiliesVerdict {
  /** From the file's own `# promdrop: ttl=` line. */
  readonly ttlMs: number | undefined;
}

export function judgeTextfileContent(bytes: Uint8Array, options: ContentOptions = {}): ContentVerdict {
  const form = options.seriesForm ?? 'metrics';
  const parsed = parseExposition(bytes, { retainSeries: form === 'metrics', nameValidation: options.nameValidation ?? 'utf8' });
  const directives = readDirectives(bytes);
  if (!parsed.ok) {
    // Directive errors are only worth reporting when the file parses: a parse error comes first.
    const failure = parsed.error;
    const finding: Finding = { severity: 'error', reason: 'parse', message: failure.message, line: failure.line, column: failure.column };
    return { accepted: false, families: [], series: 0, ttlMs: directives.ttlMs, findings: [finding], warnings: 0, rejection: { reason: 'parse', finding } };
  }
  const verdict = judgeParsedFamilies(parsed.families, options, [...parsed.findings, ...directives.findings]);
  if (!verdict.accepted || form !== 'kept') return { ...verdict, ttlMs: directives.ttlMs };
  // Scalar series checked from the parser's digest are kept as their rendered lines, never as
  // one object each: what keeps a 500,000-series file affordable in the agent.
  return { ...verdict, families: familiesToKeep(bytes, verdict.families), ttlMs: directives.ttlMs };
}

/**
 * The same verdict for families that are data, not a file's text (a push: decoded from
 * protobuf or parsed, then given its grouping labels): what judgeTextfileContent says of the
 * file these families are written as. The rules are the ones applied after parsing, plus
 * shapeFindings for what the parser itself would have refused in that file. Series stay Metrics.
 */
export function judgeFamilies(families: MetricFamily[], options: ContentOptions = {}): FamiliesVerdict {
  const shape = shapeFindings(families, options.nameValidation ?? 'utf8');
  // What would stop the parse: the file would be refused for the first of these alone.
  let failure: Finding | undefined;
  for (const finding of shape) if (finding.reason === 'parse' && (failure === undefined || finding.line < failure.line)) failure = finding;
  if (failure !== undefined)
    return { accepted: false, families: [], series: 0, findings: [failure], warnings: 0, rejection: { reason: 'parse', finding: failure } };
  return judgeParsedFamilies(families, options, shape);
}

/** Validation, lint, the series limit and the agent's names, after the parser's (or the shape's)
 *  own findings `earlier`. */
function judgeParsedFamilies(families: MetricFamily[], options: ContentOptions, earlier: readonly TextfileFinding[]): FamiliesVerdict {
  const findings: TextfileFinding[] = [
    ...earlier,
    ...checkFamilies(families, {
      allowTimestamps: options.allowTimestamps ?? false,
      isReservedMetricName: reservedNamePredicate(options.extraReservedMetricNames ?? []),
      lint: options.lint ?? false,
    }),
  ];
  findings.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
  let warnings = 0;
  let firstError: TextfileFinding | undefined;
  for (const finding of findings) {
    if (finding.severity === 'warning') warnings++;
    else firstError ??= finding;
  }
  const series = countSeries(families);
  let rejection: ContentRejection | undefined;
  if (firstError !== undefined) {
    rejection = { reason: fileReasonOf(firstError.reason), finding: firstError };
  } else if (options.maxSeriesPerFile !== undefined && series > options.maxSeriesPerFile) {
    const finding: Finding = {
      severity: 'error',
      reason: 'too_many_series',
      message: `${series} series is over the limit of ${options.maxSeriesPerFile} per file (--textfile.max-series)`,
      line: 0,
    };
    findings.push(finding);
    rejection = { reason: 'too_many_series', finding };
  }
  if (rejection !== undefined) return { accepted: false, families, series, findings, warnings, rejection };
  return { accepted: true, families, series, findings, warnings };
}

function reservedNamePredicate(extra: readonly string[]): (name: string) => boolean {
  const names = new Set(extra);
  const reserved = names.size === 0 ? isAgentMetricName : (name: string): boolean => isAgentMetricName(name) || names.has(name);
  // A UTF-8 name is reserved too when a scraper that asks for escaping would see it as one of
  // the agent's names (`node_textfile.scrape_error` is node_textfile_scrape_error to Prometheus 2).
  return (name) => reserved(name) || (!isLegacyName(name) && REWRITING_SCHEMES.some((scheme) => reserved(escapeName(name, scheme))));
}

function fileReasonOf(reason: FindingReason | 'directive'): FileErrorReason {
  switch (reason) {
    case 'parse':
      return 'parse';
    case 'timestamp':
      return 'timestamp';
    case 'duplicate_series':
      return 'duplicate';
    case 'reserved_metric':
      return 'reserved_metric';
    case 'too_many_series':
      return 'too_many_series';
    default:
      return 'validation';
  }
}

/** Series as Prometheus will store them: each bucket or quantile, `_sum` and `_count` count. */
export function countSeries(families: readonly MetricFamily[]): number {
  let total = 0;
  for (const family of families) {
    total += family.digest?.count ?? family.rendered?.count ?? 0;
    for (const metric of family.metrics) total += seriesOfMetric(metric);
  }
  return total;
}

/** `path:LINE:COL: message`, the layout editors and CI logs link to. */
export function positionedMessage(path: string, finding: { readonly line: number; readonly column?: number; readonly message: string }): string {
  if (finding.line <= 0) return `${path}: ${finding.message}`;
  const column = finding.column !== undefined && finding.column > 0 ? `:${finding.column}` : '';
  return `${path}:${finding.line}${column}: ${finding.message}`;
}
