import { randomBytes, randomInt } from 'node:crypto';
import { OperationFacts, OPERATIONS, ZoomOperation } from '../zoom/operations';
import { SandboxRateLimits } from './rate-limits';
import { Route, SandboxRequest, ZoomHttpError, route } from './http';

export interface SandboxUser {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
}

export interface SandboxCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
}

export interface IssuedToken {
  expiresAt: number;
  scopes: string[];
  /** Set for user-level OAuth tokens: the user `me` means. */
  userId?: string;
}

/** A meeting as the sandbox stores it: Zoom's Get-meeting object. */
export type StoredMeeting = Record<string, unknown> & {
  id: number;
  uuid: string;
  host_id: string;
  topic: string;
  type: number;
  status: string;
};

/** A person in one meeting instance, as Zoom's past-participants API reports them. */
export interface ParticipantRecord {
  id: string;
  user_id: string;
  name: string;
  user_email: string;
  join_time: string;
  leave_time?: string;
  /** Seconds in the meeting (set when they leave). */
  duration: number;
  status: 'in_meeting' | 'in_waiting_room';
  registrant_id?: string;
}

/** Someone waiting to get into a meeting: in its waiting room (for the host to admit them), or for its host to start it. */
export interface LobbyPerson {
  meetingId: number;
  /** The per-meeting id Zoom assigns on joining; kept when admitted. */
  user_id: string;
  participant_uuid: string;
  /** Their Zoom user id when signed in, else empty. */
  id: string;
  name: string;
  email: string;
  waitsFor: 'admission' | 'host';
  since: string;
}

/** Where a live meeting's cloud recording stands (in-meeting controls change it). */
export type CloudRecordingState = 'recording' | 'paused' | 'stopped';

/** One occurrence of a meeting being held: started, maybe ended, maybe recorded. */
export interface MeetingInstance {
  uuid: string;
  meetingId: number;
  startTime: string;
  endTime?: string;
  participants: ParticipantRecord[];
  /** Its cloud recording while live (absent: never started). */
  cloudRecording?: CloudRecordingState;
  /** Zoom's recording object fields for this instance (share_url, recording_files, ...), once completed. */
  recording?: Record<string, unknown>;
  /** AI Companion's summary of this instance (Zoom's meeting_summary object), once written. */
  summary?: Record<string, unknown>;
  /** AI Companion's transcript of this instance (what Zoom's transcript endpoint answers), once written. */
  companionTranscript?: Record<string, unknown>;
}

/** Where the sandbox sends webhooks, signed with the secret token as Zoom signs them. */
export interface WebhookSubscription {
  url: string;
  secretToken: string;
}

export interface SandboxGroup {
  id: string;
  name: string;
  memberIds: string[];
}

/** What the Zoom API routes need from the rest of the sandbox. */
export interface ZoomApiHooks {
  /** End a meeting in progress (participants leave, webhooks fire), as the simulation does. */
  endMeeting(meeting: StoredMeeting): Promise<unknown>;
}

/** One of Zoom's `global_dial_in_numbers`. */
export interface DialInNumber {
  country: string;
  country_name: string;
  city?: string;
  number: string;
  type: 'toll' | 'tollfree';
}

/** Account settings the admin API changes (`PATCH /_sandbox/account`). */
export interface SandboxAccount {
  /** Cloud recording enabled on the account: Zoom refuses recording controls without it. */
  cloudRecording: boolean;
  /** The call-out feature (Zoom phones people in): Zoom refuses call-outs without it. */
  callOut: boolean;
  /** AI Companion's meeting summary enabled on the account: without it Zoom writes no summary and refuses to read one. */
  aiCompanion: boolean;
  /** The numbers of the account's dial-in countries, which every meeting's settings list. */
  dialInNumbers: DialInNumber[];
}

/** Made-up numbers (the ranges set aside for fiction where there is one), in the account's country order. */
export const SANDBOX_DIAL_IN_NUMBERS: DialInNumber[] = [
  { country: 'US', country_name: 'US', city: 'New York', number: '+1 555 010 0100', type: 'toll' },
  { country: 'US', country_name: 'US', number: '+1 800 555 0100', type: 'tollfree' },
  { country: 'GB', country_name: 'United Kingdom', city: 'London', number: '+44 20 7946 0100', type: 'toll' },
  { country: 'DE', country_name: 'Germany', city: 'Frankfurt', number: '+49 69 9999 0100', type: 'toll' },
];

