// A plain HTTP GET for the harness's own probes (readiness polls, write-to-visible polls, the
// in-place rewrite's scrapes). node:http rather than fetch: no stream adapters or decoding between
// the socket and the Buffer, so the probe adds as little as possible to what it measures.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** A keep-alive agent for polls that reuse one connection; default: a new connection. */
  readonly agent?: Agent;
  readonly timeoutMs: number;
}

export function httpGet(url: string, options: HttpGetOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: options.headers, agent: options.agent ?? false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer within ${options.timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

/** A connection pool of one kept-alive socket: polls in a loop measure the server, not connects. */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

/** GET that insists on 200 and returns the body as text. */
export async function fetchText(url: string, options: HttpGetOptions): Promise<string> {
  const response = await httpGet(url, options);
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${response.body.toString('utf8').slice(0, 200)}`);
  return response.body.toString('utf8');
}
