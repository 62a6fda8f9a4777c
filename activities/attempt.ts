import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';

/**
 * Temporal times an attempt out on the server; the worker is not told until it heartbeats, so a
 * timed-out attempt would otherwise go on calling Zoom (queued behind the pacer, say) and create a
 * meeting after its retry looked for one. Zoom calls stop at the attempt's end instead, this much
 * before it (or a tenth of a short start-to-close).
 */
const END_MARGIN_MS = 3_000;

const signals = new WeakMap<Context, AbortSignal>();

/**
 * Aborts when the running activity attempt is cancelled or out of time (its start-to-close or
 * schedule-to-close timeout, less a margin). Undefined outside an activity.
 */
export function attemptSignal(): AbortSignal | undefined {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return undefined;
  }
  let signal = signals.get(ctx);
  if (!signal) {
    // The attempt started just before its first Zoom call; the server counts from that start.
    const { startToCloseTimeoutMs, scheduledTimestampMs, scheduleToCloseTimeoutMs } = ctx.info;
    const ends = [Date.now() + startToCloseTimeoutMs];
    if (scheduleToCloseTimeoutMs > 0) ends.push(scheduledTimestampMs + scheduleToCloseTimeoutMs);
    const margin = Math.min(END_MARGIN_MS, startToCloseTimeoutMs / 10);
    const left = Math.max(0, Math.min(...ends) - Date.now() - margin);
    const outOfTime = AbortSignal.timeout(left);
    signal = AbortSignal.any([ctx.cancellationSignal, outOfTime]);
    // One attempt may call Zoom many times at once (the host pool asks every host it doubts).
    setMaxListeners(50, signal);
    signals.set(ctx, signal);
  }
  return signal;
}
