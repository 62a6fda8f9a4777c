import { z } from 'zod';
import { describeIssue, IncidentEvent, IncidentEventType, MAX_SOURCE_SEVERITY, parseIncidentEvent } from './incident';
import { Severity, toSeverity } from './severity';

/**
 * PagerDuty V3 webhooks onto our incident events. A V3 delivery is `{ "event": { id, event_type,
 * resource_type, occurred_at, agent, client, data } }`; for incident events `data` is the incident
 * (`id`, `number`, `title`, `status`, `urgency`, `priority`, `service`, `assignees`, …).
 *
 * | PagerDuty `event_type`      | our `type`          |
 * | --------------------------- | ------------------- |
 * | `incident.triggered`        | `incident.created`  |
 * | `incident.acknowledged`     | `incident.updated` (status `acknowledged`) |
 * | `incident.priority_updated` | `incident.updated` (new severity) |
 * | `incident.resolved`         | `incident.resolved` |
 * | `incident.reopened`         | `incident.reopened` |
 * | anything else               | ignored             |
 *
 * - `eventId` is PagerDuty's `event.id`, so PagerDuty's redeliveries are deduplicated.
 * - The incident id is `PD-<number>` (PagerDuty's account-wide incident number, what responders
 *   call it), or `PD-<id>` when a payload has no number.
 * - Severity, see pagerDutySeverity: the priority's name read on our scale (src/core/severity.ts):
 *   `P1`…`P5` (PagerDuty's default priority names) give `SEV1`…`SEV5`, and `SEV1`, `Sev-1`,
 *   `critical` and the like are read as everywhere else. The priority's name is kept as
 *   `sourceSeverity`. Without a priority we recognise (none, or a custom name such as "Urgent -
 *   customer facing"), urgency decides: `high` gives `SEV2`, `low` gives `SEV4`, and there is no
 *   source severity (the urgency is in `fields.urgency`). High urgency means "page someone", not
 *   "the worst kind of incident", hence not SEV1. A priority we cannot read never refuses a
 *   webhook: PagerDuty would retry it in vain.
 * - `status` is PagerDuty's own status word (`triggered`, `acknowledged`, `resolved`); the incident
 *   workflow keeps it as `sourceStatus` and decides the lifecycle status from our event type, so a
 *   reopened incident is `type: incident.reopened` with `status: triggered`.
 * - `occurredAt` is `occurred_at`. Every mapped event carries the incident's current title,
 *   severity, status and PagerDuty fields (`fields.service`, `urgency`, `priority`, `pagerdutyId`,
 *   `pagerdutyNumber`, `pagerdutyUrl`, `assignees`, …): PagerDuty may deliver out of order, and
 *   each event then still leaves the incident complete.
 */

export const PAGERDUTY_EVENT_TYPES: Readonly<Record<string, IncidentEventType>> = {
  'incident.triggered': 'incident.created',
  'incident.acknowledged': 'incident.updated',
  'incident.priority_updated': 'incident.updated',
  'incident.resolved': 'incident.resolved',
  'incident.reopened': 'incident.reopened',
};

export type PagerDutyMapping =
  | { kind: 'event'; pagerdutyEventType: string; event: IncidentEvent }
  | { kind: 'ignored'; pagerdutyEventType: string; pagerdutyEventId: string; reason: string };

export class InvalidPagerDutyWebhookError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid PagerDuty webhook:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidPagerDutyWebhookError';
  }
}

// PagerDuty adds fields over time: everything is passthrough, and only what we use is checked.
const reference = z.object({ id: z.string().optional(), summary: z.string().nullish() }).passthrough();

const envelopeSchema = z
  .object({
    event: z
      .object({ id: z.string().min(1), event_type: z.string().min(1), occurred_at: z.unknown(), data: z.unknown() })
      .passthrough(),
  })
  .passthrough();

const incidentDataSchema = z
  .object({
    id: z.string().min(1),
    type: z.literal('incident').optional(),
    number: z.number().int().positive().optional(),
    title: z.string().nullish(),
    status: z.string().nullish(),
    urgency: z.string().nullish(),
    html_url: z.string().nullish(),
    incident_key: z.string().nullish(),
    service: reference.nullish(),
    priority: reference.nullish(),
    escalation_policy: reference.nullish(),
    assignees: z.array(reference).nullish(),
    teams: z.array(reference).nullish(),
  })
  .passthrough();

