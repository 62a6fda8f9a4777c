/**
 * Checks of what operators and other workflows send to signals and updates: the `temporal` CLI
 * takes any JSON, so every input is checked by type, and each problem names its field. Updates
 * refuse bad input (their validators throw); signals cannot refuse, so their handlers ignore it
 * and say so, rather than failing the workflow task over and over.
 */
import { log } from '@temporalio/workflow';
import { e164 } from '../src/core/phone';
import { INCIDENT_EVENT_TYPES_LIST } from './contract/incident';
import { ZOOM_MEETING_EVENT_TYPES } from './contract/shared';

type Shape = Record<string, (value: unknown) => string | undefined>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const string = (v: unknown) =>
  typeof v === 'string' && v.length > 0 ? undefined : `must be a non-empty string, not ${describe(v)}`;
export const boolean = (v: unknown) =>
  typeof v === 'boolean' ? undefined : `must be true or false, not ${describe(v)}`;
export const isoTime = (v: unknown) =>
  string(v) ?? (Number.isNaN(Date.parse(v as string)) ? `must be an ISO 8601 time, not ${describe(v)}` : undefined);
export const oneOf = (values: readonly string[]) => (v: unknown) =>
  values.includes(v as string) ? undefined : `must be one of ${values.join(', ')}, not ${describe(v)}`;
export const emails = (v: unknown) => {
  if (!Array.isArray(v)) return `must be a list of email addresses, not ${describe(v)}`;
  const bad = v.filter((e) => typeof e !== 'string' || !EMAIL.test(e));
  return bad.length ? `not email addresses: ${bad.map(describe).join(', ')}` : undefined;
};
export const object = (shape: Shape) => (v: unknown) =>
  isObject(v) ? problems(v, shape).join('; ') || undefined : `must be an object, not ${describe(v)}`;
export const optional = (check: (v: unknown) => string | undefined) => (v: unknown) =>
  v === undefined ? undefined : check(v);

/** Every problem of `value` against `shape` (fields are required unless wrapped in `optional`), with field names. */
export function problems(value: unknown, shape: Shape): string[] {
  if (!isObject(value)) return [`expected a JSON object, got ${describe(value)}`];
  const found = Object.entries(shape).flatMap(([field, check]) => {
    const problem = check(value[field]);
    return problem ? [`${field}: ${value[field] === undefined ? 'is required' : problem}`] : [];
  });
  const unknown = Object.keys(value).filter((k) => !(k in shape));
  return unknown.length ? [...found, `unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`] : found;
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export const ADD_PARTICIPANTS: Shape = {
  emails: optional(emails),
  alternativeHosts: optional(emails),
  meeting: optional(string),
};
/** The value is never echoed: a phone number is personal data. */
export const CALL_OUT: Shape = {
  name: string,
  phone: (v) =>
    typeof v === 'string' && e164(v)
      ? undefined
      : 'must be a phone number with its country code (E.164, e.g. +12065550100)',
  meeting: optional(string),
};
export const CANCEL_RUNBOOK: Shape = {
  cleanup: optional(boolean),
  reason: optional((v) => (typeof v === 'string' ? undefined : `must be a string, not ${describe(v)}`)),
};
export const RUN_RUNBOOK: Shape = { runbook: string, requestId: optional(string) };
export const END_BRIDGE: Shape = {
  meetingId: optional((v) =>
    typeof v === 'string' && /^\d{1,20}$/.test(v)
      ? undefined
      : `must be a Zoom meeting id (digits), not ${describe(v)}`,
  ),
};
export const INCIDENT_EVENT: Shape = {
  eventId: string,
  type: oneOf(INCIDENT_EVENT_TYPES_LIST),
  occurredAt: isoTime,
  incident: (v) => (isObject(v) ? string(v.id) && `id: ${string(v.id)}` : `must be an object, not ${describe(v)}`),
};
export const MEETING_EVENT: Shape = {
  type: oneOf(ZOOM_MEETING_EVENT_TYPES),
  meetingId: string,
  at: isoTime,
  uuid: optional(string),
  participant: optional(object({ id: string, name: optional(string), email: optional(string) })),
  recording: optional((v) =>
    isObject(v) && Array.isArray(v.files) ? undefined : 'must be an object with a "files" list',
  ),
};
export const MEETING_OWNER: Shape = { owner: string };
export const MEETING_RECORD: Shape = {
  id: string,
  kind: oneOf(['bridge', 'scheduled', 'recurring']),
  owner: string,
  connector: optional(string),
  done: optional(oneOf(['ended', 'deleted'])),
};

/** For signal handlers: true (and a warning in the worker's log) when the input has problems. */
export function ignoredInput(signal: string, input: unknown, shape: Shape): string | undefined {
  const found = problems(input, shape);
  if (!found.length) return undefined;
  const why = `Ignored a ${signal} signal: ${found.join('; ')}`;
  log.warn(why);
  return why;
}
