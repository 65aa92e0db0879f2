// Upstream test data (prometheus/common's expfmt tables, exporter-toolkit's testdata) lives beside
// the checkout in ../shared/upstream-fixtures. A git worktree sits one level deeper
// (wt/NAME), so its parent's sibling is looked at too.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function upstreamFixtures(...parts: string[]): string {
  const candidates = [join(repoRoot, '..', 'shared', 'upstream-fixtures'), join(repoRoot, '..', '..', 'shared', 'upstream-fixtures')];
  const base = candidates.find((candidate) => existsSync(candidate));
  if (base === undefined) throw new Error(`upstream fixtures not found; looked in ${candidates.join(' and ')}`);
  return join(base, ...parts);
}
