import type { Duration } from '@temporalio/common';
import { z } from 'zod';
import { Condition, evaluate, Matcher } from './conditions';
import type { Incident, IncidentEventType } from './incident';
import { INCIDENT_EVENT_TYPES, IncidentChange } from './incident';
import { e164 } from './phone';
import { startSpecSchema } from './schedule';
import { SEVERITIES, Severity } from './severity';

/**
 * The runbook format: YAML or JSON files an SRE writes, validated here. Every string input is a
 * Handlebars template (see templates.ts); the schema checks shapes, the loader adds file and line.
 */

/** A group holding a quantifier, itself quantified: (a+)+, (a*)*, (x|y+){2,}. */
const NESTED_QUANTIFIER = /\([^()]*[+*}][^()]*\)\s*[+*{]/;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const matcher = z
  .object({
    equals: scalar.optional(),
    in: z.array(scalar).optional(),
    notIn: z.array(scalar).optional(),
    exists: z.boolean().optional(),
    matches: z.string().optional(),
  })
  .strict()
  .refine((m) => Object.keys(m).length > 0, 'a matcher needs one of: equals, in, notIn, exists, matches')
  .refine((m) => m.matches === undefined || isRegExp(m.matches), 'matches must be a valid regular expression')
  .refine(
    (m) => m.matches === undefined || !NESTED_QUANTIFIER.test(m.matches),
    'matches must not repeat a repeated group, such as (a+)+: such patterns can take exponential time',
  );

/**
 * Conditions on `severity` are checked against the severity scale (src/core/severity.ts), since an
 * incident's severity is always SEV1…SEV5 by the time a runbook sees it: a value off the scale
 * would never match, silently. `equals`, `in` and `notIn` values (and a plain value) must be
 * `SEV1`…`SEV5`; spellings of them (`sev1`, `Sev 1`, `SEV-1`) and priorities `P1`…`P5` are read
 * as SEV1…SEV5 and stored canonical when the runbook loads. Everything else is refused, naming
 * the accepted values: numbers (`in: [0, 1, 2]` is 0-based on some scales and 1-based on others),
 * `SEV0`, words (`critical`), and values off the scale (`SEV9`). `exists` and `matches` are not
 * checked (a pattern is matched against the canonical value).
 */
const SEVERITY_PATH = 'severity';
const RUNBOOK_SEVERITY = /^(?:sev|p)[\s_-]?([1-5])$/i;
export const RUNBOOK_SEVERITIES_ACCEPTED = `${SEVERITIES.join(', ')} (sev1, Sev 1, SEV-1 and P1-P5 are read as SEV1-SEV5)`;

/** The canonical severity a runbook condition's value stands for, or undefined when it is not one. */
export function runbookSeverity(value: unknown): Severity | undefined {
  if (typeof value !== 'string') return undefined;
  const m = RUNBOOK_SEVERITY.exec(value.trim());
  return m ? SEVERITIES[Number(m[1]) - 1] : undefined;
}

type FieldConditions = Record<string, z.infer<typeof scalar> | z.infer<typeof matcher>>;

/** Names each severity value of one field-condition record that is off the scale. */
function checkSeverityCondition(record: FieldConditions, ctx: z.RefinementCtx): void {
  if (!Object.prototype.hasOwnProperty.call(record, SEVERITY_PATH)) return;
  const check = (value: unknown, path: (string | number)[]) => {
    if (runbookSeverity(value)) return;
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: [SEVERITY_PATH, ...path],
      message: `${shown} is not a severity; use ${RUNBOOK_SEVERITIES_ACCEPTED}`,
    });
  };
  const expected = record[SEVERITY_PATH];
  if (typeof expected !== 'object') return check(expected, []);
  if (expected.equals !== undefined) check(expected.equals, ['equals']);
  expected.in?.forEach((v, i) => check(v, ['in', i]));
  expected.notIn?.forEach((v, i) => check(v, ['notIn', i]));
}

/**
 * The condition with its severity values canonical (`sev1`, `P1` → `SEV1`), at every depth. Run
 * on a whole valid runbook: a transform inside the condition union would hide the problems of
 * the alternative that got furthest.
 */