export function defaultAccount(): SandboxAccount {
  return {
    cloudRecording: true,
    callOut: true,
    aiCompanion: true,
    dialInNumbers: SANDBOX_DIAL_IN_NUMBERS.map((n) => ({ ...n })),
  };
}

/** A person Zoom was asked to phone into a meeting (the test double keeps the number). */
export interface CallOut {
  meetingId: number;
  name: string;
  phone: string;
  requireGreeting: boolean;
  requirePressingOne: boolean;
  at: string;
}

export interface SandboxState {
  credentials: SandboxCredentials;
  account: SandboxAccount;
  callOuts: CallOut[];
  users: SandboxUser[];
  groups: SandboxGroup[];
  scopes: string[];
  tokenTtlSeconds: number;
  tokens: Map<string, IssuedToken>;
  /** Token endpoint calls of every grant type. */
  tokenRequests: number;
  /** User-level OAuth: authorization codes, and refresh tokens by grant (see oauth.ts). */
  oauth: UserOAuthState;
  meetings: Map<number, StoredMeeting>;
  /** Every time a meeting was held, oldest first. */
  instances: MeetingInstance[];
  /** People waiting to get into a meeting (its waiting room, or for its host). */
  lobby: LobbyPerson[];
  webhook?: WebhookSubscription;
  /** Zoom's rate limits; absent means unlimited. */
  rateLimits?: SandboxRateLimits;
  /** Where join links point, so a person can open one in the browser. */
  publicUrl: string;
  /** The transcript files' WebVTT text, by the last segment of their download URL. */
  files: Map<string, string>;
  /** The download tokens webhooks carried (Zoom: valid for 24 hours): `?access_token=` reads a file with one. */
  downloadTokens: Set<string>;
}

const CREATE_RESPONSE_FIELDS = [
  'id',
  'host_email',
  'topic',
  'type',
  'start_time',
  'duration',
  'timezone',
  'agenda',
  'created_at',
  'start_url',
  'join_url',
  'password',
  'h323_password',
  'pstn_password',
  'settings',
  'pre_schedule',
];
/** Each recording control: the state it leaves the live meeting's recording in. */
const RECORDING_METHODS = new Map<unknown, (now: CloudRecordingState) => CloudRecordingState>([
  ['recording.start', (now) => (now === 'stopped' ? 'recording' : now)],
  ['recording.pause', (now) => (now === 'recording' ? 'paused' : now)],
  ['recording.resume', (now) => (now === 'paused' ? 'recording' : now)],
  ['recording.stop', () => 'stopped'],
]);
const MEETING_TYPES = new Set([1, 2, 3, 8]);
const AUTO_RECORDING = new Set(['local', 'cloud', 'none']);
const PASSWORD = /^[A-Za-z0-9@\-_*]{1,10}$/;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z)?$/;

