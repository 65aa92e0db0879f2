// Jobs end to end, as an operator meets them: a job run three times (success, failure,
// timeout) shows three runs with their results in `promdrop jobs`, in /api/v1/jobs and on the
// landing page in a real browser (Debian's chromium, driven by playwright-core); a job whose
// deadline has passed is overdue in all three, and a real Prometheus evaluating the bundled
// rules fires BatchJobMissedRun for it (and BatchJobTimedOut for the timed-out one).
// Screenshots of the page are kept in test-artifacts/ (the path is printed).
import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram, startPrometheus, type RunningProcess } from '../helpers/peers.js';
import { eventually, makeTempDir, removeDir, startAgent, type Agent } from './serve-agent.js';
import { promdrop, REPO_ROOT } from './writer-support.js';

const prometheusBinary = requireProgram('prometheus', 'prometheus');
const chromiumBinary = requireProgram('/usr/bin/chromium', 'chromium');
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'jobs-page');

/** What the page's functions use of the browser's globals (the project compiles without the DOM lib). */
interface BrowserGlobals {
  getComputedStyle(element: unknown): { backgroundColor: string };
}

interface JobJson {
  readonly name: string;
  readonly state: string;
  readonly overdue: boolean;
  readonly recent: ReadonlyArray<{ result: string; exitCode: number }>;
  readonly history?: ReadonlyArray<{ result: string; output?: string }>;
}

