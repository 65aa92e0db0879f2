// Basic auth against bcrypt hashes, the way exporter-toolkit checks it:
// - an unknown user costs one bcrypt comparison, like a wrong password, so the time of a 401
//   does not tell which user names exist;
// - a successful check is remembered (keyed by a SHA-256 of user, hash and password, so the
//   password itself is not kept and a changed hash is a miss), so that a scrape every 15 s does
//   not pay ~65 ms of bcrypt every time;
// - concurrent checks of the same credentials share one comparison (single flight), and
//   comparisons run one at a time, so a burst of scrapes or a guessing client costs one core's
//   slice of the event loop at most, not all of it.
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The credentials of an `Authorization: Basic …` header, or undefined (absent, another scheme, malformed). */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Paths of the push API (issue #6): pushing, replacing or deleting a group, and the admin API. */
const PUSH_PATH_PREFIX = '/metrics/job/';
const ADMIN_PATH_PREFIX = '/api/v1/admin/';
const PUSH_METHODS: ReadonlySet<string> = new Set(['PUT', 'POST', 'DELETE']);

/**
 * Whether a request is a push (writes metrics or administers them) rather than a read: PUT, POST
 * or DELETE under /metrics/job/, or anything under /api/v1/admin/. `path` is without the query.
 */
export function isPushRequest(method: string, path: string): boolean {
  if (path.startsWith(ADMIN_PATH_PREFIX)) return true;
  return path.startsWith(PUSH_PATH_PREFIX) && PUSH_METHODS.has(method.toUpperCase());
}

/** Bound on remembered successes; beyond it the oldest is forgotten (only right passwords get in). */
const CACHE_LIMIT = 1024;

export type Compare = (password: string, hash: string) => Promise<boolean>;

export class BasicAuthChecker {
  private readonly verified = new Set<string>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  /** The tail of the queue of comparisons: each waits for the one before. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly compare: Compare = (password, hash) => bcrypt.compare(password, hash)) {}

  /** Whether `credentials` match one of `users` (user → bcrypt hash). */
  check(users: ReadonlyMap<string, string>, credentials: Credentials): boolean | Promise<boolean> {
    const hash = users.get(credentials.user);
    if (hash === undefined) {
      // Costs what a known user's wrong password costs: the same comparison, against a real
      // hash of these users (same cost factor), its answer thrown away.
      const decoy = users.values().next().value;
      if (decoy === undefined) return false;
      return this.serialised(() => this.compare(credentials.password, decoy)).then(() => false);
    }
    const key = createHash('sha256').update(credentials.user).update('\0').update(hash).update('\0').update(credentials.password).digest('hex');
    if (this.verified.has(key)) return true;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const result = this.serialised(() => this.compare(credentials.password, hash))
      .then((match) => {
        if (match) this.remember(key);
        return match;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, result);
    return result;
  }

  private remember(key: string): void {
    if (this.verified.size >= CACHE_LIMIT) {
      const oldest = this.verified.values().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.add(key);
  }

  private serialised(run: () => Promise<boolean>): Promise<boolean> {
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