/** Routes of the Zoom REST API and OAuth endpoints the sandbox emulates. */
export function zoomRoutes(state: SandboxState, hooks: ZoomApiHooks): Route[] {
  return [
    route('POST', '/v2/users/:userId/meetings', (req) => {
      const token = requireToken(state, req, 'createMeeting');
      const host = findUser(state, userRef(req.params.userId, token));
      rateLimit(state, req, 'createMeeting', host.id);
      const meeting = createMeeting(state, host, req.json());
      return { status: 201, body: pick(meeting, CREATE_RESPONSE_FIELDS) };
    }),
    route('GET', '/v2/users/:userId/meetings', (req) => {
      const token = requireToken(state, req, 'listMeetings');
      const host = findUser(state, userRef(req.params.userId, token));
      return { status: 200, body: listMeetings(state, host, req.query) };
    }),
    route('GET', '/v2/meetings/:meetingId', (req) => {
      requireToken(state, req, 'getMeeting');
      return { status: 200, body: findMeeting(state, req.params.meetingId) };
    }),
    route('PATCH', '/v2/meetings/:meetingId', (req) => {
      requireToken(state, req, 'updateMeeting');
      const meeting = findMeeting(state, req.params.meetingId);
      rateLimit(state, req, 'updateMeeting', meeting.host_id);
      if (meeting.status === 'started')
        throw new ZoomHttpError(400, 3000, 'You cannot update or delete meetings that have started using this method.');
      updateMeeting(meeting, req.json());
      return { status: 204 };
    }),
    route('DELETE', '/v2/meetings/:meetingId', (req) => {
      requireToken(state, req, 'deleteMeeting');
      const meeting = findMeeting(state, req.params.meetingId);
      if (meeting.status === 'started')
        throw new ZoomHttpError(400, 3002, 'Sorry, you cannot delete this meeting since it is in progress.');
      state.meetings.delete(meeting.id);
      return { status: 204 };
    }),
    route('PUT', '/v2/meetings/:meetingId/status', async (req) => {
      requireToken(state, req, 'endMeeting');
      const meeting = findMeeting(state, req.params.meetingId);
      const action = asObject(req.json(), '').action;
      if (action !== 'end' && action !== 'recover') {
        throw new ZoomHttpError(
          400,
          300,
          'Validation Failed.',
          {},
          { errors: [{ field: 'action', message: 'Invalid field.' }] },
        );
      }
      if (action === 'end' && meeting.status === 'started') await hooks.endMeeting(meeting);
      return { status: 204 };
    }),
    // A call-out needs the account's call-out feature, not a live meeting. Recording controls need
    // a live meeting (a meeting that is not is "Meeting does not exist" under
    // 400/300), then cloud recording enabled on the account (refused under the same code). Zoom
    // documents no error for pausing what is not recording and the like: those change nothing.
    route('PATCH', '/v2/live_meetings/:meetingId/events', (req) => {
      requireToken(state, req, 'inMeetingControl');
      const meeting = findMeeting(state, req.params.meetingId);
      const body = asObject(req.json(), '');
      if (body.method === CALL_OUT) return callOut(state, meeting, body.params);
      const next = RECORDING_METHODS.get(body.method);
      if (!next)
        throw new ZoomHttpError(
          400,
          300,
          'Validation Failed.',
          {},
          { errors: [{ field: 'method', message: 'Invalid field.' }] },
        );
      const live = state.instances.find((i) => i.meetingId === meeting.id && !i.endTime);
      if (!live) throw new ZoomHttpError(400, 300, 'Meeting does not exist.');
      if (!state.account.cloudRecording)
        throw new ZoomHttpError(400, 300, 'This API is not available for this account, please contact Zoom support.');
      live.cloudRecording = next(live.cloudRecording ?? 'stopped');
      return { status: 202 };
    }),
    route('POST', '/v2/meetings/:meetingId/registrants', (req) => {
      requireToken(state, req, 'addRegistrant');
      return { status: 201, body: addRegistrant(findMeeting(state, req.params.meetingId), req.json()) };
    }),
    // Zoom: "the API doesn't return results if there's only one participant in a meeting".
    route('GET', '/v2/past_meetings/:meetingId/participants', (req) => {
      requireToken(state, req, 'listPastParticipants');
      const { participants } = pastInstance(state, req.params.meetingId);
      const listed = (participants.length > 1 ? participants : []).map((p) =>
        pick(p as unknown as Record<string, unknown>, PAST_PARTICIPANT_FIELDS),
      );
      return { status: 200, body: page(req.query, 'participants', listed) };
    }),
    route('GET', '/v2/past_meetings/:meetingId', (req) => {
      requireToken(state, req, 'getPastMeeting');
      const instance = pastInstance(state, req.params.meetingId);
      return { status: 200, body: pastMeeting(state, instance) };
    }),
    // Not in the 2023 OpenAPI copy: shapes as Zoom documents them. Only an instance's UUID names
    // a summary. An account without AI Companion is refused under 400 (Zoom says so in prose only;
    // the code and words here are the sandbox's); a summary not written (yet) is a 404.
    route('GET', '/v2/meetings/:meetingId/meeting_summary', (req) => {
      requireToken(state, req, 'getMeetingSummary');
      const uuid = decodeMeetingRef(req.params.meetingId);
      const instance = state.instances.find((i) => i.uuid === uuid);
      if (!instance) throw new ZoomHttpError(404, 3001, 'Meeting does not exist.');
      if (!state.account.aiCompanion)
        throw new ZoomHttpError(400, 300, 'Meeting summary with AI Companion is not enabled for this account.');
      if (!instance.summary) throw new ZoomHttpError(404, 3001, 'Meeting summary does not exist.');
      return { status: 200, body: instance.summary };
    }),
    // Not in the 2023 OpenAPI copy (2025): shapes and errors as Zoom documents them. A meeting id
    // means its latest ended instance. Only AI Companion's transcript is here: like Zoom (as
    // reported), 404/3322 for a meeting whose transcript is a cloud recording file.
    route('GET', '/v2/meetings/:meetingId/transcript', (req) => {
      requireToken(state, req, 'getMeetingTranscript');
      const ref = decodeMeetingRef(req.params.meetingId);
      const held = state.instances.filter((i) => i.endTime && (i.uuid === ref || String(i.meetingId) === ref));
      if (!held.length && !state.instances.some((i) => i.uuid === ref)) findMeeting(state, ref);
      const transcript = held[held.length - 1]?.companionTranscript;
      if (!transcript) throw new ZoomHttpError(404, 3322, 'This meeting transcript does not exist.');
      return { status: 200, body: transcript };
    }),
    // A file's download_url: with an access token allowed to read recordings or transcripts, or
    // the download token a webhook carried (`?access_token=`). Only transcripts have content here.
    route('GET', '/rec/download/:file', (req) => {
      const downloadToken = req.query.get('access_token');
      if (!downloadToken || !state.downloadTokens.has(downloadToken)) requireToken(state, req, 'downloadTranscript');
      const vtt = state.files.get(req.params.file);
      if (vtt === undefined) throw new ZoomHttpError(404, 3301, 'File does not exist.');
      return { status: 200, headers: { 'content-type': 'text/vtt; charset=utf-8' }, text: vtt };
    }),
    route('GET', '/v2/meetings/:meetingId/recordings', (req) => {
      requireToken(state, req, 'getRecordings');
      const recording = recordedInstance(state, req.params.meetingId).recording!;
      // The REST schema types `type` as a string ("1".."99"); the recording.completed event as a number.
      return { status: 200, body: { ...recording, type: String(recording.type) } };
    }),
    route('PATCH', '/v2/meetings/:meetingId/recordings/settings', (req) => {
      requireToken(state, req, 'updateRecordingSettings');
      const instance = recordedInstance(state, req.params.meetingId);
      const settings = asObject(req.json(), '');
      instance.recording!.settings = { ...((instance.recording!.settings as object) ?? {}), ...settings };
      return { status: 204 };
    }),
    route('GET', '/v2/users/:userId', (req) => {
      const token = requireToken(state, req, 'getUser');
      const user = findUser(state, userRef(req.params.userId, token));
      return {
        status: 200,
        body: {
          ...user,
          display_name: `${user.first_name} ${user.last_name}`,
          type: 2,
          status: 'active',
          account_id: state.credentials.accountId,
          timezone: 'UTC',
          group_ids: state.groups.filter((g) => g.memberIds.includes(user.id)).map((g) => g.id),
        },
      };
    }),
    route('GET', '/j/:meetingId', (req) => {
      const m = state.meetings.get(Number(req.params.meetingId));
      const title = m ? escapeHtml(m.topic) : 'Meeting not found';
      return {
        status: m ? 200 : 404,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        text: `<!doctype html><title>${title}</title><h1>${title}</h1><p>Zoom sandbox meeting ${m ? m.id : ''}</p>`,
      };
    }),
  ];
}

