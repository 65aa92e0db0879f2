// Documents may only point at files a user has: the repository or the installed package, never
// a path on the machine they were written on.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function filesUnder(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

const SHIPPED = ['README.md', 'docs', 'examples', 'systemd', 'scripts/deb'].flatMap((path) => filesUnder(join(REPO, path)));

describe('documents and shipped files', () => {
  it.each(SHIPPED.map((path) => [path.slice(REPO.length + 1), path]))('%s names no path outside the repository', (_name, path) => {
    const text = readFileSync(path, 'utf8');
    expect(text).not.toMatch(/\/work\/|\/root\/|\.\.\/shared\/|scratch\//);
  });

  it('the unit in the repository has no Documentation= pointing at a Debian-only path', () => {
    expect(readFileSync(join(REPO, 'systemd/promdrop.service'), 'utf8')).not.toMatch(/^Documentation=/m);
  });

  it('no install line names the unpublished npm package', () => {
    for (const file of ['README.md', 'docs/service.md']) expect(readFileSync(join(REPO, file), 'utf8')).not.toMatch(/npm install -g promdrop\b/);
  });
});
