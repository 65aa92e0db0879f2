// Families that a scraper which does not read UTF-8 names would see under one name: `a.b` and
// `a_b` are both `a_b` under `underscores`, `a.b` and `a_dot_b` both `a_dot_b` under `dots`.
// Writing both would put one family twice in the body (client_golang does; Prometheus then drops
// the scrape). Like any other clash between files, it is resolved once for every scraper: the
// family whose first source comes first in path order is served, under every scheme (so a 2.x
// and a 3.x Prometheus see the same series), and the other is reported as a name collision.
// Within one file, the legacy-valid name wins, then the smaller name.
import { compareCodePoints } from '../core/compare.js';
import { escapeName, isLegacyName, REWRITING_SCHEMES } from '../core/escaping.js';
import type { Conflict } from '../core/merge.js';
import type { MetricType } from '../core/types.js';

export interface CollisionCandidate {
  readonly name: string;
  readonly type: MetricType;
  /** Every source defining the family, with the family's first line and its series there. */
  readonly sources: readonly { readonly id: string; readonly line: number; readonly series: number }[];
}

/** The series names a family is written as (histograms and summaries add suffixes). */
function sampleNames(candidate: CollisionCandidate): string[] {
  const name = candidate.name;
  if (candidate.type === 'histogram') return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (candidate.type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

function firstSource(candidate: CollisionCandidate): string {
  let first = candidate.sources[0]?.id ?? '';
  for (const source of candidate.sources) if (compareCodePoints(source.id, first) < 0) first = source.id;
  return first;
}

/** Whether `a` is served rather than `b` when they collide. */
function wins(a: CollisionCandidate, b: CollisionCandidate): boolean {
  const order = compareCodePoints(firstSource(a), firstSource(b));
  if (order !== 0) return order < 0;
  const aLegacy = isLegacyName(a.name);
  if (aLegacy !== isLegacyName(b.name)) return aLegacy;
  return compareCodePoints(a.name, b.name) < 0;
}

/**
 * The conflicts (one per source of each losing family) for families that collide under some
 * escaping scheme. Legacy-valid names are never rewritten (EscapeMetricFamily leaves them alone
 * under every scheme), so only a UTF-8 name can meet another name.
 */
export function escapeCollisions(candidates: readonly CollisionCandidate[]): Conflict[] {
  const losers = new Map<CollisionCandidate, { winner: CollisionCandidate; scheme: string; as: string }>();
  for (const scheme of REWRITING_SCHEMES) {
    // Each escaped series name, and the family it belongs to.
    const owners = new Map<string, CollisionCandidate>();
    const ordered = [...candidates].sort((a, b) => (wins(a, b) ? -1 : wins(b, a) ? 1 : 0));
    for (const candidate of ordered) {
      if (losers.has(candidate)) continue;
      // EscapeMetricFamily escapes only names that need it, under every scheme.
      const escaped = sampleNames(candidate).map((name) => (isLegacyName(name) ? name : escapeName(name, scheme)));
      const clash = escaped.map((name) => ({ name, owner: owners.get(name) })).find((entry) => entry.owner !== undefined && entry.owner !== candidate);
      // Two legacy names that clash (a histogram's _bucket and a gauge) are the merge's and
      // validation's business, found before escaping.
      if (clash !== undefined && !(isLegacyName(candidate.name) && isLegacyName(clash.owner!.name))) {
        losers.set(candidate, { winner: clash.owner!, scheme, as: clash.name });
        continue;
      }
      for (const name of escaped) owners.set(name, candidate);
    }
  }
  const conflicts: Conflict[] = [];
  for (const [loser, { winner, scheme, as }] of losers) {
    for (const source of loser.sources) {
      conflicts.push({
        source: source.id,
        family: loser.name,
        kind: 'name_collision',
        severity: 'error',
        message: `${loser.name} and ${winner.name} (from ${firstSource(winner)}) are both ${as} for a scraper that asks for escaping=${scheme}; ${winner.name} is served, this file's ${loser.name} is not`,
        line: source.line,
        winner: firstSource(winner),
        series: source.series,
      });
    }
  }
  return conflicts;
}
