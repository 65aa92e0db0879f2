// The data model of the exposition core. It mirrors the shape expfmt gives a parsed file
// (families holding metrics; histograms and summaries grouped by label set) so that rendering
// can reproduce node_exporter byte for byte, while keeping the line of every sample so that
// every finding can point at the file.

/** Types a TYPE line can name in text format 0.0.4. `gauge_histogram` is accepted by expfmt's
 *  TYPE line but cannot carry samples in this format; validation rejects such families. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gauge_histogram';

/**
 * Label pairs as a flat array: [name0, value0, name1, value1, ...], in the order of the file
 * (for histograms and summaries, without `le` / `quantile`). Flat because a 500,000-series file
 * would otherwise allocate a million small objects on the hot path.
 */
export type LabelPairs = readonly string[];

interface MetricBase {
  readonly labels: LabelPairs;
  /** int64 milliseconds, normalised decimal text; undefined when the line has none. */
  timestampMs: string | undefined;
  /** 1-based line of the first sample of this metric. */
  readonly line: number;
}

export interface ScalarMetric extends MetricBase {
  readonly kind: 'scalar';
  readonly value: number;
  /** Order-independent hash of the non-empty label pairs, computed by the parser while it reads
   *  the bytes anyway; validation's duplicate detection uses it (see validate.ts). */
  readonly identityHash?: number | undefined;
}

export interface Bucket {
  readonly upperBound: number;
  readonly count: number;
  readonly line: number;
}

export interface Quantile {
  readonly quantile: number;
  readonly value: number;
  readonly line: number;
}

/** A sample the reference parser accepts but silently discards (a `_bucket` without `le`, a
 *  summary sample without `quantile`, a bare histogram sample). Kept so validation can say so. */
export interface DroppedSample {
  readonly line: number;
  readonly sampleName: string;
}

interface AggregateBase extends MetricBase {
  sum: number | undefined;
  sumLine: number | undefined;
  count: number | undefined;
  countLine: number | undefined;
  readonly dropped: DroppedSample[];
  /** `_sum`/`_count`/bucket/quantile samples that repeated one already read (expfmt keeps the last). */
  readonly repeated: DroppedSample[];
}

export interface HistogramMetric extends AggregateBase {
  readonly kind: 'histogram';
  readonly buckets: Bucket[];
}

export interface SummaryMetric extends AggregateBase {
  readonly kind: 'summary';
  readonly quantiles: Quantile[];
}

export type Metric = ScalarMetric | HistogramMetric | SummaryMetric;

/**
 * What validation needs to know about a family's scalar series when the parser was asked not to
 * keep them (`retainSeries: false`, for a verdict without a model: `promdrop check`). Checking a
 * 500,000-series file this way allocates a few typed arrays instead of millions of objects.
 * Lists of findings keep their first entries only; the counts are exact.
 */
export interface SeriesDigest {
  readonly count: number;
  /** Per series, in file order: the parser's identity hash (all 32 bits; a Metric's
   *  identityHash keeps 30 of them) and the line. */
  readonly hashes: Int32Array;
  readonly lines: Int32Array;
  /** Per series: the offset in the input where its sample line starts. */
  readonly lineStarts: Int32Array;
  /** The labels of series `index`, read again from the input: for the rare exact comparisons. */
  readonly labelsOf: (index: number) => readonly string[];
  /** Label names in order of first appearance. */
  readonly labelNames: readonly string[];
  readonly reservedLabels: readonly { readonly line: number; readonly name: string }[];
  readonly reservedLabelCount: number;
  readonly negatives: readonly { readonly line: number; readonly value: number }[];
  readonly negativeCount: number;
  readonly timestamped: number;
  readonly firstTimestampLine: number;
}

export interface MetricFamily {
  readonly name: string;
  /** undefined when the file has no HELP line for the family. */
  help: string | undefined;
  type: MetricType;
  readonly metrics: Metric[];
  /** Line where the family first appears (its HELP, TYPE or first sample). */
  readonly firstLine: number;
  /** Set instead of scalar `metrics` when the parser did not keep the series. */
  digest?: SeriesDigest;
  /** Set instead of `metrics` when the family is kept as its rendered sample lines. */
  rendered?: RenderedSeries;
}

/**
 * A counter, gauge or untyped family kept as the text 0.0.4 sample lines it renders to when
 * merged alone (labels and series in node_exporter's order), instead of one Metric per series:
 * a 500,000-series file costs its output's bytes rather than a few hundred bytes per series.
 * See rendered-series.ts.
 */
export interface RenderedSeries {
  readonly count: number;
  /** The sample lines, exactly as renderTextBytes writes them for the family merged alone. */
  readonly text: Buffer;
  /** The file's line of each series, in rendered order (for conflicts found later). */
  readonly lines: Int32Array;
  /** The label names in the order every series of the file lists them. */
  readonly labelOrder: readonly string[];
}

export type Severity = 'error' | 'warning';

/** Stable, machine-readable reasons. Renaming one is a breaking change for scripts. */
export type FindingReason =
  // the file cannot be parsed at all
  | 'parse'
  // validation: the agent refuses to serve the file
  | 'timestamp'
  | 'reserved_label'
  | 'duplicate_series'
  | 'duplicate_label'
  | 'invalid_utf8'
  | 'histogram_shape'
  | 'summary_shape'
  | 'unsupported_type'
  | 'reserved_metric'
  | 'directive'
  // more series than the agent's --textfile.max-series
  | 'too_many_series'
  // merging files: a conflict with another file (TYPE, HELP, duplicate series, name collision)
  | 'conflict'
  // validation warnings: served, but worth fixing
  | 'split_family'
  | 'negative_counter'
  // `promdrop check`: a UTF-8 name, which scrapers that do not ask for UTF-8 see escaped
  | 'utf8_name'
  // lint (promlint)
  | 'lint';

export interface Finding {
  readonly severity: Severity;
  readonly reason: FindingReason;
  readonly message: string;
  readonly line: number;
  /** 1-based byte column, when the finding points inside a line. */
  readonly column?: number;
  readonly family?: string;
}

/** What made a parse fail, when the parser can tell; `syntax` otherwise. */
export type ParseCause =
  | 'syntax'
  | 'crlf'
  | 'bom'
  | 'missing_final_newline'
  | 'trailing_whitespace'
  | 'invalid_escape'
  | 'invalid_utf8'
  | 'openmetrics'
  | 'quoted_name'
  | 'duplicate_label'
  | 'reserved_label'
  | 'repeated_metadata';

export interface ParseFailure {
  readonly line: number;
  readonly column: number;
  /** A message for a person: the reference parser's wording plus the likely cause. */
  readonly message: string;
  /** expfmt's own message for the same input, for comparison with promtool/node_exporter logs. */
  readonly referenceMessage: string;
  readonly cause: ParseCause;
}

export type ParseResult =
  { readonly ok: true; readonly families: MetricFamily[]; readonly findings: Finding[] } | { readonly ok: false; readonly error: ParseFailure };
