// Issue 14, differential: a sample of the random file sets of test/unit/core/merge-property.test.ts
// goes through the real `promtool check metrics`, merged by the core and, for some, served by
// `promdrop cat` from a directory (the store's path). promtool must parse every body: no family
// or series written twice, no "second HELP line".
import fc from 'fast-check';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeSources } from '../../src/core/merge.js';
import { renderText } from '../../src/core/render.js';
import { judgeTextfileContent } from '../../src/core/verdict.js';
import { fileSet } from '../fixtures/merge-sets.js';
import { PEERS, requireProgram, runProgram } from '../helpers/peers.js';
import { tempDirectory } from './store-helpers.js';
import { promdrop, requireBuiltCli } from './writer-support.js';

const promtool = requireProgram(PEERS.promtool, 'prometheus');
const SETS = fc.sample(fileSet, { seed: 14, numRuns: 30 });
/** Of those, how many also go through `promdrop cat` (a process each). */
const THROUGH_CAT = 8;

let root: string;

beforeAll(() => {
  requireBuiltCli();
  root = tempDirectory('merge-promtool');
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function expectPromtoolAccepts(body: string, what: string): Promise<void> {
  const checked = await runProgram(promtool!, ['check', 'metrics'], body);
  // Exit 3 is promlint's style findings only; 1 is a parse error.
  expect(checked.code === 0 || checked.code === 3, `${what}: promtool exit ${checked.code}: ${checked.stderr}${checked.stdout}\n${body}`).toBe(true);
  expect(checked.stderr + checked.stdout, what).not.toMatch(/error while linting|parsing error|second HELP|second TYPE/);
}

describe.skipIf(promtool === undefined)('merged random file sets, checked by promtool', () => {
  it('accepts the core merge of every sampled set', { timeout: 300_000 }, async () => {
    for (const [index, files] of SETS.entries()) {
      const sources = files.map(({ name, text }) => ({ id: `/d/${name}`, families: judgeTextfileContent(Buffer.from(text)).families }));
      await expectPromtoolAccepts(renderText(mergeSources(sources).families), `set ${index}`);
    }
  });

  it('accepts what promdrop cat serves for a directory of each of some sets', { timeout: 300_000 }, async () => {
    for (const [index, files] of SETS.slice(0, THROUGH_CAT).entries()) {
      const dir = join(root, `set-${index}`);
      mkdirSync(dir);
      for (const { name, text } of files) writeFileSync(join(dir, name), text);
      const cat = await promdrop(['cat', '-d', dir]);
      expect(cat.code, cat.stderr).toBe(0);
      await expectPromtoolAccepts(cat.stdout, `set ${index} via promdrop cat`);
    }
  });
});
