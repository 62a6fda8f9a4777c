import { IncomingMessage, ServerResponse } from 'node:http';
import { Client } from '@temporalio/client';
import { sendIncidentEvent } from '../../temporal/client';
import { incidentHandle, IncidentNotFoundError } from '../../temporal/handles';
import { clockSkewTolerance } from '../../platform/config';
import {
  checkClockSkew,
  describeIssue,
  IncidentEvent,
  incidentIdSchema,
  InvalidIncidentEventError,
  parseIncidentEvent,
} from '../../core/incident';
import { InvalidPagerDutyWebhookError, mapPagerDutyWebhook } from '../../core/pagerduty';
import { parseRunbookWorkflowId, RunbookAttr, WORKFLOW_TYPE } from '../../../workflows/contract';
import { IntakeAuthConfig, IntakeAuthenticator, readSigningBody } from './auth';
import { DEFAULT_BODY_LIMIT, HttpError, readBody, Route, RouteParams, sendJson, ServeLogger } from './http';

/**
 * The intake: incident events in (ours, or PagerDuty's webhooks), timelines and incidents out.
 *
 * An event is acknowledged (202) only once Temporal has recorded it (signal-with-start returned),
 * so a 202 is never lost. When Temporal does not confirm within `temporalTimeoutMs` the answer is
 * 503: the event may or may not be recorded, and sending it again is safe because the incident
 * workflow ignores an eventId it has seen.
 */
export interface IntakeOptions {
  client: Client;
  taskQueue: string;
  auth: IntakeAuthConfig | IntakeAuthenticator;
  /** Largest accepted request body in bytes (default 1 MiB); larger gets 413. */
  bodyLimit?: number;
  /** How long to wait for Temporal to confirm an event or answer a query (default 5 s). */
  temporalTimeoutMs?: number;
  logger?: ServeLogger;
  /**
   * How far ahead of this server's clock an event's time may be (ms); further is refused with a
   * 400 before anything is recorded. Default: ZR_CLOCK_SKEW_TOLERANCE, else 15 minutes.
   */
  clockSkewToleranceMs?: number;
  /** The server's clock (tests set it). */
  now?: () => number;
}

/** JSON nesting allowed in an event; deeper payloads could not be serialised for Temporal. */
const MAX_JSON_DEPTH = 32;
const MAX_RUNBOOK_RUNS = 100;

