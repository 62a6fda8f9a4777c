import type { Readable } from 'node:stream';
import axios, { AxiosInstance, AxiosResponse, Method } from 'axios';
import { z } from 'zod';
import { TokenProvider } from './auth';
import { ZoomConfigError, ZoomError, ZoomRateLimitError, ZoomUnavailableError } from './errors';
import { zoomErrorFromResponse } from './error-mapping';
import { OPERATIONS, RateCategory, ZoomOperation } from './operations';
import { waitAtMost } from './wait';
import { collectPages } from './paging';
import { redactSecrets, secretValuesIn } from './redact';
import {
  CreateMeetingRequest,
  InMeetingControl,
  Meeting,
  meetingListSchema,
  meetingSchema,
  meetingSummarySchema,
  meetingTranscriptSchema,
  pastMeetingSchema,
  Participant,
  participantPageSchema,
  RecordingSettings,
  recordingsSchema,
  RegistrantRequest,
  registrantSchema,
  userSchema,
} from './types';
import { SpokenText, vttSpokenText } from './vtt';

export const ZOOM_API_URL = 'https://api.zoom.us/v2';
export const ZOOM_TOKEN_URL = 'https://zoom.us/oauth/token';

/** Paces calls below the account's per-second limits (see rate-limiter.ts). */
export interface CallPacer {
  acquire(category: RateCategory, signal?: AbortSignal): Promise<void>;
  penalize(category: RateCategory, retryAfterMs: number): void;
}

export interface ZoomClientOptions {
  apiUrl?: string;
  tokens: TokenProvider;
  pacer?: CallPacer;
  timeoutMs?: number;
  /** How long a call waits for an access token (default 10 s). */
  tokenWaitMs?: number;
  /** The current call's abort signal, if any (the worker gives the running activity attempt's): no call waits or runs past it. */
  signal?: () => AbortSignal | undefined;
  /** Told about every HTTP call: operation, outcome, seconds (metrics). */
  observer?: {
    call(
      operation: string,
      outcome: 'ok' | 'client_error' | 'rate_limited' | 'server_error' | 'network_error',
      seconds: number,
    ): void;
  };
}

interface RequestSpec<T> {
  operation: ZoomOperation;
  method: Method;
  /** Under the API's URL; or a whole URL (a file Zoom gave the address of). */
  path: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  schema?: z.ZodType<T, z.ZodTypeDef, unknown>;
  /** Reads a successful answer's body as it arrives, instead of parsing it whole as JSON. */
  stream?: (body: Readable) => Promise<T>;
}

type MeetingRef = number | string;

/**
 * Zoom REST API v2. One instance per connector per process: it shares the connector's token
 * cache and call pacing across every call. Errors come out typed (see errors.ts) and free of
 * secrets. Meeting references are numeric ids or instance UUIDs (double-encoded when Zoom requires).
 */
