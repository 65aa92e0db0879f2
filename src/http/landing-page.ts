// The landing page: what an operator opens first. The jobs `promdrop run` records (their state,
// last success, a strip of recent runs, next deadline; history and output one click away in a
// <details>), the pushed groups by grouping labels, then every *.prom file, problems first, by
// directory. Server-rendered and complete without JavaScript (`?state=problems` or `?state=STATE` filters); a small
// inline script refreshes it in place. No external assets. Every value from a file, a path or a
// job's output is escaped, since names, messages and output are not ours.
import type { FastifyPluginCallback } from 'fastify';
import { formatDuration } from '../core/duration.js';
import { LANDING_PAGE_PATH } from './paths.js';
import type { JobDetail, RunSummary } from '../job/job-reports.js';
import type { JobsReader } from './jobs-reader.js';
import type { DirectoryReport, FileReport, FileState, Snapshot, SnapshotSource } from './snapshot-source.js';

export interface LandingPageContext {
  readonly version: string;
  readonly telemetryPath: string;
  readonly directories: readonly string[];
  readonly ready: boolean;
  readonly nowMs: number;
  readonly pushDirectory?: string;
}

/** A pushed group as the page shows it. */
export interface PushedGroupView {
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly pushTimeMs: number;
  /** 0 when no push of the group has failed. */
  readonly failureTimeMs: number;
  readonly expiresAtMs: number | undefined;
  readonly ttlMs: number | undefined;
}

