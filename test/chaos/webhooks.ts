import type { ZoomSandbox } from '../../src/sandbox/server';
import { postSignedWebhook, WebhookDelivery } from '../../src/sandbox/webhook-sender';

/**
 * Zoom's retries of its webhooks, for a chaos run. Zoom resends a delivery that was not answered
 * 2xx (5xx, no answer within 3 s, connection refused) 5, 20 and 60 minutes later; the sandbox only
 * records that it would (its deliveries' `retryable`). This resends each such delivery, same
 * event, payload and request id, freshly signed, every few seconds until the intake answers 2xx:
 * Zoom's behaviour with the minutes compressed to seconds, so a run can wait for it.
 */

export interface Redelivery {
  requestId: string;
  event: string;
  /** Why the first delivery failed (the sandbox's record). */
  firstError?: string;
  attempts: number;
  /** When the intake answered 2xx. */
  ackAt?: string;
  /** Zoom would not retry (a 3xx/4xx answer), or the retries ran out. */
  gaveUp?: string;
}

export class ZoomWebhookRetrier {
  readonly redeliveries = new Map<string, Redelivery>();
  private timer?: NodeJS.Timeout;
  private scanned = 0;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly sandbox: ZoomSandbox,
    private readonly secretToken: string,
    private readonly giveUpAfterMs = 10 * 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.inFlight.size) await new Promise((r) => setTimeout(r, 100));
  }

  /** Deliveries not acknowledged yet (first try failed, no retry has got a 2xx yet, and not given up). */
  get outstanding(): number {
    return [...this.redeliveries.values()].filter((r) => !r.ackAt && !r.gaveUp).length;
  }

  /** When the intake acknowledged this delivery: at once (undefined `at` of the first try is unknown: its send time) or on a retry. */
  ackOf(d: WebhookDelivery): { ok: boolean; at?: string; retried: boolean } {
    if (d.ok) return { ok: true, at: d.sentAt, retried: false };
    const r = this.redeliveries.get(d.requestId);
    return { ok: !!r?.ackAt, at: r?.ackAt, retried: true };
  }

  private async tick(): Promise<void> {
    const deliveries = this.sandbox.webhooks.deliveries;
    for (; this.scanned < deliveries.length; this.scanned++) {
      const d = deliveries[this.scanned];
      // Deliveries still on their way have no outcome yet: look again next time.
      if (!d.ok && d.status === undefined && !d.error) break;
      if (d.ok) continue;
      const r: Redelivery = { requestId: d.requestId, event: d.event, firstError: d.error, attempts: 0 };
      if (!d.retryable) r.gaveUp = `Zoom does not retry: ${d.error ?? 'no 2xx'}`;
      this.redeliveries.set(d.requestId, r);
    }
    for (const [requestId, r] of this.redeliveries) {
      if (r.ackAt || r.gaveUp || this.inFlight.has(requestId)) continue;
      const d = deliveries.find((x) => x.requestId === requestId)!;
      this.inFlight.add(requestId);
      void this.resend(d, r).finally(() => this.inFlight.delete(requestId));
    }
  }

  private async resend(d: WebhookDelivery, r: Redelivery): Promise<void> {
    const rawBody = JSON.stringify({ event: d.event, event_ts: d.eventTs, payload: d.payload });
    r.attempts++;
    try {
      const res = await postSignedWebhook(d.url, this.secretToken, rawBody, d.requestId, 3000);
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) r.ackAt = new Date().toISOString();
      else if (res.status < 500) r.gaveUp = `intake answered HTTP ${res.status} on retry ${r.attempts}`;
    } catch {
      // no answer within Zoom's 3 s: retried next tick
    }
    if (!r.ackAt && !r.gaveUp && Date.now() - Date.parse(d.sentAt) > this.giveUpAfterMs)
      r.gaveUp = `not acknowledged within ${this.giveUpAfterMs / 60_000} minutes of retries`;
    // Spaced out: every 2 s at most per delivery.
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
