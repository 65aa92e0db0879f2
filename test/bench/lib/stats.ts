// Summary statistics for repeated measurements. Medians, not means: one slow run (a GC pause,
// another process on a 2-core machine) should not move the figure we publish.

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}

export function maximum(values: readonly number[]): number {
  if (values.length === 0) throw new Error('maximum of no values');
  return Math.max(...values);
}

/** Bytes per millisecond as decimal megabytes (10^6 bytes) per second. */
export function megabytesPerSecond(bytes: number, milliseconds: number): number {
  return bytes / 1e6 / (milliseconds / 1e3);
}
