// The soak's checks must be exact: they must pass every answer a correct agent may give and
// fail each kind of wrong answer. Times are made up (ms on one clock).
import { describe, expect, it } from 'vitest';
import { CounterSeries, NeverServed, parseSamples, VersionedSeries, type ScrapeWindow } from '../../soak/ledger.js';

const KEYS = ['v{file="a",part="0"}', 'v{file="a",part="1"}'];

function window(startedAt: number, endedAt: number, wallOffset = 1_800_000_000_000): ScrapeWindow {
  return { startedAt, endedAt, startedAtWall: startedAt + wallOffset, endedAtWall: endedAt + wallOffset };
}

function served(value: number | undefined, keys = KEYS): Map<string, number> {
  return new Map(value === undefined ? [] : keys.map((key) => [key, value]));
}

describe('VersionedSeries', () => {
  it('requires the version committed before the scrape, or one started before it ended', () => {
    const series = new VersionedSeries('a', KEYS);
    series.commit(series.begin(1, 0), 10);
    series.commit(series.begin(2, 20), 30);
    const mark = series.mark(); // scrape sent at 40: version 2 is committed
    const third = series.begin(3, 45); // in flight during the scrape
    expect(series.check(served(2), mark, window(40, 50), 0)).toBeUndefined();
    expect(series.check(served(3), mark, window(40, 50), 0)).toBeUndefined();
    expect(series.check(served(1), mark, window(40, 50), 0)).toMatch(/shows 1, but 2 had been written/);
    expect(series.check(served(undefined), mark, window(40, 50), 0)).toMatch(/missing/);
    expect(series.check(served(3), mark, window(40, 44), 0)).toMatch(/written only after the scrape ended/);
    expect(series.check(served(7), mark, window(40, 50), 0)).toMatch(/never written/);
    expect(series.check(new Map([[KEYS[0]!, 2]]), mark, window(40, 50), 0)).toMatch(/only 1 of 2/);
    expect(
      series.check(
        new Map([
          [KEYS[0]!, 2],
          [KEYS[1]!, 3],
        ]),
        mark,
        window(40, 50),
        0,
      ),
    ).toMatch(/torn/);
    series.commit(third, 60);
    expect(series.checkFinal(served(3))).toBeUndefined();
    expect(series.checkFinal(served(2))).toMatch(/last written 3/);
  });

  it('in place: any whole version, never going back', () => {
    const series = new VersionedSeries('a', KEYS, { eventual: true });
    series.commit(series.begin(1, 0), 10);
    series.commit(series.begin(2, 20), 30);
    expect(series.check(served(1), series.mark(), window(40, 50), 0)).toBeUndefined();
    expect(series.check(served(2), series.mark(), window(60, 70), 0)).toBeUndefined();
    expect(series.check(served(1), series.mark(), window(80, 90), 0)).toMatch(/went back from 2 to 1/);
    // Each scraper has its own history.
    expect(series.check(served(1), series.mark(), window(80, 90), 1)).toBeUndefined();
  });

  it('with a TTL: not shown once expired at the start, shown while not expired at the end', () => {
    const offset = 1_800_000_000_000;
    const series = new VersionedSeries('a', KEYS, { ttlMs: 4_000 });
    series.commit(series.begin(1, 0), 10, offset + 5); // mtime: wall 5 → expires at wall 4,005
    const mark = series.mark();
    expect(series.check(served(1), mark, window(1_000, 1_010), 0)).toBeUndefined();
    expect(series.check(served(undefined), mark, window(1_000, 1_010), 0)).toMatch(/expires only/);
    expect(series.check(served(undefined), mark, window(4_000, 4_010), 0)).toBeUndefined();
    expect(series.check(served(1), mark, window(4_200, 4_210), 0)).toMatch(/expired/);
  });
});

describe('CounterSeries', () => {
  it('is at least the increments done before the scrape and at most those started before its end', () => {
    const counter = new CounterSeries('c', 'c_total');
    counter.begin(0);
    counter.succeed();
    counter.begin(5);
    const mark = counter.mark(); // 1 succeeded at 10
    counter.begin(15);
    const key = (value: number) => new Map([['c_total', value]]);
    expect(counter.check(key(1), mark, window(10, 20))).toBeUndefined();
    expect(counter.check(key(3), mark, window(10, 20))).toBeUndefined();
    expect(counter.check(key(0), mark, window(10, 20))).toMatch(/increment lost/);
    expect(counter.check(key(3), mark, window(10, 12))).toMatch(/more than the 2 increments started/);
    expect(counter.check(new Map(), mark, window(10, 20))).toMatch(/missing/);
    expect(counter.checkFinal(key(1))).toBeUndefined();
    expect(counter.checkFinal(key(2))).toMatch(/ends at 2, after 1 successful/);
  });
});

describe('NeverServed and parseSamples', () => {
  it('flags any series of a refused file, in text or OpenMetrics bodies', () => {
    const text = '# TYPE ok gauge\nok{a="1"} 1\nsoak_invalid_value{file="x"} 3\n';
    const openMetrics = '# TYPE ok gauge\nok{a="1"} 1.0\n# EOF\n';
    expect(parseSamples(openMetrics)).toEqual(new Map([['ok{a="1"}', 1]]));
    const never = new NeverServed('invalid', 'soak_invalid_');
    expect(never.check(parseSamples(text))).toMatch(/soak_invalid_value\{file="x"\} is served/);
    expect(never.check(parseSamples(openMetrics))).toBeUndefined();
  });
});
