import { z } from 'zod';

/** Incident ids become part of workflow ids, so they are kept to a safe, readable alphabet. */
const incidentId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must start with a letter or digit and use only letters, digits, ".", "_", ":" and "-"');

const person = z.object({ name: z.string().max(200).optional(), email: z.string().email().optional() }).strict();

export const INCIDENT_EVENT_TYPES = ['incident.created', 'incident.updated', 'incident.resolved', 'incident.reopened', 'incident.closed'] as const;

export const incidentSchema = z
  .object({
    id: incidentId,
    title: z.string().min(1).max(500).optional(),
    severity: z.string().min(1).max(32).optional(),
    summary: z.string().max(5000).optional(),
    status: z.string().min(1).max(64).optional(),
    owner: person.optional(),
    responders: z.array(person).max(500).optional(),
    /** Custom incident fields, available to templates as {{Activity.fields.<name>}}. */
    fields: z.record(z.unknown()).optional(),
  })
  .strict();

export const incidentEventSchema = z
  .object({
    eventId: z.string().min(1).max(200),
    type: z.enum(INCIDENT_EVENT_TYPES),
    occurredAt: z.string().datetime({ offset: true }),
    incident: incidentSchema,
  })
  .strict()
  .superRefine((event, ctx) => {
    if (event.type === 'incident.created' && !event.incident.title) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['incident', 'title'], message: 'is required when an incident is created' });
    }
  });

export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number];
export type IncidentEvent = z.infer<typeof incidentEventSchema>;
export type IncidentFields = z.infer<typeof incidentSchema>;

/** The incident as workflows keep it: the latest known fields plus lifecycle times. */
export interface Incident extends IncidentFields {
  createdAt?: string;
  resolvedAt?: string;
}

export class InvalidIncidentEventError extends Error {
  constructor(readonly problems: string[], source?: string) {
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
  if (issue.code === z.ZodIssueCode.unrecognized_keys) return `${where}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') return `${where}: is required`;
  return `${where}: ${issue.message}`;
}

/** Workflow id of an incident's entity workflow: stable, so every event for it lands in one place. */
export function incidentWorkflowId(id: string): string {
  return `incident-${id}`;
}
