import { createHmac, timingSafeEqual } from 'node:crypto';
import { ZOOM_LOBBY_EVENT_TYPES, ZOOM_MEETING_EVENT_TYPES } from '../core/meeting-events';

/**
 * Zoom webhooks: signing, verification, URL validation (CRC) and a light envelope parser.
 * Rules from Zoom's webhooks page (developers.zoom.us/docs/api/webhooks/): the signature is
 * `v0=` + hex HMAC-SHA256(secret token, `v0:{x-zm-request-timestamp}:{raw body}`).
 */

export const SIGNATURE_HEADER = 'x-zm-signature';
export const TIMESTAMP_HEADER = 'x-zm-request-timestamp';
export const REQUEST_ID_HEADER = 'x-zm-request-id';
export const URL_VALIDATION_EVENT = 'endpoint.url_validation';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A header as Node hands it over: repeated headers arrive as an array. */
type HeaderValue = string | string[] | undefined;

export function signWebhook(secretToken: string, timestamp: string | number, rawBody: string): string {
  return `v0=${hmacHex(secretToken, `v0:${timestamp}:${rawBody}`)}`;
}

export interface VerifyWebhookInput {
  secretToken: string;
  /** The body exactly as received: re-serialised JSON may differ byte for byte. */
  rawBody: string;
  /** The `x-zm-request-timestamp` header (unix seconds). */
  timestamp: HeaderValue;
  /** The `x-zm-signature` header (`v0=<hex>`). */
  signature: HeaderValue;
  /** Current time in milliseconds since the epoch; defaults to Date.now(). */
  now?: number;
  toleranceSeconds?: number;
}

export type VerifyWebhookResult = { ok: true } | { ok: false; reason: string };

const SIGNATURE_FORMAT = /^v0=([0-9a-f]+)$/i;
const TIMESTAMP_FORMAT = /^\d{1,12}$/;

