import type { Client } from '@temporalio/client';
import type { ZoomConnectorConfig } from '../../platform/config';
import { deauthorizeConnector } from '../../temporal/connectors';
import { meetingEventFromWebhook, recordMeetingEvent } from '../../temporal/zoom-events';
import { hostPoolWebhook, tellHostPools } from '../../temporal/host-pool';
import {
  parseWebhookEvent,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  URL_VALIDATION_EVENT,
  urlValidationResponse,
  verifyWebhook,
  WebhookParseError,
} from '../../zoom/webhooks';
import { headerValue, HttpError, readBody, Route, sendJson, ServeLogger } from './http';

export interface ZoomWebhookOptions {
  client: Client;
  /** The app's webhook secret token (Zoom Marketplace, Features > Access). */
  secretToken: string;
  /** Default /zoom/webhook. */
  path?: string;
  /** The task queue of the workers (meeting mailboxes and, on app_deauthorized, the connector workflow start there). */
  taskQueue: string;
  /** The connectors an app_deauthorized may concern (matched by the app's client id), and whose host pools learn who is live. */
  connectors: Pick<ZoomConnectorConfig, 'name' | 'clientId'>[];
  logger?: ServeLogger;
}

/** Zoom gives a delivery 3 seconds; we answer well inside that, or with 503 so Zoom retries. */
const DELIVERY_BUDGET_MS = 2500;

/**
 * Zoom's webhook endpoint: answers the URL validation challenge, checks `x-zm-signature` on the
 * raw body of every delivery, and records meeting events in each meeting's mailbox workflow,
 * which hands them to the run that created the meeting. 200 only once Temporal has recorded the
 * event (Zoom does not retry a 2xx); else 503, and Zoom retries.
 */
export function zoomWebhookRoutes(options: ZoomWebhookOptions): Route[] {
  const log = options.logger ?? console;
  return [
    {
      method: 'POST',
      path: options.path ?? '/zoom/webhook',
      async handle(req, res) {
        const rawBody = (await readBody(req)).toString('utf8');
        const verified = verifyWebhook({
          secretToken: options.secretToken,
          rawBody,
          timestamp: headerValue(req, TIMESTAMP_HEADER),
          signature: headerValue(req, SIGNATURE_HEADER),
        });
        if (!verified.ok) throw new HttpError(401, { error: `Zoom webhook rejected: ${verified.reason}` });
        let envelope;
        try {
          envelope = parseWebhookEvent(rawBody);
        } catch (err) {
          if (err instanceof WebhookParseError) throw new HttpError(400, { error: err.message });
          throw err;
        }
        if (envelope.event === URL_VALIDATION_EVENT) {
          const plainToken = (envelope.payload as { plainToken?: unknown }).plainToken;
          if (typeof plainToken !== 'string' || !plainToken)
            throw new HttpError(400, { error: 'endpoint.url_validation needs payload.plainToken' });
          return sendJson(res, 200, urlValidationResponse(options.secretToken, plainToken));
        }
        if (envelope.event === 'app_deauthorized') {
          const payload = envelope.payload as { client_id?: unknown; deauthorization_time?: unknown };
          const affected = options.connectors.filter((c) => c.clientId === payload.client_id);
          const at =
            typeof payload.deauthorization_time === 'string' ? payload.deauthorization_time : new Date().toISOString();
          for (const c of affected) await deauthorizeConnector(options.client, options.taskQueue, c.name, at);
          if (affected.length)
            log.warn(`serve: Zoom app uninstalled: connector(s) ${affected.map((c) => c.name).join(', ')} disabled`);
          return sendJson(res, 200, { event: envelope.event, disabled: affected.map((c) => c.name) });
        }
        const event = meetingEventFromWebhook(envelope);
        if (!event) return sendJson(res, 200, { event: envelope.event, ignored: true });
        // The connectors' host pools learn who is live from the same delivery.
        const hostEvent = hostPoolWebhook(envelope);
        const pools = options.connectors.map((c) => c.name);
        const recorded = await withinBudget(
          options.client.withDeadline(Date.now() + DELIVERY_BUDGET_MS, async () => {
            const [mailbox] = await Promise.all([
              recordMeetingEvent(options.client, options.taskQueue, event),
              hostEvent && tellHostPools(options.client, options.taskQueue, pools, hostEvent),
            ]);
            return mailbox;
          }),
        );
        if (recorded === undefined) {
          log.warn(
            `serve: Zoom ${event.type} for meeting ${event.meetingId} not recorded within ${DELIVERY_BUDGET_MS} ms; Zoom will retry`,
          );
          throw new HttpError(503, { error: 'Temporal did not record the event in time; retry.' });
        }
        sendJson(res, 200, { event: envelope.event, recorded: recorded.workflowId });
      },
    },
  ];
}

async function withinBudget<T>(work: Promise<T>): Promise<T | undefined> {
  // Past the budget Zoom has had its 503 and will retry: a later failure of this attempt has nobody to tell.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>(
    (resolve) => (timer = setTimeout(() => resolve(undefined), DELIVERY_BUDGET_MS)),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
