import { RateCategory } from './operations';
import { waitAtMost } from './wait';

/**
 * Client-side pacing for Zoom's per-second, per-account rate limits (developers.zoom.us/docs/api/rate-limits/),
 * so a burst of calls waits here instead of earning 429s from Zoom.
 *
 * Counting rule (the sandbox's SandboxRateLimits uses the same one): a sliding one-second window.
 * A call released at time t is allowed when fewer than `limit` calls of its category were released
 * in (t - 1000 ms, t]. Equivalently, the call released now must come at least one window after the
 * call released `limit` calls before it. Any window of 1000 ms then holds at most `limit` calls,
 * which is exactly what the sandbox checks, so pacing with the same plan never triggers its 429.
 *
 * Calls are also spread evenly, one every (window / limit): released all at once, `limit` requests
 * reach Zoom spread over however long the network and server take to absorb the burst, and that
 * spread, not the release time, is what Zoom counts. Evenly spaced calls arrive as they were sent.
 */

export type ZoomPlan = 'free' | 'pro' | 'business';

export type RateLimits = Record<RateCategory, number>;

/** Calls per second per account, by plan and category. "business" is Business+ (Business, Education, Enterprise, Partners). */
export const RATE_PLANS: Readonly<Record<ZoomPlan, Readonly<RateLimits>>> = {
  free: { Light: 4, Medium: 2, Heavy: 1 },
  pro: { Light: 30, Medium: 20, Heavy: 10 },
  business: { Light: 80, Medium: 60, Heavy: 40 },
};

export const DEFAULT_PLAN: ZoomPlan = 'pro';

/** The window Zoom's per-second limits are counted over. */
export const RATE_WINDOW_MS = 1000;

/**
 * Extra time added to the client's window. A percentage margin (say pacing at 90%) would cost 10%
 * of throughput on every long burst, yet what it must cover is not the rate but timing skew: a call
 * released here reaches Zoom a few milliseconds later than another. That skew is a fixed amount of
 * time, so the margin is a fixed time too. 50 ms costs about 5% on a long burst (1,000 creates at
 * 20/s take about 51.5 s instead of 50 s) and absorbs latency differences of up to 50 ms.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 50;

/** A plan's limits with any per-category overrides applied. */
export function resolveRateLimits(plan: ZoomPlan = DEFAULT_PLAN, overrides: Partial<RateLimits> = {}): RateLimits {
  const base = RATE_PLANS[plan];
  if (!base) throw new RangeError(`Unknown Zoom plan "${String(plan)}"; expected free, pro or business.`);
  return overrideRateLimits(base, overrides);
}

/** A copy of `base` with the given categories replaced; every limit must be a whole number >= 1. */
export function overrideRateLimits(base: Readonly<RateLimits>, overrides: Partial<RateLimits> = {}): RateLimits {
  const limits: RateLimits = { ...base };
  for (const category of Object.keys(overrides) as RateCategory[]) {
    const limit = overrides[category];
    if (limit === undefined) continue;
    if (!(category in base)) throw new RangeError(`Unknown rate-limit category "${category}".`);
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`The ${category} rate limit must be a whole number of calls per second >= 1, got ${limit}.`);
    limits[category] = limit;
  }
  return limits;
}

export interface AccountRateLimiterOptions {
  plan?: ZoomPlan;
  limits?: Partial<RateLimits>;
  /** Added to the one-second window; see DEFAULT_SAFETY_MARGIN_MS. 0 paces exactly at Zoom's limit. */
  safetyMarginMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Paces calls for one Zoom account. Share one instance for every call the process makes on that
 * account: the limits are per account, not per client or per host user.
 */
export class AccountRateLimiter {
  readonly limits: Readonly<RateLimits>;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Release times of the most recent calls, oldest first; never more than the category's limit. */
  private readonly released: Record<RateCategory, number[]> = { Light: [], Medium: [], Heavy: [] };
  /** No call of the category is released before this time (set by penalize). */
  private readonly blockedUntil: Record<RateCategory, number> = {
    Light: -Infinity,
    Medium: -Infinity,
    Heavy: -Infinity,
  };
  /** The last caller in line per category: each acquire waits for the one before it, which gives FIFO order. */
  private readonly queueTail: Record<RateCategory, Promise<void>> = {
    Light: Promise.resolve(),
    Medium: Promise.resolve(),
    Heavy: Promise.resolve(),
  };

  constructor(opts: AccountRateLimiterOptions = {}) {
    this.limits = resolveRateLimits(opts.plan, opts.limits);
    const margin = opts.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
    if (!Number.isFinite(margin) || margin < 0) throw new RangeError(`safetyMarginMs must be >= 0, got ${margin}.`);
    this.windowMs = RATE_WINDOW_MS + margin;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Resolves when a call of this category may be sent; callers are served in the order they asked.
   * An aborted caller leaves the line at once (rejecting) and takes no slot.
   */
  acquire(category: RateCategory, signal?: AbortSignal): Promise<void> {
    const turn = this.queueTail[category].then(() => this.waitForSlot(category, signal));
    // A failed wait (a throwing sleep, an aborted caller) must not stall everyone queued behind it.
    this.queueTail[category] = turn.catch(() => undefined);
    return waitAtMost(turn, signal);
  }

  /** Zoom answered 429 anyway: hold every later call of this category until now + retryAfterMs. */
  penalize(category: RateCategory, retryAfterMs: number): void {
    if (!Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return;
    this.blockedUntil[category] = Math.max(this.blockedUntil[category], this.now() + retryAfterMs);
  }

  private async waitForSlot(category: RateCategory, signal?: AbortSignal): Promise<void> {
    const released = this.released[category];
    const limit = this.limits[category];
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      // The call `limit` releases back must be at least one window old before another may go.
      const windowFreeAt = released.length < limit ? -Infinity : released[released.length - limit] + this.windowMs;
      const spacedAt = released.length === 0 ? -Infinity : released[released.length - 1] + this.windowMs / limit;
      const readyAt = Math.max(windowFreeAt, spacedAt, this.blockedUntil[category]);
      if (now >= readyAt) {
        released.push(now);
        if (released.length > limit) released.shift();
        return;
      }
      // Check again after waking: penalize may have pushed the time further while we slept.
      await this.sleep(readyAt - now);
    }
  }
}
