/** Zoom's errors as Temporal failures, and the answers that mean a retried write already happened. */
import { ApplicationFailure, log } from '@temporalio/activity';
import {
  IN_MEETING_CONTROL_REFUSED,
  isMeetingGone,
  isPermanent,
  ZoomError,
  ZoomMeetingGoneError,
  ZoomMeetingNotLiveError,
  ZoomValidationError,
} from '../src/zoom/errors';
import { maskPhoneIn } from '../src/core/phone';
import type { MeetingRemoval } from './types';

/**
 * Runs a call about one meeting. Zoom's 404/3001 becomes an error naming the meeting ("Zoom meeting
 * 123 no longer exists (deleted?)"), non-retryable like every not-found: no retry brings it back.
 */
export async function onMeeting<T>(meetingId: string, action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isMeetingGone(err)) throw new ZoomMeetingGoneError(meetingId, action, err);
    throw err;
  }
}

/** Zoom's words for a live meeting that is not there (the meeting itself exists: a deleted one is 404/3001). */
const NO_LIVE_MEETING = /meeting (id )?does not exist|invalid meeting id/i;

/**
 * Runs an in-meeting control. Zoom answers 400/300 for several unmet prerequisites: a meeting that
 * is not in progress says so in our words; any other refusal keeps Zoom's text with
 * `prerequisites` as the hint (Zoom's message does not say which one is missing). All of them, and
 * a deleted meeting, are for good: retrying changes none.
 */
export async function inLiveMeeting<T>(
  meetingId: string,
  action: string,
  prerequisites: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await onMeeting(meetingId, action, call);
  } catch (err) {
    if (!(err instanceof ZoomValidationError) || err.code !== IN_MEETING_CONTROL_REFUSED) throw err;
    if (NO_LIVE_MEETING.test(err.message)) throw new ZoomMeetingNotLiveError(meetingId, action, err);
    throw new ZoomValidationError(err.message, {
      status: err.status,
      code: err.code,
      trackingId: err.trackingId,
      hint: prerequisites,
    });
  }
}

/**
 * Runs a call that sent `phone` to Zoom: a Zoom error that quotes the number leaves with it
 * masked (its message reaches the timeline, the logs and the history).
 */
export async function maskingPhone<T>(phone: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ZoomError) err.message = maskPhoneIn(err.message, phone);
    throw err;
  }
}

/** An end or delete whose meeting Zoom no longer has: what the caller wanted is already so. */
export async function goneIsDone(
  meetingId: string,
  action: string,
  call: () => Promise<void>,
): Promise<MeetingRemoval> {
  try {
    await call();
    return {};
  } catch (err) {
    if (!isMeetingGone(err)) throw err;
    log.info(`Zoom meeting is already gone; nothing to ${action}`, { meetingId });
    return { alreadyGone: true };
  }
}

/**
 * Zoom's reference does not say how it answers a second registration of the same email (the
 * sandbox answers 201 with the same registrant, as Zoom is reported to); should it refuse one as
 * "already registered" instead, that is the outcome the retry wanted.
 */
export function isAlreadyRegistered(err: unknown): boolean {
  return (
    err instanceof ZoomValidationError && /already (been )?registered|registrant already exists/i.test(err.message)
  );
}

/** Longer than a Zoom step's whole retry budget: a wait this long (a daily limit) fails the step at once. */
export const LONGEST_USEFUL_WAIT_MS = 15 * 60_000;

/** Zoom errors become Temporal failures: typed, with Zoom's requested wait as the retry delay. */
export async function callZoom<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ZoomError)) throw err;
    throw ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: isPermanent(err) || (err.retryAfterMs ?? 0) > LONGEST_USEFUL_WAIT_MS,
      nextRetryDelay: err.retryAfterMs,
      details: [{ status: err.status, code: err.code, trackingId: err.trackingId }],
    });
  }
}
