/**
 * Names and shapes shared by workflows, clients, the CLI and the `temporal` CLI. The string
 * literals here are the public interface: operators type them, so they never change.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Incident, IncidentEvent, IncidentEventType } from '../src/core/incident';
import type { Runbook } from '../src/core/runbook';

export type { Incident, IncidentEvent, IncidentEventType };

/** Workflow type names, as `temporal workflow list --query "WorkflowType = '…'"` and the Web UI show them. */
export const WORKFLOW_TYPE = {
  incident: 'incidentWorkflow',
  runbook: 'runbookWorkflow',
  meetingMailbox: 'meetingMailboxWorkflow',
  zoomConnector: 'zoomConnectorWorkflow',
} as const;

/** Failure types the workflows raise (`ApplicationFailure.type`), for callers that tell them apart. */
export const FAILURE_TYPE = {
  /** runRunbook named a runbook the worker has not loaded. */
  unknownRunbook: 'UnknownRunbook',
  /** A runbook step failed and did not continue on error: the run fails. */
  runbookStepFailed: 'RunbookStepFailed',
  /** A step names a meeting that an earlier step never made. */
  noMeeting: 'NoMeeting',
} as const;

/** Workflow id of an incident: one per incident, so every event of it meets the same run. */
export function incidentWorkflowId(incidentId: string): string {
  return `incident-${incidentId}`;
}

/** Workflow id of a runbook run of an incident (`<incident workflow id>/<runbook>`, on-demand runs add `/on-demand-<n>`). */
export function runbookWorkflowId(incidentWorkflow: string, runbook: string, onDemand?: number): string {
  return `${incidentWorkflow}/${runbook}${onDemand ? `/on-demand-${onDemand}` : ''}`;
}

/** The parts of a runbook run's workflow id; undefined for any other id. */
export function parseRunbookWorkflowId(
  workflowId: string,
): { incidentWorkflowId: string; runbook: string; onDemand?: number } | undefined {
  const match = /^(incident-[^/]+)\/([^/]+)(?:\/on-demand-(\d+))?$/.exec(workflowId);
  if (!match) return undefined;
  return { incidentWorkflowId: match[1], runbook: match[2], ...(match[3] ? { onDemand: Number(match[3]) } : {}) };
}

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
}

export type { Runbook as RunbookDefinition, RunbookStep, StepAction } from '../src/core/runbook';

export interface RunbookInput {
  runbook: Runbook;
  incident: Incident;
  incidentWorkflowId: string;
}

export interface RunbookResult {
  runbook: string;
  steps: Record<string, unknown>;
  /** Why it stopped early, when the cancelRunbook signal stopped it. */
  cancelled?: string;
}

/** Incident workflow: deliver an incident event (created, updated, resolved, reopened, closed). */
export const incidentEventSignal = defineSignal<[IncidentEvent]>('incidentEvent');
/** Incident workflow: a runbook adds a line to the timeline. */
export const appendTimelineSignal = defineSignal<[TimelinePost]>('appendTimeline');
/** Incident workflow: the merged timeline, oldest first. */
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
/** Incident workflow: the incident's current fields. */
export const incidentQuery = defineQuery<Incident>('incident');
/** Runbook workflow: the incident changed (the incident workflow forwards every applied event). */
export const incidentChangedSignal = defineSignal<[Incident]>('incidentChanged');
/**
 * Runbook workflow: end the bridge it opened now, for everyone (an operator's call). Incident
 * workflow: end the incident's bridge directly, for when its runbook is no longer running
 * (terminated); `meetingId` defaults to the incident's bridge.
 */
export const endBridgeSignal = defineSignal<[{ meetingId?: string }?]>('endBridge');
/** Runbook workflow: the bridge it opened, or null. Incident workflow: the latest bridge any runbook opened. */
export const bridgeQuery = defineQuery<MeetingSummary | null>('bridge');
/** Runbook workflow: stop now; its cleanup (end the bridge, delete recurring meetings) runs unless `cleanup` is false. */
export const cancelRunbookSignal = defineSignal<[CancelRunbookRequest?]>('cancelRunbook');
/** Runbook workflow: invite people to a meeting it created (default: its bridge); returns the meeting's invitees. */
export const addParticipantsUpdate = defineUpdate<AddParticipantsResult, [AddParticipantsRequest]>('addParticipants');
/** Incident workflow: run a runbook now against this incident, whatever its trigger says. */
export const runRunbookUpdate = defineUpdate<RunRunbookResult, [RunRunbookRequest]>('runRunbook');
/** Runbook workflow: a Zoom webhook about one of its meetings (forwarded by `serve`). */
export const zoomMeetingEventSignal = defineSignal<[ZoomMeetingEvent]>('zoomMeetingEvent');

export interface CancelRunbookRequest {
  /** False keeps what the runbook opened (the bridge stays up). Default true. */
  cleanup?: boolean;
  reason?: string;
}

export interface AddParticipantsRequest {
  emails?: string[];
  alternativeHosts?: string[];
  /** The id of the step that created the meeting; default the bridge. */
  meeting?: string;
}

export interface AddParticipantsResult {
  meetingId: string;
  invitees: string[];
  alternativeHosts: string[];
}

