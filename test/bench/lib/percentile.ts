// Percentiles for latency samples. B's stats.ts has the median; tail latency targets ("p99 ≤ 50
// ms") need the nearest-rank percentile, which is always one of the measured values, so a p99 of
// 200 samples is the second-largest sample and never an interpolation between two.

export function percentile(values: readonly number[], rank: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  if (!(rank > 0 && rank <= 100)) throw new Error(`percentile rank must be in (0, 100], not ${rank}`);
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.ceil((rank / 100) * sorted.length) - 1;
  return sorted[Math.max(0, index)] as number;
}