function requireToken(state: SandboxState, req: SandboxRequest, operation: ZoomOperation): IssuedToken {
  const bearer = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
  const token = bearer ? state.tokens.get(bearer[1]) : undefined;
  if (!token) throw new ZoomHttpError(401, 124, 'Invalid access token.');
  if (token.expiresAt <= Date.now()) throw new ZoomHttpError(401, 124, 'Access token is expired.');
  const accepted = OPERATIONS[operation].scopes;
  if (!accepted.some((s) => token.scopes.includes(s))) {
    throw new ZoomHttpError(400, 4711, `Invalid access token, does not contain scopes:[${accepted.join(', ')}].`);
  }
  // Create and update also count against the host's daily limit, so they are limited once the host is known.
  if (!('hostDaily' in OPERATIONS[operation])) rateLimit(state, req, operation);
  return token;
}

/** Zoom's per-second (per account) and per-host daily limits; the answer carries X-RateLimit-* headers. */
function rateLimit(state: SandboxState, req: SandboxRequest, operation: ZoomOperation, hostUserId?: string): void {
  if (!state.rateLimits) return;
  const facts: OperationFacts = OPERATIONS[operation];
  Object.assign(
    req.responseHeaders,
    state.rateLimits.check({ category: facts.category, hostDaily: facts.hostDaily, hostUserId }),
  );
}

