/**
 * What several workflows and their clients share: the timeline, the meetings runbooks create,
 * Zoom's meeting events, the search attributes and the Zoom task queue. Each workflow's own
 * contract (type name, ids, messages, failures, patches) is in its module beside this one.
 */
import { defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Incident, IncidentEvent, IncidentEventType } from '../../src/core/incident';
import { ZOOM_MEETING_EVENT_TYPES } from '../../src/core/meeting-events';

export type { Incident, IncidentEvent, IncidentEventType };

/** Search attributes the dev server registers and the Web UI filters on. No personal data. */
export const IncidentIdAttr = defineSearchAttributeKey('IncidentId', SearchAttributeType.KEYWORD);
export const SeverityAttr = defineSearchAttributeKey('Severity', SearchAttributeType.KEYWORD);
export const RunbookAttr = defineSearchAttributeKey('Runbook', SearchAttributeType.KEYWORD);
export const BridgeMeetingIdAttr = defineSearchAttributeKey('BridgeMeetingId', SearchAttributeType.KEYWORD);
/** Every Zoom meeting a runbook run created: how Zoom's webhooks find the run that owns a meeting. */
export const ZoomMeetingIdsAttr = defineSearchAttributeKey('ZoomMeetingIds', SearchAttributeType.KEYWORD_LIST);
export const SEARCH_ATTRIBUTES = [IncidentIdAttr, SeverityAttr, RunbookAttr, BridgeMeetingIdAttr, ZoomMeetingIdsAttr];

/** The task queue of the Zoom activities, beside the workflows' own (`<task queue>-zoom`). */
export function zoomTaskQueue(taskQueue: string): string {
  return `${taskQueue}-zoom`;
}

export interface TimelineLink {
  label: string;
  url: string;
}

/** One line on the incident timeline. Never carries a host start_url, token or passcode. */
export interface TimelineEntry {
  at: string;
  /** "incident" for incident events, else the runbook that wrote it. */
  source: string;
  step?: string;
  status: 'info' | 'ok' | 'failed';
  summary: string;
  links?: TimelineLink[];
}

/** What a runbook sends to its incident: a timeline entry, and the bridge when the entry announces one. */
export interface TimelinePost extends TimelineEntry {
  bridge?: MeetingSummary;
  /** A meeting the runbook created, or ended or deleted: the incident keeps the list, to leave none open when it closes. */
  meeting?: MeetingRecord;
}

/** A meeting a runbook created, as its incident keeps it. */
export interface MeetingRecord {
  id: string;
  /** bridge: a meeting for now; scheduled: a later one (a postmortem outlives the incident); recurring: a series while open. */
  kind: 'bridge' | 'scheduled' | 'recurring';
  /** The runbook run (workflow id) that created it. */
  owner: string;
  connector?: string;
  /** Set once it has been ended or deleted. */
  done?: 'ended' | 'deleted';
}

/** A Zoom meeting as runbooks see it: what may be shared, nothing that lets someone host. */
export interface MeetingSummary {
  id: string;
  topic: string;
  joinUrl: string;
  hostEmail?: string;
  startTime?: string;
  /** False when an earlier attempt had already created it (found by its idempotency marker). */
  created: boolean;
  /** Earlier attempts ran: a create one of them sent may still land in Zoom after this one. */
  retried?: boolean;
  /** Phone numbers to join by, for the account's dial-in countries (Zoom's `global_dial_in_numbers`); never the phone passcode. */
  dialIn?: DialInNumber[];
  /**
   * Who has waited to get in longer than the step's `lobbyAlertAfter`, as the run's lobby alerts
   * last said (empty once each got in or gave up; absent before any alert).
   */
  waiting?: LobbyWaiter[];
}

/** Someone waiting to get into a meeting, shown by display name only (a phone number masked). */
export interface LobbyWaiter {
  name: string;
  /** When Zoom says they began waiting (ISO). */
  since: string;
  /** In the waiting room, for the host to admit them; or for the host to start the meeting. */
  waitsFor: 'admission' | 'host';
}

/** A number to dial into a meeting: country code (US), the number as Zoom writes it, and where and what kind it is. */
export interface DialInNumber {
  country: string;
  number: string;
  city?: string;
  /** Zoom's `toll` or `tollfree`. */
  type?: string;
}

export { ZOOM_MEETING_EVENT_TYPES };
export type ZoomMeetingEventType = (typeof ZOOM_MEETING_EVENT_TYPES)[number];

export interface ZoomMeetingEvent {
  type: ZoomMeetingEventType;
  meetingId: string;
  /** When it happened, as Zoom says (ISO). */
  at: string;
  /**
   * The UUID of the meeting's instance (meeting.started, meeting.ended, meeting.summary_completed,
   * recording.completed, recording.transcript_completed): what Zoom's summary and transcript
   * endpoints take. A summary or transcript itself never travels in an event: the run fetches it by
   * this UUID, so its text stays out of the mailboxes and the webhook logs.
   */
  uuid?: string;
  participant?: { id: string; name?: string; email?: string };
  /** recording.completed: the share link (its passcode is never carried) and the files. */
  recording?: { shareUrl?: string; files: { type: string; sizeBytes?: number }[] };
}

/**
 * A Zoom webhook about a meeting: `serve` records it in the meeting's mailbox, which forwards it
 * to the runbook run that created the meeting (runs from before the mailboxes get it directly).
 */
export const zoomMeetingEventSignal = defineSignal<[ZoomMeetingEvent]>('zoomMeetingEvent');
