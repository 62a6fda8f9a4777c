import { z } from 'zod';
import { ACCEPTED_SEVERITIES, severityProblem, toSeverity } from './severity';

/** Incident ids become part of workflow ids, so they are kept to a safe, readable alphabet. */
const incidentId = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    'must start with a letter or digit and use only letters, digits, ".", "_", ":" and "-"',
  );

const person = z.object({ name: z.string().max(200).optional(), email: z.string().email().optional() }).strict();
/** The owner as an event changes it: `null` removes a sub-field (or, for the whole owner, unassigns). */
const personChange = z
  .object({ name: z.string().max(200).nullable().optional(), email: z.string().email().nullable().optional() })
  .strict();

export const INCIDENT_EVENT_TYPES = [
  'incident.created',
  'incident.updated',
  'incident.resolved',
  'incident.reopened',
  'incident.closed',
] as const;

/** Longest source severity kept (a PagerDuty priority's name, say). */
export const MAX_SOURCE_SEVERITY = 100;

/** An incident id: letters, digits, ".", "_", ":" and "-" (it is part of workflow ids). */
export const incidentIdSchema = incidentId;

/**
 * `incident` in an event, as sent: what the event says about the incident. Other events than
 * `incident.created` carry only what changed, and the incident workflow merges it in: custom
 * `fields` and `owner` key by key (a partial update never drops what it does not mention), and an
 * explicit `null` removes (`summary: null`, `owner: { email: null }`, `fields: { region: null }`).
 *
 * - `severity`: read onto SEV1…SEV5 here (src/core/severity.ts: `P1`, `sev1`, `critical`, `0`…); the
 *   value the source sent is kept as `sourceSeverity` when it differs. When an event sets a
 *   severity without a source severity to keep, `sourceSeverity` is `null` (removing one an
 *   earlier event left). A sender may also set `sourceSeverity` itself, beside `severity`.
 * - `status`: the source's own status word (`investigating`, `acknowledged`, `triggered`…). The
 *   incident's lifecycle status (open, resolved, reopened, closed) is decided by the incident
 *   workflow from the event `type`; the word sent here is kept on the incident as `sourceStatus`.
 */
export const incidentSchema = z
  .object({
    id: incidentId,
    title: z.string().min(1).max(500).optional(),
    severity: z
      .union([z.string(), z.number()], {
        errorMap: () => ({ message: `expected a severity (a string or a number): ${ACCEPTED_SEVERITIES}` }),
      })
      .superRefine((value, ctx) => {
        if (!toSeverity(value)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: severityProblem(value) });
      })
      .optional(),
    sourceSeverity: z.string().min(1).max(MAX_SOURCE_SEVERITY).nullable().optional(),
    summary: z.string().max(5000).nullable().optional(),
    status: z.string().min(1).max(64).optional(),
    owner: personChange.nullable().optional(),
    responders: z.array(person).max(500).optional(),
    /** Custom incident fields, available to templates as {{Activity.fields.<name>}}; `null` removes one. */
    fields: z.record(z.unknown()).optional(),
  })
  .strict();

/**
 * The severity on our scale, and the source's value beside it (see incidentSchema). Done on the
 * whole event, after every check: a transform inside would stop the event's own checks from
 * reporting their problems alongside.
 */
function withCanonicalSeverity(incident: z.output<typeof incidentSchema>): IncidentChange {
  const { severity, sourceSeverity, ...rest } = incident;
  if (severity === undefined) return rest;
  const canonical = toSeverity(severity)!; // refined above
  const original = String(severity);
  return { ...rest, severity: canonical, sourceSeverity: sourceSeverity ?? (original === canonical ? null : original) };
}

export const incidentEventSchema = z
  .object({
    eventId: z.string().min(1).max(200),
    type: z.enum(INCIDENT_EVENT_TYPES),
    /** The sender's time (ISO 8601 with a zone). The intake refuses one too far ahead of its clock (checkClockSkew). */
    occurredAt: z.string().datetime({ offset: true }),
    incident: incidentSchema,
  })
  .strict()
  .superRefine((event, ctx) => {
    if (event.type === 'incident.created' && !event.incident.title) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['incident', 'title'],
        message: 'is required when an incident is created',
      });
    }
    if (event.incident.sourceSeverity !== undefined && event.incident.severity === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['incident', 'sourceSeverity'],
        message: 'is only accepted together with severity',
      });
    }
  })
  .transform((event): IncidentEvent => ({ ...event, incident: withCanonicalSeverity(event.incident) }));

export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number];

export interface Person {
  name?: string;
  email?: string;
}

/**
 * `incident` of a validated event: a change to merge into the incident (see incidentSchema).
 * `null` removes; `severity` is canonical.
 */
export type IncidentChange = {
  id: string;
  title?: string;
  /** Always canonical (SEV1…SEV5, see Severity) once validated; typed as a string for senders that build events in code. */
  severity?: string;
  sourceSeverity?: string | null;
  summary?: string | null;
  status?: string;
  owner?: { name?: string | null; email?: string | null } | null;
  responders?: Person[];
  fields?: Record<string, unknown>;
};

