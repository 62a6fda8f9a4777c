/**
 * Typed Zoom failures. Each class name is also the Temporal failure `type` an activity reports,
 * so retry policies can name them (`nonRetryableErrorTypes`) and operators can filter on them.
 * Messages carry Zoom's status, code and text plus a hint for the operator; they never carry
 * tokens, secrets, passcodes or start URLs (callers pass only Zoom's `message` and our words).
 */
export interface ZoomErrorDetails {
  status?: number;
  code?: number;
  trackingId?: string;
  hint?: string;
  /** Milliseconds to wait before trying again, when Zoom said so. */
  retryAfterMs?: number;
}

export class ZoomError extends Error {
  readonly status?: number;
  readonly code?: number;
  readonly trackingId?: string;
  readonly hint?: string;
  readonly retryAfterMs?: number;

  constructor(message: string, details: ZoomErrorDetails = {}) {
    super(details.hint ? `${message} Hint: ${details.hint}` : message);
    this.name = new.target.name;
    Object.assign(this, details);
  }
}

/** Credentials rejected or expired beyond one refresh (401 / code 124, OAuth 47xx). */
export class ZoomAuthError extends ZoomError {}
/** A user-OAuth connector's consent is gone (revoked, superseded, expired); only re-authorising fixes it. */
export class ZoomReauthorizationError extends ZoomAuthError {}
/** The Zoom app was uninstalled (app_deauthorized): nothing runs on the connector until it is authorised again. */
export class ZoomConnectorDisabledError extends ZoomAuthError {}
/** The token lacks a scope the call needs (code 4711 / 4700 "does not contain scopes"). */
export class ZoomScopeError extends ZoomError {}
/** User, meeting or recording does not exist (404; codes 1001, 3001, 3301). */
export class ZoomNotFoundError extends ZoomError {}
/**
 * The meeting a call names was deleted or has expired (Zoom's 404/3001), reported in our words with
 * its id: Zoom's own text differs per endpoint, and the operator's question is "was it deleted?".
 */
export class ZoomMeetingGoneError extends ZoomNotFoundError {
  constructor(meetingId: string | number, action: string, cause: ZoomError) {
    super(`Zoom meeting ${meetingId} no longer exists (deleted?): could not ${action}.`, {
      status: cause.status,
      code: cause.code,
      trackingId: cause.trackingId,
    });
  }
}
/** Zoom refused the request as invalid (400 codes such as 300, 3000, 3003, 3161). */
export class ZoomValidationError extends ZoomError {}
/**
 * An in-meeting control (recording, invitations) on a meeting that exists but is not in progress:
 * Zoom answers 400/300 "Meeting does not exist" for the live meeting. Named in our words, Zoom's
 * answer kept; retrying does not start the meeting.
 */
export class ZoomMeetingNotLiveError extends ZoomValidationError {
  constructor(meetingId: string | number, action: string, cause: ZoomError) {
    super(
      `Zoom meeting ${meetingId} is not live: could not ${action} (Zoom allows it only while the meeting is in progress). ${cause.message}`,
      { status: cause.status, code: cause.code, trackingId: cause.trackingId },
    );
  }
}
/** Per-second limit hit (429); retry after `retryAfterMs`. */
export class ZoomRateLimitError extends ZoomError {}
/** Per-host daily create/update limit (100/day) or an account daily limit; resets at `resetAt`. */
export class ZoomDailyLimitError extends ZoomError {}
/** Zoom is down, timed out, or the connection failed: retryable. */
export class ZoomUnavailableError extends ZoomError {}
/** Our own configuration is wrong (missing credentials, bad URL). */
export class ZoomConfigError extends ZoomError {}

/** Zoom's code for "Meeting {id} is not found or has expired" (404). */
export const MEETING_NOT_FOUND = 3001;
/**
 * Zoom's code for the refusals its in-meeting controls document under 400: the live meeting does
 * not exist (not in progress), no permission, the API is not available for the account.
 */
export const IN_MEETING_CONTROL_REFUSED = 300;
/** Zoom's code for "you cannot delete this meeting since it is in progress" (400). */
export const MEETING_IN_PROGRESS = 3002;

/**
 * Zoom says the meeting itself is gone (404/3001). Other 404s are not that: 1001 is a missing host
 * user (a configuration problem) and 3301 a meeting without a recording.
 */
export function isMeetingGone(err: unknown): err is ZoomNotFoundError {
  return err instanceof ZoomNotFoundError && err.code === MEETING_NOT_FOUND;
}

const PERMANENT = [ZoomAuthError, ZoomScopeError, ZoomNotFoundError, ZoomValidationError, ZoomConfigError];

/** Retrying cannot fix these (subclasses included): activities report them as non-retryable. */
export function isPermanent(err: ZoomError): boolean {
  return PERMANENT.some((c) => err instanceof c);
}
