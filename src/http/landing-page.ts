// The landing page: what an operator opens in a browser to see why a metric is missing. Every
// *.prom entry the agent saw, with its state, age, series, TTL and the error that keeps it out.
// Plain server-rendered HTML without scripts; every value from a file or a path is escaped,
// since file names and error messages quote file contents.
import type { FastifyPluginCallback } from 'fastify';
import { formatDuration } from '../core/duration.js';
import { LANDING_PAGE_PATH } from './paths.js';
import type { DirectoryReport, FileReport, FileState, Snapshot, SnapshotSource } from './snapshot-source.js';

export interface LandingPageContext {
  readonly version: string;
  readonly telemetryPath: string;
  readonly directories: readonly string[];
  readonly ready: boolean;
  readonly nowMs: number;
}

const STATE_DESCRIPTIONS: Readonly<Record<FileState, string>> = {
  ok: 'served',
  invalid: 'not served: the file is invalid',
  expired: 'not served: older than its TTL',
  conflict: 'conflicts with another file',
  stale_grace: 'served from its last good content while the file changes or is invalid',
};

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A span of time for people: whole seconds in Prometheus duration syntax (`1h2m3s`). */
function humanDuration(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);
}

function ageCell(file: FileReport, nowMs: number): string {
  return file.mtimeMs === undefined ? '' : humanDuration(nowMs - file.mtimeMs);
}

function expiryCell(file: FileReport, nowMs: number): string {
  if (file.expiresAtMs === undefined) return '';
  const left = file.expiresAtMs - nowMs;
  return left >= 0 ? `in ${humanDuration(left)}` : `${humanDuration(-left)} ago`;
}

function fileRow(file: FileReport, nowMs: number): string {
  const problem = file.reason === undefined ? '' : `<span class="reason">${escapeHtml(file.reason)}</span> `;
  const cells = [
    `<td class="path">${escapeHtml(file.path)}</td>`,
    `<td><span class="state state-${escapeHtml(file.state)}" title="${escapeHtml(STATE_DESCRIPTIONS[file.state] ?? file.state)}">${escapeHtml(file.state)}</span></td>`,
    `<td>${file.served ? 'yes' : 'no'}</td>`,
    `<td class="num">${escapeHtml(ageCell(file, nowMs))}</td>`,
    `<td class="num">${file.series}</td>`,
    `<td class="num">${file.ttlMs === undefined ? '' : escapeHtml(formatDuration(file.ttlMs))}</td>`,
    `<td class="num">${escapeHtml(expiryCell(file, nowMs))}</td>`,
    `<td class="num">${file.warnings}</td>`,
    `<td class="message">${problem}${escapeHtml(file.message ?? '')}</td>`,
  ];
  return `<tr>${cells.join('')}</tr>`;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{background:#e6522c;color:#fff;padding:.6em 1em}
header h1{margin:0;font-size:1.4em}
main{padding:0 1em 1em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.num{text-align:right;white-space:nowrap}
td.path{font-family:monospace;word-break:break-all}
td.message{font-family:monospace;white-space:pre-wrap;word-break:break-word}
.state{padding:.1em .4em;border-radius:3px;font-weight:bold}
.state-ok{background:#d4edda}
.state-invalid,.state-conflict{background:#f8d7da}
.state-expired{background:#e2e3e5}
.state-stale_grace{background:#fff3cd}
.reason{font-weight:bold}
`;

function directoryItem(directory: DirectoryReport): string {
  const source = directory.pattern === directory.path ? '' : ` (from <code>${escapeHtml(directory.pattern)}</code>)`;
  const problem = directory.ok ? '' : ` <span class="state state-invalid">cannot be read</span> ${escapeHtml(directory.message ?? '')}`;
  return `<li><code>${escapeHtml(directory.path)}</code>${source}${problem}</li>`;
}

export function renderLandingPage(context: LandingPageContext, snapshot: Snapshot | undefined): string {
  const path = escapeHtml(context.telemetryPath);
  // After the first scan, the directories as found (globs expanded, with errors); before, as given.
  const directories =
    snapshot === undefined || snapshot.directories.length === 0
      ? context.directories.map((directory) => `<li><code>${escapeHtml(directory)}</code></li>`).join('\n')
      : snapshot.directories.map(directoryItem).join('\n');
  let body: string;
  if (snapshot === undefined) {
    body = '<p>Starting: the first scan of the textfile directories is not finished yet.</p>';
  } else {
    const files = snapshot.files;
    const served = files.filter((file) => file.served).length;
    const problems = files.filter((file) => file.state !== 'ok').length;
    const rows = files.map((file) => fileRow(file, context.nowMs)).join('\n');
    body =
      `<p>${files.length} file${files.length === 1 ? '' : 's'}, ${served} served, ${problems} with a problem ` +
      `(snapshot generation ${snapshot.generation}).</p>\n` +
      (files.length === 0
        ? '<p>No <code>*.prom</code> files in the directories.</p>'
        : '<table>\n<thead><tr><th>File</th><th>State</th><th>Served</th><th>Age</th><th>Series</th><th>TTL</th>' +
          '<th>Expires</th><th>Warnings</th><th>Error</th></tr></thead>\n' +
          `<tbody>\n${rows}\n</tbody>\n</table>`);
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>promdrop</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>promdrop</h1></header>
<main>
<p>Serves validated Prometheus textfiles from memory. Version <code>${escapeHtml(context.version)}</code>.</p>
<ul>
<li><a href="${path}">Metrics</a> (<code>${path}</code>)</li>
<li><a href="/api/v1/files">Files as JSON</a> (<code>/api/v1/files</code>)</li>
<li><a href="/-/healthy">Health</a>, <a href="/-/ready">readiness</a>${context.ready ? '' : ' (not ready yet)'}</li>
</ul>
<p>Textfile directories:</p>
<ul>
${directories}
</ul>
${body}
</main>
</body>
</html>
`;
}

export interface LandingPageOptions {
  readonly source: SnapshotSource;
  readonly version: string;
  readonly telemetryPath: string;
  readonly directories: readonly string[];
  readonly now: () => number;
}

export const landingPage: FastifyPluginCallback<LandingPageOptions> = (app, options, done) => {
  app.get(LANDING_PAGE_PATH, async (_request, reply) => {
    // Before the first scan is done, say so at once instead of waiting for it.
    const ready = options.source.isReady();
    const snapshot = ready ? await options.source.snapshot() : undefined;
    const html = renderLandingPage(
      { version: options.version, telemetryPath: options.telemetryPath, directories: options.directories, ready, nowMs: options.now() },
      snapshot,
    );
    await reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html);
  });
  done();
};
