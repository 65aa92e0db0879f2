// The install the README gives while promdrop is not on the npm registry: `npm pack` in the
// checkout, then `npm install -g` of that tarball. Installed into a private prefix, then used as
// a cron author would: `promdrop --version` and a `write`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, REPO_ROOT } from './writer-support.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; input?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: options.cwd ?? REPO_ROOT, input: options.input, encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm pack, then npm install -g of the tarball', () => {
  let root: string;
  let prefix: string;
  let tarball: string;

  beforeAll(() => {
    root = makeTempDir('npm-install');
    prefix = join(root, 'prefix');
    // --ignore-scripts: the checkout is built already (the integration tests need dist/), and
    // `prepare` would rebuild dist/ under the feet of the other test files.
    const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', root]);
    if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
    tarball = join(root, `promdrop-${VERSION}.tgz`);
    const installed = run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball]);
    if (installed.status !== 0) throw new Error(`npm install -g failed: ${installed.stderr}`);
  }, 600_000);
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('makes the tarball the README names', () => {
    expect(readdirSync(root)).toContain(`promdrop-${VERSION}.tgz`);
  });

  it('installs a promdrop command that runs and writes a textfile', () => {
    const promdrop = join(prefix, 'bin', 'promdrop');
    const version = run(promdrop, ['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(VERSION);
    const dir = join(root, 'textfiles');
    mkdirSync(dir);
    const written = run(promdrop, ['write', 'backup', '-d', dir], { input: 'backup_ok 1\n' });
    expect(written.status).toBe(0);
    expect(readFileSync(join(dir, 'backup.prom'), 'utf8')).toBe('backup_ok 1\n');
  });

  it('carries what the docs point at: the unit files, examples and docs/service.md', () => {
    const installed = join(prefix, 'lib', 'node_modules', 'promdrop');
    for (const file of [
      'systemd/promdrop.service',
      'systemd/promdrop.socket',
      'systemd/promdrop.tmpfiles',
      'examples/systemd/promdrop-dirsize.service',
      'docs/service.md',
      'README.md',
    ]) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
  });
});
