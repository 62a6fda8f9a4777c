import { randomBytes, randomInt } from 'node:crypto';
import { OPERATIONS, ZoomOperation } from '../zoom/operations';
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
}

/** A meeting as the sandbox stores it: Zoom's Get-meeting object. */
export type StoredMeeting = Record<string, unknown> & { id: number; uuid: string; host_id: string; topic: string; type: number; status: string };

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

/** One occurrence of a meeting being held: started, maybe ended, maybe recorded. */
export interface MeetingInstance {
  uuid: string;
  meetingId: number;
  startTime: string;
  endTime?: string;
  participants: ParticipantRecord[];
  /** Zoom's recording object fields for this instance (share_url, recording_files, ...), once completed. */
  recording?: Record<string, unknown>;
}

/** Where the sandbox sends webhooks, signed with the secret token as Zoom signs them. */
export interface WebhookSubscription {
  url: string;
  secretToken: string;
}

export interface SandboxState {
  credentials: SandboxCredentials;
  users: SandboxUser[];
  scopes: string[];
  tokenTtlSeconds: number;
  tokens: Map<string, IssuedToken>;
  tokenRequests: number;
  meetings: Map<number, StoredMeeting>;
  /** Every time a meeting was held, oldest first. */
  instances: MeetingInstance[];
  webhook?: WebhookSubscription;
  /** Where join links point, so a person can open one in the browser. */
  publicUrl: string;
}

const CREATE_RESPONSE_FIELDS = [
  'id', 'host_email', 'topic', 'type', 'start_time', 'duration', 'timezone', 'agenda', 'created_at',
  'start_url', 'join_url', 'password', 'h323_password', 'pstn_password', 'settings', 'pre_schedule',
];
const MEETING_TYPES = new Set([1, 2, 3, 8]);
const AUTO_RECORDING = new Set(['local', 'cloud', 'none']);
const PASSWORD = /^[A-Za-z0-9@\-_*]{1,10}$/;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z)?$/;