/** `authorize` runs first when given: Zoom checks the token before it looks the user up. */
/** "me" is the user a user-level token acts for (Zoom accepts it wherever a user id goes). */
function userRef(userId: string, token: { userId?: string }): string {
  return userId === 'me' && token.userId ? token.userId : userId;
}

function findUser(state: SandboxState, userId: string): SandboxUser {
  const user = state.users.find((u) => u.id === userId || u.email.toLowerCase() === userId.toLowerCase());
  if (!user) throw new ZoomHttpError(404, 1001, `User ${userId} not exist or not belong to this account.`);
  return user;
}

function findMeeting(state: SandboxState, meetingRef: string): StoredMeeting {
  const meetingId = decodeMeetingRef(meetingRef);
  const meeting = /^\d+$/.test(meetingId)
    ? state.meetings.get(Number(meetingId))
    : [...state.meetings.values()].find((m) => m.uuid === meetingId);
  if (!meeting) throw new ZoomHttpError(404, 3001, `Meeting ${meetingId} is not found or has expired.`);
  return meeting;
}

/** Route params are decoded once; a double-encoded UUID (Zoom's rule for "/" and "//") needs a second pass. */
function decodeMeetingRef(ref: string): string {
  return /%2F/i.test(ref) ? decodeURIComponent(ref) : ref;
}

/** The instance a past-meeting call means: a UUID names one; a meeting id means its latest ended one. */
function pastInstance(state: SandboxState, meetingRef: string): MeetingInstance {
  const ref = decodeMeetingRef(meetingRef);
  const ended = state.instances.filter((i) => i.endTime && (i.uuid === ref || String(i.meetingId) === ref));
  const instance = ended[ended.length - 1];
  if (!instance) throw new ZoomHttpError(404, 3001, 'Meeting ID is invalid or not end.');
  return instance;
}

/** Zoom's past-meeting object (`GET /past_meetings/{meetingId}`) for an ended instance. */
function pastMeeting(state: SandboxState, instance: MeetingInstance): Record<string, unknown> {
  const meeting = state.meetings.get(instance.meetingId);
  const host = state.users.find((u) => u.id === meeting?.host_id);
  const seconds = (Date.parse(instance.endTime!) - Date.parse(instance.startTime)) / 1000;
  return {
    id: instance.meetingId,
    uuid: instance.uuid,
    host_id: meeting?.host_id ?? '',
    type: meeting?.type ?? 2,
    topic: meeting?.topic ?? '',
    user_name: host ? `${host.first_name} ${host.last_name}` : '',
    user_email: host?.email ?? '',
    start_time: instance.startTime,
    end_time: instance.endTime,
    duration: Math.round(seconds / 60),
    total_minutes: Math.round((seconds * instance.participants.length) / 60),
    participants_count: instance.participants.length,
    source: 'Zoom',
  };
}

function recordedInstance(state: SandboxState, meetingRef: string): MeetingInstance {
  const ref = decodeMeetingRef(meetingRef);
  const recorded = state.instances.filter((i) => i.recording && (i.uuid === ref || String(i.meetingId) === ref));
  const instance = recorded[recorded.length - 1];
  if (!instance) {
    if (!/^\d+$/.test(ref) || !state.meetings.has(Number(ref))) findMeeting(state, ref);
    throw new ZoomHttpError(404, 3301, 'There is no recording for this meeting.');
  }
  return instance;
}

