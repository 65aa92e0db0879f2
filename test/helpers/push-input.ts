// What a push route hands the pushed groups, made from text for the push tests: a grouping key
// from its URL path and families from an exposition. Both throw on input the route would refuse.
import { parseGroupingPath, type GroupingKey } from '../../src/core/grouping-key.js';
import { parseExposition } from '../../src/core/parse.js';
import type { MetricFamily } from '../../src/core/types.js';

export function key(path: string): GroupingKey {
  const parsed = parseGroupingPath(path);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.key;
}

export function families(text: string): MetricFamily[] {
  const parsed = parseExposition(Buffer.from(text));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.families;
}
