// The Pushgateway's push API: PUT, POST and DELETE on /metrics/job/<job>{/<label>/<value>} (and
// the @base64 forms), and PUT /api/v1/admin/wipe behind its own flag. Only from the networks
// --push.allowed-networks lists (loopback by default). Bodies are read here, with a size limit
// (also on the gunzipped size) and a time limit, then parsed (text 0.0.4 with the core parser,
// or protobuf delimited), and handed to the push target, which answers only once the group's
// file is durable. No lock is held across a request, so no request can hang a route (the
// Pushgateway's bug B2).
import { gunzip } from 'node:zlib';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { parseDuration } from '../core/duration.js';
import { familyNeedsEscaping } from '../core/escaping.js';
import { parseGroupingPath, type GroupingKey } from '../core/grouping-key.js';
import { parseExposition } from '../core/parse.js';
import { decodeDelimitedMetricFamilies } from '../core/protobuf-delimited.js';
import type { MetricFamily } from '../core/types.js';
import { networkAllowList } from './cidr.js';

export const PUSH_ROUTE_PREFIX = '/metrics/job';
export const ADMIN_WIPE_PATH = '/api/v1/admin/wipe';
/** The per-push TTL: this header, or the `ttl` query parameter. */
export const TTL_HEADER = 'x-promdrop-ttl';

/** Why a push was refused; the label values of promdrop_push_rejected_total. The route itself
 *  refuses for the first five (a body over the limit: too_large); the push target (a group file
 *  over the limit: too_large too) for the others. */
export type PushRejectReason =
  'forbidden' | 'grouping_key' | 'too_large' | 'timeout' | 'parse' | 'timestamp' | 'invalid' | 'inconsistent' | 'too_many_groups' | 'write_failed';

export const PUSH_REJECT_REASONS: readonly PushRejectReason[] = [
  'forbidden',
  'grouping_key',
  'too_large',
  'timeout',
  'parse',
  'timestamp',
  'invalid',
  'inconsistent',
  'too_many_groups',
  'write_failed',
];

export type PushOutcome = { readonly ok: true } | { readonly ok: false; readonly status: number; readonly reason: PushRejectReason; readonly message: string };

/** What the routes need from the pushed groups (src/push/pushed-groups.ts, which satisfies it
 *  structurally: its outcomes' reasons are a subset of the ones above). */
export interface PushTarget {
  push(method: 'PUT' | 'POST', key: GroupingKey, families: readonly MetricFamily[], ttlMs: number | undefined): Promise<PushOutcome>;
  delete(key: GroupingKey): Promise<void>;
  wipe(): Promise<void>;
}

export interface PushCounters {
  pushAccepted(method: 'PUT' | 'POST' | 'DELETE'): void;
  pushRejected(reason: PushRejectReason): void;
}

export interface PushRoutesOptions {
  readonly target: PushTarget;
  readonly counters: PushCounters;
  /** CIDRs pushes may come from (requests over a unix socket always may). */
  readonly allowedNetworks: readonly string[];
  /** Largest body, before and after gunzip. */
  readonly maxBodyBytes: number;
  /** The whole body must arrive within this. */
  readonly bodyTimeoutMs: number;
  readonly adminApi: boolean;
  /** --push.enable-utf8-names: UTF-8 metric and label names in bodies, `U__` label names in
   *  grouping keys (Pushgateway 1.11). Without it, only legacy names, as the Pushgateway. */
  readonly utf8Names?: boolean;
}

const PROTOBUF_MEDIA_TYPE = 'application/vnd.google.protobuf';
const PLAIN = 'text/plain; charset=utf-8';

class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: PushRejectReason,
    message: string,
  ) {
    super(message);
  }
}

