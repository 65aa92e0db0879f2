// `promdrop list` and `cat` look once: what a look finds is reported as it is, since no later
// look could correct it, and a file caught mid-write is read again at once rather than left to
// settle. The agent's store handles the same faults the other way (store.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOnce } from '../../../src/agent/load-once.js';
import { faultyAccess, newFaults, type Faults } from '../../helpers/faulty-access.js';

let dir: string;
let faults: Faults;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'promdrop-load-once-'));
  faults = newFaults();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(): ReturnType<typeof loadOnce> {
  return loadOnce({ directories: [dir], fileAccessFor: async () => faultyAccess(faults) });
}

describe('loadOnce (list, cat)', () => {
  it("reports a read refused for want of descriptors (EMFILE) as the file's io error, not served", async () => {
    writeFileSync(join(dir, 'a.prom'), 'a_value 1\n');
    faults.descriptorsExhausted = true;
    const snapshot = await load();
    expect(snapshot.files).toMatchObject([{ path: join(dir, 'a.prom'), state: 'invalid', reason: 'io', served: false }]);
    expect(snapshot.files[0]!.message).toMatch(/too many open files \(EMFILE\)/);
    expect(snapshot.text.toString()).not.toContain('a_value');
    expect(snapshot.text.toString()).toMatch(/^promdrop_textfile_error\{[^}]*reason="io"[^}]*\} 1$/m);
  });

  it('reads a file caught mid-write again at once, and serves the first whole read', async () => {
    writeFileSync(join(dir, 'a.prom'), 'a_value 1\n');
    faults.tornReads = 2;
    const snapshot = await load();
    expect(faults.opens).toBe(3);
    expect(snapshot.files).toMatchObject([{ state: 'ok', served: true, series: 1 }]);
    expect(snapshot.text.toString()).toContain('a_value 1');
  });

  it('leaves out a file still caught mid-write after four reads', async () => {
    writeFileSync(join(dir, 'a.prom'), 'a_value 1\n');
    faults.tornReads = 4;
    const snapshot = await load();
    expect(faults.opens).toBe(4);
    expect(snapshot.files).toEqual([]);
    expect(snapshot.text.toString()).not.toContain('a_value');
  });
});
