// The pure exposition-format core: parse → validate → merge → render, plus lint.
// No file system, no network, no clock: everything here is a function of its arguments.
export type * from './types.js';
export { parseExposition, type ParseOptions } from './parse.js';
export { validateFamilies, type ValidateOptions } from './validate.js';
export { checkExposition, type CheckOptions, type CheckResult } from './check.js';
export { mergeSources, type Source, type MergeOptions, type MergeResult, type Conflict } from './merge.js';
export { renderText, renderOpenMetrics, renderTextBytes, renderOpenMetricsBytes } from './render.js';
export { lintFamilies } from './lint.js';
export { parseGoFloat, formatGoFloat } from './float.js';
export { parseDuration, formatDuration } from './duration.js';
