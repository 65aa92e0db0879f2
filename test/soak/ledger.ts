// The soak's bookkeeping: for every series the load writes, what a scrape may show. A scrape is
// checked against the interval [S, E] it covered (S: request sent, E: body received), so the
// check is exact rather than "close enough":
//
// - a version whose writer exited before S (its rename had returned) must be shown, or a newer
//   one whose writer had started before E (it may have committed while the scrape ran);
// - a counter must be at least the number of increments that had succeeded before S and at most
//   the number started before E;
// - a series of a file the agent must refuse must never appear at all.
//
// Writers of one series run one at a time (versioned series), so "the committed one or a later
// one started before E" is "the value most recently written, or the one being written". Times
// are performance.now() milliseconds, one clock for writers and scrapers.

/** A scrape's view: series key (`name{labels}` as served) → value. */
export type Served = ReadonlyMap<string, number>;

/** What an expectation remembers at a scrape's start S, to judge the body received at E. */
export type Mark = number;

/** performance.now() when the request was sent (S) and when the whole body had arrived (E). */
export interface ScrapeWindow {
  readonly startedAt: number;
  readonly endedAt: number;
  /** The same two moments on the wall clock (Date.now()), to compare with file mtimes. */
  readonly startedAtWall: number;
  readonly endedAtWall: number;
}

export interface Expectation {
  /** Shown in problems. */
  readonly label: string;
  /** State at S, taken when the scrape request is sent. */
  mark(): Mark;
  /** A problem with this scrape, or undefined. `scraper` tells apart the scrapers' histories. */
  check(served: Served, mark: Mark, window: ScrapeWindow, scraper: number): string | undefined;
  /** After the load has stopped and the agent has settled: the exact final state. */
  checkFinal(served: Served): string | undefined;
}

interface Version {
  readonly value: number;
  readonly startedAt: number;
  committedAt: number | undefined;
  /** A writer that failed may still have replaced the file (a failed directory fsync comes
   *  after the rename), so its value is allowed but never required. */
  failed: boolean;
  /** File mtime (wall-clock ms) of this version, for expiring files. */
  mtimeMs: number | undefined;
}

export interface VersionedOptions {
  /** `# promdrop: ttl=` of the file, in ms: a version is not shown once its mtime + ttl passed. */
  readonly ttlMs?: number;
  /** In-place rewrites are read only once they have settled: no read-your-writes bound, but a
   *  shown version never goes back and is always a whole one. */
  readonly eventual?: boolean;
}

/** Wall clock vs file-system timestamps (coarse kernel clock) vs scrape timing. */
const EXPIRY_MARGIN_MS = 100;
/** Versions older than this (and not the last committed) can no longer matter to any scrape. */
const KEEP_MS = 120_000;

/**
 * A group of series written together by one writer (one file's series, or one `set` series):
 * every key shows the same version, since the file is replaced whole.
 */
export class VersionedSeries implements Expectation {
  private readonly versions: Version[] = [];
  private lastCommitted = -1;
  /** Index offset of versions[0] (older versions are pruned). */
  private base = 0;
  private readonly lastSeen = new Map<number, number>();

  constructor(
    readonly label: string,
    private readonly keys: readonly string[],
    private readonly options: VersionedOptions = {},
  ) {}

  /** A writer is about to write `value`; returns its handle. Values must be unique. */
  begin(value: number, startedAt: number): number {
    this.versions.push({ value, startedAt, committedAt: undefined, failed: false, mtimeMs: undefined });
    return this.base + this.versions.length - 1;
  }

  commit(handle: number, committedAt: number, mtimeMs?: number): void {
    const version = this.versions[handle - this.base];
    if (version === undefined) return;
    version.committedAt = committedAt;
    version.mtimeMs = mtimeMs;
    if (handle > this.lastCommitted) this.lastCommitted = handle;
    this.prune(committedAt);
  }

  fail(handle: number): void {
    const version = this.versions[handle - this.base];
    if (version !== undefined) version.failed = true;
  }

  get committedValue(): number | undefined {
    return this.lastCommitted < 0 ? undefined : this.versions[this.lastCommitted - this.base]?.value;
  }

  mark(): Mark {
    return this.lastCommitted;
  }

  check(served: Served, mark: Mark, window: ScrapeWindow, scraper: number): string | undefined {
    const values = this.keys.map((key) => served.get(key));
    const present = values.filter((value) => value !== undefined);
    if (present.length !== 0 && present.length !== values.length) {
      return `${this.label}: only ${present.length} of ${values.length} series shown (a file served in part)`;
    }
    if (present.length > 1 && present.some((value) => value !== present[0])) {
      return `${this.label}: series of one version show different values ${JSON.stringify(values)} (a torn file)`;
    }
    const shown = present[0];
    if (shown === undefined) return this.checkAbsent(mark, window);
    const index = this.indexOf(shown);
    if (index === undefined) return `${this.label}: shows ${shown}, a value never written`;
    const version = this.versions[index - this.base]!;
    if (version.startedAt >= window.endedAt) return `${this.label}: shows ${shown}, written only after the scrape ended`;
    if (this.options.eventual) {
      const before = this.lastSeen.get(scraper);
      if (before !== undefined && index < before) return `${this.label}: went back from ${this.versions[before - this.base]?.value} to ${shown}`;
      this.lastSeen.set(scraper, index);
      return undefined;
    }
    if (index < mark) {
      const required = this.versions[mark - this.base]!;
      return `${this.label}: shows ${shown}, but ${required.value} had been written before the scrape started`;
    }
    if (this.options.ttlMs !== undefined && version.mtimeMs !== undefined) {
      // The snapshot is taken at some moment in [S, E]: expired already at S means not served.
      const expiresAt = version.mtimeMs + this.options.ttlMs;
      const startWall = window.startedAtWall;
      if (startWall > expiresAt + EXPIRY_MARGIN_MS) return `${this.label}: shows ${shown}, expired ${Math.round(startWall - expiresAt)} ms before the scrape`;
    }
    return undefined;
  }