export class ZoomClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: ZoomClientOptions) {
    this.http = axios.create({
      baseURL: (options.apiUrl ?? ZOOM_API_URL).replace(/\/+$/, ''),
      timeout: options.timeoutMs ?? 30_000,
      validateStatus: () => true,
    });
  }

  createMeeting(userId: string, body: CreateMeetingRequest): Promise<Meeting> {
    return this.request({
      operation: 'createMeeting',
      method: 'POST',
      path: `/users/${encodeURIComponent(userId)}/meetings`,
      body,
      schema: meetingSchema,
    });
  }

  getMeeting(meeting: MeetingRef): Promise<Meeting> {
    return this.request({
      operation: 'getMeeting',
      method: 'GET',
      path: `/meetings/${meetingPathId(meeting)}`,
      schema: meetingSchema,
    });
  }

  async updateMeeting(meeting: MeetingRef, body: Partial<CreateMeetingRequest>): Promise<void> {
    await this.request({
      operation: 'updateMeeting',
      method: 'PATCH',
      path: `/meetings/${meetingPathId(meeting)}`,
      body,
    });
  }

  async deleteMeeting(
    meeting: MeetingRef,
    query: { occurrence_id?: string; cancel_meeting_reminder?: boolean } = {},
  ): Promise<void> {
    await this.request({
      operation: 'deleteMeeting',
      method: 'DELETE',
      path: `/meetings/${meetingPathId(meeting)}`,
      query,
    });
  }

  /** Ends a meeting in progress for everyone (`PUT /meetings/{id}/status`). */
  async endMeeting(meeting: MeetingRef): Promise<void> {
    await this.request({
      operation: 'endMeeting',
      method: 'PUT',
      path: `/meetings/${meetingPathId(meeting)}/status`,
      body: { action: 'end' },
    });
  }

  /**
   * An in-meeting control (`PATCH /live_meetings/{id}/events`, answered 202): the meeting must be
   * live, and the caller its host or an alternative host.
   */
  async inMeetingControl(meeting: MeetingRef, body: InMeetingControl): Promise<void> {
    await this.request({
      operation: 'inMeetingControl',
      method: 'PATCH',
      path: `/live_meetings/${meetingPathId(meeting)}/events`,
      body,
    });
  }

  listMeetings(userId: string, query: { type?: string; page_size?: number; next_page_token?: string } = {}) {
    return this.request({
      operation: 'listMeetings',
      method: 'GET',
      path: `/users/${encodeURIComponent(userId)}/meetings`,
      query,
      schema: meetingListSchema,
    });
  }

  addRegistrant(meeting: MeetingRef, body: RegistrantRequest) {
    return this.request({
      operation: 'addRegistrant',
      method: 'POST',
      path: `/meetings/${meetingPathId(meeting)}/registrants`,
      body,
      schema: registrantSchema,
    });
  }

  /** Everyone who attended (all pages). Zoom returns nothing when only one person attended. */
  async listPastParticipants(meeting: MeetingRef): Promise<Participant[]> {
    const path = `/past_meetings/${meetingPathId(meeting)}/participants`;
    const { items } = await collectPages({
      operation: `${describe('listPastParticipants')} (${path})`,
      fetchPage: async (next_page_token) => {
        const page = await this.request({
          operation: 'listPastParticipants',
          method: 'GET',
          path,
          query: { page_size: 300, next_page_token },
          schema: participantPageSchema,
        });
        return { items: page.participants, nextPageToken: page.next_page_token, totalRecords: page.total_records };
      },
    });
    return items;
  }

  /** The latest ended instance of the meeting (a meeting id), or the instance a UUID names: 404/3001 until one has ended. */
  getPastMeeting(meeting: MeetingRef) {
    return this.request({
      operation: 'getPastMeeting',
      method: 'GET',
      path: `/past_meetings/${meetingPathId(meeting)}`,
      schema: pastMeetingSchema,
    });
  }

  /** AI Companion's summary of one meeting instance: Zoom takes only the instance's UUID here (double-encoded when it needs to be). */
  getMeetingSummary(meetingUuid: string) {
    return this.request({
      operation: 'getMeetingSummary',
      method: 'GET',
      path: `/meetings/${meetingPathId(meetingUuid)}/meeting_summary`,
      schema: meetingSummarySchema,
    });
  }

  /**
   * Where the meeting's transcript can be downloaded (Zoom's transcript endpoint, 2025): a UUID
   * names that instance, a meeting id its latest one. 404 (3322) while it has none.
   */
  getMeetingTranscript(meeting: MeetingRef) {
    return this.request({
      operation: 'getMeetingTranscript',
      method: 'GET',
      path: `/meetings/${meetingPathId(meeting)}/transcript`,
      schema: meetingTranscriptSchema,
    });
  }

  /**
   * The spoken text of the WebVTT transcript at `downloadUrl` (a `download_url` Zoom answered), read
   * with the access token and only as far as `maxChars` characters need. The token goes to Zoom
   * only: this API's own origin, or https on zoom.us.
   */
  transcriptText(downloadUrl: string, maxChars: number): Promise<SpokenText> {
    const url = URL.canParse(downloadUrl) ? new URL(downloadUrl) : undefined;
    const api = new URL(this.http.defaults.baseURL ?? ZOOM_API_URL);
    const zoomHost = url?.protocol === 'https:' && /(^|\.)zoom\.us$/i.test(url.hostname);
    if (!url || !(zoomHost || url.origin === api.origin))
      throw new ZoomConfigError(
        `Zoom gave a transcript download URL outside Zoom (${url?.host ?? 'not a URL'}): the access token is not sent there.`,
      );
    return this.request({
      operation: 'downloadTranscript',
      method: 'GET',
      path: url.href,
      stream: (body) => vttSpokenText(body, maxChars),
    });
  }

  getRecordings(meeting: MeetingRef) {
    return this.request({
      operation: 'getRecordings',
      method: 'GET',
      path: `/meetings/${meetingPathId(meeting)}/recordings`,
      schema: recordingsSchema,
    });
  }

  async updateRecordingSettings(meeting: MeetingRef, body: RecordingSettings): Promise<void> {
    await this.request({
      operation: 'updateRecordingSettings',
      method: 'PATCH',
      path: `/meetings/${meetingPathId(meeting)}/recordings/settings`,
      body,
    });
  }

  /** A user by id or email; `me` for user-level (OAuth) apps, which must use it. */
  getUser(userId = 'me') {
    return this.request({
      operation: 'getUser',
      method: 'GET',
      path: `/users/${encodeURIComponent(userId)}`,
      schema: userSchema,
    });
  }

  private async request<T>(spec: RequestSpec<T>): Promise<T> {
    const { category } = OPERATIONS[spec.operation];
    let token = await this.token(spec.operation);
    // What an answer must never repeat into an error: the tokens sent and the body's passcodes.
    const secrets = [token, ...secretValuesIn(spec.body)];
    let res = await this.send(spec, token, category, secrets);
    // Zoom answers code 124 for an expired or revoked token: get a fresh one and try once more.
    if (isInvalidToken(res)) {
      this.options.tokens.invalidate(token);
      token = await this.token(spec.operation);
      secrets.push(token);
      res = await this.send(spec, token, category, secrets);
      // A token revoked again at once is a race with whoever expired it, not bad credentials (those
      // fail the token request itself): let the caller try again later.
      if (isInvalidToken(res))
        throw new ZoomUnavailableError(
          `Zoom ${describe(spec.operation)} refused a freshly issued access token too (code 124); the call is tried again later`,
          { status: res.status, code: 124 },
        );
    }
    if (res.status < 200 || res.status >= 300) {
      const error = zoomErrorFromResponse({
        status: res.status,
        body: res.data,
        headers: res.headers as Record<string, string>,
        operation: describe(spec.operation),
        scopes: OPERATIONS[spec.operation].scopes,
        secrets,
      });
      // A per-second 429 holds the whole category; a daily one concerns only its host (see host-pool.ts).
      if (error instanceof ZoomRateLimitError && error.retryAfterMs !== undefined)
        this.options.pacer?.penalize(category, error.retryAfterMs);
      throw error;
    }
    if (spec.stream) {
      try {
        return await spec.stream(res.data as Readable);
      } catch (err) {
        if (this.options.signal?.()?.aborted) throw abandoned(spec.operation);
        const reason = err instanceof Error ? redactSecrets(err.message, secrets) : 'unknown';
        throw new ZoomUnavailableError(`Zoom ${describe(spec.operation)} failed while reading the answer: ${reason}`);
      }
    }
    if (!spec.schema) return undefined as T;
    const parsed = spec.schema.safeParse(res.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ZoomError(
        `Zoom ${describe(spec.operation)} returned an unexpected body: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
        {
          status: res.status,
          trackingId: res.headers['x-zm-trackingid'] as string | undefined,
        },
      );
    }
    return parsed.data;
  }

  /**
   * An access token, waited for a bounded time: a token that does not come is a refresh in
   * trouble, and a caller that waits on holds its activity slot, which the refresh may need.
   */
  private token(operation: ZoomOperation): Promise<string> {
    const ms = this.options.tokenWaitMs ?? 10_000;
    const signal = this.options.signal?.();
    const fail = () =>
      signal?.aborted
        ? abandoned(operation)
        : new ZoomUnavailableError(
            `No Zoom access token within ${ms / 1000} s (a token refresh is slow or failing); the call is tried again later`,
          );
    return waitAtMost(this.options.tokens.getToken(), signal, ms, fail);
  }

  private async send(
    spec: RequestSpec<unknown>,
    token: string,
    category: RateCategory,
    secrets: readonly string[],
  ): Promise<AxiosResponse> {
    const signal = this.options.signal?.();
    try {
      await this.options.pacer?.acquire(category, signal);
    } catch (err) {
      if (signal?.aborted) throw abandoned(spec.operation);
      throw err;
    }
    const started = performance.now();
    const observe = (status?: number) =>
      this.options.observer?.call(spec.operation, outcomeOf(status), (performance.now() - started) / 1000);
    try {
      const res = await this.http.request({
        method: spec.method,
        url: spec.path,
        data: spec.body,
        params: spec.query,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        signal,
        responseType: spec.stream ? 'stream' : undefined,
      });
      observe(res.status);
      // A refusal is read whole (it is short, Zoom's {code, message}), so it is mapped like any other.
      if (spec.stream && (res.status < 200 || res.status >= 300)) res.data = await errorBody(res.data as Readable);
      return res;
    } catch (err) {
      observe();
      if (signal?.aborted) throw abandoned(spec.operation);
      // Axios errors carry the request config, Authorization header included: never rethrow them.
      const reason = axios.isAxiosError(err) ? (err.code ?? 'network error') : 'network error';
      const detail = err instanceof Error ? redactSecrets(err.message, secrets) : 'unknown';
      throw new ZoomUnavailableError(`Zoom ${describe(spec.operation)} failed: ${reason} (${detail})`);
    }
  }
}

/** The first 64 KiB of a refused download's body, as JSON when it is (Zoom's {code, message}). */
async function errorBody(body: Readable): Promise<unknown> {
  let text = '';
  for await (const chunk of body) {
    text += String(chunk);
    if (text.length > 65_536) break;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function outcomeOf(status: number | undefined) {
  if (status === undefined) return 'network_error';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return 'ok';
}

function isInvalidToken(res: AxiosResponse): boolean {
  const body = res.data as { code?: unknown } | undefined;
  return (res.status === 401 || res.status === 400) && body?.code === 124;
}

function abandoned(operation: ZoomOperation): ZoomUnavailableError {
  return new ZoomUnavailableError(`Zoom ${describe(operation)} abandoned: the caller was cancelled or ran out of time`);
}

/** "createMeeting" -> "create meeting", for messages. */
function describe(operation: ZoomOperation): string {
  return operation.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

/**
 * A meeting UUID that starts with "/" or contains "//" must be double-encoded in the path
 * (Zoom's rule); numeric ids and other UUIDs are encoded once.
 */
export function meetingPathId(id: MeetingRef): string {
  const s = String(id);
  const once = encodeURIComponent(s);
  return s.startsWith('/') || s.includes('//') ? encodeURIComponent(once) : once;
}
