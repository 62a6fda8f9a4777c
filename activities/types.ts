/** What activities take and return: the shapes workflows see (no start_url, tokens or passcodes). */
import type { MeetingRecord, MeetingSummary } from '../workflows/contract';
import type { TokenProvider } from '../src/zoom/auth';
import type { ZoomClient } from '../src/zoom/client';
import type { HostPool } from '../src/zoom/host-pool';
import type { StepInputs } from '../src/core/step-inputs';

export interface ZoomConnector {
  name: string;
  client: ZoomClient;
  tokens: TokenProvider;
  /** Zoom users (ids or emails) who host new meetings. */
  hosts: HostPool;
}

/** What a create step rendered (one of the three create actions), as one shape. */
type RenderedMeeting = Omit<StepInputs['zoom.createMeeting'], 'followIncident' | 'lobbyAlertAfter'> &
  Partial<Pick<StepInputs['zoom.scheduleMeeting'], 'startTime' | 'timezone'>> &
  Partial<Pick<StepInputs['zoom.recurringMeeting'], 'recurrence'>>;

export interface CreateMeetingInput extends RenderedMeeting {
  connector?: string;
  /** Stable per runbook step: the same key never yields a second meeting. */
  idempotencyKey: string;
  /** The incident workflow told of the meeting as soon as Zoom made it, and as what kind (runs before this field: not told). */
  incident?: { workflowId: string; kind: MeetingRecord['kind'] };
}

export type Weekday = NonNullable<NonNullable<CreateMeetingInput['recurrence']>['on']>[number];

export type UpdateMeetingInput = MeetingCall & Omit<StepInputs['zoom.updateMeeting'], 'meeting'>;
export type ManageParticipantsInput = MeetingCall & Omit<StepInputs['zoom.manageParticipants'], 'meeting'>;
export type RecordingSettingsInput = MeetingCall & Omit<StepInputs['zoom.recordingSettings'], 'meeting'>;
export type RecordingAction = StepInputs['zoom.recordingControl']['action'];
export type RecordingControlInput = MeetingCall & { action: RecordingAction };
/** One person Zoom phones into a meeting: the step's options, and a number already checked as E.164. */
export type CallOutInput = MeetingCall &
  Pick<StepInputs['zoom.callOut'], 'requireGreeting' | 'requirePressingOne'> &
  StepInputs['zoom.callOut']['people'][number];

/** A meeting's cloud recording as runbooks see it: the share link (never its passcode) and the files. */
export interface RecordingSummary {
  ready: boolean;
  shareUrl?: string;
  files: { type: string; sizeBytes?: number }[];
}

/** AI Companion's summary of one meeting instance, as the step's output keeps it (the timeline gets a short form). */
export interface CollectedSummary {
  /** The instance's UUID (Zoom's summary is per instance). */
  uuid: string;
  title?: string;
  overview?: string;
  details: { label: string; summary: string }[];
  nextSteps: string[];
}

/**
 * What Zoom says of a meeting's summary: ready; none yet (the meeting has not ended, or AI
 * Companion is still writing it); or refused, which waiting does not change (AI Companion off).
 */
export type SummaryLookup =
  { state: 'ready'; summary: CollectedSummary } | { state: 'pending' } | { state: 'refused'; reason: string };

/** A summary lookup: the instance's UUID when a webhook named it, else Zoom is asked for the latest ended instance. */
export type SummaryCall = MeetingCall & { uuid?: string };

/** A meeting's transcript as the step's output keeps it: never a download URL or token. */
export interface CollectedTranscript {
  /** AI Companion's transcript (Zoom's transcript endpoint), or the cloud recording's TRANSCRIPT file. */
  source: 'aiCompanion' | 'cloudRecording';
  /** The meeting instance, when known. */
  uuid?: string;
  /** The cloud recording's share page, which holds the transcript, when the meeting was recorded. */
  link?: string;
  /** When asked for: the spoken text (each cue on a line, no timings), at most the characters asked for. */
  text?: string;
  /** With `text`: false when the transcript is longer than the text kept. */
  complete?: boolean;
}

/** What Zoom says of a meeting's transcript: ready, or none yet (with Zoom's reason when it gave one). */
export type TranscriptLookup =
  { state: 'ready'; transcript: CollectedTranscript } | { state: 'pending'; reason?: string };

/** A transcript lookup: by the instance's UUID when a webhook named it, else by meeting id (its latest instance). */
export type TranscriptCall = MeetingCall & {
  uuid?: string;
  /** Read the transcript's text too, at most this many characters. */
  textChars?: number;
};

/** One person's attendance, from Zoom's past-participants API. */
export interface AttendanceRecord {
  name: string;
  email?: string;
  joinedAt: string;
  leftAt?: string;
  /** Seconds in the meeting. */
  seconds: number;
}

/** What createMeeting returns: the summary, plus which fields were cut to Zoom's limits (for the timeline). */
export type CreatedMeeting = MeetingSummary & FieldsCut;

/** Fields cut to fit Zoom's limits, as "agenda (2500 → 1963 characters)"; absent when nothing was cut. */
export interface FieldsCut {
  cut?: string[];
}

/**
 * What ending or deleting a meeting did. `alreadyGone`: Zoom no longer has the meeting (404/3001),
 * typically because an earlier attempt's delete went through and only its answer was lost.
 */
export interface MeetingRemoval {
  alreadyGone?: true;
}

export interface MeetingCall {
  connector?: string;
  meetingId: string;
}