export interface RunRunbookRequest {
  runbook: string;
  /** Makes the request idempotent: a retry with the same id returns the first run (default: the update's id). */
  requestId?: string;
}

export interface RunRunbookResult {
  workflowId: string;
  /** True when this request (by its id) had already started the run. */
  alreadyStarted?: boolean;
}

export const ZOOM_MEETING_EVENT_TYPES = [
  'meeting.started',
  'meeting.ended',
  'meeting.participant_joined',
  'meeting.participant_left',
  'recording.completed',
] as const;
export type ZoomMeetingEventType = (typeof ZOOM_MEETING_EVENT_TYPES)[number];

/** The incident event types (src/core/incident.ts holds the schema; workflows may not import its code). */
export const INCIDENT_EVENT_TYPES_LIST: readonly IncidentEventType[] = [
  'incident.created',
  'incident.updated',
  'incident.resolved',
  'incident.reopened',
  'incident.closed',
];

export interface ZoomMeetingEvent {
  type: ZoomMeetingEventType;
  meetingId: string;
  /** When it happened, as Zoom says (ISO). */
  at: string;
  participant?: { id: string; name?: string; email?: string };
  /** recording.completed: the share link (its passcode is never carried) and the files. */
  recording?: { shareUrl?: string; files: { type: string; sizeBytes?: number }[] };
}

/** Workflow id of a Zoom meeting's mailbox: deterministic, so a webhook and the run that created the meeting meet there. */
export function meetingMailboxWorkflowId(meetingId: string): string {
  return `zoom-meeting-${meetingId}`;
}

/** What clients start and signal-with-start: the workflows' signatures, without importing workflow code. */
export type MeetingMailboxWorkflow = (input: MeetingMailboxInput) => Promise<void>;
export type ZoomConnectorWorkflow = (input: ConnectorWorkflowInput) => Promise<void>;

/** A meeting a create made: the run that follows it and, when known, the incident that keeps it. */
export interface MeetingClaim {
  meetingId: string;
  owner: string;
  incident?: { workflowId: string; record: MeetingRecord };
}

export interface MeetingMailboxInput {
  meetingId: string;
  /** Runbook workflow ids that follow the meeting (carried over continue-as-new). */
  owners?: string[];
  /** Events not yet forwarded (carried over continue-as-new). */
  pending?: ZoomMeetingEvent[];
  /** Runs that released the meeting: a late claim of theirs is ignored (carried over continue-as-new). */
  released?: string[];
}

/** Incident workflow: a create made this meeting for one of its runbooks (sent by the create, before its answer reaches the run). */
export const meetingCreatedSignal = defineSignal<[MeetingRecord]>('meetingCreated');
/** Meeting mailbox: a run created this meeting and follows it; forward its events there (the ones held first). */
export const claimMeetingSignal = defineSignal<[{ owner: string }]>('claimMeeting');
/** Meeting mailbox: the run no longer follows the meeting (it has finished). */
export const releaseMeetingSignal = defineSignal<[{ owner: string }]>('releaseMeeting');

export interface ConnectorWorkflowInput {
  connector: string;
  /** Carried over continue-as-new. */
  tokens?: SealedTokenSet;
  refreshes?: number;
  needsReauthorization?: string;
  disabled?: string;
}

/**
 * A user-OAuth connector's tokens as its owner workflow keeps them: sealed (AES-GCM, see
 * src/platform/secrets.ts), so history never holds a token; the fingerprint names the access token.
 */
export interface SealedTokenSet {
  sealedAccessToken: string;
  accessFingerprint: string;
  sealedRefreshToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  scopes: string[];
}

export type SealedAccessToken = Pick<SealedTokenSet, 'sealedAccessToken' | 'expiresAt' | 'scopes'>;

export interface ConnectorStatus {
  connector: string;
  authorised: boolean;
  expiresAt?: number;
  refreshes: number;
  /** Why the connector needs re-authorising, when it does. */
  needsReauthorization?: string;
  /** Set when the Zoom app was uninstalled: why and when. Its tokens are gone. */
  disabled?: string;
}

export function connectorDisabledMessage(connector: string): string {
  return `Zoom connector ${connector} is disabled (app uninstalled)`;
}

export function connectorWorkflowId(connector: string): string {
  return `zoom-connector-${connector}`;
}

/** Connector workflow: store tokens from a fresh authorisation (the OAuth callback sends this). */
export const installTokensSignal = defineSignal<[SealedTokenSet]>('installTokens');
/** Connector workflow: the Zoom app was uninstalled: delete the tokens and refuse every call until re-authorised. */
export const appDeauthorizedSignal = defineSignal<[{ at: string }]>('appDeauthorized');
/** Connector workflow: the app is installed again (Server-to-Server apps; user-OAuth apps re-authorise through installTokens). */
export const enableConnectorSignal = defineSignal('enable');
/** Connector workflow: a valid access token; `staleFingerprint` names one Zoom just rejected. */
export const accessTokenUpdate = defineUpdate<SealedAccessToken, [{ staleFingerprint?: string }]>('accessToken');
/** Connector workflow: whether it is authorised, token expiry, refresh count. */
export const connectorStatusQuery = defineQuery<ConnectorStatus>('connectorStatus');
