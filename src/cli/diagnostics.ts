// One line per core finding, in the compiler-style layout editors and CI logs already know how
// to link: `NAME:LINE:COL: error: MESSAGE` and `NAME:LINE: warning: MESSAGE`. Shared by `check`
// and every writing command so that a file refused by `write` reads exactly like
// `promdrop check` on the same input.
import type { Finding } from '../core/types.js';

/** The parts of a finding that are printed; directive findings (core/directives.ts) have them too. */
export type PrintableFinding = Pick<Finding, 'severity' | 'message' | 'line' | 'column'>;

/**
 * `NAME:LINE:COL: error: MESSAGE` or `NAME:LINE: warning: MESSAGE`. Warnings are about a line
 * as a whole (style, shape), so they carry no column; an unknown position (line 0) is left out.
 */
export function formatFinding(sourceName: string, finding: PrintableFinding): string {
  let position = sourceName;
  if (finding.line > 0) {
    position += `:${finding.line}`;
    if (finding.severity === 'error' && finding.column !== undefined && finding.column > 0) position += `:${finding.column}`;
  }
  return `${position}: ${finding.severity}: ${finding.message}`;
}