/** A validated incident event, as sent to the incident workflow. */
export interface IncidentEvent {
  eventId: string;
  type: IncidentEventType;
  occurredAt: string;
  incident: IncidentChange;
}

/** The incident's fields as workflows keep them: no nulls (a null in an event removes a field). */
export interface IncidentFields {
  id: string;
  title?: string;
  /**
   * SEV1…SEV5 for everything accepted since the severity scale (src/core/severity.ts); a string, as
   * incidents recorded before it may hold what their source sent.
   */
  severity?: string;
  /** What the source called the severity, when it differs (`P1`, `critical`…). */
  sourceSeverity?: string;
  summary?: string;
  /** The lifecycle status the incident workflow decided (open, resolved, reopened, closed). */
  status?: string;
  owner?: Person;
  responders?: Person[];
  /** Custom incident fields, available to templates as {{Activity.fields.<name>}}. */
  fields?: Record<string, unknown>;
}

/** The incident as workflows keep it: the latest known fields plus lifecycle times. */
export interface Incident extends IncidentFields {
  /** The source's own status word, as events carry it in `incident.status` (`acknowledged`, `triggered`…). */
  sourceStatus?: string;
  createdAt?: string;
  resolvedAt?: string;
  closedAt?: string;
}

export class InvalidIncidentEventError extends Error {
  constructor(
    readonly problems: string[],
    source?: string,
  ) {
    super(`Invalid incident event${source ? ` in ${source}` : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidIncidentEventError';
  }
}

/** Validates an incident event, naming every problem with its field path. */
export function parseIncidentEvent(input: unknown, source?: string): IncidentEvent {
  const parsed = incidentEventSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new InvalidIncidentEventError(parsed.error.issues.map(describeIssue), source);
}

export function describeIssue(issue: z.ZodIssue): string {
  const where = issue.path.length ? issue.path.join('.') : '(event)';
  if (issue.code === z.ZodIssueCode.unrecognized_keys)
    return `${where}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') return `${where}: is required`;
  return `${where}: ${issue.message}`;
}

/** Workflow id of an incident's entity workflow: stable, so every event for it lands in one place. */

/** How far ahead of the intake's clock an event's `occurredAt` may be (ZR_CLOCK_SKEW_TOLERANCE). */
export const DEFAULT_CLOCK_SKEW_TOLERANCE_MS = 15 * 60_000;

/**
 * Why an event stamped `occurredAt` is refused at the door, or undefined when it is not: it lies
 * further ahead of `now` than `toleranceMs`. Senders' clocks drift, and the incident workflow
 * orders events by their stamps (beyond a tolerance): an event from the future would win over
 * every later one, so it is refused before anything is recorded. Events in the past are fine
 * (late deliveries happen). Pure: `now` is a parameter.
 *
 * `field` names the field in the problem (`occurredAt`; `event.occurred_at` for PagerDuty).
 */
export function clockSkewProblem(
  occurredAt: string,
  now: number | Date,
  toleranceMs = DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
  field = 'occurredAt',
): string | undefined {
  const at = Date.parse(occurredAt);
  const nowMs = typeof now === 'number' ? now : now.getTime();
  if (Number.isNaN(at) || Number.isNaN(nowMs)) return undefined; // the schema reports a bad time
  const ahead = at - nowMs;
  if (ahead <= toleranceMs) return undefined;
  return `${field}: ${occurredAt} is ${formatSpan(ahead)} ahead of this server's clock (tolerance ${formatTolerance(toleranceMs)}, ZR_CLOCK_SKEW_TOLERANCE)`;
}

/** Throws InvalidIncidentEventError when the event is too far ahead of `now` (see clockSkewProblem). */
export function checkClockSkew(
  event: Pick<IncidentEvent, 'occurredAt'>,
  now: number | Date,
  toleranceMs = DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
  source?: string,
  field = 'occurredAt',
): void {
  const problem = clockSkewProblem(event.occurredAt, now, toleranceMs, field);
  if (problem) throw new InvalidIncidentEventError([problem], source);
}

const SPAN_UNITS: [string, number][] = [
  ['year', 365 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "4 years 12 days", "16 minutes 40 seconds", "2 hours": the two largest units (years of 365 days), rounded down. */
export function formatSpan(ms: number): string {
  const parts: string[] = [];
  let left = Math.max(0, Math.floor(ms));
  for (const [unit, size] of SPAN_UNITS) {
    const n = Math.floor(left / size);
    if (parts.length === 0 && n === 0) continue;
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
    left -= n * size;
    if (parts.length === 2 || (parts.length === 1 && n === 0)) break;
  }
  return parts.length ? parts.join(' ') : `${Math.floor(ms)} ms`;
}

/** 900000 → "15m", 5400000 → "90m", 90000 → "90s": the largest whole unit. */
export function formatTolerance(ms: number): string {
  for (const [suffix, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${suffix}`;
  }
  return `${ms}ms`;
}
