// Prometheus duration syntax (model.ParseDuration): one or more <number><unit> parts in
// descending unit order, units y w d h m s ms. `0` alone is allowed. Used for TTLs.

const UNIT_MS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds for a Prometheus duration such as `90s`, `1h30m` or `7d`; undefined if invalid. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  const match = DURATION_RE.exec(text);
  if (match === null) return undefined;
  let total = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = match[i + 1];
    if (part !== undefined) total += Number(part) * UNIT_MS[i]![1];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The canonical Prometheus spelling of a duration in milliseconds (`1h30m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNIT_MS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
