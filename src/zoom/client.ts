import axios, { AxiosInstance, Method } from 'axios';
import { z } from 'zod';
import { TokenProvider } from './auth';
import { ZoomError, ZoomUnavailableError } from './errors';
import { OPERATIONS } from './operations';
import { zoomErrorFromResponse } from './error-mapping';
import { CreateMeetingRequest, Meeting, MeetingList, meetingListSchema, meetingSchema } from './types';

export const ZOOM_API_URL = 'https://api.zoom.us/v2';
export const ZOOM_TOKEN_URL = 'https://zoom.us/oauth/token';

export interface ZoomClientOptions {
  apiUrl?: string;
  tokens: TokenProvider;
  timeoutMs?: number;
}

interface RequestSpec<T> {
  operation: string;
  method: Method;
  path: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  schema?: z.ZodType<T>;
  /** Scopes that allow this call (any one is enough); named when Zoom refuses for lack of scope. */
  scopes?: readonly string[];
}

/**
 * Zoom REST API v2. One instance per connector per process: it shares the connector's token
 * cache across every call. Errors come out typed (see errors.ts) and free of secrets.
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
      operation: 'create meeting',
      method: 'POST',
      path: `/users/${encodeURIComponent(userId)}/meetings`,
      body,
      schema: meetingSchema,
      scopes: OPERATIONS.createMeeting.scopes,
    });
  }

  getMeeting(meetingId: number | string): Promise<Meeting> {
    return this.request({
      operation: 'get meeting',
      method: 'GET',
      path: `/meetings/${meetingPathId(meetingId)}`,
      schema: meetingSchema,
      scopes: OPERATIONS.getMeeting.scopes,
    });
  }

  listMeetings(userId: string, query: { type?: string; page_size?: number; next_page_token?: string } = {}): Promise<MeetingList> {
    return this.request({
      operation: 'list meetings',
      method: 'GET',
      path: `/users/${encodeURIComponent(userId)}/meetings`,
      query,
      schema: meetingListSchema,
      scopes: OPERATIONS.listMeetings.scopes,
    });
  }

  private async request<T>(spec: RequestSpec<T>): Promise<T> {
    let token = await this.options.tokens.getToken();
    let res = await this.send(spec, token);
    // Zoom answers code 124 for an expired or revoked token: fetch a fresh one and try once more.
    if (isInvalidToken(res.status, res.data)) {
      this.options.tokens.invalidate(token);
      token = await this.options.tokens.getToken();
      res = await this.send(spec, token);
    }
    if (res.status < 200 || res.status >= 300) {
      throw zoomErrorFromResponse({
        status: res.status,
        body: res.data,
        headers: res.headers as Record<string, string>,
        operation: spec.operation,
        scopes: spec.scopes,
      });
    }
    if (!spec.schema) return res.data as T;
    const parsed = spec.schema.safeParse(res.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ZoomError(`Zoom ${spec.operation} returned an unexpected body: ${issue.path.join('.') || '(root)'}: ${issue.message}`, {
        status: res.status,
        trackingId: res.headers['x-zm-trackingid'] as string | undefined,
      });
    }
    return parsed.data;
  }

  private async send(spec: RequestSpec<unknown>, token: string) {
    try {
      return await this.http.request({
        method: spec.method,
        url: spec.path,
        data: spec.body,
        params: spec.query,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    } catch (err) {
      // Axios errors carry the request config, Authorization header included: never rethrow them.
      const reason = axios.isAxiosError(err) ? (err.code ?? 'network error') : 'network error';
      throw new ZoomUnavailableError(`Zoom ${spec.operation} failed: ${reason} (${err instanceof Error ? err.message.replace(/Bearer \S+/g, 'Bearer [redacted]') : 'unknown'})`);
    }
  }
}

function isInvalidToken(status: number, body: unknown): boolean {
  return (status === 401 || status === 400) && !!body && typeof body === 'object' && (body as { code?: unknown }).code === 124;
}

/**
 * A meeting UUID that starts with "/" or contains "//" must be double-encoded in the path
 * (Zoom's rule); numeric ids and other UUIDs are encoded once.
 */
export function meetingPathId(id: number | string): string {
  const s = String(id);
  const once = encodeURIComponent(s);
  return s.startsWith('/') || s.includes('//') ? encodeURIComponent(once) : once;
}
