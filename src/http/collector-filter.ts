// node_exporter's `collect[]` / `exclude[]` URL filter, for scrape configs copied from a
// node_exporter job (`params: {collect[]: [textfile]}`). promdrop has one collector, textfile;
// the agent's own metrics are not a collector and are always served, as node_exporter always
// serves its exporter metrics.

/** Whether a scrape includes the textfiles, or why it is refused. */
export type CollectorFilter = { readonly ok: true; readonly textfile: boolean } | { readonly ok: false; readonly message: string };

const TEXTFILE = 'textfile';

/**
 * `collect[]` names the collectors to run: only `textfile` exists here, anything else is refused
 * with node_exporter's message. `exclude[]` (node_exporter ≥ 1.7) names collectors to leave out;
 * names of collectors promdrop does not have are already left out. Both at once is refused, as
 * node_exporter does.
 */
export function collectorFilter(query: unknown): CollectorFilter {
  const collect = queryValues(query, 'collect[]');
  const exclude = queryValues(query, 'exclude[]');
  if (collect.length > 0 && exclude.length > 0) return { ok: false, message: 'Combined collect and exclude queries are not allowed.' };
  for (const name of collect) {
    if (name !== TEXTFILE) return { ok: false, message: `Couldn't create filtered metrics handler: couldn't create collector: missing collector: ${name}` };
  }
  return { ok: true, textfile: !exclude.includes(TEXTFILE) };
}

function queryValues(query: unknown, key: string): string[] {
  if (typeof query !== 'object' || query === null) return [];
  const value: unknown = (query as Record<string, unknown>)[key];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}