const PAST_PARTICIPANT_FIELDS = [
  'id',
  'name',
  'user_id',
  'registrant_id',
  'user_email',
  'join_time',
  'leave_time',
  'duration',
  'status',
];
const UPDATABLE_FIELDS = ['topic', 'agenda', 'duration', 'start_time', 'timezone', 'password', 'type', 'recurrence'];

function updateMeeting(meeting: StoredMeeting, input: unknown): void {
  const body = asObject(input, '');
  const errors = validateMeetingFields(body);
  if (errors.length) throw new ZoomHttpError(400, 300, 'Validation Failed.', {}, { errors });
  for (const key of UPDATABLE_FIELDS) if (body[key] !== undefined) meeting[key] = body[key];
  if (body.settings) meeting.settings = { ...(meeting.settings as object), ...asObject(body.settings, 'settings') };
}

function addRegistrant(meeting: StoredMeeting, input: unknown) {
  const body = asObject(input, '');
  const approval = (meeting.settings as { approval_type?: number }).approval_type;
  if (approval !== 0 && approval !== 1)
    throw new ZoomHttpError(400, 3000, 'Registration has not been enabled for this meeting.');
  const errors: { field: string; message: string }[] = [];
  // Zoom's spec: email at most 128 characters, names at most 64.
  if (typeof body.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(body.email) || body.email.length > 128)
    errors.push({ field: 'email', message: 'Invalid field.' });
  if (typeof body.first_name !== 'string' || !body.first_name || body.first_name.length > 64)
    errors.push({ field: 'first_name', message: 'Invalid field.' });
  if (body.last_name !== undefined && (typeof body.last_name !== 'string' || body.last_name.length > 64))
    errors.push({ field: 'last_name', message: 'Invalid field.' });
  if (errors.length) throw new ZoomHttpError(400, 300, 'Validation Failed.', {}, { errors });
  const email = body.email as string;
  const registrants = ((meeting.registrants as Record<string, unknown>[] | undefined) ??= []);
  // One registration per email: registering again answers with the same registrant and join link
  // (Zoom's reference is silent; its "3 requests per day for the same registrant" limit implies a
  // repeat is accepted rather than refused).
  let registrant = registrants.find((r) => String(r.email).toLowerCase() === email.toLowerCase());
  if (!registrant) {
    if (registrants.length >= 4999)
      throw new ZoomHttpError(400, 3043, 'Meeting has reached maximum attendee capacity.');
    registrant = {
      registrant_id: randomBytes(12).toString('base64url'),
      email,
      first_name: body.first_name,
      last_name: body.last_name,
      status: 'approved',
      join_url: `${meeting.join_url}&tk=${randomBytes(16).toString('base64url')}`,
    };
    registrants.push(registrant);
  }
  return {
    id: meeting.id,
    registrant_id: registrant.registrant_id,
    join_url: registrant.join_url,
    topic: meeting.topic,
    start_time: meeting.start_time,
    occurrences: [],
    participant_pin_code: randomInt(100000, 999999),
  };
}

function page<T>(query: URLSearchParams, key: string, items: T[]) {
  const pageSize = Math.min(Number(query.get('page_size') ?? 30) || 30, 300);
  const start = Number(query.get('next_page_token') || 0);
  return {
    page_count: Math.max(1, Math.ceil(items.length / pageSize)),
    page_size: pageSize,
    total_records: items.length,
    next_page_token: start + pageSize < items.length ? String(start + pageSize) : '',
    [key]: items.slice(start, start + pageSize),
  };
}

