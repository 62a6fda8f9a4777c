import { RateCategory } from '../src/zoom/operations';
import { AccountRateLimiter, RATE_PLANS, RATE_WINDOW_MS, ZoomPlan } from '../src/zoom/rate-limiter';
import { hostDailyLimitMessage, PER_SECOND_LIMIT_MESSAGE, SandboxRateLimits } from '../src/sandbox/rate-limits';
import { ZoomHttpError } from '../src/sandbox/http';
import { zoomErrorFromResponse } from '../src/zoom/error-mapping';
import { ZoomDailyLimitError, ZoomRateLimitError } from '../src/zoom/errors';

/**
 * Simulated time: sleep() registers a timer, run() fires timers in time order, moving the clock to
 * each, until nothing is left waiting. Thousands of calls over minutes of simulated time take
 * milliseconds of real time.
 */
class VirtualClock {
  private timers: { at: number; resolve: () => void }[] = [];

  constructor(public time = 0) {}

  now = (): number => this.time;

  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => this.timers.push({ at: this.time + Math.max(0, ms), resolve }));

  async run(): Promise<void> {
    for (;;) {
      await settle();
      if (this.timers.length === 0) return;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift()!;
      this.time = Math.max(this.time, next.at);
      next.resolve();
    }
  }
}

/** Lets every queued promise continuation run (setImmediate comes after the microtask queue drains). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function rejection(fn: () => unknown): ZoomHttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ZoomHttpError) return err;
    throw err;
  }
  throw new Error('expected a ZoomHttpError');
}

/** The largest number of times falling in any half-open window [t, t + 1000 ms). */
function busiestWindow(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= RATE_WINDOW_MS) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('AccountRateLimiter', () => {
  it('paces 300 Medium calls at Pro to Zoom floor time, never more than 20 in any second', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({ now: clock.now, sleep: clock.sleep });
    const released: number[] = [];
    const calls = Array.from({ length: 300 }, () => limiter.acquire('Medium').then(() => released.push(clock.now())));
    await clock.run();
    await Promise.all(calls);

    expect(released).toHaveLength(300);
    expect(busiestWindow(released)).toBe(20);
    // 300 / 20 = 15 windows; the first starts at once, so the last call goes out after 14 windows.
    const last = Math.max(...released);
    expect(last).toBeGreaterThanOrEqual(14 * RATE_WINDOW_MS);
    expect(last).toBeLessThanOrEqual(15_000 * 1.1);
  });

  it('with no safety margin paces exactly at the limit', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({ safetyMarginMs: 0, now: clock.now, sleep: clock.sleep });
    const released: number[] = [];
    const calls = Array.from({ length: 300 }, () => limiter.acquire('Medium').then(() => released.push(clock.now())));
    await clock.run();
    await Promise.all(calls);
    // One call every 50 ms: the 300th goes at 299 x 50 ms.
    expect(Math.max(...released)).toBe(14_950);
    expect(busiestWindow(released)).toBe(20);
  });

  it('spreads callers who arrive together evenly over the window', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({ plan: 'free', safetyMarginMs: 0, now: clock.now, sleep: clock.sleep });
    const released: number[] = [];
    for (let i = 0; i < 10; i++) void limiter.acquire('Light').then(() => released.push(clock.now()));
    await settle();
    expect(released).toEqual([0]); // not all four of the free plan's Light calls at once
    await clock.run();
    expect(released).toEqual(Array.from({ length: 10 }, (_, i) => i * (1000 / RATE_PLANS.free.Light)));
  });

  it('serves callers of a category in the order they asked', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({ limits: { Heavy: 2 }, now: clock.now, sleep: clock.sleep });
    const order: number[] = [];
    const calls = Array.from({ length: 9 }, (_, i) => limiter.acquire('Heavy').then(() => order.push(i)));
    await clock.run();
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('lets an aborted caller leave the line at once, without taking a slot from those behind it', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({
      limits: { Heavy: 1 },
      safetyMarginMs: 0,
      now: clock.now,
      sleep: clock.sleep,
    });
    const times: Record<string, number | string> = {};
    const abort = new AbortController();
    const first = limiter.acquire('Heavy').then(() => (times.first = clock.now()));
    const quitter = limiter.acquire('Heavy', abort.signal).then(
      () => (times.quitter = clock.now()),
      (err: Error) => (times.quitter = `${err.message} at ${clock.now()}`),
    );
    const last = limiter.acquire('Heavy').then(() => (times.last = clock.now()));
    abort.abort(new Error('out of time'));
    await clock.run();
    await Promise.all([first, quitter, last]);
    // The quitter is gone before the second window: the last caller takes that window's slot.
    expect(times).toEqual({ first: 0, quitter: 'out of time at 0', last: RATE_WINDOW_MS });

    const gone = new AbortController();
    gone.abort(new Error('cancelled'));
    await expect(limiter.acquire('Heavy', gone.signal)).rejects.toThrow('cancelled');
  });

  it('keeps categories independent', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({ limits: { Light: 1, Medium: 1 }, now: clock.now, sleep: clock.sleep });
    await Promise.all([limiter.acquire('Light'), limiter.acquire('Medium')]);
    expect(clock.now()).toBe(0);
  });

  it('penalize holds later calls of that category until the wait is over', async () => {
    const clock = new VirtualClock(10_000);
    const limiter = new AccountRateLimiter({ now: clock.now, sleep: clock.sleep });
    await limiter.acquire('Medium');
    limiter.penalize('Medium', 5_000);

    const times: Record<string, number> = {};
    const medium = limiter.acquire('Medium').then(() => (times.medium = clock.now()));
    const light = limiter.acquire('Light').then(() => (times.light = clock.now()));
    await clock.run();
    await Promise.all([medium, light]);
    expect(times).toEqual({ medium: 15_000, light: 10_000 });
  });

  it('penalize while a caller is already waiting pushes that caller back too', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({
      limits: { Heavy: 1 },
      safetyMarginMs: 0,
      now: clock.now,
      sleep: clock.sleep,
    });
    await limiter.acquire('Heavy');
    let releasedAt = -1;
    const waiting = limiter.acquire('Heavy').then(() => (releasedAt = clock.now()));
    await settle(); // the caller is now asleep until 1000
    limiter.penalize('Heavy', 3_000);
    await clock.run();
    await waiting;
    expect(releasedAt).toBe(3_000);
  });

  it('a shorter penalty never shortens a longer one', async () => {
    const clock = new VirtualClock();
    const limiter = new AccountRateLimiter({ now: clock.now, sleep: clock.sleep });
    limiter.penalize('Light', 4_000);
    limiter.penalize('Light', 1_000);
    const done = limiter.acquire('Light');
    await clock.run();
    await done;
    expect(clock.now()).toBe(4_000);
  });

  it('uses real time by default', async () => {
    const limiter = new AccountRateLimiter();
    await limiter.acquire('Light');
    limiter.penalize('Light', 20);
    const started = Date.now();
    await limiter.acquire('Light');
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('rejects limits it cannot pace at', () => {
    expect(() => new AccountRateLimiter({ limits: { Medium: 0 } })).toThrow(RangeError);
    expect(() => new AccountRateLimiter({ limits: { Medium: 2.5 } })).toThrow(RangeError);
    expect(() => new AccountRateLimiter({ plan: 'gold' as ZoomPlan })).toThrow(RangeError);
    expect(() => new AccountRateLimiter({ safetyMarginMs: -1 })).toThrow(RangeError);
    expect(new AccountRateLimiter({ plan: 'business', limits: { Heavy: 5 } }).limits).toEqual({
      Light: 80,
      Medium: 60,
      Heavy: 5,
    });
  });
});