describe('jobs: run history, overdue verdict, API, page and alerts', () => {
  let root: string;
  let textfiles: string;
  let agent: Agent | undefined;
  let prometheus: RunningProcess | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    root = await makeTempDir('promdrop-jobs-');
    textfiles = join(root, 'textfiles');
    await mkdir(textfiles);
    const run = (args: string[]) => promdrop(['run', '-d', textfiles, ...args]);
    // A daily job, run three times: success, failure, timeout (output kept).
    const daily = ['--name', 'nightly', '--schedule', '0 3 * * *', '--timezone', 'Europe/Berlin', '--keep-output', '1KiB', '--'];
    expect((await run([...daily, 'sh', '-c', 'echo all-good'])).code).toBe(0);
    expect((await run([...daily, 'sh', '-c', 'echo "disk <full>" >&2; exit 3'])).code).toBe(3);
    expect((await run(['--timeout', '300ms', ...daily, 'sleep', '30'])).code).toBe(124);
    // A job run every second with no grace, which then stops running: overdue within a second.
    expect((await run(['--name', 'stopped', '--every', '1s', '--grace', '0', '--', 'true'])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await prometheus?.stop();
    await agent?.stop();
    await removeDir(root);
  });

  it('promdrop jobs: three runs with their results, and the stopped job overdue', async () => {
    const text = await promdrop(['jobs', '-d', textfiles]);
    expect(text.code).toBe(1); // a job is overdue, another failed
    expect(text.stdout).toMatch(/^failed +timeout \(124\) .* TF\. +nightly$/m);
    expect(text.stdout).toMatch(/^overdue +success .* stopped$/m);
    const json = JSON.parse((await promdrop(['jobs', '-d', textfiles, '--json'])).stdout) as { jobs: JobJson[] };
    const nightly = json.jobs.find((job) => job.name === 'nightly')!;
    expect(nightly.recent.map((r) => [r.result, r.exitCode])).toEqual([
      ['timeout', 124],
      ['failure', 3],
      ['success', 0],
    ]);
    expect(json.jobs.find((job) => job.name === 'stopped')).toMatchObject({ state: 'overdue', overdue: true });
    const detail = await promdrop(['jobs', '-d', textfiles, 'nightly']);
    expect(detail.stdout).toContain('| disk <full>');
    expect(detail.stdout).toContain('| all-good');
  });

  it('/api/v1/jobs serves the same, with the output in the job view', async () => {
    agent = await startAgent([`--textfile.directory=${textfiles}`]);
    const list = JSON.parse((await agent.get('/api/v1/jobs')).body) as { status: string; data: { jobs: JobJson[] } };
    expect(list.status).toBe('success');
    const nightly = list.data.jobs.find((job) => job.name === 'nightly')!;
    expect(nightly.state).toBe('failed');
    expect(nightly.recent.map((r) => r.result)).toEqual(['timeout', 'failure', 'success']);
    expect(list.data.jobs.find((job) => job.name === 'stopped')).toMatchObject({ state: 'overdue', overdue: true });
    const one = JSON.parse((await agent.get('/api/v1/jobs/nightly')).body) as { data: { job: JobJson } };
    expect(one.data.job.history!.map((r) => r.output)).toEqual(['', 'disk <full>\n', 'all-good\n']);
    expect((await agent.get('/api/v1/jobs/nope')).status).toBe(404);
    // The history file is not a textfile: never served as series.
    expect(await agent.metrics()).not.toContain('disk');
  });

  it.skipIf(chromiumBinary === undefined)('the landing page shows both jobs as a person sees them, in a real browser', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`landing page screenshots: ${ARTIFACTS}`);
    browser = await chromium.launch({
      executablePath: chromiumBinary!,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://127.0.0.1:${agent!.port}/`);
    const nightly = page.locator('tr.job', { hasText: 'nightly' });
    await expect.poll(() => nightly.locator('.state').innerText()).toBe('failed');
    // The strip: three runs, oldest first, coloured by result.
    expect(await nightly.locator('.strip .run').evaluateAll((runs) => runs.map((run) => run.className))).toEqual([
      'run run-success',
      'run run-failure',
      'run run-timeout',
    ]);
    const colours = await nightly
      .locator('.strip .run')
      .evaluateAll((runs) => runs.map((run) => (globalThis as unknown as BrowserGlobals).getComputedStyle(run).backgroundColor));
    expect(new Set(colours).size).toBe(3);
    expect(await page.locator('tr.job', { hasText: 'stopped' }).locator('.state').innerText()).toBe('overdue');
    expect(await page.locator('tr.job', { hasText: 'stopped' }).innerText()).toMatch(/overdue by \d+s/);
    // Jobs come before the files, and the overdue job first.
    expect(await page.locator('tr.job .name').allInnerTexts()).toEqual(['stopped', 'nightly']);
    await page.screenshot({ path: join(ARTIFACTS, 'jobs.png'), fullPage: true });
    // The history is one click away; the output is text, not markup.
    const output = page.locator('details[data-job="nightly"] pre.output', { hasText: 'disk <full>' });
    expect(await output.isVisible()).toBe(false);
    await page.getByText('History of nightly').click();
    expect(await output.isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'jobs-history-open.png'), fullPage: true });
    // Files: names relative to their directory.
    expect(await page.locator('table.files td.path').allInnerTexts()).toEqual(expect.arrayContaining(['nightly.job.prom', 'stopped.job.prom']));
    // Without JavaScript the essentials are there.
    const plain = await browser.newPage({ javaScriptEnabled: false });
    await plain.goto(`http://127.0.0.1:${agent!.port}/?state=problems`);
    expect(await plain.locator('tr.job .name').allInnerTexts()).toEqual(['stopped', 'nightly']);
    expect(await plain.locator('p.filter strong').innerText()).toMatch(/^Problems \(\d+\)$/);
    // One state at a time, by the links at the top.
    await plain.getByRole('link', { name: /^overdue \(1\)$/ }).click();
    expect(await plain.locator('tr.job .name').allInnerTexts()).toEqual(['stopped']);
    await plain.screenshot({ path: join(ARTIFACTS, 'problems-no-js.png'), fullPage: true });
  });

  it.skipIf(chromiumBinary === undefined)(
    'refreshes itself in place: a new run appears without a reload',
    async () => {
      const page = await browser!.newPage();
      await page.goto(`http://127.0.0.1:${agent!.port}/`);
      await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
      await page.getByText('History of nightly').click();
      expect((await promdrop(['run', '-d', textfiles, '--name', 'stopped', '--every', '1h', '--', 'true'])).code).toBe(0);
      await expect.poll(() => page.locator('tr.job', { hasText: 'stopped' }).locator('.state').innerText(), { timeout: 30_000, interval: 500 }).toBe('ok');
      // The same document: no reload happened, and the history opened before is still open.
      expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
      expect(await page.locator('details[data-job="nightly"] pre.output', { hasText: 'disk <full>' }).isVisible()).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'after-refresh.png'), fullPage: true });
      // Overdue again for Prometheus below.
      expect((await promdrop(['run', '-d', textfiles, '--name', 'stopped', '--every', '1s', '--grace', '0', '--', 'true'])).code).toBe(0);
    },
    60_000,
  );

  it.skipIf(prometheusBinary === undefined)(
    'a real Prometheus evaluating the bundled rules fires BatchJobMissedRun and BatchJobTimedOut',
    async () => {
      prometheus = await startPrometheus(prometheusBinary!, root, [`127.0.0.1:${agent!.port}`], [join(REPO_ROOT, 'examples', 'alerts', 'promdrop.rules.yml')]);
      const firing = async (): Promise<string[]> => {
        const response = await fetch(`${prometheus!.url}/api/v1/alerts`);
        const json = (await response.json()) as { data: { alerts: Array<{ state: string; labels: Record<string, string> }> } };
        return json.data.alerts
          .filter((alert) => alert.state === 'firing')
          .map((alert) => `${alert.labels['alertname']}/${alert.labels['name']}`)
          .sort();
      };
      let last: string[] = [];
      await eventually(
        async () => {
          last = await firing();
          return last.includes('BatchJobMissedRun/stopped') && last.includes('BatchJobTimedOut/nightly');
        },
        60_000,
        `BatchJobMissedRun/stopped and BatchJobTimedOut/nightly to fire (last: ${JSON.stringify(last)})`,
      );
      // The timeout is told apart: not a BatchJobFailed; the daily job is not late.
      expect(last).not.toContain('BatchJobFailed/nightly');
      expect(last).not.toContain('BatchJobMissedRun/nightly');
    },
    90_000,
  );
});
