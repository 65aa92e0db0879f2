// HTTPS (and HTTP/2, negotiated by ALPN next to HTTP/1.1, as Go's server does) for
// tls_server_config, with the certificate, key, CA and TLS settings re-read for each new
// connection, as the toolkit's GetConfigForClient does: the reloader is asked before the
// handshake starts, and a changed config replaces the server's secure context in place.
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { HTTP1_TIMEOUTS, type RequestHandler, type RequestServer, type ServerFactory } from '../listen.js';
import type { WebConfigReloader } from './reloader.js';
import { clientCertificateRefusal, type TlsServerOptions } from './tls-options.js';

/** tls.Server's per-connection settings, read by Node for each connection but not in its types. */
interface ClientCertificateSettings {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** A server factory for HttpListeners; the reloader's config must have TLS on. */
export function tlsServerFactory(reloader: WebConfigReloader): ServerFactory {
  return (handler: RequestHandler): RequestServer => {
    const initial = reloader.current();
    let applied = requireTls(initial.tls);
    const options = { ...applied.secureContext, requestCert: applied.requestCert, rejectUnauthorized: applied.rejectUnauthorized };
    const server: RequestServer & TlsServer = initial.config.http2
      ? createSecureServer({ ...options, allowHTTP1: true }, handler)
      : createHttpsServer({ ...options, ...HTTP1_TIMEOUTS }, handler);
    // Prepended, so it runs before tls.Server's own 'connection' listener, which starts the
    // handshake with whatever context the server holds at that moment.
    server.prependListener('connection', () => {
      const current = reloader.current().tls;
      if (current === undefined || current === applied) return;
      applied = current;
      server.setSecureContext(current.secureContext);
      const settings = server as unknown as ClientCertificateSettings;
      settings.requestCert = current.requestCert;
      settings.rejectUnauthorized = current.rejectUnauthorized;
    });
    answerPlainHttp(server);
    server.on('secureConnection', (socket: TLSSocket) => {
      if (clientCertificateRefusal(socket, applied) !== undefined) socket.destroy();
    });
    return server;
  };
}

/** Go's net/http answer to plain HTTP on a TLS listener, which node_exporter and the Pushgateway
 *  give through exporter-toolkit: `curl http://` then says what is wrong instead of "Empty reply
 *  from server". */
export const PLAIN_HTTP_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
/** The first five bytes by which Go recognises an HTTP request (tlsRecordHeaderLooksLikeHTTP). */
const HTTP_STARTS = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];
/** tls.Server's own handshake timeout, applied to the wait for the first bytes as well. */
const FIRST_BYTES_TIMEOUT_MS = 120_000;

/**
 * Looks at a connection's first bytes before the TLS handshake starts: an HTTP request gets
 * PLAIN_HTTP_ANSWER and is closed; anything else goes to the TLS server as it came (TLSSocket
 * takes over what was read and put back). Done by holding back tls.Server's own 'connection'
 * listeners, which start the handshake at once.
 */
function answerPlainHttp(server: TlsServer): void {
  const handshake = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (HTTP_STARTS.includes(first.toString('latin1', 0, 5))) {
        socket.end(PLAIN_HTTP_ANSWER);
        return;
      }
      socket.unshift(first);
      for (const listener of handshake) listener.call(server, socket);
    });
  });
}

function requireTls(tls: TlsServerOptions | undefined): TlsServerOptions {
  if (tls === undefined) throw new Error('tlsServerFactory needs a web config with tls_server_config');
  return tls;
}
