// The shipped alerting rules: valid for Prometheus, their unit tests pass, and they only name
// metrics that `promdrop run` really writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_METRICS } from '../../src/job/job-metrics.js';
import { PEERS, requireProgram, runProgram } from '../helpers/peers.js';
import { REPO_ROOT } from './writer-support.js';

const promtool = requireProgram(PEERS.promtool, 'prometheus');
const ALERTS = join(REPO_ROOT, 'examples', 'alerts');
const RULES = join(ALERTS, 'promdrop.rules.yml');
const RULE_TESTS = join(ALERTS, 'promdrop.rules.test.yml');

describe.skipIf(!promtool)('examples/alerts/promdrop.rules.yml', () => {
  it('passes promtool check rules', async () => {
    const result = await runProgram(promtool!, ['check', 'rules', RULES]);
    expect(result.stdout + result.stderr).toContain('SUCCESS: 7 rules found');
    expect(result.code).toBe(0);
  });

  it('passes its promtool unit tests', async () => {
    const result = await runProgram(promtool!, ['test', 'rules', RULE_TESTS]);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});

describe('alert rules and the metrics promdrop writes', () => {
  it('name only batch_job_* metrics that promdrop run writes', () => {
    const rules = readFileSync(RULES, 'utf8');
    const named = new Set(rules.match(/batch_job_[a-z_]+/g));
    expect(named.size).toBeGreaterThan(0);
    for (const metric of named) expect(Object.values(JOB_METRICS)).toContain(metric);
  });
});
