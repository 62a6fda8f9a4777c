import { randomBytes, randomUUID } from 'node:crypto';
import {
  REQUEST_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  URL_VALIDATION_EVENT,
  WebhookEnvelope,
  signWebhook,
  urlValidationResponse,
} from '../zoom/webhooks';
import type { WebhookSubscription } from './zoom-api';

/** Zoom counts a delivery as failed unless the endpoint answers within three seconds. */
export const ZOOM_RESPONSE_DEADLINE_MS = 3000;

/** One POST to the subscriber, kept for tests to inspect. */
export interface WebhookDelivery {
  requestId: string;
  event: string;
  eventTs: number;
  url: string;
  sentAt: string;
  /** HTTP status of the answer; absent when none came (refused, timed out). */
  status?: number;
  /** Zoom treats only 2xx as delivered. */
  ok: boolean;
  error?: string;
  /**
   * Zoom retries ≥500 answers and network failures three times, 5, 20 and 60 minutes apart,
   * and never 3xx/4xx. The sandbox does not wait that long (tests would stall): it records
   * that Zoom would retry, so a test can assert on it or resend.
   */
  retryable: boolean;
  payload: object;
  /** Kept back (a late delivery) until redelivered. */
  held?: boolean;
  /** A second delivery of an earlier one (same request id, event and payload), as Zoom's retries are. */
  redelivery?: boolean;
}

export interface WebhookSenderOptions {
  /** How long to wait for the subscriber; Zoom's deadline by default. */
  timeoutMs?: number;
}

/** Posts signed webhooks to the current subscription, as Zoom does. */
export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];

  constructor(
    private readonly getSubscription: () => WebhookSubscription | undefined,
    private readonly options: WebhookSenderOptions = {},
  ) {}

  /**
   * Sends one event. Never throws: undefined means no subscription or no answer (see `deliveries`).
   * `topLevel` adds fields beside `event`, e.g. recording.completed's `download_token`.
   */
  async send(
    event: string,
    payload: object,
    topLevel: Record<string, unknown> = {},
  ): Promise<{ status: number } | undefined> {
    const subscription = this.getSubscription();
    if (!subscription) return undefined;
    const envelope: Envelope = { event, event_ts: Date.now(), payload };
    for (const [key, value] of Object.entries(topLevel)) if (!(key in envelope)) envelope[key] = value;
    const { delivery } = await this.deliver(subscription, envelope);
    return delivery.status === undefined ? undefined : { status: delivery.status };
  }

  /** Records the event as Zoom would send it now, but sends it only when redelivered (a late delivery); its request id. */
  hold(event: string, payload: object): string | undefined {
    const subscription = this.getSubscription();
    if (!subscription) return undefined;
    const delivery = this.record(subscription, { event, event_ts: Date.now(), payload });
    Object.assign(delivery, { held: true, error: 'held back: sent when redelivered' });
    return delivery.requestId;
  }

  /** Sends an earlier (or held) delivery again: the same request id, event, event_ts and payload, freshly signed. */
  async redeliver(requestId: string): Promise<WebhookDelivery | undefined> {
    const first = this.deliveries.find((d) => d.requestId === requestId);
    const subscription = this.getSubscription();
    if (!first || !subscription) return undefined;
    const envelope = { event: first.event, event_ts: first.eventTs, payload: first.payload };
    const { delivery } = await this.deliver(subscription, envelope, { requestId, redelivery: true });
    return delivery;
  }

  /** Zoom's challenge-response check: true when the endpoint answers 200 with the right encryptedToken. */
  async validateEndpoint(): Promise<boolean> {
    const subscription = this.getSubscription();
    if (!subscription) return false;
    const plainToken = randomBytes(16).toString('base64url');
    const { delivery, responseText } = await this.deliver(subscription, {
      event: URL_VALIDATION_EVENT,
      event_ts: Date.now(),
      payload: { plainToken },
    });
    const expected = urlValidationResponse(subscription.secretToken, plainToken);
    const reply = delivery.ok ? parseObject(responseText) : undefined;
    const valid = reply?.plainToken === expected.plainToken && reply?.encryptedToken === expected.encryptedToken;
    // Zoom accepts 200 or 204, but only a body can carry the answer, so a bare 204 fails too.
    if (!valid && delivery.ok) {
      delivery.ok = false;
      delivery.error = 'URL validation failed: the reply did not carry the expected plainToken and encryptedToken';
    }
    return valid;
  }

  /** The delivery as Zoom logs it; Zoom's request ids look like 6009d653_d487_445d_8406_42b654974899. */
  private record(
    subscription: WebhookSubscription,
    envelope: Envelope,
    again?: Pick<WebhookDelivery, 'requestId' | 'redelivery'>,
  ): WebhookDelivery {
    const delivery: WebhookDelivery = {
      requestId: randomUUID().replace(/-/g, '_'),
      event: envelope.event,
      eventTs: envelope.event_ts,
      url: subscription.url,
      sentAt: new Date().toISOString(),
      ok: false,
      retryable: false,
      payload: envelope.payload,
      ...again,
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  private async deliver(
    subscription: WebhookSubscription,
    envelope: Envelope,
    again?: Pick<WebhookDelivery, 'requestId' | 'redelivery'>,
  ): Promise<{ delivery: WebhookDelivery; responseText: string }> {
    // Sign the exact string we send: the receiver verifies these bytes.
    const rawBody = JSON.stringify(envelope);
    const timestamp = Math.floor(Date.now() / 1000);
    const delivery = this.record(subscription, envelope, again);
    const { requestId } = delivery;

    const timeoutMs = this.options.timeoutMs ?? ZOOM_RESPONSE_DEADLINE_MS;
    let responseText = '';
    try {
      const res = await postSignedWebhook(
        subscription.url,
        subscription.secretToken,
        rawBody,
        requestId,
        timeoutMs,
        timestamp,
      );
      responseText = await res.text();
      delivery.status = res.status;
      delivery.ok = res.status >= 200 && res.status < 300;
      delivery.retryable = res.status >= 500;
      if (!delivery.ok) delivery.error = `endpoint answered HTTP ${res.status}`;
    } catch (err) {
      delivery.retryable = true;
      delivery.error = describeFailure(err, timeoutMs);
    }
    return { delivery, responseText };
  }
}

/** The body Zoom posts; fields beside `event` (recording.completed's `download_token`) follow the envelope's own. */
type Envelope = WebhookEnvelope<object> & { event_ts: number } & Record<string, unknown>;

/** One delivery as Zoom makes it: the exact body, signed with the subscription's secret token for this second. */
export function postSignedWebhook(
  url: string,
  secretToken: string,
  rawBody: string,
  requestId: string,
  timeoutMs: number,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Zoom Marketplace/1.0a',
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signWebhook(secretToken, timestamp, rawBody),
      [REQUEST_ID_HEADER]: requestId,
    },
    body: rawBody,
    redirect: 'manual', // Zoom does not follow (or retry) redirects
    signal: AbortSignal.timeout(timeoutMs),
  });
}

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return `delivery failed: ${e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)}`;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
