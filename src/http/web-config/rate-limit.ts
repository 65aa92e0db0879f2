// exporter-toolkit's rate_limit: one token bucket for the whole server (golang.org/x/time/rate's
// Limiter, which the toolkit uses): it starts full with `burst` tokens, gains one every
// `interval`, never holds more than `burst`, and a request that finds no token is answered 429.
// With burst 0 no request ever gets through, as with the toolkit.
import type { RateLimitSettings } from './schema.js';

export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly settings: RateLimitSettings,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = settings.burst;
    this.last = this.now();
  }

  /** Takes a token if there is one: whether the request may go on. */
  allow(): boolean {
    const now = this.now();
    const { intervalMs, burst } = this.settings;
    this.tokens = Math.min(burst, this.tokens + (now - this.last) / intervalMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * The limiter for the settings in force: the same one while they are unchanged (a new one per
 * request would hand out a fresh burst each time), a new, full one when they change, none
 * without rate_limit. The web config is re-read on change, so this follows it.
 */
export class RateLimiterSlot {
  private limiter: RateLimiter | undefined;

  constructor(private readonly now?: () => number) {}

  for(settings: RateLimitSettings | undefined): RateLimiter | undefined {
    if (settings === undefined) {
      this.limiter = undefined;
      return undefined;
    }
    const current = this.limiter?.settings;
    if (current === undefined || current.intervalMs !== settings.intervalMs || current.burst !== settings.burst) {
      this.limiter = new RateLimiter(settings, this.now);
    }
    return this.limiter;
  }
}