export function canonicalSeverities(condition: Condition): Condition {
  if ('anyOf' in condition && Array.isArray(condition.anyOf))
    return { anyOf: condition.anyOf.map(canonicalSeverities) };
  if ('allOf' in condition && Array.isArray(condition.allOf))
    return { allOf: condition.allOf.map(canonicalSeverities) };
  if (
    'not' in condition &&
    typeof condition.not === 'object' &&
    condition.not !== null &&
    !Array.isArray(condition.not)
  )
    return { not: canonicalSeverities(condition.not as Condition) };
  const record = condition as FieldConditions;
  if (!Object.prototype.hasOwnProperty.call(record, SEVERITY_PATH)) return condition;
  const canonical = <T>(v: T): T | Severity => runbookSeverity(v) ?? v;
  const expected = record[SEVERITY_PATH];
  if (typeof expected !== 'object') return { ...record, [SEVERITY_PATH]: canonical(expected) };
  const m: Matcher = { ...expected };
  if (m.equals !== undefined) m.equals = canonical(m.equals);
  if (m.in !== undefined) m.in = m.in.map(canonical);
  if (m.notIn !== undefined) m.notIn = m.notIn.map(canonical);
  return { ...record, [SEVERITY_PATH]: m };
}

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ anyOf: z.array(conditionSchema).min(1) }).strict(),
    z.object({ allOf: z.array(conditionSchema).min(1) }).strict(),
    z.object({ not: conditionSchema }).strict(),
    z
      .record(
        z.string().regex(/^[A-Za-z_][\w]*(\.[\w-]+)*$/, 'a field path such as severity or fields.service'),
        z.union([scalar, matcher]),
      )
      .refine((r) => Object.keys(r).length > 0, 'a condition needs at least one field')
      .superRefine(checkSeverityCondition),
  ]),
) as z.ZodType<Condition>;

/** Durations as Temporal takes them: "90s", "10m", "2h", "3 days". */
export const DURATION_PATTERN = /^\d+(\.\d+)?\s*(ms|s|m|h|d|w|sec|secs|seconds?|mins?|minutes?|hours?|days?|weeks?)$/i;
/** The pattern shows in the JSON schema and its message in errors; the pipe gives the checked value Temporal's Duration type. */
export const durationSchema = z
  .string()
  .regex(DURATION_PATTERN, 'a duration such as "90s", "10m", "2h" or "3 days"')
  .pipe(z.custom<Extract<Duration, string>>());

const template = z.string().max(10_000);
const stepRef = z.string().regex(/^[a-z][a-z0-9_-]*$/i, 'the id of an earlier step');

const invitees = z.union([
  z.array(template).max(300),
  z.object({ roles: z.array(z.enum(['owner', 'responders'])).min(1), emails: z.array(template).optional() }).strict(),
]);

const meetingSettings = z
  .object({
    joinBeforeHost: z.boolean().optional(),
    waitingRoom: z.boolean().optional(),
    autoRecording: z.enum(['none', 'local', 'cloud']).optional(),
    muteUponEntry: z.boolean().optional(),
    /** auto: Zoom's AI Companion summarises the meeting from its start (`auto_start_meeting_summary`); off: it does not. */
    summary: z.enum(['auto', 'off']).optional(),
    /** People sign up before joining (Zoom registration, approved automatically). */
    registration: z.boolean().optional(),
    /** Breakout rooms, each with the emails pre-assigned to it. */
    breakoutRooms: z
      .array(
        z
          .object({ name: z.string().min(1).max(100), participants: z.array(z.string().max(320)).max(200).optional() })
          .strict(),
      )
      .max(50)
      .optional(),
  })
  .strict();

const email = template;
const registrant = z.object({ email, firstName: template, lastName: template.optional() }).strict();

const createMeetingInputs = z
  .object({
    topic: template,
    agenda: template.optional(),
    duration: z.number().int().min(1).max(1440).optional(),
    passcode: template.optional(),
    settings: meetingSettings.optional(),
    invitees: invitees.optional(),
    alternativeHosts: z.array(template).max(50).optional(),
  })
  .strict();

const step = <A extends string, W extends z.ZodTypeAny>(action: A, inputs: W) =>
  z
    .object({
      id: z
        .string()
        .regex(/^[a-z][a-z0-9_-]*$/i, 'letters, digits, "_" and "-", starting with a letter')
        .max(64),
      action: z.literal(action),
      with: inputs,
      if: conditionSchema.optional(),
      /** Go on with the next step when this one fails (the failure is on the timeline). */
      continueOnError: z.boolean().optional(),
    })
    .strict();

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const recurrence = z
  .object({
    every: z.enum(['day', 'week']),
    /** Weekly meetings: which days (default: the weekday of the first meeting). */
    on: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    at: startSpecSchema,
  })
  .strict()
  .refine((r) => r.every === 'week' || r.on === undefined, {
    message: '"on" (weekdays) is only for every: week',
    path: ['on'],
  });

