// Worker-thread entry (bundled as dist/agent-judge-worker.cjs): judges one file's bytes with
// judgeContent and posts the verdict back, see judge-off-thread.ts.
import { parentPort } from 'node:worker_threads';
import { judgeContent } from './file-state.js';
import { transferablesOf, type JudgeJob } from './judge-off-thread.js';

parentPort?.once('message', (job: JudgeJob) => {
  const verdict = judgeContent(job.path, job.bytes, job.identity, job.options);
  // This thread ends after the message: its buffers can all be handed over, none copied. Some
  // runtimes refuse to transfer some of them (Node 26: DataCloneError, "unsupported type"); then
  // the verdict is copied instead, which costs memory for a moment but never loses the file.
  try {
    parentPort?.postMessage(verdict, transferablesOf(verdict));
  } catch {
    parentPort?.postMessage(verdict);
  }
});
