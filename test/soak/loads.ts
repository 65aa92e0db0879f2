// The soak's load: each Load owns a set of files in the textfile directory, writes their first
// versions before the agent starts, then keeps rewriting them, and registers in the ledger what
// a scrape may show of them. The driver (main.ts) runs every load in LOADS at its own rate and
// concurrency; nothing else knows what a load does.
//
// EXTENSION POINT: a new kind of writer is one more object in LOADS. The push API (issue #6)
// becomes a Load whose step() PUTs a body to `${context.agentUrl()}/...` and records the version
// in a VersionedSeries (or a CounterSeries), exactly like writeLoad below; the scrapers and the
// checks need no change.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CounterSeries, NeverServed, VersionedSeries, type Expectation } from './ledger.js';

export interface LoadContext {
  readonly dir: string;
  /** Base URL of the agent (http://127.0.0.1:PORT); only valid in step(). */
  agentUrl(): string;
  /** Runs the real CLI (`node bin/promdrop ARGS`, PROMDROP_DIR=dir) to completion. */
  promdrop(args: readonly string[], input?: string): Promise<CliOutcome>;
  /** Counts an operation of this load, and remembers the first few unexpected failures. */
  record(load: string, ok: boolean, detail?: string): void;
  random(): number;
}

export interface CliOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

export interface Load {
  readonly name: string;
  /** What the load does, one line for the summary. */
  readonly description: string;
  /** Steps started per second (on average) and at most this many at once. */
  readonly ratePerSecond: number;
  readonly concurrency: number;
  /** Writes the first versions (before the agent starts) and returns what scrapes must show. */
  setup(context: LoadContext): Promise<Expectation[]>;
  /** One operation: rewrite one file, one increment, one job run, ... */
  step(context: LoadContext): Promise<void>;
}

/** Per-load sizes, scaled by --scale (1 = the default mix of about 230 files). */
export interface LoadSizes {
  readonly scale: number;
}

