// How figures are written in the report. Decimal units throughout (1 MB = 10^6 bytes), so that
// a throughput in MB/s and a file size in MB use the same megabyte.

export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function formatThroughput(megabytesPerSecond: number): string {
  return `${megabytesPerSecond.toFixed(1)} MB/s`;
}

export function formatMilliseconds(milliseconds: number): string {
  if (milliseconds >= 10_000) return `${(milliseconds / 1e3).toFixed(1)} s`;
  if (milliseconds >= 1_000) return `${(milliseconds / 1e3).toFixed(2)} s`;
  if (milliseconds >= 10) return `${milliseconds.toFixed(0)} ms`;
  return `${milliseconds.toFixed(2)} ms`;
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}
