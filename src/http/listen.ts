// Listening on --web.listen-address, which (as in every Prometheus exporter) may be given more
// than once and uses Go's host:port syntax, where an empty host means every interface. fastify
// binds one server per instance, so each address gets a plain node:http server that hands its
// requests to the same fastify router: one application, any number of sockets, one way to close.
// With --web.systemd-socket the sockets are not bound here but adopted from the fds systemd passed.
// With TLS (--web.config.file), the servers come from the web config's factory instead.
import { fstatSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Server as HttpsServer } from 'node:https';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { ListenAddress } from './listen-address.js';

export type { ListenAddress } from './listen-address.js';

export type RequestHandler = (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) => void;
/** A server that hands every request to `handler`: plain HTTP, HTTPS, or HTTP/2 with HTTP/1.1 next to it. */
export type RequestServer = Server | HttpsServer | Http2SecureServer;
export type ServerFactory = (handler: RequestHandler) => RequestServer;

/**
 * A scraper sends its request at once; a client that trickles its headers (slowloris) holds a
 * descriptor for nothing. Node's defaults keep it for 60 s and check only every 30 s, so a few
 * hundred such clients could exhaust the agent's descriptors (found by the hostile-input tests):
 * headers must arrive within 10 s, checked every second. For HTTP/1.1 servers, plain or TLS.
 */
export const HTTP1_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 60_000, connectionsCheckingInterval: 1_000 } as const;

const plainHttp: ServerFactory = (handler) => createServer(HTTP1_TIMEOUTS, handler);

/** The bound address as Go prints it: `[::]:10049`, `127.0.0.1:10049`. */
export function formatBoundAddress(info: AddressInfo): string {
  return info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

/**
 * One listening socket plus what a graceful stop needs: which connections are busy answering.
 * Node's own server.close() destroys every connection whose response has been *ended*, even
 * when megabytes of it still sit unsent in the socket's buffer (seen on Node 20 with a 12 MB
 * scrape: the client got 3.9 MB). So a connection counts as busy from its request until its
 * response is flushed ('finish'), and only idle connections are closed.
 */
class DrainableServer {
  private readonly busy = new Map<Socket, number>();
  /** The sockets requests arrive on: TCP for HTTP, TLS for HTTPS. */
  private readonly sockets = new Set<Socket>();
  /** Every TCP connection, TLS handshakes in progress included, for destroyAll. */
  private readonly connections = new Set<Socket>();
  /** HTTP/2 sessions: they are drained by closing the session, which lets its streams finish. */
  private readonly sessions = new Set<Http2Session>();
  private draining = false;

  constructor(readonly server: RequestServer) {
    const track = (set: Set<Socket>) => (socket: Socket) => {
      set.add(socket);
      socket.once('close', () => {
        set.delete(socket);
        this.busy.delete(socket);
      });
    };
    server.on('connection', track(this.connections));
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', track(this.sockets));
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    server.on('request', (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) => {
      if (request.httpVersionMajor === 2) return;
      const socket = request.socket as Socket;
      this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
      let done = false;
      const settle = (): void => {
        if (done) return;
        done = true;
        const left = (this.busy.get(socket) ?? 1) - 1;
        if (left > 0) {
          this.busy.set(socket, left);
          return;
        }
        this.busy.delete(socket);
        // The response is in the kernel's hands: closing now loses nothing.
        if (this.draining) socket.destroy();
      };
      response.once('finish', settle);
      response.once('close', settle);
    });
  }

  /** Stops accepting, closes idle connections now and busy ones once their response is out. */
  drain(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      // net.Server's close only stops accepting (see the class comment for http.Server's).
      NetServer.prototype.close.call(this.server, () => resolve());
    });
    for (const session of this.sessions) session.close();
    for (const socket of this.sockets) if (!this.busy.has(socket) && !isHttp2(socket)) socket.destroy();
    return closed;
  }

  destroyAll(): void {
    for (const socket of this.connections) socket.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}