/** Checks a delivery came from Zoom. Reasons never include the secret or the expected signature. */
export function verifyWebhook(input: VerifyWebhookInput): VerifyWebhookResult {
  const { secretToken, rawBody, timestamp, signature } = input;
  // An empty key would let anyone produce a valid signature.
  if (!secretToken) return { ok: false, reason: 'no webhook secret token is configured' };
  if (timestamp === undefined || timestamp === '') return { ok: false, reason: `missing ${TIMESTAMP_HEADER} header` };
  if (signature === undefined || signature === '') return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  if (typeof timestamp !== 'string' || !TIMESTAMP_FORMAT.test(timestamp)) {
    return { ok: false, reason: `malformed ${TIMESTAMP_HEADER} header: expected unix seconds` };
  }
  const given = typeof signature === 'string' ? SIGNATURE_FORMAT.exec(signature) : null;
  if (!given || given[1].length % 2 !== 0)
    return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header: expected v0=<hex>` };

  // Zoom documents no replay window; rejecting old (or future) timestamps is our own policy.
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const ageSeconds = Math.abs((input.now ?? Date.now()) / 1000 - Number(timestamp));
  if (ageSeconds > tolerance)
    return { ok: false, reason: `stale ${TIMESTAMP_HEADER}: more than ${tolerance}s from now` };

  const expected = Buffer.from(hmacHex(secretToken, `v0:${timestamp}:${rawBody}`), 'hex');
  const actual = Buffer.from(given[1], 'hex');
  // timingSafeEqual throws on different lengths, so check first (the length is no secret).
  if (actual.length !== expected.length) return { ok: false, reason: 'signature length mismatch' };
  if (!timingSafeEqual(actual, expected)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

/** The answer to Zoom's `endpoint.url_validation` challenge. */
export function urlValidationResponse(
  secretToken: string,
  plainToken: string,
): { plainToken: string; encryptedToken: string } {
  return { plainToken, encryptedToken: hmacHex(secretToken, plainToken) };
}

function hmacHex(key: string, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('hex');
}

// ---- Event shapes (reference §6.4, §3.4). Ids are strings here: see parseWebhookEvent. ----

export interface MeetingEventObject {
  id: string;
  uuid: string;
  host_id: string;
  topic?: string;
  type: number;
  start_time?: string;
  timezone?: string;
  duration: number;
}

export interface WebhookParticipant {
  /** Assigned on joining, valid for this meeting only. */
  user_id: string;
  user_name?: string;
  /** The participant's Zoom user id when signed in, else empty. */
  id?: string;
  participant_uuid?: string;
  email: string;
  registrant_id?: string;
  participant_user_id?: string;
  join_time?: string;
  leave_time?: string;
  leave_reason?: string;
}

export interface RecordingFile {
  id: string;
  meeting_id: string;
  recording_start: string;
  recording_end: string;
  file_type: string;
  file_extension: string;
  file_size: number;
  play_url?: string;
  download_url: string;
  status: 'completed' | 'processing';
  recording_type: string;
}

export interface RecordingObject {
  id: string;
  uuid: string;
  account_id: string;
  host_id: string;
  host_email: string;
  topic: string;
  type: number;
  start_time: string;
  timezone?: string;
  duration: number;
  total_size: number;
  recording_count: number;
  share_url: string;
  password: string;
  recording_play_passcode?: string;
  recording_files: RecordingFile[];
}

/**
 * `meeting.summary_completed` (AI Companion; not in the 2023 OpenAPI copy, shape as Zoom documents
 * it): the meeting is `meeting_id` (a number, made a string by parseWebhookEvent) and the instance
 * `meeting_uuid`. It carries the summary itself, which we do not read from here.
 */
export interface SummaryEventObject {
  meeting_id: string;
  meeting_uuid: string;
  meeting_host_id?: string;
  meeting_topic?: string;
  meeting_start_time?: string;
  meeting_end_time?: string;
  summary_created_time?: string;
  summary_title?: string;
}

/**
 * Someone in the waiting room (joined it, put back in it, admitted from it, left it), as Zoom's
 * meeting.participant_*_waiting_room and meeting.participant_admitted carry them: `date_time` is
 * when it happened.
 */
export interface WaitingRoomParticipant {
  user_id: string;
  user_name?: string;
  id?: string;
  participant_uuid?: string;
  email: string;
  date_time: string;
  registrant_id?: string;
  customer_key?: string;
}

/**
 * Someone waiting for the host (meeting.participant_jbh_waiting, …_jbh_waiting_left) or joining
 * before the host (…_jbh_joined): Zoom names them only by their Zoom user id when signed in, and
 * gives no time (the envelope's event_ts says when).
 */
export interface JoinBeforeHostParticipant {
  id?: string;
  user_name?: string;
  registrant_id?: string;
  customer_key?: string;
}

/** The object of a lobby webhook; `start_time` is absent while the meeting has not started. */
type LobbyObject<P> = Omit<MeetingEventObject, 'start_time'> & { start_time?: string; participant: P };

/** `app_deauthorized` puts its fields straight in `payload`, with no `object`. */
export interface AppDeauthorizedPayload {
  account_id: string;
  user_id: string;
  client_id: string;
  deauthorization_time: string;
  signature: string;
  /** Zoom's schema says number, its example shows a string like "2024-09-08 15:58:40". */
  event_ts?: number | string;
}

export interface WebhookPayloads {
  'meeting.started': { account_id: string; object: MeetingEventObject };
  'meeting.ended': { account_id: string; object: MeetingEventObject & { end_time: string } };
  'meeting.participant_joined': {
    account_id: string;
    object: MeetingEventObject & { participant: WebhookParticipant & { join_time: string } };
  };
  'meeting.participant_left': {
    account_id: string;
    object: MeetingEventObject & { participant: WebhookParticipant & { leave_time: string } };
  };
  'recording.completed': { account_id: string; object: RecordingObject };
  /** The recording's TRANSCRIPT file is ready: the recording object, its files that transcript alone. */
  'recording.transcript_completed': { account_id: string; object: RecordingObject };
  'meeting.summary_completed': { account_id: string; object: SummaryEventObject };
  'meeting.participant_joined_waiting_room': { account_id: string; object: LobbyObject<WaitingRoomParticipant> };
  'meeting.participant_put_in_waiting_room': { account_id: string; object: LobbyObject<WaitingRoomParticipant> };
  'meeting.participant_admitted': { account_id: string; object: LobbyObject<WaitingRoomParticipant> };
  'meeting.participant_left_waiting_room': { account_id: string; object: LobbyObject<WaitingRoomParticipant> };
  'meeting.participant_jbh_waiting': { account_id: string; object: LobbyObject<JoinBeforeHostParticipant> };
  'meeting.participant_jbh_waiting_left': { account_id: string; object: LobbyObject<JoinBeforeHostParticipant> };
  'meeting.participant_jbh_joined': { account_id: string; object: LobbyObject<JoinBeforeHostParticipant> };
  app_deauthorized: AppDeauthorizedPayload;
  'endpoint.url_validation': { plainToken: string };
}

/** The JSON body Zoom posts. `download_token` sits beside `event` on `recording.completed` and `recording.transcript_completed`. */
export interface WebhookEnvelope<P = Record<string, unknown>> {
  event: string;
  /** Milliseconds since the epoch: when the event happened. */
  event_ts?: number;
  payload: P;
  download_token?: string;
}

export class WebhookParseError extends Error {
  override readonly name = 'WebhookParseError';
}

/**
 * Parses a webhook body without schema validation: the shape is trusted once the signature
 * checks out. Normalises `payload.object.id` to a string: events carry string ids
 * (`"id": "1234567890"`) but some (recording.completed) and all REST answers use int64 numbers.
 * `event_ts` is taken from the top level, else from `payload.event_ts` (app_deauthorized).
 */
export function parseWebhookEvent(rawBody: string): WebhookEnvelope {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new WebhookParseError('Webhook body is not valid JSON.');
  }
  if (!isObject(body)) throw new WebhookParseError('Webhook body must be a JSON object.');
  if (typeof body.event !== 'string' || body.event === '')
    throw new WebhookParseError('Webhook body has no "event" name.');
  if (!isObject(body.payload)) throw new WebhookParseError(`Webhook "${body.event}" has no "payload" object.`);

  const payload = { ...body.payload };
  for (const key of ['id', 'meeting_id'])
    if (isObject(payload.object) && typeof payload.object[key] === 'number')
      payload.object = { ...payload.object, [key]: String(payload.object[key]) };
  checkMeetingEventShape(body.event, payload);
  const envelope: WebhookEnvelope = { event: body.event, payload };
  const eventTs = eventTimeMs(body.event_ts) ?? eventTimeMs(payload.event_ts);
  if (eventTs !== undefined) envelope.event_ts = eventTs;
  if (typeof body.download_token === 'string') envelope.download_token = body.download_token;
  return envelope;
}

/** The events runbooks receive (src/temporal/zoom-events.ts), and the fields of each that are read. */
const MEETING_EVENTS = new Set<string>(ZOOM_MEETING_EVENT_TYPES);
const PARTICIPANT_EVENTS = new Set<string>([
  'meeting.participant_joined',
  'meeting.participant_left',
  ...ZOOM_LOBBY_EVENT_TYPES,
]);
const MEETING_ID = /^\d{1,20}$/;

/**
 * Even a signed body is checked for the few fields that are read from it, so a malformed one is
 * a WebhookParseError (400: Zoom does not retry it) rather than a crash (500, retried). Messages
 * name the field, never its value.
 */
function checkMeetingEventShape(event: string, payload: Record<string, unknown>): void {
  if (!MEETING_EVENTS.has(event)) return;
  const bad = (field: string, what: string) =>
    new WebhookParseError(`Webhook "${event}": payload.${field} must be ${what}.`);
  const object = payload.object;
  if (!isObject(object)) throw bad('object', 'an object');
  // Summary events name the meeting meeting_id (and the instance meeting_uuid); the others id.
  const idField = event === 'meeting.summary_completed' ? 'meeting_id' : 'id';
  const id = object[idField];
  if (typeof id !== 'string' || !MEETING_ID.test(id)) throw bad(`object.${idField}`, 'a Zoom meeting id');
  if (event === 'meeting.summary_completed' && (typeof object.meeting_uuid !== 'string' || !object.meeting_uuid))
    throw bad('object.meeting_uuid', 'a meeting UUID');
  const optionalString = (from: Record<string, unknown>, prefix: string, keys: string[]) => {
    for (const key of keys)
      if (from[key] !== undefined && typeof from[key] !== 'string') throw bad(`${prefix}${key}`, 'a string');
  };
  optionalString(object, 'object.', ['uuid', 'start_time', 'end_time', 'share_url', 'summary_created_time']);
  if (PARTICIPANT_EVENTS.has(event)) {
    if (!isObject(object.participant)) throw bad('object.participant', 'an object');
    optionalString(object.participant, 'object.participant.', [
      'id',
      'user_id',
      'participant_uuid',
      'user_name',
      'email',
      'join_time',
      'leave_time',
      'date_time',
    ]);
  }
  if (event.startsWith('recording.') && object.recording_files !== undefined) {
    if (!Array.isArray(object.recording_files) || !object.recording_files.every(isObject))
      throw bad('object.recording_files', 'a list of objects');
  }
}

/** Narrows a parsed envelope to one event's payload type. */
export function isWebhookEvent<E extends keyof WebhookPayloads>(
  envelope: WebhookEnvelope,
  event: E,
): envelope is WebhookEnvelope<WebhookPayloads[E] & Record<string, unknown>> & { event: E } {
  return envelope.event === event;
}

/** The largest time a Date holds (±100,000,000 days from 1970): beyond it, `new Date(ms)` is invalid. */
const MAX_DATE_MS = 8.64e15;

/** Numeric milliseconds, or Zoom's "YYYY-MM-DD HH:mm:ss" string, which we read as UTC (no zone is given). */
function eventTimeMs(value: unknown): number | undefined {
  // Only a time a Date can hold: readers turn it into an ISO string, which throws for 1e300.
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_DATE_MS) return value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/.test(value)) {
    const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