export const stepSchema = z.discriminatedUnion('action', [
  step(
    'zoom.createMeeting',
    createMeetingInputs.extend({
      /** Re-render the topic when the incident changes (title, severity…) until it is resolved or the meeting ends. */
      followIncident: z.boolean().optional(),
      /** Say on the timeline who has waited this long in the waiting room or for the host (default 2m); off: never. */
      lobbyAlertAfter: z.union([durationSchema, z.literal('off')]).optional(),
    }),
  ),
  step(
    'zoom.scheduleMeeting',
    createMeetingInputs.extend({
      start: startSpecSchema,
      /** When the incident reopens before the meeting: cancel it (default), re-plan it for the next resolution, or keep it. */
      onReopen: z.enum(['cancel', 'replan', 'keep']).optional(),
    }),
  ),
  step('zoom.recurringMeeting', createMeetingInputs.extend({ recurrence })),
  step(
    'zoom.updateMeeting',
    z
      .object({
        meeting: stepRef,
        topic: template.optional(),
        agenda: template.optional(),
        duration: z.number().int().min(1).max(1440).optional(),
        settings: meetingSettings.optional(),
      })
      .strict(),
  ),
  step(
    'zoom.manageParticipants',
    z
      .object({
        meeting: stepRef,
        addInvitees: invitees.optional(),
        removeInvitees: z.array(email).max(300).optional(),
        addAlternativeHosts: z.array(email).max(50).optional(),
        removeAlternativeHosts: z.array(email).max(50).optional(),
        registrants: z.array(registrant).max(300).optional(),
      })
      .strict()
      .refine(
        (w) => Object.keys(w).length > 1,
        'say what to change: addInvitees, removeInvitees, addAlternativeHosts, removeAlternativeHosts or registrants',
      ),
  ),
  step(
    'zoom.endMeeting',
    z
      .object({
        meeting: stepRef,
        graceMinutes: z.number().min(0).max(1440).optional(),
        /** Wait until everyone has left (from Zoom's participant webhooks), at most this long. */
        whenEmpty: durationSchema.optional(),
      })
      .strict(),
  ),
  step('zoom.deleteMeeting', z.object({ meeting: stepRef }).strict()),
  step(
    'zoom.recordingSettings',
    z
      .object({
        meeting: stepRef,
        share: z.enum(['publicly', 'internally', 'none']).optional(),
        viewerDownload: z.boolean().optional(),
        onDemand: z.boolean().optional(),
        requireSignIn: z.boolean().optional(),
        autoDelete: z.boolean().optional(),
      })
      .strict(),
  ),
  step(
    'zoom.recordingControl',
    z
      .object({
        meeting: stepRef,
        /** What to do with the live meeting's cloud recording. */
        action: z.enum(['start', 'pause', 'resume', 'stop']),
        /** First wait until Zoom's webhooks say the meeting is live, at most this long (then Zoom is asked anyway). */
        whenLive: durationSchema.optional(),
      })
      .strict(),
  ),
  step(
    'zoom.callOut',
    z
      .object({
        meeting: stepRef,
        /** Who Zoom phones into the meeting: a display name and a number with its country code (both templates). */
        people: z
          .array(
            z
              .object({
                name: z.string().min(1).max(64),
                phone: z
                  .string()
                  .refine(
                    (p) => p.includes('{{') || e164(p) !== undefined,
                    'expected a phone number with its country code (E.164, e.g. +12065550100) or a template',
                  ),
              })
              .strict(),
          )
          .min(1)
          .max(10),
        /** Zoom's call-out options (its defaults: both true). */
        requireGreeting: z.boolean().optional(),
        requirePressingOne: z.boolean().optional(),
        /** Phone only if the incident is not acknowledged (nor resolved) within this long. */
        when: z.object({ notAcknowledgedWithin: durationSchema }).strict().optional(),
      })
      .strict(),
  ),
  step(
    'zoom.collectRecordings',
    z
      .object({
        meeting: stepRef,
        /** Give up after this long without a recording (default 24h). */
        deadline: durationSchema.optional(),
        /** Ask Zoom this often in case the webhook never comes (default 30m). */
        pollEvery: durationSchema.optional(),
      })
      .strict(),
  ),
  step(
    'zoom.collectSummary',
    z
      .object({
        meeting: stepRef,
        /** Give up after this long without a summary (default 2h). */
        deadline: durationSchema.optional(),
        /** Ask Zoom this often in case the meeting.summary_completed webhook never comes (default 10m). */
        pollEvery: durationSchema.optional(),
      })
      .strict(),
  ),
  step(
    'zoom.collectTranscript',
    z
      .object({
        meeting: stepRef,
        /** Give up after this long without a transcript (default 24h). */
        deadline: durationSchema.optional(),
        /** Ask Zoom this often in case the recording.transcript_completed webhook never comes (default 30m). */
        pollEvery: durationSchema.optional(),
        /** link (default): the recording's share link; text: the spoken text too, in the step's output (an excerpt on the timeline). */
        store: z.enum(['link', 'text']).optional(),
        /** With store: text, keep at most this many characters (default 20000). */
        maxChars: z.number().int().min(1).max(100_000).optional(),
      })
      .strict(),
  ),
  step(
    'zoom.collectAttendance',
    z
      .object({
        meeting: stepRef,
        /** How long to wait for the meeting to end before reconciling (default 12h). */
        waitForEnd: durationSchema.optional(),
      })
      .strict(),
  ),
  step('timeline.post', z.object({ message: template }).strict()),
  step(
    'wait.forIncident',
    z
      .object({ status: z.union([z.string(), z.array(z.string()).min(1)]), timeout: durationSchema.optional() })
      .strict(),
  ),
  step('wait.duration', z.object({ for: durationSchema }).strict()),
  step('wait.until', z.object({ at: startSpecSchema }).strict()),
]);