export class HttpListeners {
  private constructor(private readonly servers: readonly DrainableServer[]) {}

  /** Binds every address or none: if one fails (in use, no permission), the others are closed. */
  static async open(app: FastifyInstance, addresses: readonly ListenAddress[], createServer: ServerFactory = plainHttp): Promise<HttpListeners> {
    await app.ready();
    const servers: DrainableServer[] = [];
    try {
      for (const address of addresses) servers.push(new DrainableServer(await listenOne(app, address, createServer)));
    } catch (error) {
      await Promise.all(servers.map((server) => server.drain()));
      throw error;
    }
    return new HttpListeners(servers);
  }

  /**
   * Listens on sockets that are already bound and listening (systemd socket activation), all or
   * none, like open(). Each fd is checked first: libuv's bare EINVAL would not say which fd is wrong.
   */
  static async adopt(app: FastifyInstance, fds: readonly number[], createServer: ServerFactory = plainHttp): Promise<HttpListeners> {
    await app.ready();
    const servers: DrainableServer[] = [];
    try {
      for (const fd of fds) servers.push(new DrainableServer(await adoptOne(app, fd, createServer)));
    } catch (error) {
      await Promise.all(servers.map((server) => server.drain()));
      throw error;
    }
    return new HttpListeners(servers);
  }

  /** Where the sockets are bound, in the order the addresses (or fds) were given; a Unix socket by its path. */
  boundAddresses(): string[] {
    return this.servers.map(({ server }) => {
      const address = server.address();
      return typeof address === 'string' ? address : address === null ? 'unknown' : formatBoundAddress(address);
    });
  }

  /**
   * Stops accepting connections, lets the responses in flight go out whole (idle keep-alive
   * connections are closed at once), and cuts whatever is still open after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    const drained = Promise.all(this.servers.map((server) => server.drain()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const server of this.servers) server.destroyAll();
        resolve();
      }, graceMs);
    });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
  }
}

async function listenOne(app: FastifyInstance, address: ListenAddress, createServer: ServerFactory): Promise<RequestServer> {
  if (address.host !== undefined) return bind(app, address.host, address.port, createServer);
  try {
    // '::' is dual-stack on Linux unless net.ipv6.bindv6only is set, like Go's ":port".
    return await bind(app, '::', address.port, createServer);
  } catch (error) {
    if (isErrno(error, 'EAFNOSUPPORT') || isErrno(error, 'EADDRNOTAVAIL')) return bind(app, '0.0.0.0', address.port, createServer);
    throw error;
  }
}

/** fastify's router takes HTTP/2's compatibility request and response as it takes HTTP/1's. */
function router(app: FastifyInstance): RequestHandler {
  return (request, response) => app.routing(request as IncomingMessage, response as ServerResponse);
}

function bind(app: FastifyInstance, host: string, port: number, createServer: ServerFactory): Promise<RequestServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(router(app));
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function adoptOne(app: FastifyInstance, fd: number, createServer: ServerFactory): Promise<RequestServer> {
  let isSocket: boolean;
  try {
    isSocket = fstatSync(fd).isSocket();
  } catch (error) {
    return Promise.reject(new Error(`fd ${fd} from systemd is not open (${errorCode(error)}); does LISTEN_FDS count more sockets than the unit passes?`));
  }
  if (!isSocket) return Promise.reject(new Error(`fd ${fd} from systemd is not a socket; the socket unit must use ListenStream=`));
  return new Promise((resolve, reject) => {
    const server = createServer(router(app));
    const onError = (error: Error): void => reject(new Error(`fd ${fd} from systemd: ${error.message} (the socket unit must use ListenStream=)`));
    server.once('error', onError);
    server.listen({ fd }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

function isHttp2(socket: Socket): boolean {
  return (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2';
}

function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : String(error);
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