export const pushRoutes: FastifyPluginCallback<PushRoutesOptions> = (app, options, done) => {
  const { target, counters, maxBodyBytes, bodyTimeoutMs } = options;
  const utf8Names = options.utf8Names === true;
  const allowed = networkAllowList(options.allowedNetworks);

  // Encapsulated: these parsers apply only to the push routes. Every body is read as bytes,
  // whatever its Content-Type (the Pushgateway parses anything but protobuf as text).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, finish) => {
    readBody(payload, maxBodyBytes, bodyTimeoutMs).then(
      (body) => finish(null, body),
      (error: unknown) => finish(error as Error, undefined),
    );
  });

  app.addHook('onRequest', (request, reply, next) => {
    const address = request.socket.remoteAddress;
    if (address === undefined || allowed(address)) {
      next();
      return;
    }
    counters.pushRejected('forbidden');
    // Answered here: the route's handler never runs.
    void reply.code(403).type(PLAIN).send(`pushing from ${address} is not allowed (--push.allowed-networks)\n`);
  });

  app.setErrorHandler(async (error: unknown, _request, reply) => {
    if (error instanceof BodyError) {
      counters.pushRejected(error.reason);
      await reply.code(error.statusCode).header('Connection', 'close').type(PLAIN).send(`${error.message}\n`);
      return;
    }
    const statusCode = typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    await reply
      .code(statusCode)
      .type(PLAIN)
      .send(`${error instanceof Error ? error.message : String(error)}\n`);
  });

  for (const prefix of [PUSH_ROUTE_PREFIX, `${PUSH_ROUTE_PREFIX}@base64`]) {
    app.route({ method: ['PUT', 'POST', 'DELETE'], url: `${prefix}/*`, handler: handlePush });
    // A push URL exists whatever the method: the Pushgateway answers 405 to the others, and a
    // 404 would read as a wrong path. (Allow lists what is served here; no OPTIONS.)
    app.get(`${prefix}/*`, async (_request, reply) => {
      await reply.code(405).header('Allow', 'DELETE, POST, PUT').type(PLAIN).send('Method Not Allowed\n');
    });
  }
  if (options.adminApi) {
    app.put(ADMIN_WIPE_PATH, async (_request, reply) => {
      await target.wipe();
      await reply.code(202).send();
    });
  }

  async function handlePush(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const fail = async (status: number, reason: PushRejectReason, message: string): Promise<void> => {
      counters.pushRejected(reason);
      await reply.code(status).type(PLAIN).send(`${message}\n`);
    };
    const key = groupingKeyOf(request.raw.url ?? '', utf8Names);
    if (!key.ok) return fail(400, 'grouping_key', key.message);
    const method = request.method as 'PUT' | 'POST' | 'DELETE';
    if (method === 'DELETE') {
      await target.delete(key.key);
      counters.pushAccepted('DELETE');
      // 202 as the Pushgateway, but the group is gone (durably) by the time it is sent.
      await reply.code(202).send();
      return;
    }
    const ttl = ttlOf(request);
    if (!ttl.ok) return fail(400, 'parse', ttl.message);
    let body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const encoding = String(request.headers['content-encoding'] ?? '')
      .trim()
      .toLowerCase();
    if (encoding === 'gzip') {
      const inflated = await gunzipLimited(body, maxBodyBytes);
      if (!inflated.ok) return fail(inflated.status, inflated.status === 413 ? 'too_large' : 'parse', inflated.message);
      body = inflated.bytes;
    } else if (encoding !== '' && encoding !== 'identity') {
      return fail(415, 'parse', `unsupported Content-Encoding ${JSON.stringify(encoding)}: send the body as is or with gzip`);
    }
    const families = parseBody(body, request.headers['content-type'], utf8Names);
    if (!families.ok) return fail(400, 'parse', families.message);
    const outcome = await target.push(method, key.key, families.families, ttl.ttlMs);
    if (!outcome.ok) return fail(outcome.status, outcome.reason, outcome.message);
    counters.pushAccepted(method);
    await reply.code(200).send();
  }

  done();
};

/** The grouping key from the raw URL, percent-decoded before splitting as Go's router does. */
export function groupingKeyOf(rawUrl: string, utf8Names = false): { ok: true; key: GroupingKey } | { ok: false; message: string } {
  const query = rawUrl.indexOf('?');
  const rawPath = query < 0 ? rawUrl : rawUrl.slice(0, query);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, message: `invalid percent-encoding in ${JSON.stringify(rawPath)}: use @base64 for values that are not UTF-8 text` };
  }
  const parsed = parseGroupingPath(path.slice('/metrics/'.length), { utf8Names });
  if (!parsed.ok && /%2f/i.test(rawPath) && parsed.message.startsWith('odd number')) {
    // prom-client and curl users: an encoded slash still splits the path, as in the Pushgateway.
    return { ok: false, message: `${parsed.message} (a %2F in the URL is a path separator: send values containing "/" as <name>@base64/<base64url value>)` };
  }
  return parsed;
}

