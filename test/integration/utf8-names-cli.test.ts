// The writer CLI and `promdrop check` with Prometheus 3's UTF-8 names: check accepts them with a
// warning (exit 3) saying what Prometheus 2 sees, refuses them under the legacy scheme (exit 1),
// and `set` writes them quoted.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, promdrop } from './writer-support.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir('utf8-cli');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const FILE = '# TYPE "http.requests" counter\n{"http.requests","http.method"="GET"} 3\n';

describe('promdrop check with UTF-8 names', () => {
  it('accepts them and warns that scrapers not asking for UTF-8 see escaped names', async () => {
    const result = await promdrop(['check', '--no-lint'], { input: FILE });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      'stdin:1: warning: UTF-8 names: scrapers that do not ask for them (Prometheus 2, escaping=underscores) see "http.requests" as http_requests, "http.method" as http_method',
    );
  });

  it("refuses them under --metric-name-validation-scheme legacy with expfmt v0.39's message", async () => {
    const result = await promdrop(['check', '--metric-name-validation-scheme', 'legacy'], { input: FILE });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^stdin:1:8: error: invalid metric name in comment/m);
  });

  it('rejects an unknown scheme as a usage error', async () => {
    const result = await promdrop(['check', '--metric-name-validation-scheme', 'utf-8'], { input: FILE });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/utf8 or legacy/);
  });
});

describe('promdrop set with UTF-8 names', () => {
  it('writes the series quoted, a file check accepts', async () => {
    const set = await promdrop(['set', 'jobs.prom', 'job.duration.seconds', '12', '-l', 'job.name=backup'], { dir });
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    const written = readFileSync(join(dir, 'jobs.prom'), 'utf8');
    expect(written).toContain('{"job.duration.seconds","job.name"="backup"} 12\n');
    const check = await promdrop(['check', '--no-lint', join(dir, 'jobs.prom')]);
    expect(check.code).toBe(3);
  });
});
