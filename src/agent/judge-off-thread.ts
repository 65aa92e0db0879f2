// Judging a large file (parse, validate, render its series: about a second for 500,000 series)
// on a worker thread, so that scrapes, health checks and other files are served meanwhile. The
// bytes go to the worker and the rendered result comes back by transfer, never copied; a worker
// lives for one file, so nothing it allocated outlives the judgement. Small files are judged on
// the event loop: starting a worker costs more than they do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { Worker } from 'node:worker_threads';
import type { MetricFamily } from '../core/types.js';
import type { FileIdentity } from '../fs/textfile-reader.js';
import type { ContentOptions } from '../core/verdict.js';
import { judgeContent, type ContentVerdict } from './file-state.js';

/** Files at least this large are judged on a worker thread. */
export const JUDGE_OFF_THREAD_MIN_BYTES = 4 * 1024 * 1024;

/** The worker's bundle, next to the agent's bundles in dist/; absent when running from the
 *  sources (unit tests), which then judge on the event loop. */
const WORKER_FILE = typeof __dirname === 'string' ? join(__dirname, 'agent-judge-worker.cjs') : undefined;

/** The asset under which the single executable (scripts/build-sea.mjs) embeds the worker's
 *  bundle: a worker cannot load a file that is not on disk, so there it runs from its code. */
export const EMBEDDED_WORKER_ASSET = 'agent-judge-worker.cjs';

let embeddedWorkerCode: string | undefined;

/** What a Worker is started from (a file, or code with `eval`), or undefined to judge on the
 *  event loop. */
function workerSource(): { readonly source: string; readonly eval: boolean } | undefined {
  if (isSea()) {
    embeddedWorkerCode ??= getAsset(EMBEDDED_WORKER_ASSET, 'utf8');
    return { source: embeddedWorkerCode, eval: true };
  }
  return WORKER_FILE !== undefined && existsSync(WORKER_FILE) ? { source: WORKER_FILE, eval: false } : undefined;
}

export interface JudgeJob {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly identity: FileIdentity;
  readonly options: ContentOptions;
}

/** judgeContent, on a worker thread when the file is large. `bytes` may be unusable afterwards
 *  (handed over to the worker). */
export function judgeContentOffThread(path: string, bytes: Buffer, identity: FileIdentity, options: ContentOptions): Promise<ContentVerdict> {
  const worker = bytes.length < JUDGE_OFF_THREAD_MIN_BYTES ? undefined : workerSource();
  if (worker === undefined) return Promise.resolve(judgeContent(path, bytes, identity, options));
  return judgeOnWorker(new Worker(worker.source, { eval: worker.eval }), { path, bytes, identity, options });
}

function judgeOnWorker(worker: Worker, job: JudgeJob): Promise<ContentVerdict> {
  const { path, bytes } = job;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (verdict: ContentVerdict): void => {
      if (settled) return;
      settled = true;
      resolve(verdict);
      void worker.terminate();
    };
    worker.once('message', (verdict: ContentVerdict) => settle(withBuffers(verdict)));
    worker.once('error', (error) => settle({ ok: false, reason: 'io', message: `${path}: could not be judged: ${error.message}`, warnings: 0 }));
    worker.once('exit', (code) => settle({ ok: false, reason: 'io', message: `${path}: could not be judged (worker exited with ${code})`, warnings: 0 }));
    // A buffer of its own (not a slice of Node's shared pool) can be handed over whole; where the
    // runtime refuses to transfer it, it is copied (see judge-worker.ts).
    try {
      worker.postMessage(job, bytes.buffer.byteLength > Buffer.poolSize ? [bytes.buffer as ArrayBuffer] : []);
    } catch {
      worker.postMessage(job);
    }
  });
}

/** The array buffers under a verdict's rendered series, each once. A small family's lines sit in
 *  a slice of Node's shared Buffer pool, which Node 22 and later refuse to transfer (the whole
 *  message fails with a DataCloneError): those are copied, as they are small. */
export function transferablesOf(verdict: ContentVerdict): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  if (verdict.ok) {
    for (const family of verdict.content.families) {
      const rendered = family.rendered;
      if (rendered === undefined) continue;
      buffers.add(rendered.text.buffer as ArrayBuffer);
      buffers.add(rendered.lines.buffer as ArrayBuffer);
    }
  }
  return [...buffers].filter((buffer) => buffer.byteLength > Buffer.poolSize);
}

/** Messages carry Uint8Arrays: the rendered lines become Buffers again (same memory). */
function withBuffers(verdict: ContentVerdict): ContentVerdict {
  if (!verdict.ok) return verdict;
  const families: MetricFamily[] = verdict.content.families.map((family) => {
    const rendered = family.rendered;
    if (rendered === undefined) return family;
    const text = rendered.text as Uint8Array;
    return { ...family, rendered: { ...rendered, text: Buffer.from(text.buffer, text.byteOffset, text.byteLength) } };
  });
  return { ok: true, content: { ...verdict.content, families } };
}
