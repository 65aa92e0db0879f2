// The web config's per-request part, as one onRequest hook on the root instance: the configured
// response headers, then basic auth. Added before any route, and not inside an encapsulated
// plugin, so every route is behind it, the 404 answer and routes other modules add later (the
// push API) included: a route cannot be forgotten.
//
// Who may do what:
// - reads (scrapes, the landing page, the JSON API, anything not a push): a user of
//   basic_auth_users, when there are any;
// - pushes (isPushRequest): a user of push_basic_auth_users when that key is set, and then
//   scrape users cannot push nor push users read; without the key, a user of basic_auth_users,
//   as the Pushgateway, which has a single list;
// - the health paths given in `unauthenticatedPaths` (--web.health-without-auth) and the
//   config's auth_excluded_paths: anyone.
// Before any of it, rate_limit (exporter-toolkit v0.15+): a request beyond the limit gets 429,
// whoever sends it, with the configured headers (they hold for every response).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BasicAuthChecker, isPushRequest, parseBasicAuthorization } from './basic-auth.js';
import { RateLimiterSlot } from './rate-limit.js';
import type { WebConfig } from './schema.js';

export interface WebAuthOptions {
  /** The config in force now (the reloader's). */
  readonly current: () => WebConfig;
  /** Exact paths answered without credentials. */
  readonly unauthenticatedPaths: ReadonlySet<string>;
  readonly checker?: BasicAuthChecker;
  /** Clock of the rate limiter, in ms (tests). */
  readonly now?: () => number;
}

export function addWebAuth(app: FastifyInstance, options: WebAuthOptions): void {
  const checker = options.checker ?? new BasicAuthChecker();
  const limiters = new RateLimiterSlot(options.now);
  app.addHook('onRequest', (request, reply, done) => {
    const config = options.current();
    for (const name in config.headers) reply.raw.setHeader(name, config.headers[name]!);
    const limiter = limiters.for(config.rateLimit);
    if (limiter !== undefined && !limiter.allow()) {
      // Go's http.Error(w, "Too Many Requests", 429), as the toolkit answers.
      void reply.code(429).header('X-Content-Type-Options', 'nosniff').type('text/plain; charset=utf-8').send('Too Many Requests\n');
      return;
    }
    const url = request.raw.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const users = isPushRequest(request.method, path) ? (config.pushBasicAuthUsers ?? config.basicAuthUsers) : config.basicAuthUsers;
    if (users.size === 0 || options.unauthenticatedPaths.has(path) || config.authExcludedPaths.has(path)) {
      done();
      return;
    }
    const credentials = parseBasicAuthorization(request.headers.authorization);
    if (credentials === undefined) {
      unauthorized(reply);
      return;
    }
    const verdict = checker.check(users, credentials);
    if (verdict === true) {
      done();
      return;
    }
    if (verdict === false) {
      unauthorized(reply);
      return;
    }
    verdict.then(
      (match) => (match ? done() : unauthorized(reply)),
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

function unauthorized(reply: FastifyReply): void {
  void reply.code(401).header('WWW-Authenticate', 'Basic').type('text/plain; charset=utf-8').send('Unauthorized\n');
}