  checkFinal(served: Served): string | undefined {
    const expected = this.committedValue;
    const values = this.keys.map((key) => served.get(key));
    if (this.options.ttlMs !== undefined) return undefined; // expired or not depends on timing
    if (expected === undefined) return values.every((value) => value === undefined) ? undefined : `${this.label}: shown but never written`;
    if (values.some((value) => value !== expected)) return `${this.label}: final value ${JSON.stringify(values)}, last written ${expected}`;
    return undefined;
  }

  private checkAbsent(mark: Mark, window: ScrapeWindow): string | undefined {
    if (mark < 0) return undefined; // nothing committed before the scrape started
    const committed = this.versions[mark - this.base]!;
    if (this.options.ttlMs !== undefined) {
      // Absent is right if the version committed at S may have expired by the end of the scrape.
      if (committed.mtimeMs === undefined) return undefined;
      const expiresAt = committed.mtimeMs + this.options.ttlMs;
      const endWall = window.endedAtWall;
      if (endWall >= expiresAt - EXPIRY_MARGIN_MS) return undefined;
      return `${this.label}: missing, though ${committed.value} was written before the scrape and expires only ${Math.round(expiresAt - endWall)} ms after it`;
    }
    return `${this.label}: missing, though ${committed.value} was written before the scrape started`;
  }

  private indexOf(value: number): number | undefined {
    for (let i = this.versions.length - 1; i >= 0; i--) if (this.versions[i]!.value === value) return this.base + i;
    return undefined;
  }

  private prune(now: number): void {
    // Keep the last committed version and everything after it, plus anything recent.
    let drop = 0;
    const keepFrom = this.lastCommitted - this.base;
    while (drop < keepFrom && (this.versions[drop]!.committedAt ?? now) < now - KEEP_MS) drop++;
    if (drop > 64) {
      this.versions.splice(0, drop);
      this.base += drop;
    }
  }
}

/** A counter that any number of processes increment by 1 (`promdrop inc`, `run`'s counts). */
export class CounterSeries implements Expectation {
  private succeeded = 0;
  private readonly startTimes: number[] = [];
  private startBase = 0;

  constructor(
    readonly label: string,
    private readonly key: string,
  ) {}

  begin(startedAt: number): void {
    this.startTimes.push(startedAt);
    if (this.startTimes.length > 4096) {
      // Start times are only compared with recent scrape ends; keep the count of the rest.
      this.startTimes.splice(0, 2048);
      this.startBase += 2048;
    }
  }

  succeed(): void {
    this.succeeded++;
  }

  get successes(): number {
    return this.succeeded;
  }

  mark(): Mark {
    return this.succeeded;
  }

  check(served: Served, mark: Mark, window: ScrapeWindow): string | undefined {
    const endedAt = window.endedAt;
    const value = served.get(this.key);
    if (value === undefined) return mark > 0 ? `${this.label}: missing, though ${mark} increments had succeeded before the scrape` : undefined;
    if (value < mark) return `${this.label}: ${value}, but ${mark} increments had succeeded before the scrape started (an increment lost)`;
    const started = this.startedBefore(endedAt);
    if (value > started) return `${this.label}: ${value}, more than the ${started} increments started before the scrape ended`;
    return undefined;
  }

  checkFinal(served: Served): string | undefined {
    const value = served.get(this.key) ?? 0;
    return value === this.succeeded ? undefined : `${this.label}: ends at ${value}, after ${this.succeeded} successful increments`;
  }

  private startedBefore(time: number): number {
    let count = 0;
    for (let i = this.startTimes.length - 1; i >= 0; i--) {
      if (this.startTimes[i]! < time) {
        count = i + 1;
        break;
      }
    }
    return this.startBase + count;
  }
}

/** Series of files the agent must refuse: none of them may ever be served. */
export class NeverServed implements Expectation {
  constructor(
    readonly label: string,
    private readonly prefix: string,
  ) {}

  mark(): Mark {
    return 0;
  }

  check(served: Served): string | undefined {
    for (const key of served.keys()) if (key.startsWith(this.prefix)) return `${this.label}: ${key} is served, from a file the agent must refuse`;
    return undefined;
  }

  checkFinal(served: Served): string | undefined {
    return this.check(served);
  }
}

/** Parses a text 0.0.4 or OpenMetrics body into series key → value (comments skipped). */
export function parseSamples(body: string): Map<string, number> {
  const samples = new Map<string, number>();
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf('\n', start);
    if (end === -1) end = body.length;
    if (body.charCodeAt(start) !== 35 /* # */ && end > start) {
      const line = body.slice(start, end);
      const space = line.lastIndexOf(' ');
      samples.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    start = end + 1;
  }
  return samples;
}