/** A temp name in the directory (ignored by the agent: dot file), then rename: atomic. */
async function writeFileAtomically(dir: string, name: string, content: string): Promise<void> {
  const temp = join(dir, `.${name}.soak-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  await writeFile(temp, content);
  await rename(temp, join(dir, name));
}

function pick<T>(items: readonly T[], context: LoadContext): T {
  return items[Math.floor(context.random() * items.length)]!;
}

/** Files of one load that are not being written right now: writers of one file take turns. */
class FilePool<T> {
  private readonly busy = new Set<T>();
  constructor(private readonly items: readonly T[]) {}

  async withIdle(context: LoadContext, task: (item: T) => Promise<void>): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const item = pick(this.items, context);
      if (this.busy.has(item)) continue;
      this.busy.add(item);
      try {
        await task(item);
      } finally {
        this.busy.delete(item);
      }
      return;
    }
  }
}

function cliFailure(outcome: CliOutcome): string {
  return `exit ${outcome.code ?? outcome.signal}: ${outcome.stderr.trim().split('\n').slice(0, 3).join(' | ')}`;
}

// ---------------------------------------------------------------------------------------------
// promdrop write: whole files of several series, all at one version (a torn file would show).

const WRITE_SERIES = 5;

function writeBody(file: string, value: number): string {
  const lines = ['# HELP soak_write_value Written whole by promdrop write in the soak.', '# TYPE soak_write_value gauge'];
  for (let part = 0; part < WRITE_SERIES; part++) lines.push(`soak_write_value{file="${file}",part="${part}"} ${value}`);
  return `${lines.join('\n')}\n`;
}

function writeKeys(file: string, metric: string, parts: number): string[] {
  return Array.from({ length: parts }, (_, part) => `${metric}{file="${file}",part="${part}"}`);
}

interface VersionedFile {
  readonly name: string;
  readonly series: VersionedSeries;
  next: number;
}

function writeLoad(files: number): Load {
  const entries: VersionedFile[] = Array.from({ length: files }, (_, i) => {
    const name = `w-${String(i).padStart(3, '0')}`;
    return { name, series: new VersionedSeries(`${name}.prom (write)`, writeKeys(name, 'soak_write_value', WRITE_SERIES)), next: 1 };
  });
  const pool = new FilePool(entries);
  return {
    name: 'write',
    description: `${files} files of ${WRITE_SERIES} series replaced whole by \`promdrop write\``,
    ratePerSecond: 3,
    concurrency: 2,
    setup: (context) => seedFiles(context, entries, writeBody),
    step: (context) =>
      pool.withIdle(context, async (entry) => {
        const value = entry.next++;
        const handle = entry.series.begin(value, performance.now());
        const outcome = await context.promdrop(['write', entry.name], writeBody(entry.name, value));
        if (outcome.code === 0) entry.series.commit(handle, performance.now());
        else entry.series.fail(handle);
        context.record('write', outcome.code === 0, outcome.code === 0 ? undefined : cliFailure(outcome));
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// promdrop write --ttl: files that expire unless rewritten in time.

const TTL_SERIES = 3;
const TTL = '4s';
const TTL_MS = 4_000;

function ttlBody(file: string, value: number): string {
  const lines = ['# TYPE soak_ttl_value gauge'];
  for (let part = 0; part < TTL_SERIES; part++) lines.push(`soak_ttl_value{file="${file}",part="${part}"} ${value}`);
  return `${lines.join('\n')}\n`;
}

function ttlLoad(files: number): Load {
  const entries: VersionedFile[] = Array.from({ length: files }, (_, i) => {
    const name = `ttl-${String(i).padStart(2, '0')}`;
    return { name, series: new VersionedSeries(`${name}.prom (ttl=${TTL})`, writeKeys(name, 'soak_ttl_value', TTL_SERIES), { ttlMs: TTL_MS }), next: 1 };
  });
  const pool = new FilePool(entries);
  return {
    name: 'ttl',
    description: `${files} files written by \`promdrop write --ttl ${TTL}\`, rewritten about every ${files} s: expired part of the time`,
    ratePerSecond: 1,
    concurrency: 1,
    async setup() {
      // No first version: they appear with the first write and expire on their own.
      return entries.map((entry) => entry.series);
    },
    step: (context) =>
      pool.withIdle(context, async (entry) => {
        const value = entry.next++;
        const handle = entry.series.begin(value, performance.now());
        const outcome = await context.promdrop(['write', '--ttl', TTL, entry.name], ttlBody(entry.name, value));
        if (outcome.code === 0) {
          const committedAt = performance.now();
          // Writers of this file take turns, so the file is still this version.
          const mtimeMs = (await stat(join(context.dir, `${entry.name}.prom`))).mtimeMs;
          entry.series.commit(handle, committedAt, mtimeMs);
        } else {
          entry.series.fail(handle);
        }
        context.record('ttl', outcome.code === 0, outcome.code === 0 ? undefined : cliFailure(outcome));
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// promdrop set: many writers editing different series of the same few files (under the lock).

interface SetSlot {
  readonly file: string;
  readonly slot: number;
  readonly series: VersionedSeries;
  next: number;
}

function setLoad(files: number, slotsPerFile: number): Load {
  const slots: SetSlot[] = [];
  for (let f = 0; f < files; f++) {
    for (let slot = 0; slot < slotsPerFile; slot++) {
      const file = `set-${f}`;
      slots.push({ file, slot, series: new VersionedSeries(`${file}.prom slot ${slot} (set)`, [`soak_set_value{file="${file}",slot="${slot}"}`]), next: 1 });
    }
  }
  const pool = new FilePool(slots);
  return {
    name: 'set',
    description: `${files} files × ${slotsPerFile} series, each series updated by \`promdrop set\` (concurrent writers per file)`,
    ratePerSecond: 1.5,
    concurrency: 2,
    async setup() {
      return slots.map((slot) => slot.series);
    },
    step: (context) =>
      pool.withIdle(context, async (slot) => {
        const value = slot.next++;
        const handle = slot.series.begin(value, performance.now());
        const outcome = await context.promdrop(['set', slot.file, 'soak_set_value', String(value), '-l', `file=${slot.file}`, '-l', `slot=${slot.slot}`]);
        if (outcome.code === 0) slot.series.commit(handle, performance.now());
        else slot.series.fail(handle);
        context.record('set', outcome.code === 0, outcome.code === 0 ? undefined : cliFailure(outcome));
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// promdrop inc: concurrent increments of a few counters in one file; none may be lost.

function incLoad(counters: number): Load {
  const series = Array.from({ length: counters }, (_, c) => ({ c, counter: new CounterSeries(`counters.prom c=${c} (inc)`, `soak_inc_total{c="${c}"}`) }));
  return {
    name: 'inc',
    description: `${counters} counters in one file, incremented by concurrent \`promdrop inc\``,
    ratePerSecond: 2,
    concurrency: 3,
    async setup() {
      return series.map((entry) => entry.counter);
    },
    async step(context) {
      const entry = pick(series, context);
      entry.counter.begin(performance.now());
      const outcome = await context.promdrop(['inc', 'counters', 'soak_inc_total', '-l', `c=${entry.c}`]);
      if (outcome.code === 0) entry.counter.succeed();
      context.record('inc', outcome.code === 0, outcome.code === 0 ? undefined : cliFailure(outcome));
    },
  };
}

/** The counters' file on disk, for the final "no increment lost" comparison. */
export const INC_FILE = 'counters.prom';

// ---------------------------------------------------------------------------------------------
// promdrop run: job outcomes, counted by result.

function runLoad(jobs: number): Load {
  const entries = Array.from({ length: jobs }, (_, j) => {
    const name = `job-${j}`;
    return {
      name,
      success: new CounterSeries(`${name}.job.prom success (run)`, `batch_job_runs_total{name="${name}",result="success"}`),
      failure: new CounterSeries(`${name}.job.prom failure (run)`, `batch_job_runs_total{name="${name}",result="failure"}`),
    };
  });
  return {
    name: 'run',
    description: `${jobs} jobs run by \`promdrop run -- true|false\` (overlapping runs of one job)`,
    ratePerSecond: 0.7,
    concurrency: 2,
    async setup() {
      return entries.flatMap((entry) => [entry.success, entry.failure]);
    },
    async step(context) {
      const entry = pick(entries, context);
      const succeeds = context.random() < 0.7;
      const counter = succeeds ? entry.success : entry.failure;
      counter.begin(performance.now());
      const outcome = await context.promdrop(['run', '--name', entry.name, '--', succeeds ? 'true' : 'false']);
      // `run` exits with the command's status; a recording problem is explained on stderr.
      const ok = outcome.code === (succeeds ? 0 : 1) && outcome.stderr.trim() === '';
      if (ok) counter.succeed();
      context.record('run', ok, ok ? undefined : cliFailure(outcome));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// In-place rewrites (`collector > file.prom`): truncate, write half, yield, write the rest. The
// cut is inside a line, so a half-written file is never valid; the agent must keep serving the
// last whole version and never show a torn one.

const INPLACE_SERIES = 4;
/** Half the agent's default --textfile.settle. */
const IN_PLACE_STALL_MS = 1_000;

/** Writes version 0 of every file before the agent starts, and records it as committed. */
async function seedFiles(context: LoadContext, entries: readonly VersionedFile[], body: (file: string, value: number) => string): Promise<Expectation[]> {
  for (const entry of entries) {
    const handle = entry.series.begin(0, performance.now());
    await writeFileAtomically(context.dir, `${entry.name}.prom`, body(entry.name, 0));
    entry.series.commit(handle, performance.now());
  }
  return entries.map((entry) => entry.series);
}

function inPlaceBody(file: string, value: number): string {
  const lines = ['# TYPE soak_inplace_value gauge'];
  for (let part = 0; part < INPLACE_SERIES; part++) lines.push(`soak_inplace_value{file="${file}",part="${part}"} ${value}`);
  return `${lines.join('\n')}\n`;
}

function inPlaceLoad(files: number): Load {
  const entries: VersionedFile[] = Array.from({ length: files }, (_, i) => {
    const name = `inplace-${String(i).padStart(2, '0')}`;
    return { name, series: new VersionedSeries(`${name}.prom (in place)`, writeKeys(name, 'soak_inplace_value', INPLACE_SERIES), { eventual: true }), next: 1 };
  });
  const pool = new FilePool(entries);
  return {
    name: 'inplace',
    description: `${files} files rewritten in place (truncate, write half a line, yield, write the rest)`,
    ratePerSecond: 8,
    concurrency: 2,
    setup: (context) => seedFiles(context, entries, inPlaceBody),
    step: (context) =>
      pool.withIdle(context, async (entry) => {
        const value = entry.next++;
        const handle = entry.series.begin(value, performance.now());
        const body = Buffer.from(inPlaceBody(entry.name, value));
        const opened = performance.now();
        // Truncation and the first half in one synchronous run: an empty file is a valid one,
        // and a harness descheduled between the two (seen on a loaded machine: 2 s) would
        // rightly have it served. The pause that matters comes after, inside a line.
        const file = openSync(join(context.dir, `${entry.name}.prom`), 'w');
        try {
          const cut = Math.floor(body.length / 2) + 3;
          writeSync(file, body, 0, cut);
          await new Promise((resolve) => setImmediate(resolve));
          writeSync(file, body, cut, body.length - cut);
        } finally {
          closeSync(file);
        }
        const committedAt = performance.now();
        entry.series.commit(handle, committedAt);
        // A writer that stalls for the settle time (2 s) mid-rewrite may rightly have its partial
        // file served (docs/agent.md, "Writers that rewrite in place"): that would be the
        // harness's fault, so it is reported as such.
        const stalled = committedAt - opened >= IN_PLACE_STALL_MS;
        context.record('inplace', !stalled, stalled ? `${entry.name}: the harness took ${Math.round(committedAt - opened)} ms to rewrite it` : undefined);
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Files the agent must refuse, each for another reason, rewritten atomically; their series
// (valid lines before the bad one included) must never be served.

const INVALID_BODIES: ReadonlyArray<(file: string, value: number) => string> = [
  (file, value) => `soak_invalid_value{file="${file}"} ${value}\nsoak_invalid_value{file="${file}" ${value}\n`, // parse
  (file, value) => `soak_invalid_value{file="${file}"} ${value}\nsoak_invalid_value{file="${file}"} ${value}\n`, // duplicate
  (file, value) => `soak_invalid_value{file="${file}"} ${value} 1700000000000\n`, // timestamp
  (file, value) => `soak_invalid_value{file="${file}",__bad="x"} ${value}\n`, // validation
  (file, value) => `soak_invalid_value{file="${file}"} ${value}\npromdrop_soak_reserved ${value}\n`, // reserved_metric
  (file, value) => `soak_invalid_value{file="${file}"} ${value}`, // no final newline
];

function invalidLoad(files: number): Load {
  const names = Array.from({ length: files }, (_, i) => `invalid-${String(i).padStart(2, '0')}`);
  let value = 0;
  return {
    name: 'invalid',
    description: `${files} files the agent must refuse (parse, duplicate, timestamp, __ label, reserved name, no final newline), rewritten atomically`,
    ratePerSecond: 2,
    concurrency: 1,
    async setup(context) {
      for (const [i, name] of names.entries()) await writeFileAtomically(context.dir, `${name}.prom`, INVALID_BODIES[i % INVALID_BODIES.length]!(name, 0));
      return [new NeverServed('invalid files', 'soak_invalid_'), new NeverServed('reserved name', 'promdrop_soak_')];
    },
    async step(context) {
      const name = pick(names, context);
      const body = pick(INVALID_BODIES, context)(name, ++value);
      await writeFileAtomically(context.dir, `${name}.prom`, body);
      context.record('invalid', true);
    },
  };
}

/** Every load of the soak. Add a load here (e.g. push, once the push API exists). */
// ---------------------------------------------------------------------------------------------
// PUT to the push API: groups replaced whole, acknowledged only once their file is durable, so
// read-your-writes holds for a push as for a rename.

const PUSH_SERIES = 4;

function pushLoad(groups: number): Load {
  const entries: VersionedFile[] = Array.from({ length: groups }, (_, i) => {
    const name = `g-${String(i).padStart(2, '0')}`;
    const keys = Array.from({ length: PUSH_SERIES }, (_, part) => `soak_push_value{instance="${name}",job="soak_push",part="${part}"}`);
    return { name, series: new VersionedSeries(`group ${name} (push)`, keys), next: 1 };
  });
  const pool = new FilePool(entries);
  return {
    name: 'push',
    description: `${groups} groups of ${PUSH_SERIES} series replaced by PUT to the push API`,
    ratePerSecond: 4,
    concurrency: 2,
    // Pushes need the agent: nothing exists before the first one.
    setup: async () => entries.map((entry) => entry.series),
    step: (context) =>
      pool.withIdle(context, async (entry) => {
        const value = entry.next++;
        let body = '# TYPE soak_push_value gauge\n';
        for (let part = 0; part < PUSH_SERIES; part++) body += `soak_push_value{part="${part}"} ${value}\n`;
        const handle = entry.series.begin(value, performance.now());
        let detail: string | undefined;
        try {
          const response = await fetch(`${context.agentUrl()}/metrics/job/soak_push/instance/${entry.name}`, { method: 'PUT', body });
          const text = await response.text();
          if (response.status !== 200) detail = `PUT answered ${response.status}: ${text.trim()}`;
        } catch (error) {
          detail = `PUT failed: ${error instanceof Error ? error.message : String(error)}`;
        }
        if (detail === undefined) entry.series.commit(handle, performance.now());
        else entry.series.fail(handle);
        context.record('push', detail === undefined, detail);
      }),
  };
}

export function defaultLoads(sizes: LoadSizes): Load[] {
  const n = (count: number): number => Math.max(1, Math.round(count * sizes.scale));
  return [writeLoad(n(150)), ttlLoad(n(12)), setLoad(n(4), 8), incLoad(3), runLoad(4), inPlaceLoad(n(40)), invalidLoad(n(15)), pushLoad(n(20))];
}

/** Runs `node bin/promdrop ARGS` with PROMDROP_DIR set, feeding `input` on stdin. */
export function runPromdrop(cli: string, dir: string, args: readonly string[], input: string | undefined): Promise<CliOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, PROMDROP_DIR: dir },
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('error', (error) => resolve({ code: null, signal: null, stderr: String(error) }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}