/** Actions whose output is a meeting other steps can name with `meeting: <step id>`. */
const MEETING_ACTIONS = new Set(['zoom.createMeeting', 'zoom.scheduleMeeting', 'zoom.recurringMeeting']);

export const runbookSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"')
      .max(64),
    description: z.string().max(2000).optional(),
    connector: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .optional(),
    trigger: z.object({ on: z.array(z.enum(INCIDENT_EVENT_TYPES)).min(1), when: conditionSchema.optional() }).strict(),
    steps: z.array(stepSchema).min(1).max(100),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const earlier = new Map<string, string>();
    runbook.steps.forEach((s, i) => {
      if (earlier.has(s.id))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['steps', i, 'id'],
          message: `step id "${s.id}" is used twice`,
        });
      if ('meeting' in s.with) {
        const ref = s.with.meeting;
        if (!MEETING_ACTIONS.has(earlier.get(ref) ?? '')) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['steps', i, 'with', 'meeting'],
            message: `"${ref}" is not an earlier step that creates a meeting`,
          });
        }
      }
      for (const ref of stepReferences(s.with)) {
        if (!earlier.has(ref))
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['steps', i, 'with'],
            message: `{{steps.${ref}…}} refers to no earlier step`,
          });
      }
      earlier.set(s.id, s.action);
    });
  })
  .transform((runbook) => ({
    ...runbook,
    trigger: runbook.trigger.when
      ? { ...runbook.trigger, when: canonicalSeverities(runbook.trigger.when) }
      : runbook.trigger,
    steps: runbook.steps.map((s) => (s.if ? { ...s, if: canonicalSeverities(s.if) } : s)),
  }));

export type Runbook = z.infer<typeof runbookSchema>;
export type RunbookStep = z.infer<typeof stepSchema>;
export type StepAction = RunbookStep['action'];

/** The step ids that `{{steps.<id>…}}` templates inside `value` refer to. */
function stepReferences(value: unknown): string[] {
  const text = JSON.stringify(value);
  return [...text.matchAll(/\{\{[^}]*?\bsteps\.([A-Za-z][\w-]*)/g)].map((m) => m[1]);
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** Does this event, on this incident (or on what an event says of it), trigger the runbook? */
export function runbookMatches(
  runbook: Runbook,
  eventType: IncidentEventType,
  incident: Incident | IncidentChange,
): boolean {
  return (
    runbook.trigger.on.includes(eventType) &&
    (!runbook.trigger.when || evaluate(runbook.trigger.when, incident as unknown as Record<string, unknown>))
  );
}

/** Invitee emails: listed ones, plus the incident's owner and responders when their roles are named. */
export function resolveInvitees(spec: z.infer<typeof invitees> | undefined, incident: Incident): string[] | undefined {
  if (!spec) return undefined;
  if (Array.isArray(spec)) return spec;
  const emails = [...(spec.emails ?? [])];
  if (spec.roles.includes('owner') && incident.owner?.email) emails.push(incident.owner.email);
  if (spec.roles.includes('responders'))
    emails.push(...(incident.responders ?? []).flatMap((r) => (r.email ? [r.email] : [])));
  return [...new Set(emails)];
}