function ttlOf(request: FastifyRequest): { ok: true; ttlMs: number | undefined } | { ok: false; message: string } {
  const header = request.headers[TTL_HEADER];
  const query = (request.query as Record<string, unknown> | undefined)?.['ttl'];
  const texts = [typeof header === 'string' ? header : undefined, typeof query === 'string' ? query : undefined].filter(
    (text): text is string => text !== undefined,
  );
  if (texts.length === 0) return { ok: true, ttlMs: undefined };
  if (texts.length === 2 && texts[0] !== texts[1])
    return { ok: false, message: `the X-Promdrop-TTL header (${texts[0]}) and the ttl parameter (${texts[1]}) differ` };
  const ms = parseDuration(texts[0]!.trim());
  if (ms === undefined || ms === 0)
    return { ok: false, message: `invalid TTL ${JSON.stringify(texts[0])}: expected a Prometheus duration greater than 0, such as 90s, 15m or 26h` };
  return { ok: true, ttlMs: ms };
}

function parseBody(body: Buffer, contentType: string | undefined, utf8Names: boolean): { ok: true; families: MetricFamily[] } | { ok: false; message: string } {
  if (isDelimitedProtobuf(contentType)) {
    const decoded = decodeDelimitedMetricFamilies(body);
    if (!decoded.ok) return { ok: false, message: `protobuf body: ${decoded.message}` };
    // Protobuf carries any name; the Pushgateway without UTF-8 names refuses what is not legacy.
    const utf8 = utf8Names ? undefined : decoded.families.find((family) => familyNeedsEscaping(family));
    if (utf8 !== undefined)
      return { ok: false, message: `protobuf body: ${JSON.stringify(utf8.name)} has a UTF-8 name; start with --push.enable-utf8-names to accept it` };
    return decoded;
  }
  if (body.length === 0) return { ok: true, families: [] };
  const parsed = parseExposition(body, { nameValidation: utf8Names ? 'utf8' : 'legacy' });
  if (!parsed.ok) return { ok: false, message: `text format parsing error in line ${parsed.error.line}: ${parsed.error.message}` };
  return { ok: true, families: parsed.families };
}

/** The Pushgateway's test: the protobuf media type with proto=...MetricFamily and encoding=delimited. */
function isDelimitedProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim());
  if (mediaType?.toLowerCase() !== PROTOBUF_MEDIA_TYPE) return false;
  const values = new Map(
    parameters.map((parameter) => {
      const equals = parameter.indexOf('=');
      return [
        parameter.slice(0, equals).trim().toLowerCase(),
        parameter
          .slice(equals + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      ] as const;
    }),
  );
  return values.get('proto') === 'io.prometheus.client.MetricFamily' && values.get('encoding') === 'delimited';
}

function readBody(payload: NodeJS.ReadableStream, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: BodyError | undefined): void => {
      clearTimeout(timer);
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      if (error === undefined) resolve(Buffer.concat(chunks, size));
      else {
        // Stop reading: the connection is closed after the answer.
        payload.pause();
        reject(error);
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) finish(new BodyError(413, 'too_large', `request body is larger than ${maxBytes} bytes (--push.max-body-size)`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (error: Error): void => finish(new BodyError(400, 'parse', `cannot read the request body: ${error.message}`));
    const timer = setTimeout(() => finish(new BodyError(408, 'timeout', `request body not received within ${timeoutMs} ms (--push.body-timeout)`)), timeoutMs);
    timer.unref();
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}

function gunzipLimited(body: Buffer, maxBytes: number): Promise<{ ok: true; bytes: Buffer } | { ok: false; status: number; message: string }> {
  return new Promise((resolve) => {
    gunzip(body, { maxOutputLength: maxBytes }, (error, result) => {
      if (error === null) resolve({ ok: true, bytes: result });
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        resolve({ ok: false, status: 413, message: `gunzipped request body is larger than ${maxBytes} bytes (--push.max-body-size)` });
      } else if ((error as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' && body.length >= 2 && (body[0] !== 0x1f || body[1] !== 0x8b)) {
        resolve({ ok: false, status: 400, message: 'gzip: invalid header' });
      } else resolve({ ok: false, status: 400, message: `gzip: ${error.message}` });
    });
  });
}
