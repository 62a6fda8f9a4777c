import {
  ZoomAuthError,
  ZoomDailyLimitError,
  ZoomError,
  ZoomNotFoundError,
  ZoomRateLimitError,
  ZoomScopeError,
  ZoomUnavailableError,
  ZoomValidationError,
} from './errors';
import { redactSecrets } from './redact';

export interface ZoomErrorResponse {
  status: number;
  body: unknown;
  headers: Record<string, string | undefined>;
  /** What we were doing, e.g. "create meeting": the operator reads this first. */
  operation: string;
  /** Scopes that would allow the operation, classic and granular; named in scope hints. */
  scopes?: readonly string[];
  /** Values sent with the request (token, client secret, passcodes…): never repeated if the answer echoes them. */
  secrets?: readonly (string | undefined)[];
  now?: Date;
}

const SCOPES_IN_MESSAGE = /does not contain scopes:\s*\[([^\]]*)\]/i;
const DAILY_USER_LIMIT = /daily rate limit|maximum daily/i;

/**
 * Turns a non-2xx Zoom answer into the typed error an operator can act on. Zoom's text is kept,
 * scrubbed of secrets (an answer that echoes the request must not carry its credentials onward).
 */
export function zoomErrorFromResponse(res: ZoomErrorResponse): ZoomError {
  const body = readBody(res.body);
  const code = body.code;
  const message = redactSecrets(body.message, res.secrets);
  const trackingId = res.headers['x-zm-trackingid'];
  const base = { status: res.status, code, trackingId };
  const what = `Zoom ${res.operation} failed: HTTP ${res.status}${code !== undefined ? ` code ${code}` : ''}: ${message}`;

  if (res.status === 429) {
    const now = res.now ?? new Date();
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
    if (res.headers['x-ratelimit-type']?.toLowerCase() === 'daily-limit' || DAILY_USER_LIMIT.test(message)) {
      const resetAt = retryAfterMs !== undefined ? new Date(now.getTime() + retryAfterMs) : nextUtcMidnight(now);
      return new ZoomDailyLimitError(what, {
        ...base,
        retryAfterMs: resetAt.getTime() - now.getTime(),
        hint: `the daily limit resets at ${resetAt.toISOString()}; add host users to the connector's pool to spread meeting creation.`,
      });
    }
    return new ZoomRateLimitError(what, {
      ...base,
      retryAfterMs,
      hint: 'Zoom is pacing this account; the call is retried after the wait Zoom asked for.',
    });
  }

  const missing = SCOPES_IN_MESSAGE.exec(message);
  if (code === 4711 || code === 4700 || missing) {
    const needed = missing?.[1]
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? [...(res.scopes ?? [])];
    return new ZoomScopeError(what, {
      ...base,
      hint: needed.length
        ? `add one of these scopes to the Zoom app: ${needed.join(', ')}, then re-authorise it.`
        : 'the Zoom app lacks a scope this action needs; check the scopes table in docs/runbooks.md.',
    });
  }
  if (res.status === 401 || code === 124) {
    return new ZoomAuthError(what, {
      ...base,
      hint: 'check the connector credentials (account id, client id, client secret) and that the Zoom app is activated.',
    });
  }
  if (res.status === 404) {
    const hint =
      code === 1001
        ? 'the host user does not exist in this Zoom account; check ZOOM_HOST_USER, and that the app has user:read.'
        : 'the meeting or recording no longer exists in Zoom.';
    return new ZoomNotFoundError(what, { ...base, hint });
  }
  if (res.status === 403) {
    return new ZoomScopeError(what, {
      ...base,
      hint: 'the Zoom account or user has not permitted this access; check the app type and its scopes.',
    });
  }
  if (res.status >= 500) return new ZoomUnavailableError(what, base);
  if (res.status >= 400) return new ZoomValidationError(what, base);
  return new ZoomError(what, base);
}

function readBody(body: unknown): { code?: number; message: string } {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const code = typeof b.code === 'number' ? b.code : undefined;
    const parts = [typeof b.message === 'string' ? b.message : typeof b.reason === 'string' ? b.reason : 'no message'];
    // OAuth endpoints answer {reason, error}; the error ("invalid_grant", ...) is what says what to do.
    if (typeof b.error === 'string') parts[0] += ` (${b.error})`;
    if (Array.isArray(b.errors)) {
      for (const e of b.errors) {
        if (e && typeof e === 'object' && 'field' in e)
          parts.push(`${String(e.field)}: ${String((e as { message?: unknown }).message ?? 'invalid')}`);
      }
    }
    return { code, message: parts.join('; ') };
  }
  return { message: typeof body === 'string' && body.length > 0 && body.length < 300 ? body : 'no message' };
}

/** `Retry-After` is either delay-seconds or an HTTP/ISO date. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}
