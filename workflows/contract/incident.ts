/**
 * The incident workflow's contract: one workflow per incident, which every event of the incident
 * meets. Operators type these names (`temporal workflow query --name timeline`), so they never change.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  Incident,
  IncidentEvent,
  IncidentEventType,
  MeetingRecord,
  MeetingSummary,
  TimelineEntry,
  TimelinePost,
} from './shared';

/** Its type name, as `temporal workflow list --query "WorkflowType = '…'"` and the Web UI show it. */
export const INCIDENT_WORKFLOW_TYPE = 'incidentWorkflow';

/** Workflow id of an incident: one per incident, so every event of it meets the same run. */
export function incidentWorkflowId(incidentId: string): string {
  return `incident-${incidentId}`;
}

/** What starts it (it carries its own state over continue-as-new beside this). */
export interface IncidentWorkflowStart {
  incidentId: string;
}

/** Its signature, for clients that start or signal-with-start it without importing workflow code. */
export type IncidentWorkflow = (input: IncidentWorkflowStart) => Promise<void>;

/** The incident event types (src/core/incident.ts holds the schema; workflows may not import its code). */
export const INCIDENT_EVENT_TYPES_LIST: readonly IncidentEventType[] = [
  'incident.created',
  'incident.updated',
  'incident.resolved',
  'incident.reopened',
  'incident.closed',
];

/** Deliver an incident event (created, updated, resolved, reopened, closed). */
export const incidentEventSignal = defineSignal<[IncidentEvent]>('incidentEvent');
/** A runbook adds a line to the timeline. */
export const appendTimelineSignal = defineSignal<[TimelinePost]>('appendTimeline');
/** A create made this meeting for one of its runbooks (sent by the create, before its answer reaches the run). */
export const meetingCreatedSignal = defineSignal<[MeetingRecord]>('meetingCreated');
/**
 * End the incident's bridge directly, for when its runbook is no longer running (terminated);
 * `meetingId` defaults to the incident's bridge. The wire name is the runbook's `endBridge` too.
 */
export const incidentEndBridgeSignal = defineSignal<[EndBridgeRequest?]>('endBridge');
/** The merged timeline, oldest first. */
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
/** The incident's current fields. */
export const incidentQuery = defineQuery<Incident>('incident');
/** The latest bridge any of its runbooks opened, or null. The wire name is the runbook's `bridge` too. */
export const incidentBridgeQuery = defineQuery<MeetingSummary | null>('bridge');
/** Run a runbook now against this incident, whatever its trigger says. */
export const runRunbookUpdate = defineUpdate<RunRunbookResult, [RunRunbookRequest]>('runRunbook');

export interface EndBridgeRequest {
  meetingId?: string;
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

/** Failure types it raises (`ApplicationFailure.type`), for callers that tell them apart. */
export const INCIDENT_FAILURE_TYPE = {
  /** runRunbook named a runbook the worker has not loaded. */
  unknownRunbook: 'UnknownRunbook',
} as const;

/** Its patch ids (`patched(…)`): recorded in histories, so a value never changes once released. */
export const INCIDENT_PATCHES = {
  /**
   * The lifecycle state machine (workflows/lifecycle.ts), deep-merged partial updates, the
   * source's status kept beside the lifecycle's, and closing some time after the resolution.
   */
  lifecycle: 'lifecycle-state-machine',
  /** The close releases the meeting mailboxes that runs no longer running never released. */
  closeReleasesMailboxes: 'close-releases-mailboxes',
  /** A meeting whose create answers after the close is ended (or deleted) if its run no longer runs. */
  closeEndsLateCreates: 'close-ends-late-creates',
  /** The close asks Zoom, by the create's marker, for what a run that died mid-create made and never reported. */
  closeFindsUntoldMeetings: 'close-finds-untold-meetings',
} as const;
