// Timing whole scrapes of large bodies with curl, the way node-exporter-textfile.md §4 measured
// node_exporter (curl's time_total on 127.0.0.1). A separate process, so the client never shares
// an event loop with a server in the harness process (the static server), and the body is
// discarded as it arrives (-o /dev/null), so a 50 MB scrape costs the client no memory.
import { spawn } from 'node:child_process';

export interface CurlTransfer {
  readonly status: number;
  /** Bytes on the wire: the compressed size when the server answered with gzip. */
  readonly bytes: number;
  readonly totalMs: number;
  /** Time to the first byte of the body. */
  readonly firstByteMs: number;
}

export interface CurlOptions {
  /** Send Accept-Encoding: gzip (the body is timed as sent, not decompressed). */
  readonly gzip: boolean;
  readonly timeoutMs: number;
}

const WRITE_OUT = '%{http_code} %{size_download} %{time_starttransfer} %{time_total}\\n';

/** `count` scrapes of `url` one after another over one connection, as a scraper does. */
export async function curlScrapes(url: string, count: number, options: CurlOptions): Promise<CurlTransfer[]> {
  const args = [
    '--silent',
    '--show-error',
    '--max-time',
    String(Math.ceil(options.timeoutMs / 1000)),
    '--write-out',
    WRITE_OUT,
    ...(options.gzip ? ['--header', 'Accept-Encoding: gzip'] : []),
    ...Array.from({ length: count }, () => ['--output', '/dev/null', url]).flat(),
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    // curl's own --max-time bounds each transfer; this bounds the whole run.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs * count + 10_000);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout: out, stderr: err });
    });
  });
  if (code !== 0) throw new Error(`curl exited with ${String(code)}: ${stderr.trim().slice(0, 300)}`);
  const transfers = stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [status, bytes, firstByte, total] = line.split(' ').map(Number);
      if (status === undefined || bytes === undefined || firstByte === undefined || total === undefined || !Number.isFinite(total)) {
        throw new Error(`unexpected curl output: ${line}`);
      }
      return { status, bytes, firstByteMs: firstByte * 1e3, totalMs: total * 1e3 };
    });
  if (transfers.length !== count) throw new Error(`curl reported ${transfers.length} transfers, not ${count}`);
  const bad = transfers.find((transfer) => transfer.status !== 200);
  if (bad !== undefined) throw new Error(`${url} answered ${bad.status}`);
  return transfers;
}

/** `scrapers` curl processes at once, each doing `count` scrapes: concurrent scrapers of one target. */
export async function concurrentCurlScrapes(url: string, scrapers: number, count: number, options: CurlOptions): Promise<CurlTransfer[]> {
  const results = await Promise.all(Array.from({ length: scrapers }, () => curlScrapes(url, count, options)));
  return results.flat();
}