function createMeeting(state: SandboxState, host: SandboxUser, input: unknown): StoredMeeting {
  const body = asObject(input, '');
  const errors = validateMeetingFields(body);
  const settingsIn = asObject(body.settings ?? {}, 'settings');
  const topic = body.topic ?? '';
  const type = body.type ?? 2;
  if (errors.length) throw new ZoomHttpError(400, 300, 'Validation Failed.', {}, { errors });

  const id = nextMeetingId(state);
  const password = typeof body.password === 'string' ? body.password : randomBytes(4).toString('base64url').slice(0, 6);
  const encrypted = randomBytes(24).toString('base64url');
  const now = new Date();
  const waitingRoom = settingsIn.waiting_room === true;
  const settings = {
    host_video: false,
    participant_video: false,
    join_before_host: false,
    jbh_time: 0,
    mute_upon_entry: false,
    waiting_room: false,
    auto_recording: 'none',
    approval_type: 2,
    audio: 'voip',
    alternative_hosts: '',
    ...settingsIn,
    global_dial_in_countries: [...new Set(state.account.dialInNumbers.map((n) => n.country))],
    global_dial_in_numbers: state.account.dialInNumbers.map((n) => ({ ...n })),
    // Zoom: an enabled waiting room disables join before host.
    ...(waitingRoom ? { join_before_host: false } : {}),
  };
  const meeting: StoredMeeting = {
    uuid: randomBytes(16).toString('base64'),
    id,
    host_id: host.id,
    host_email: host.email,
    topic: (topic as string) || 'Zoom Meeting',
    type: type as number,
    status: 'waiting',
    start_time: type === 1 ? isoSeconds(now) : normaliseStart(body.start_time as string | undefined, now),
    duration: (body.duration as number | undefined) ?? 60,
    timezone: (body.timezone as string | undefined) ?? 'UTC',
    agenda: (body.agenda as string | undefined) ?? '',
    created_at: isoSeconds(now),
    start_url: `${state.publicUrl}/s/${id}?zak=${randomBytes(32).toString('base64url')}`,
    join_url: `${state.publicUrl}/j/${id}?pwd=${encrypted}`,
    password,
    h323_password: String(randomInt(100000, 999999)),
    pstn_password: String(randomInt(100000, 999999)),
    encrypted_password: encrypted,
    settings,
    pre_schedule: false,
    ...(type === 8 && body.recurrence ? { recurrence: body.recurrence } : {}),
  };
  state.meetings.set(id, meeting);
  return meeting;
}

function listMeetings(state: SandboxState, host: SandboxUser, query: URLSearchParams) {
  const type = query.get('type') ?? 'scheduled';
  const pageSize = Math.min(Number(query.get('page_size') ?? 30) || 30, 300);
  const start = Number(query.get('next_page_token') || 0);
  // Zoom lists scheduled and recurring meetings only, never instant ones.
  const all = [...state.meetings.values()].filter(
    (m) =>
      m.host_id === host.id && m.type !== 1 && (type !== 'live' || m.status === 'started') && m.status !== 'deleted',
  );
  const page = all.slice(start, start + pageSize);
  return {
    next_page_token: start + pageSize < all.length ? String(start + pageSize) : '',
    page_size: pageSize,
    total_records: all.length,
    meetings: page.map((m) =>
      pick(m, [
        'uuid',
        'id',
        'host_id',
        'topic',
        'type',
        'start_time',
        'duration',
        'timezone',
        'agenda',
        'created_at',
        'join_url',
      ]),
    ),
  };
}