export function intakeRoutes(options: IntakeOptions): Route[] {
  const auth = options.auth instanceof IntakeAuthenticator ? options.auth : new IntakeAuthenticator(options.auth);
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const timeoutMs = options.temporalTimeoutMs ?? 5_000;
  const log = options.logger ?? console;
  const { client } = options;
  // Read once, at start: a bad ZR_CLOCK_SKEW_TOLERANCE stops serve from starting (ConfigError).
  const skewToleranceMs = options.clockSkewToleranceMs ?? clockSkewTolerance();
  const now = options.now ?? Date.now;
  // The gRPC deadline stops the call, but the client's retry backoff can sleep past it: the timer
  // keeps the answer on time (the call itself still ends at its deadline).
  const withDeadline = <T>(fn: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Temporal within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([client.withDeadline(Date.now() + timeoutMs, fn), late]).finally(() => clearTimeout(timer));
  };

  /** Reads the body and authenticates; 413 and 401 end the request here, before anything else. */
  async function admit(req: IncomingMessage, pagerduty = false) {
    const raw = await readBody(req, limit);
    // A read signs its method and path (a GET has no body to sign) and may be repeated.
    const read = req.method === 'GET';
    const signed = read ? Buffer.from(readSigningBody(req.url ?? '/')) : raw;
    const result = auth.authenticate(req.headers, signed, { pagerduty, repeatable: read });
    if (!result.ok) {
      log.warn(`intake: 401 ${req.method} ${pathOf(req)} from ${req.socket.remoteAddress}: ${result.reason}`);
      throw new HttpError(
        401,
        { error: 'Unauthorized', reason: result.reason },
        auth.usesToken ? { 'www-authenticate': 'Bearer' } : {},
      );
    }
    return { raw, release: result.release };
  }

  async function deliver(res: ServerResponse, event: IncidentEvent, release: () => void): Promise<void> {
    let workflowId: string;
    try {
      ({ workflowId } = await withDeadline(() => sendIncidentEvent(client, options.taskQueue, event)));
    } catch (err) {
      release(); // not acted on: the same signed request may be retried as is
      log.warn(
        `intake: 503 for event ${event.eventId} (incident ${event.incident.id}): Temporal did not confirm: ${errorMessage(err)}`,
      );
      throw new HttpError(
        503,
        {
          error:
            'Temporal did not confirm the event (unreachable or failing), so it is not acknowledged. Retry later with the same eventId: duplicates are ignored.',
          eventId: event.eventId,
        },
        { 'retry-after': '5' },
      );
    }
    log.info(`intake: 202 event ${event.eventId} (${event.type}) for incident ${event.incident.id}`);
    sendJson(res, 202, { workflowId, eventId: event.eventId });
  }

  async function postEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { raw, release } = await admit(req);
    let event: IncidentEvent;
    try {
      event = parseIncidentEvent(parseJsonBody(raw));
      checkClockSkew(event, now(), skewToleranceMs);
    } catch (err) {
      throw invalid('Invalid incident event', err);
    }
    await deliver(res, event, release);
  }

  async function postPagerDuty(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { raw, release } = await admit(req, true);
    let mapping;
    try {
      mapping = mapPagerDutyWebhook(parseJsonBody(raw));
      if (mapping.kind === 'event')
        checkClockSkew(mapping.event, now(), skewToleranceMs, undefined, 'event.occurred_at');
    } catch (err) {
      throw invalid('Invalid PagerDuty webhook', err);
    }
    if (mapping.kind === 'ignored') {
      log.info(`intake: PagerDuty ${mapping.pagerdutyEventType} ${mapping.pagerdutyEventId} ignored`);
      sendJson(res, 202, {
        ignored: true,
        eventType: mapping.pagerdutyEventType,
        eventId: mapping.pagerdutyEventId,
        reason: mapping.reason,
      });
      return;
    }
    await deliver(res, mapping.event, release);
  }

  async function getIncidentTimeline(req: IncomingMessage, res: ServerResponse, params: RouteParams): Promise<void> {
    await admit(req);
    const id = incidentIdParam(params);
    try {
      const timeline = await withDeadline(() => incidentHandle(client, id).timeline());
      sendJson(res, 200, { incidentId: id, timeline });
    } catch (err) {
      throw queryFailure(err, id);
    }
  }

  async function getIncident(req: IncomingMessage, res: ServerResponse, params: RouteParams): Promise<void> {
    await admit(req);
    const id = incidentIdParam(params);
    const handle = incidentHandle(client, id);
    try {
      const incident = await withDeadline(() => handle.incident());
      const runbooks = await withDeadline(() => runbookRuns(id));
      sendJson(res, 200, { incidentId: id, workflowId: handle.workflowId, incident, runbooks });
    } catch (err) {
      throw queryFailure(err, id);
    }
  }

  /** The incident's runbook workflows, from Temporal's visibility store (it lags by a moment). */
  async function runbookRuns(id: string) {
    const runs = [];
    // The id was validated against the incident id alphabet, so it cannot break out of the quotes.
    for await (const run of client.workflow.list({
      query: `IncidentId = '${id}' AND WorkflowType = '${WORKFLOW_TYPE.runbook}'`,
      pageSize: MAX_RUNBOOK_RUNS,
    })) {
      runs.push({
        runbook: run.typedSearchAttributes.get(RunbookAttr) ?? parseRunbookWorkflowId(run.workflowId)?.runbook,
        workflowId: run.workflowId,
        runId: run.runId,
        status: run.status.name,
        startTime: run.startTime.toISOString(),
        ...(run.closeTime ? { closeTime: run.closeTime.toISOString() } : {}),
      });
      if (runs.length >= MAX_RUNBOOK_RUNS) break;
    }
    return runs.sort((a, b) => a.startTime.localeCompare(b.startTime));
  }

  function queryFailure(err: unknown, id: string): HttpError {
    if (err instanceof IncidentNotFoundError)
      return new HttpError(404, { error: new IncidentNotFoundError(id).message });
    log.warn(`intake: 503 reading incident ${id}: ${errorMessage(err)}`);
    return new HttpError(
      503,
      {
        error: `Temporal did not answer for incident ${id} (unreachable, failing, or no worker is running). Try again later.`,
      },
      { 'retry-after': '5' },
    );
  }

  return [
    { method: 'POST', path: '/v1/events', handle: postEvent },
    { method: 'POST', path: '/v1/pagerduty', handle: postPagerDuty },
    { method: 'GET', path: '/v1/incidents/:id/timeline', handle: getIncidentTimeline },
    { method: 'GET', path: '/v1/incidents/:id', handle: getIncident },
  ];
}

/** The body as JSON, or a 400 naming what is wrong with it. */
function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) throw new InvalidBodyError('is empty: expected a JSON object');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new InvalidBodyError('is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidBodyError(`is not valid JSON: ${(err as Error).message}`);
  }
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw new InvalidBodyError(`nests deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

class InvalidBodyError extends Error {
  readonly problems: string[];
  constructor(problem: string) {
    super(problem);
    this.problems = [`(body): ${problem}`];
  }
}

function invalid(error: string, err: unknown): HttpError {
  if (
    err instanceof InvalidBodyError ||
    err instanceof InvalidIncidentEventError ||
    err instanceof InvalidPagerDutyWebhookError
  ) {
    return new HttpError(400, { error, problems: err.problems });
  }
  throw err;
}

function incidentIdParam(params: RouteParams): string {
  const parsed = incidentIdSchema.safeParse(params.id);
  if (!parsed.success)
    throw new HttpError(400, {
      error: 'Invalid incident id',
      problems: parsed.error.issues.map((i) => describeIssue({ ...i, path: ['id'] })),
    });
  return parsed.data;
}

/** Depth of nested arrays and objects, without recursion (a hostile body could nest very deep). */
function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, depth + 1);
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
