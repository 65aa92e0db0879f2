// Sizes of any magnitude for the report, in decimal units like format.ts's formatMegabytes (which
// shows a 30 kB gzip body as "0.0 MB").

export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}