const STATE_DESCRIPTIONS: Readonly<Record<FileState, string>> = {
  ok: 'served',
  invalid: 'not served: the file is invalid',
  expired: 'not served: older than its TTL',
  conflict: 'conflicts with another file',
  stale_grace: 'served from its last good content while the file changes or is invalid',
};

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
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
header{display:flex;justify-content:space-between;align-items:center}
#refreshed{font-size:.8em}
nav{margin:.6em 0}
h2{margin:1em 0 .3em;font-size:1.2em}
h3{margin:.8em 0 .3em;font-size:1em}
.state-overdue,.state-failed{background:#f8d7da}
.state-running{background:#cce5ff}
.state-never_run{background:#e2e3e5}
td.name{font-weight:bold}
.strip{white-space:nowrap}
.run{display:inline-block;width:.7em;height:1.1em;margin-right:1px;vertical-align:middle;border-radius:2px}
.run-success{background:#28a745}
.run-failure{background:#dc3545}
.run-timeout{background:#fd7e14}
.run-killed{background:#6f42c1}
.run-not_found{background:#343a40}
tr.job-details td{border-bottom:2px solid #ccc;padding-top:0}
table.history{width:auto}
pre.output{margin:0;max-height:20em;overflow:auto;background:#f7f7f7;padding:.3em;white-space:pre-wrap;word-break:break-word}
`;

function directoryItem(directory: DirectoryReport): string {
  const source = directory.pattern === directory.path ? '' : ` (from <code>${escapeHtml(directory.pattern)}</code>)`;
  const problem = directory.ok ? '' : ` <span class="state state-invalid">cannot be read</span> ${escapeHtml(directory.message ?? '')}`;
  return `<li><code>${escapeHtml(directory.path)}</code>${source}${problem}</li>`;
}

/** The file's name inside the directory it was found in (the directory is the group's heading). */
function relativeName(path: string, directory: string | undefined): string {
  return directory !== undefined && path.startsWith(`${directory}/`) ? path.slice(directory.length + 1) : path;
}

/** The error without the path the row already shows: `NAME:LINE:COL: message`. */
function readableMessage(file: FileReport, name: string): string {
  const message = file.message ?? '';
  return message.startsWith(`${file.path}:`) ? `${name}:${message.slice(file.path.length + 1)}` : message;
}

/** Worst first: what an operator must look at. */
const FILE_STATE_ORDER: Readonly<Record<FileState, number>> = { invalid: 0, conflict: 1, expired: 2, stale_grace: 3, ok: 4 };

function fileRow(file: FileReport, directory: string | undefined, nowMs: number): string {
  const name = relativeName(file.path, directory);
  const problem = file.reason === undefined ? '' : `<span class="reason">${escapeHtml(file.reason)}</span> `;
  const cells = [
    `<td class="path" title="${escapeHtml(file.path)}">${escapeHtml(name)}</td>`,
    `<td><span class="state state-${escapeHtml(file.state)}" title="${escapeHtml(STATE_DESCRIPTIONS[file.state] ?? file.state)}">${escapeHtml(file.state)}</span></td>`,
    `<td>${file.served ? 'yes' : 'no'}</td>`,
    `<td class="num">${escapeHtml(ageCell(file, nowMs))}</td>`,
    `<td class="num">${file.series}</td>`,
    `<td class="num">${file.ttlMs === undefined ? '' : escapeHtml(formatDuration(file.ttlMs))}</td>`,
    `<td class="num">${escapeHtml(expiryCell(file, nowMs))}</td>`,
    `<td class="num">${file.warnings}</td>`,
    `<td class="message">${problem}${escapeHtml(readableMessage(file, name))}</td>`,
  ];
  return `<tr class="file" data-state="${escapeHtml(file.state)}">${cells.join('')}</tr>`;
}

function relative(seconds: number, nowMs: number): string {
  const ms = seconds * 1000 - nowMs;
  return ms >= 0 ? `in ${humanDuration(ms)}` : `${humanDuration(-ms)} ago`;
}

function isoSeconds(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function runDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  return seconds < 10 ? `${seconds.toFixed(2)}s` : humanDuration(seconds * 1000);
}

const JOB_STATE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  overdue: 'its next run did not start by the deadline',
  running: 'a run has started and not ended',
  failed: 'the last run did not succeed',
  ok: 'the last run succeeded',
  never_run: 'no run has ended yet',
};

function runTitle(run: RunSummary): string {
  const signal = run.signal === undefined ? '' : `, ${run.signal}`;
  return `${run.result} (exit ${run.exitCode}${signal}) at ${isoSeconds(run.start)}, ${runDuration(run.durationSeconds)}`;
}

function jobRows(job: JobDetail, nowMs: number): string {
  const id = `job-${job.name}`;
  const strip = [...job.recent]
    .reverse()
    .map((run) => `<span class="run run-${escapeHtml(run.result)}" title="${escapeHtml(runTitle(run))}"></span>`)
    .join('');
  const last =
    job.lastResult === undefined
      ? job.lastExitCode === undefined
        ? ''
        : `exit ${job.lastExitCode}`
      : job.lastResult === 'success'
        ? 'success'
        : `${job.lastResult} (exit ${job.lastExitCode ?? '?'})`;
  const deadline =
    job.nextRunDeadline === undefined
      ? ''
      : `<span title="${escapeHtml(isoSeconds(job.nextRunDeadline))}">${job.overdue ? `overdue by ${escapeHtml(humanDuration(nowMs - job.nextRunDeadline * 1000))}` : escapeHtml(relative(job.nextRunDeadline, nowMs))}</span>`;
  const schedule =
    job.schedule === undefined ? '' : `<code>${escapeHtml(job.schedule)}</code>${job.timezone === undefined ? '' : ` ${escapeHtml(job.timezone)}`}`;
  const row =
    `<tr class="job" id="${escapeHtml(id)}" data-state="${escapeHtml(job.state)}">` +
    `<td><span class="state state-${escapeHtml(job.state)}" title="${escapeHtml(JOB_STATE_DESCRIPTIONS[job.state] ?? job.state)}">${escapeHtml(job.state)}</span></td>` +
    `<td class="name">${escapeHtml(job.name)}</td>` +
    `<td>${escapeHtml(last)}</td>` +
    `<td class="num">${job.lastSuccess === undefined ? 'never' : `<span title="${escapeHtml(isoSeconds(job.lastSuccess))}">${escapeHtml(relative(job.lastSuccess, nowMs))}</span>`}</td>` +
    `<td class="num">${escapeHtml(runDuration(job.lastDurationSeconds))}</td>` +
    `<td class="num">${deadline}</td>` +
    `<td>${schedule}</td>` +
    `<td class="strip">${strip}</td></tr>`;
  const history = job.history
    .map((run) => {
      const output = run.output === undefined || run.output === '' ? '' : `<pre class="output">${escapeHtml(run.output)}</pre>`;
      return (
        `<tr><td>${escapeHtml(isoSeconds(run.start))}</td><td><span class="run run-${escapeHtml(run.result)}"></span> ${escapeHtml(run.result)}</td>` +
        `<td class="num">${run.exitCode}</td><td>${escapeHtml(run.signal ?? '')}</td><td class="num">${escapeHtml(runDuration(run.durationSeconds))}</td><td>${output}</td></tr>`
      );
    })
    .join('');
  const error = job.error === undefined ? '' : `<p class="message">${escapeHtml(job.error)}</p>`;
  const details =
    `<tr class="job-details" data-state="${escapeHtml(job.state)}"><td colspan="8"><details data-job="${escapeHtml(job.name)}"><summary>History of ${escapeHtml(job.name)} (${job.history.length} run${job.history.length === 1 ? '' : 's'})</summary>` +
    error +
    (job.history.length === 0
      ? '<p>No run history (NAME.job.json) yet.</p>'
      : `<table class="history"><thead><tr><th>Start</th><th>Result</th><th>Exit</th><th>Signal</th><th>Duration</th><th>Output (tail)</th></tr></thead><tbody>${history}</tbody></table>`) +
    `</details></td></tr>`;
  return row + details;
}

const JOB_STATE_ORDER: Readonly<Record<string, number>> = { overdue: 0, failed: 1, running: 2, never_run: 3, ok: 4 };

function jobsSection(jobs: readonly JobDetail[], nowMs: number, filter: StateFilter): string {
  const shown = jobs
    .filter((job) => shownBy(filter, job.state))
    .sort((a, b) => (JOB_STATE_ORDER[a.state] ?? 9) - (JOB_STATE_ORDER[b.state] ?? 9) || a.name.localeCompare(b.name));
  const counts = new Map<string, number>();
  for (const job of jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  const summary = [...counts].map(([state, count]) => `${count} ${escapeHtml(state)}`).join(', ');
  if (jobs.length === 0) {
    return '<section id="jobs"><h2>Jobs</h2><p>No jobs: <code>promdrop run --name NAME --schedule EXPR -- COMMAND</code> records one.</p></section>';
  }
  return (
    `<section id="jobs"><h2>Jobs</h2><p class="summary">${jobs.length} job${jobs.length === 1 ? '' : 's'}: ${summary}.</p>` +
    (shown.length === 0
      ? `<p>${filter === 'problems' ? 'No job with a problem.' : `No job ${escapeHtml(filter)}.`}</p>`
      : '<table class="jobs"><thead><tr><th>State</th><th>Job</th><th>Last run</th><th>Last success</th><th>Duration</th><th>Next deadline</th><th>Schedule</th><th>Recent runs</th></tr></thead>' +
        `<tbody>${shown.map((job) => jobRows(job, nowMs)).join('')}</tbody></table>`) +
    '</section>'
  );
}

function pushedSection(groups: readonly PushedGroupView[], nowMs: number): string {
  if (groups.length === 0) return '<section id="pushed"><h2>Pushed groups</h2><p>No pushed groups.</p></section>';
  // The job label first, as the Pushgateway shows a group.
  const ordered = (labels: PushedGroupView['labels']): PushedGroupView['labels'] =>
    [...labels].sort(([a], [b]) => (a === 'job' ? -1 : b === 'job' ? 1 : a.localeCompare(b)));
  const rows = groups
    .map((group) => {
      const labels = ordered(group.labels)
        .map(([name, value]) => `<code>${escapeHtml(name)}="${escapeHtml(value)}"</code>`)
        .join(' ');
      const failed = group.failureTimeMs > group.pushTimeMs;
      return (
        `<tr class="group"><td>${labels}</td><td class="num" title="${escapeHtml(new Date(group.pushTimeMs).toISOString())}">${escapeHtml(humanDuration(nowMs - group.pushTimeMs))} ago</td>` +
        `<td class="num">${group.failureTimeMs === 0 ? '' : `<span class="${failed ? 'state state-invalid' : ''}">${escapeHtml(humanDuration(nowMs - group.failureTimeMs))} ago</span>`}</td>` +
        `<td class="num">${group.ttlMs === undefined ? 'none' : escapeHtml(formatDuration(group.ttlMs))}</td>` +
        `<td class="num">${group.expiresAtMs === undefined ? 'never' : escapeHtml(relative(group.expiresAtMs / 1000, nowMs))}</td></tr>`
      );
    })
    .join('');
  return (
    '<section id="pushed"><h2>Pushed groups</h2><table class="groups"><thead><tr><th>Grouping labels</th><th>Last push</th><th>Last failed push</th><th>TTL</th><th>Expires</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></section>`
  );
}

/** `?state=`: everything, every job and file not ok, or one state (a file's or a job's). */
export type StateFilter = 'all' | 'problems' | FileState | JobDetail['state'];

const FILTER_STATES: ReadonlySet<string> = new Set([
  'all',
  'problems',
  'ok',
  'invalid',
  'expired',
  'conflict',
  'stale_grace',
  'overdue',
  'failed',
  'running',
  'never_run',
]);

/** The filter a `?state=` value names; anything else shows everything. */
export function stateFilterOf(value: unknown): StateFilter {
  return typeof value === 'string' && FILTER_STATES.has(value) ? (value as StateFilter) : 'all';
}

function shownBy(filter: StateFilter, state: string): boolean {
  if (filter === 'all') return true;
  if (filter === 'problems') return state !== 'ok';
  return state === filter;
}

/** All, Problems, then one link per state some job or file is in, with its count. */
function filterLinks(filter: StateFilter, states: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  const problems = states.filter((state) => state !== 'ok').length;
  const link = (value: string, label: string): string =>
    value === filter ? `<strong>${escapeHtml(label)}</strong>` : `<a href="?state=${encodeURIComponent(value)}">${escapeHtml(label)}</a>`;
  const links = [link('all', `All (${states.length})`), link('problems', `Problems (${problems})`)];
  for (const [state, count] of [...counts].sort(([a], [b]) => a.localeCompare(b))) links.push(link(state, `${state} (${count})`));
  if (filter !== 'all' && filter !== 'problems' && !counts.has(filter)) links.push(link(filter, `${filter} (0)`));
  return `Show: ${links.join(' · ')}`;
}

function filesSection(snapshot: Snapshot, context: LandingPageContext, filter: StateFilter): string {
  const textfileDirectories = snapshot.directories.filter((directory) => directory.path !== context.pushDirectory);
  const files = snapshot.files.filter((file) => context.pushDirectory === undefined || !file.path.startsWith(`${context.pushDirectory}/`));
  const served = files.filter((file) => file.served).length;
  const problems = files.filter((file) => file.state !== 'ok').length;
  const parts: string[] = [
    `<p class="summary">${files.length} file${files.length === 1 ? '' : 's'}, ${served} served, ${problems} with a problem ` +
      `(snapshot generation ${snapshot.generation}).</p>`,
  ];
  const byDirectory = new Map<string, FileReport[]>();
  for (const file of files) {
    const directory = textfileDirectories.find((d) => file.path.startsWith(`${d.path}/`))?.path ?? '';
    byDirectory.set(directory, [...(byDirectory.get(directory) ?? []), file]);
  }
  if (files.length === 0) parts.push('<p>No <code>*.prom</code> files in the directories.</p>');
  for (const [directory, inDirectory] of byDirectory) {
    const shown = inDirectory.filter((file) => shownBy(filter, file.state)).sort((a, b) => (FILE_STATE_ORDER[a.state] ?? 9) - (FILE_STATE_ORDER[b.state] ?? 9));
    parts.push(`<h3><code>${escapeHtml(directory)}</code></h3>`);
    parts.push(
      shown.length === 0
        ? `<p>${filter === 'problems' ? 'No file with a problem.' : `No file ${escapeHtml(filter)}.`}</p>`
        : '<table class="files">\n<thead><tr><th>File</th><th>State</th><th>Served</th><th>Age</th><th>Series</th><th>TTL</th>' +
            '<th>Expires</th><th>Warnings</th><th>Error</th></tr></thead>\n' +
            `<tbody>\n${shown.map((file) => fileRow(file, directory === '' ? undefined : directory, context.nowMs)).join('\n')}\n</tbody>\n</table>`,
    );
  }
  return `<section id="files"><h2>Files</h2>${parts.join('\n')}</section>`;
}

/** Re-fetches the page every 10 s and swaps in its content, keeping open histories open; the
 *  page works without it (reload by hand). No external script: hosts are often offline. */
const REFRESH_SCRIPT = `
(function(){
  function refresh(){
    fetch(location.href,{cache:'no-store'}).then(function(r){return r.ok?r.text():null;}).then(function(html){
      if(html===null)return;
      var next=new DOMParser().parseFromString(html,'text/html').querySelector('#content');
      if(!next)return;
      // Read at the swap, not before the fetch: a history opened meanwhile stays open.
      var open=[].map.call(document.querySelectorAll('details[open][data-job]'),function(d){return d.getAttribute('data-job');});
      var directoriesOpen=document.querySelector('details.directories[open]')!==null;
      document.querySelector('#content').replaceWith(next);
      open.forEach(function(name){[].forEach.call(document.querySelectorAll('details[data-job]'),function(d){if(d.getAttribute('data-job')===name)d.open=true;});});
      if(directoriesOpen)document.querySelector('details.directories').open=true;
      document.querySelector('#refreshed').textContent='refreshed '+new Date().toLocaleTimeString();
    }).catch(function(){document.querySelector('#refreshed').textContent='cannot reach the agent';});
  }
  setInterval(refresh,10000);
})();
`;

export function renderLandingPage(
  context: LandingPageContext,
  snapshot: Snapshot | undefined,
  jobs: readonly JobDetail[] = [],
  groups: readonly PushedGroupView[] | undefined = undefined,
  filter: StateFilter = 'all',
): string {
  const path = escapeHtml(context.telemetryPath);
  // After the first scan, the directories as found (globs expanded, with errors); before, as given.
  const directories =
    snapshot === undefined || snapshot.directories.length === 0
      ? context.directories.map((directory) => `<li><code>${escapeHtml(directory)}</code></li>`).join('\n')
      : snapshot.directories
          .filter((directory) => directory.path !== context.pushDirectory)
          .map(directoryItem)
          .join('\n');
  let body: string;
  if (snapshot === undefined) {
    body = '<p>Starting: the first scan of the textfile directories is not finished yet.</p>';
  } else {
    body =
      jobsSection(jobs, context.nowMs, filter) + (groups === undefined ? '' : pushedSection(groups, context.nowMs)) + filesSection(snapshot, context, filter);
  }
  const states =
    snapshot === undefined
      ? []
      : [
          ...jobs.map((job) => job.state),
          ...snapshot.files
            .filter((file) => context.pushDirectory === undefined || !file.path.startsWith(`${context.pushDirectory}/`))
            .map((file) => file.state),
        ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>promdrop</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>promdrop</h1><span id="refreshed"></span></header>
<main>
<nav><a href="${path}">Metrics</a> · <a href="/api/v1/jobs">Jobs as JSON</a> · <a href="/api/v1/files">Files as JSON</a> · <a href="/-/healthy">Health</a>, <a href="/-/ready">readiness</a>${context.ready ? '' : ' (not ready yet)'} · version <code>${escapeHtml(context.version)}</code></nav>
<div id="content">
<p class="filter">${filterLinks(filter, states)}</p>
${body}
<details class="directories"><summary>Textfile directories</summary>
<ul>
${directories}
</ul>
</details>
</div>
</main>
<script>${REFRESH_SCRIPT}</script>
</body>
</html>
`;
}

export interface LandingPageOptions {
  readonly source: SnapshotSource;
  readonly jobs: JobsReader;
  readonly version: string;
  readonly telemetryPath: string;
  readonly directories: readonly string[];
  readonly now: () => number;
  /** With --web.enable-push: its directory (shown as pushed groups, not as textfiles) and groups. */
  readonly push?: { readonly directory: string; readonly groups: () => readonly PushedGroupView[] };
}

export const landingPage: FastifyPluginCallback<LandingPageOptions> = (app, options, done) => {
  app.get(LANDING_PAGE_PATH, async (request, reply) => {
    // Before the first scan is done, say so at once instead of waiting for it.
    const ready = options.source.isReady();
    const snapshot = ready ? await options.source.snapshot() : undefined;
    const nowMs = options.now();
    const jobs =
      snapshot === undefined
        ? []
        : await options.jobs.details(
            snapshot.directories.map((directory) => directory.path),
            nowMs,
          );
    const query = request.query as Record<string, unknown>;
    const html = renderLandingPage(
      {
        version: options.version,
        telemetryPath: options.telemetryPath,
        directories: options.directories,
        ready,
        nowMs,
        ...(options.push === undefined ? {} : { pushDirectory: options.push.directory }),
      },
      snapshot,
      jobs,
      options.push?.groups(),
      stateFilterOf(query['state']),
    );
    await reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html);
  });
  done();
};
