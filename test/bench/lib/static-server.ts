// The "limit" peer for serving benchmarks: a bare node:http server answering every request with
// the same prepared buffer. Nothing can serve a body faster from Node, so an agent's figures are
// judged against it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticServer {
  readonly url: string;
  stop(): Promise<void>;
}

export interface StaticServerOptions {
  readonly contentType?: string;
  /** The same body gzip-compressed; served when the request accepts gzip. */
  readonly gzipBody?: Buffer;
}

export async function startStaticServer(body: Buffer, options: StaticServerOptions = {}): Promise<StaticServer> {
  const contentType = options.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
  const gzipBody = options.gzipBody;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const acceptsGzip = gzipBody !== undefined && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
    const payload = acceptsGzip ? gzipBody : body;
    response.writeHead(200, {
      'Content-Type': contentType,
      'Content-Length': payload.length,
      ...(acceptsGzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    response.end(payload);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