/** Routes of the Zoom REST API and OAuth endpoints the sandbox emulates. */
export function zoomRoutes(state: SandboxState): Route[] {
  return [
    route('POST', '/oauth/token', (req) => issueToken(state, req)),
    route('POST', '/v2/users/:userId/meetings', (req) => {
      requireToken(state, req, 'createMeeting');
      const host = findUser(state, req.params.userId);
      const meeting = createMeeting(state, host, req.json());
      return { status: 201, body: pick(meeting, CREATE_RESPONSE_FIELDS) };
    }),
    route('GET', '/v2/users/:userId/meetings', (req) => {
      requireToken(state, req, 'listMeetings');
      const host = findUser(state, req.params.userId);
      return { status: 200, body: listMeetings(state, host, req.query) };
    }),
    route('GET', '/v2/meetings/:meetingId', (req) => {
      requireToken(state, req, 'getMeeting');
      return { status: 200, body: findMeeting(state, req.params.meetingId) };
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

function issueToken(state: SandboxState, req: SandboxRequest) {
  state.tokenRequests++;
  const params = new URLSearchParams(req.query);
  for (const [k, v] of req.form()) params.set(k, v);
  const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
  const [clientId, clientSecret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
  if (!clientId || !clientSecret) {
    throw new ZoomHttpError(400, 4706, 'Client ID or client secret is missing.', {}, { reason: 'Client ID or client secret is missing.', error: 'invalid_request' });
  }
  if (clientId !== state.credentials.clientId || clientSecret !== state.credentials.clientSecret) {
    throw new ZoomHttpError(401, 4702, 'Invalid client_id or client_secret', {}, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
  }
  const grant = params.get('grant_type');
  if (grant !== 'account_credentials') {
    throw new ZoomHttpError(400, 4705, 'Grant type is not supported from token endpoint.', {}, { reason: 'Unsupported grant type', error: 'unsupported_grant_type' });
  }
  if (params.get('account_id') !== state.credentials.accountId) {
    throw new ZoomHttpError(400, 4700, 'Invalid account_id.', {}, { reason: 'Invalid account_id', error: 'invalid_request' });
  }
  const accessToken = `sbx.${randomBytes(24).toString('base64url')}`;
  state.tokens.set(accessToken, { expiresAt: Date.now() + state.tokenTtlSeconds * 1000, scopes: state.scopes });
  return {
    status: 200,
    body: { access_token: accessToken, token_type: 'bearer', expires_in: state.tokenTtlSeconds, scope: state.scopes.join(' '), api_url: state.publicUrl },
  };
}

function requireToken(state: SandboxState, req: SandboxRequest, operation: ZoomOperation): void {
  const bearer = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''));
  const token = bearer ? state.tokens.get(bearer[1]) : undefined;
  if (!token) throw new ZoomHttpError(401, 124, 'Invalid access token.');
  if (token.expiresAt <= Date.now()) throw new ZoomHttpError(401, 124, 'Access token is expired.');
  const accepted = OPERATIONS[operation].scopes;
  if (!accepted.some((s) => token.scopes.includes(s))) {
    throw new ZoomHttpError(400, 4711, `Invalid access token, does not contain scopes:[${accepted.join(', ')}].`);
  }
}

function findUser(state: SandboxState, userId: string): SandboxUser {
  const user = state.users.find((u) => u.id === userId || u.email.toLowerCase() === userId.toLowerCase());
  if (!user) throw new ZoomHttpError(404, 1001, `User ${userId} not exist or not belong to this account.`);
  return user;
}

function findMeeting(state: SandboxState, meetingId: string): StoredMeeting {
  const meeting = /^\d+$/.test(meetingId)
    ? state.meetings.get(Number(meetingId))
    : [...state.meetings.values()].find((m) => m.uuid === meetingId);
  if (!meeting) throw new ZoomHttpError(404, 3001, `Meeting ${meetingId} is not found or has expired.`);
  return meeting;
}

function createMeeting(state: SandboxState, host: SandboxUser, input: unknown): StoredMeeting {
  const body = asObject(input, '');
  const errors: { field: string; message: string }[] = [];
  const check = (ok: boolean, field: string, message: string) => ok || errors.push({ field, message });

  const topic = body.topic ?? '';
  check(typeof topic === 'string' && topic.length <= 200, 'topic', 'Topic must be a string of at most 200 characters.');
  const type = body.type ?? 2;
  check(typeof type === 'number' && MEETING_TYPES.has(type), 'type', 'Invalid meeting type.');
  check(body.agenda === undefined || (typeof body.agenda === 'string' && body.agenda.length <= 2000), 'agenda', 'Agenda must be a string of at most 2000 characters.');
  check(body.duration === undefined || (Number.isInteger(body.duration) && (body.duration as number) > 0), 'duration', 'Duration must be a positive integer.');
  check(body.start_time === undefined || (typeof body.start_time === 'string' && LOCAL_TIME.test(body.start_time)), 'start_time', 'Invalid start_time.');
  check(body.password === undefined || (typeof body.password === 'string' && PASSWORD.test(body.password)), 'password', 'Invalid passcode.');
  const settingsIn = asObject(body.settings ?? {}, 'settings');
  check(settingsIn.auto_recording === undefined || AUTO_RECORDING.has(settingsIn.auto_recording as string), 'settings.auto_recording', 'Invalid field.');
  check(settingsIn.jbh_time === undefined || [0, 5, 10].includes(settingsIn.jbh_time as number), 'settings.jbh_time', 'Invalid field.');
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
    (m) => m.host_id === host.id && m.type !== 1 && (type !== 'live' || m.status === 'started') && m.status !== 'deleted',
  );
  const page = all.slice(start, start + pageSize);
  return {
    next_page_token: start + pageSize < all.length ? String(start + pageSize) : '',
    page_size: pageSize,
    total_records: all.length,
    meetings: page.map((m) => pick(m, ['uuid', 'id', 'host_id', 'topic', 'type', 'start_time', 'duration', 'timezone', 'agenda', 'created_at', 'join_url'])),
  };
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

function asObject(v: unknown, field: string): Record<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw new ZoomHttpError(400, 300, field ? 'Validation Failed.' : 'Request Body should be a valid JSON object.', {}, field ? { errors: [{ field, message: 'Invalid field.' }] } : {});
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