describe('SandboxRateLimits', () => {
  const MAY_30_3PM = Date.parse('2020-05-30T15:00:00Z');

  it('answers with per-second headers that count down, then a per-second 429', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ plan: 'free', now: clock.now });
    expect(limits.check({ category: 'Medium' })).toEqual({
      'X-RateLimit-Category': 'Medium',
      'X-RateLimit-Type': 'QPS',
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Remaining': '1',
    });
    expect(limits.check({ category: 'Medium' })['X-RateLimit-Remaining']).toBe('0');

    const err = rejection(() => limits.check({ category: 'Medium' }));
    expect(err.status).toBe(429);
    expect(err.code).toBe(429);
    expect(err.message).toBe('You have reached the maximum per-second rate limit for this API. Try again later.');
    expect(err.message).toBe(PER_SECOND_LIMIT_MESSAGE);
    expect(err.headers).toEqual({ 'X-RateLimit-Category': 'Medium', 'X-RateLimit-Type': 'QPS', 'Retry-After': '1' });
  });

  it('counts in a sliding one-second window, and does not count rejected calls', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ limits: { Heavy: 2 }, now: clock.now });
    limits.check({ category: 'Heavy' });
    clock.time += 400;
    limits.check({ category: 'Heavy' });
    clock.time += 599; // 999 ms after the first call: both still count
    expect(() => limits.check({ category: 'Heavy' })).toThrow(ZoomHttpError);
    clock.time += 1; // exactly one second after the first call: it has left the window
    expect(limits.check({ category: 'Heavy' })['X-RateLimit-Remaining']).toBe('0');
    clock.time += 400; // the rejected call at 999 ms took no slot; the one at 400 ms has left
    expect(limits.check({ category: 'Heavy' })['X-RateLimit-Remaining']).toBe('0');
    expect(limits.check({ category: 'Light' })['X-RateLimit-Limit']).toBe('30');
  });

  it('limits create/update per host per UTC day, with Daily-limit headers and Retry-After at 00:00 UTC', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ hostDailyLimit: 3, now: clock.now });
    const create = (host: string) => limits.check({ category: 'Medium', hostDaily: true, hostUserId: host });

    expect(create('host-a')).toEqual({
      'X-RateLimit-Category': 'Medium',
      'X-RateLimit-Type': 'Daily-limit',
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '2',
    });
    clock.time += 2_000;
    expect(create('host-a')['X-RateLimit-Remaining']).toBe('1');
    clock.time += 2_000;
    expect(create('host-a')['X-RateLimit-Remaining']).toBe('0');
    clock.time += 2_000;

    const err = rejection(() => create('host-a'));
    expect(err.status).toBe(429);
    expect(err.code).toBe(429);
    expect(err.message).toBe(
      'You have exceeded the daily rate limit (3) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00.',
    );
    expect(err.headers).toEqual({
      'X-RateLimit-Category': 'Medium',
      'X-RateLimit-Type': 'Daily-limit',
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '0',
      'Retry-After': '2020-05-31T00:00:00Z',
    });

    // Other hosts have their own counter; calls that are not create/update are not counted.
    expect(create('host-b')['X-RateLimit-Remaining']).toBe('2');
    expect(limits.check({ category: 'Light', hostUserId: 'host-a' })['X-RateLimit-Type']).toBe('QPS');

    clock.time = Date.parse('2020-05-30T23:59:59.999Z');
    expect(() => create('host-a')).toThrow(hostDailyLimitMessage(3));
    clock.time = Date.parse('2020-05-31T00:00:00Z');
    expect(create('host-a')['X-RateLimit-Remaining']).toBe('2');
  });

  it('defaults to 100 create/update calls per host per day, with Zoom’s message', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ now: clock.now });
    for (let i = 0; i < 100; i++) {
      clock.time += 100; // 10/s stays under the per-second limit
      limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' });
    }
    const err = rejection(() => limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' }));
    expect(err.message).toBe(
      'You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00.',
    );
  });

  it('a per-second 429 on a create does not use up the host’s daily allowance', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ limits: { Medium: 1 }, hostDailyLimit: 5, now: clock.now });
    limits.check({ category: 'Medium', hostDaily: true, hostUserId: 'u1' });
    expect(() => limits.check({ category: 'Medium', hostDaily: true, hostUserId: 'u1' })).toThrow(
      PER_SECOND_LIMIT_MESSAGE,
    );
    clock.time += 1_000;
    expect(limits.check({ category: 'Medium', hostDaily: true, hostUserId: 'u1' })['X-RateLimit-Remaining']).toBe('3');
  });

  it('needs the host user for a create/update check', () => {
    const limits = new SandboxRateLimits();
    expect(() => limits.check({ category: 'Medium', hostDaily: true })).toThrow(/hostUserId/);
  });

  it('setLimits narrows limits at run time and reset clears the counters', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ now: clock.now });
    limits.setLimits({ limits: { Light: 1 }, hostDailyLimit: 1 });
    limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' });
    expect(() => limits.check({ category: 'Light' })).toThrow(PER_SECOND_LIMIT_MESSAGE);
    expect(limits.check({ category: 'Medium' })['X-RateLimit-Limit']).toBe('20');
    clock.time += 1_000;
    expect(() => limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' })).toThrow(
      hostDailyLimitMessage(1),
    );

    limits.reset();
    expect(limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' })['X-RateLimit-Remaining']).toBe('0');

    limits.setLimits({ plan: 'business' });
    expect(limits.check({ category: 'Light' })['X-RateLimit-Limit']).toBe('80');
    expect(() => limits.setLimits({ hostDailyLimit: 0 })).toThrow(RangeError);
  });

  it('its 429s map to the client’s typed errors with the right waits', () => {
    const clock = new VirtualClock(MAY_30_3PM);
    const limits = new SandboxRateLimits({ limits: { Heavy: 1 }, hostDailyLimit: 1, now: clock.now });
    const asResponse = (err: ZoomHttpError) => ({
      status: err.status,
      body: { code: err.code, message: err.message },
      headers: Object.fromEntries(Object.entries(err.headers).map(([k, v]) => [k.toLowerCase(), v])),
      operation: 'create meeting',
      now: new Date(clock.now()),
    });

    limits.check({ category: 'Heavy' });
    const perSecond = zoomErrorFromResponse(asResponse(rejection(() => limits.check({ category: 'Heavy' }))));
    expect(perSecond).toBeInstanceOf(ZoomRateLimitError);
    expect(perSecond.retryAfterMs).toBe(1_000);

    limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' });
    const daily = zoomErrorFromResponse(
      asResponse(rejection(() => limits.check({ category: 'Light', hostDaily: true, hostUserId: 'u1' }))),
    );
    expect(daily).toBeInstanceOf(ZoomDailyLimitError);
    expect(daily.retryAfterMs).toBe(9 * 3600 * 1000);
  });
});

