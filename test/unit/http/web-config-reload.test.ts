// The web config re-read on change: a new password is used at once, a broken file keeps the last
// good config and is logged once (not once per request), and a fixed file is picked up again.
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../../src/http/web-config/load.js';
import { WebConfigReloader } from '../../../src/http/web-config/reloader.js';
import { createLogger } from '../../../src/log/logger.js';

const HASH_A = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
const HASH_B = '$2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay';

describe('WebConfigReloader', () => {
  let dir: string;
  let file: string;
  let lines: Array<Record<string, unknown>>;
  let reloader: WebConfigReloader;

  /** Replaces the file the way editors and config management do (a new inode). */
  function replace(text: string): void {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'promdrop-web-reload-'));
    file = join(dir, 'web.yml');
    writeFileSync(file, `basic_auth_users:\n  alice: ${HASH_A}\n`);
    lines = [];
    const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const loaded = loadWebConfig(file);
    if (!loaded.ok) throw new Error(loaded.error.message);
    reloader = new WebConfigReloader(file, loaded.loaded, logger);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the same config object while nothing changed', () => {
    expect(reloader.current()).toBe(reloader.current());
    expect(lines).toEqual([]);
  });

  it('uses a changed file on the next call, and says so once', () => {
    replace(`basic_auth_users:\n  alice: ${HASH_B}\n`);
    expect(reloader.current().config.basicAuthUsers.get('alice')).toBe(HASH_B);
    reloader.current();
    expect(lines.map((line) => line['msg'])).toEqual(['web config reloaded']);
  });

  it('keeps the last good config when the file breaks, logs that once with the line, and recovers', () => {
    replace(`basic_auth_users:\n  alice: ${HASH_B}\n  bob: not-a-hash\n`);
    for (let i = 0; i < 5; i++) expect(reloader.current().config.basicAuthUsers.get('alice')).toBe(HASH_A);
    expect(lines).toHaveLength(1);
    expect(lines[0]!['level']).toBe('error');
    expect(String(lines[0]!['err'])).toContain(`${file}:3: basic_auth_users.bob: not a bcrypt hash`);
    replace(`basic_auth_users:\n  alice: ${HASH_B}\n`);
    expect(reloader.current().config.basicAuthUsers.get('alice')).toBe(HASH_B);
    expect(lines.map((line) => line['msg'])).toEqual(['web config changed but does not load; keeping the previous one', 'web config reloaded']);
  });

  it('keeps the last good config when the file is removed', () => {
    rmSync(file);
    expect(reloader.current().config.basicAuthUsers.get('alice')).toBe(HASH_A);
    reloader.current();
    expect(lines).toHaveLength(1);
  });
});
