import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/core/duration.js';

describe('Prometheus durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['26h', 93_600_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    ['500ms', 500],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '1', '-5m', '1.5h', '30m1h', '5 m', 'h', '1hh', '10x'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats canonically and round-trips', () => {
    for (const ms of [0, 500, 90_000, 5_400_000, 93_600_000, 604_800_000 + 3_600_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
});