/** Zoom's field rules for create and update bodies (the fields we emulate). */
function validateMeetingFields(body: Record<string, unknown>): { field: string; message: string }[] {
  const errors: { field: string; message: string }[] = [];
  const check = (ok: boolean, field: string, message: string) => ok || errors.push({ field, message });
  check(
    body.topic === undefined || (typeof body.topic === 'string' && body.topic.length <= 200),
    'topic',
    'Topic must be a string of at most 200 characters.',
  );
  check(
    body.type === undefined || (typeof body.type === 'number' && MEETING_TYPES.has(body.type)),
    'type',
    'Invalid meeting type.',
  );
  check(
    body.agenda === undefined || (typeof body.agenda === 'string' && body.agenda.length <= 2000),
    'agenda',
    'Agenda must be a string of at most 2000 characters.',
  );
  check(
    body.duration === undefined || (Number.isInteger(body.duration) && (body.duration as number) > 0),
    'duration',
    'Duration must be a positive integer.',
  );
  check(
    body.start_time === undefined || (typeof body.start_time === 'string' && LOCAL_TIME.test(body.start_time)),
    'start_time',
    'Invalid start_time.',
  );
  check(
    body.password === undefined || (typeof body.password === 'string' && PASSWORD.test(body.password)),
    'password',
    'Invalid passcode.',
  );
  if (body.recurrence !== undefined) {
    const r = body.recurrence as Record<string, unknown> | null;
    check(body.type === 8 || body.type === undefined, 'recurrence', 'Use recurrence only with a type 8 meeting.');
    check(!!r && typeof r === 'object' && [1, 2, 3].includes(r.type as number), 'recurrence.type', 'Invalid field.');
    check(
      !r ||
        r.end_times === undefined ||
        (Number.isInteger(r.end_times) && (r.end_times as number) >= 1 && (r.end_times as number) <= 60),
      'recurrence.end_times',
      'Invalid field.',
    );
  }
  const settings = body.settings;
  if (settings !== undefined) {
    if (!settings || typeof settings !== 'object' || Array.isArray(settings))
      errors.push({ field: 'settings', message: 'Invalid field.' });
    else {
      const st = settings as Record<string, unknown>;
      check(
        st.auto_recording === undefined || AUTO_RECORDING.has(st.auto_recording as string),
        'settings.auto_recording',
        'Invalid field.',
      );
      check(
        st.jbh_time === undefined || [0, 5, 10].includes(st.jbh_time as number),
        'settings.jbh_time',
        'Invalid field.',
      );
      check(
        st.approval_type === undefined || [0, 1, 2].includes(st.approval_type as number),
        'settings.approval_type',
        'Invalid field.',
      );
    }
  }
  return errors;
}

function nextMeetingId(state: SandboxState): number {
  let id: number;
  do id = randomInt(80_000_000_000, 99_999_999_999);
  while (state.meetings.has(id));
  return id;
}

function normaliseStart(start: string | undefined, now: Date): string {
  if (!start) return isoSeconds(now);
  return start.endsWith('Z') ? start : `${start}Z`;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const CALL_OUT = 'participant.invite.callout';
/** A number with a country code, as people write it (Zoom asks for one; separators are tolerated). */
const CALL_OUT_NUMBER = /^\+?[1-9][\d\s().-]{6,20}$/;

/** Zoom phones `params.invitee_name` at `params.phone_number`: recorded, answered 202. */
function callOut(state: SandboxState, meeting: StoredMeeting, input: unknown): { status: number } {
  const params = asObject(input, 'params');
  const name = params.invitee_name;
  const phone = params.phone_number;
  if (typeof name !== 'string' || !name) throw invalidField('params.invitee_name');
  if (typeof phone !== 'string' || !CALL_OUT_NUMBER.test(phone)) throw invalidField('params.phone_number');
  const options = params.invite_options === undefined ? {} : asObject(params.invite_options, 'params.invite_options');
  if (!state.account.callOut)
    throw new ZoomHttpError(400, 300, 'This API is not available for this account, please contact Zoom support.');
  state.callOuts.push({
    meetingId: meeting.id,
    name,
    phone,
    requireGreeting: options.require_greeting !== false,
    requirePressingOne: options.require_pressing_one !== false,
    at: new Date().toISOString(),
  });
  return { status: 202 };
}

function invalidField(field: string): ZoomHttpError {
  return new ZoomHttpError(400, 300, 'Validation Failed.', {}, { errors: [{ field, message: 'Invalid field.' }] });
}

function asObject(v: unknown, field: string): Record<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw new ZoomHttpError(
    400,
    300,
    field ? 'Validation Failed.' : 'Request Body should be a valid JSON object.',
    {},
    field ? { errors: [{ field, message: 'Invalid field.' }] } : {},
  );
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An authorization code: valid for 5 minutes, once (Zoom: 4733 "Code is expired"). */
export interface AuthorizationCode {
  userId: string;
  redirectUri: string;
  codeChallenge?: string;
  expiresAt: number;
}

/** One user's consent. Its refresh token rotates: each refresh issues a new one and voids the old. */
export interface Grant {
  userId: string;
  refreshToken: string;
  accessTokens: Set<string>;
}

export interface UserOAuthState {
  codes: Map<string, AuthorizationCode>;
  grants: Grant[];
  /** Refresh-token grants received, successful or not. */
  refreshRequests: number;
}

export function newUserOAuthState(): UserOAuthState {
  return { codes: new Map(), grants: [], refreshRequests: 0 };
}
