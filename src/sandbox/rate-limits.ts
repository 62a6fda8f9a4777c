import { RateCategory } from '../zoom/operations';
import {
  DEFAULT_PLAN,
  overrideRateLimits,
  RATE_WINDOW_MS,
  RateLimits,
  resolveRateLimits,
  ZoomPlan,
} from '../zoom/rate-limiter';
import { nextUtcMidnight } from '../zoom/error-mapping';
import { ZoomHttpError } from './http';

/**
 * The sandbox's enforcement of Zoom's rate limits (Zoom's error and rate-limit pages: developers.zoom.us/docs/api/errors/ and /docs/api/rate-limits/):
 * per-second limits per account and category, and the per-host 100 meeting create/update calls per
 * UTC day.
 *
 * Counting rule, the same as the client's AccountRateLimiter: a sliding one-second window. A call
 * arriving at time t is accepted when fewer than `limit` calls of its category were accepted in
 * (t - 1000 ms, t]. A client that releases each call at least 1000 ms after the call `limit` calls
 * before it therefore never finds `limit` earlier calls inside that window, so it never gets a 429.
 * Rejected calls are not counted (in either limit); that only makes the sandbox more lenient than
 * the client, which counts every call it releases.
 */

export const PER_SECOND_LIMIT_MESSAGE =
  'You have reached the maximum per-second rate limit for this API. Try again later.';

export function hostDailyLimitMessage(limit: number): string {
  return `You have exceeded the daily rate limit (${limit}) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00.`;
}

export const DEFAULT_HOST_DAILY_LIMIT = 100;

export interface SandboxRateLimitsOptions {
  plan?: ZoomPlan;
  limits?: Partial<RateLimits>;
  /** Meeting create/update calls per host user per UTC day. */
  hostDailyLimit?: number;
  now?: () => number;
}

export interface RateLimitCheck {
  category: RateCategory;
  /** The call counts toward the host's daily create/update limit (OPERATIONS[op].hostDaily). */
  hostDaily?: boolean;
  /** The meeting host's user id (not "me"): Zoom applies the daily limit to the host. */
  hostUserId?: string;
}

export class SandboxRateLimits {
  private limits: RateLimits;
  private hostDailyLimit: number;
  private readonly now: () => number;
  /** Arrival times of accepted calls still inside the window, oldest first. */
  private readonly accepted: Record<RateCategory, number[]> = { Light: [], Medium: [], Heavy: [] };
  /** Per host user: the UTC day (YYYY-MM-DD) counted and the create/update calls accepted that day. */
  private readonly hostDays = new Map<string, { day: string; count: number }>();

  constructor(opts: SandboxRateLimitsOptions = {}) {
    this.limits = resolveRateLimits(opts.plan ?? DEFAULT_PLAN, opts.limits);
    this.hostDailyLimit = checkedDailyLimit(opts.hostDailyLimit ?? DEFAULT_HOST_DAILY_LIMIT);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Changes limits at run time; what is not given stays as it was. A new plan replaces every
   * per-second limit before `limits` overrides apply. Counters are kept: call reset() to clear them.
   */
  setLimits(opts: { plan?: ZoomPlan; limits?: Partial<RateLimits>; hostDailyLimit?: number }): void {
    const limits = overrideRateLimits(opts.plan ? resolveRateLimits(opts.plan) : this.limits, opts.limits);
    const hostDailyLimit = checkedDailyLimit(opts.hostDailyLimit ?? this.hostDailyLimit);
    this.limits = limits;
    this.hostDailyLimit = hostDailyLimit;
  }

  /** Forgets every counted call, per-second and daily. */
  reset(): void {
    for (const times of Object.values(this.accepted)) times.length = 0;
    this.hostDays.clear();
  }

  /**
   * Counts one call. Returns the rate-limit headers for the response, or throws a 429 ZoomHttpError
   * when the call is over a limit (and then counts nothing).
   */
  check(input: RateLimitCheck): Record<string, string> {
    const { category } = input;
    const now = this.now();
    const limit = this.limits[category];
    const accepted = this.accepted[category];
    while (accepted.length > 0 && accepted[0] <= now - RATE_WINDOW_MS) accepted.shift();
    if (accepted.length >= limit) {
      // Zoom's docs do not confirm that every per-second 429 carries Retry-After; the sandbox sends
      // one second, the longest a sliding one-second window can make a caller wait.
      throw new ZoomHttpError(429, 429, PER_SECOND_LIMIT_MESSAGE, {
        'X-RateLimit-Category': category,
        'X-RateLimit-Type': 'QPS',
        'Retry-After': '1',
      });
    }

    let daily: { day: string; count: number } | undefined;
    if (input.hostDaily) {
      if (!input.hostUserId)
        throw new Error('SandboxRateLimits.check: a hostDaily call needs hostUserId (the meeting host).');
      const today = utcDay(now);
      daily = this.hostDays.get(input.hostUserId);
      if (!daily || daily.day !== today) daily = { day: today, count: 0 };
      if (daily.count >= this.hostDailyLimit) {
        throw new ZoomHttpError(429, 429, hostDailyLimitMessage(this.hostDailyLimit), {
          'X-RateLimit-Category': category,
          'X-RateLimit-Type': 'Daily-limit',
          'X-RateLimit-Limit': String(this.hostDailyLimit),
          'X-RateLimit-Remaining': '0',
          'Retry-After': isoSeconds(nextUtcMidnight(new Date(now))),
        });
      }
      daily.count += 1;
      this.hostDays.set(input.hostUserId, daily);
    }
    accepted.push(now);

    // Like Zoom: create/update answers show the host's daily counter, other calls the per-second one.
    if (daily) {
      return {
        'X-RateLimit-Category': category,
        'X-RateLimit-Type': 'Daily-limit',
        'X-RateLimit-Limit': String(this.hostDailyLimit),
        'X-RateLimit-Remaining': String(this.hostDailyLimit - daily.count),
      };
    }
    return {
      'X-RateLimit-Category': category,
      'X-RateLimit-Type': 'QPS',
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(limit - accepted.length),
    };
  }
}

function checkedDailyLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`hostDailyLimit must be a whole number >= 1, got ${limit}.`);
  return limit;
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Zoom's Retry-After form: 2020-05-31T00:00:00Z, no milliseconds. */
function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