type IncidentData = z.infer<typeof incidentDataSchema>;

const occurredAtSchema = z.string().datetime({ offset: true });

const MAX_TITLE = 500;

/** Maps one PagerDuty V3 webhook body (parsed JSON) onto an incident event, or says why it is ignored. */
export function mapPagerDutyWebhook(body: unknown): PagerDutyMapping {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) throw new InvalidPagerDutyWebhookError(envelope.error.issues.map(describeIssue));
  const { id: eventId, event_type: eventType } = envelope.data.event;

  const type = PAGERDUTY_EVENT_TYPES[eventType];
  if (!type)
    return {
      kind: 'ignored',
      pagerdutyEventType: eventType,
      pagerdutyEventId: eventId,
      reason: `PagerDuty event type "${eventType}" does not change an incident here`,
    };

  const problems: string[] = [];
  const occurredAt = occurredAtSchema.safeParse(envelope.data.event.occurred_at);
  if (!occurredAt.success)
    problems.push(...occurredAt.error.issues.map((i) => describeIssue({ ...i, path: ['event', 'occurred_at'] })));
  const data = incidentDataSchema.safeParse(envelope.data.event.data);
  if (!data.success)
    problems.push(...data.error.issues.map((i) => describeIssue({ ...i, path: ['event', 'data', ...i.path] })));
  if (!occurredAt.success || !data.success) throw new InvalidPagerDutyWebhookError(problems);

  const incident = data.data;
  const severity = pagerDutySeverity(incident.priority?.summary, incident.urgency);
  const sourceSeverity = severity ? pagerDutySourceSeverity(incident.priority?.summary) : undefined;
  const status = incident.status || (eventType === 'incident.acknowledged' ? 'acknowledged' : undefined);
  const event = {
    eventId,
    type,
    occurredAt: occurredAt.data,
    incident: {
      id: pagerDutyIncidentId(incident),
      title: truncate(
        incident.title || `PagerDuty incident ${incident.number !== undefined ? `#${incident.number}` : incident.id}`,
        MAX_TITLE,
      ),
      ...(severity ? { severity, sourceSeverity: sourceSeverity ?? null } : {}),
      ...(status ? { status } : {}),
      fields: pagerDutyFields(incident),
    },
  };
  try {
    return { kind: 'event', pagerdutyEventType: eventType, event: parseIncidentEvent(event) };
  } catch (err) {
    // A payload that fits PagerDuty's shape but not ours (e.g. an incident id we cannot use).
    throw new InvalidPagerDutyWebhookError((err as { problems?: string[] }).problems ?? [String(err)]);
  }
}

export function pagerDutyIncidentId(incident: Pick<IncidentData, 'id' | 'number'>): string {
  return `PD-${incident.number ?? incident.id}`;
}

/** Our severity from PagerDuty's priority name and urgency (see the notes at the top). */
export function pagerDutySeverity(
  priority: string | null | undefined,
  urgency: string | null | undefined,
): Severity | undefined {
  const fromPriority = priority ? toSeverity(priority) : undefined;
  if (fromPriority) return fromPriority;
  if (urgency === 'high') return 'SEV2';
  if (urgency === 'low') return 'SEV4';
  return undefined;
}

/** The priority's name, kept beside the severity it gave (when it gave one and differs from it). */
function pagerDutySourceSeverity(priority: string | null | undefined): string | undefined {
  if (!priority) return undefined;
  const severity = toSeverity(priority);
  return severity && severity !== priority ? truncate(priority, MAX_SOURCE_SEVERITY) : undefined;
}

function pagerDutyFields(incident: IncidentData): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    source: 'pagerduty',
    pagerdutyId: incident.id,
    pagerdutyNumber: incident.number,
    pagerdutyUrl: incident.html_url,
    incidentKey: incident.incident_key,
    service: incident.service?.summary,
    urgency: incident.urgency,
    priority: incident.priority?.summary,
    escalationPolicy: incident.escalation_policy?.summary,
    assignees: incident.assignees?.map((a) => a.summary).filter(Boolean),
    teams: incident.teams?.map((t) => t.summary).filter(Boolean),
  };
  // Absent values are left out rather than sent as null.
  for (const [key, value] of Object.entries(fields)) if (value === undefined || value === null) delete fields[key];
  return fields;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