describe('client pacing against sandbox enforcement', () => {
  /** Sends every call through the limiter and checks each with the sandbox at its release time, on one clock. */
  async function burst(opts: {
    plan?: ZoomPlan;
    safetyMarginMs?: number;
    calls: { category: RateCategory; hostUserId?: string }[];
  }) {
    const clock = new VirtualClock(Date.parse('2026-03-02T09:00:00Z'));
    const limiter = new AccountRateLimiter({
      plan: opts.plan,
      safetyMarginMs: opts.safetyMarginMs,
      now: clock.now,
      sleep: clock.sleep,
    });
    const sandbox = new SandboxRateLimits({ plan: opts.plan, now: clock.now });
    const started = clock.now();
    const rejected: ZoomHttpError[] = [];
    let lastRelease = started;
    const done = opts.calls.map(async ({ category, hostUserId }) => {
      await limiter.acquire(category);
      lastRelease = Math.max(lastRelease, clock.now());
      try {
        sandbox.check({ category, hostDaily: hostUserId !== undefined, hostUserId });
      } catch (err) {
        if (!(err instanceof ZoomHttpError)) throw err;
        rejected.push(err);
      }
    });
    await clock.run();
    await Promise.all(done);
    return { rejected, elapsedMs: lastRelease - started };
  }

  // 1,000 meeting creates (Medium, 20/s at Pro) spread over 10 hosts, 100 each: the daily limit exactly.
  const thousandCreates = Array.from({ length: 1000 }, (_, i) => ({
    category: 'Medium' as const,
    hostUserId: `host-${i % 10}`,
  }));

  it.each([
    { margin: 'no safety margin', safetyMarginMs: 0 },
    { margin: 'the default safety margin', safetyMarginMs: undefined },
  ])('a 1,000-create burst at Pro with $margin gets no 429, within 1.10 of the floor', async ({ safetyMarginMs }) => {
    const { rejected, elapsedMs } = await burst({ safetyMarginMs, calls: thousandCreates });
    expect(rejected).toEqual([]);
    // Zoom's floor for 1,000 calls at 20/s is 50 s.
    expect(elapsedMs).toBeLessThanOrEqual(50_000 * 1.1);
    expect(elapsedMs).toBeGreaterThanOrEqual(49_000);
  });

  it.each(['free', 'pro', 'business'] as const)(
    'mixed categories at %s get no 429 with the same plan on both sides',
    async (plan) => {
      const categories: RateCategory[] = ['Light', 'Medium', 'Heavy'];
      const calls = Array.from({ length: 600 }, (_, i) => ({ category: categories[i % 3] }));
      const { rejected } = await burst({ plan, safetyMarginMs: 0, calls });
      expect(rejected).toEqual([]);
    },
  );

  it('without the limiter the same burst is mostly refused with per-second 429s', () => {
    const clock = new VirtualClock(Date.parse('2026-03-02T09:00:00Z'));
    const sandbox = new SandboxRateLimits({ now: clock.now });
    let accepted = 0;
    const rejected: ZoomHttpError[] = [];
    for (const { category, hostUserId } of thousandCreates) {
      try {
        sandbox.check({ category, hostDaily: true, hostUserId });
        accepted++;
      } catch (err) {
        rejected.push(err as ZoomHttpError);
      }
    }
    expect(accepted).toBe(20);
    expect(rejected).toHaveLength(980);
    expect(rejected.every((e) => e.status === 429 && e.message === PER_SECOND_LIMIT_MESSAGE)).toBe(true);
  });
});
