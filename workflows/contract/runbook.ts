/**
 * The runbook workflow's contract: one run of a runbook for an incident, a child of the
 * incident's workflow. Operators type these names, so they never change.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Runbook } from '../../src/core/runbook';
import type { Incident, MeetingSummary } from './shared';

export type { Runbook as RunbookDefinition, RunbookStep, StepAction } from '../../src/core/runbook';

/** Its type name, as `temporal workflow list --query "WorkflowType = '…'"` and the Web UI show it. */
export const RUNBOOK_WORKFLOW_TYPE = 'runbookWorkflow';

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

/** Its signature, for clients that start it or wait for its result without importing workflow code. */
export type RunbookWorkflow = (input: RunbookInput) => Promise<RunbookResult>;

/** The incident changed (the incident workflow forwards every applied event). */
export const incidentChangedSignal = defineSignal<[Incident]>('incidentChanged');
/** Stop now; its cleanup (end the bridge, delete recurring meetings) runs unless `cleanup` is false. */
export const cancelRunbookSignal = defineSignal<[CancelRunbookRequest?]>('cancelRunbook');
/** End the bridge it opened now, for everyone (an operator's call). The wire name is the incident's `endBridge` too. */
export const runbookEndBridgeSignal = defineSignal('endBridge');
/** The bridge it opened, or null. The wire name is the incident's `bridge` too. */
export const runbookBridgeQuery = defineQuery<MeetingSummary | null>('bridge');
/** Invite people to a meeting it created (default: its bridge); returns the meeting's invitees. */
export const addParticipantsUpdate = defineUpdate<AddParticipantsResult, [AddParticipantsRequest]>('addParticipants');

/** Zoom phones someone into a meeting it created (default: its bridge); the answer shows the number masked. */
export const callOutUpdate = defineUpdate<CallOutResult, [CallOutRequest]>('callOut');

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

export interface CallOutRequest {
  /** The name the meeting shows. */
  name: string;
  /** With its country code (E.164, e.g. +12065550100; spaces, dots, dashes and brackets allowed). */
  phone: string;
  /** The id of the step that created the meeting; default the bridge. */
  meeting?: string;
}

export interface CallOutResult {
  meetingId: string;
  name: string;
  /** Masked: all but the last four digits. */
  phone: string;
}

/** Failure types it raises (`ApplicationFailure.type`), for callers that tell them apart. */
export const RUNBOOK_FAILURE_TYPE = {
  /** A runbook step failed and did not continue on error: the run fails. */
  runbookStepFailed: 'RunbookStepFailed',
  /** A step names a meeting that an earlier step never made. */
  noMeeting: 'NoMeeting',
} as const;

/** Its patch ids (`patched(…)`): recorded in histories, so a value never changes once released. */
export const RUNBOOK_PATCHES = {
  /** Runs started before this patch call Zoom through the workflow's own task queue. */
  zoomTaskQueue: 'zoom-task-queue',
  /** Meeting ids as a search attribute, reopen and close watchers (runs recorded before it replay without). */
  meetingLifecycle: 'meeting-lifecycle-v2',
  /** After a retried create, look again for meetings that timed-out attempts created late. */
  lateDuplicates: 'remove-late-duplicates',
  /** Zoom's webhooks come through each meeting's mailbox workflow, which this run releases when it ends. */
  meetingMailbox: 'meeting-mailbox',
  /** A cancel also removes what creates in flight made (found by their markers). */
  cancelInFlight: 'cancel-creates-in-flight',
  /** Webhooks forwarded before the create's answer reached the run are applied when it does (they were dropped). */
  earlyEvents: 'early-meeting-events',
  /** Meetings a cancel removed are recorded on the incident one by one, and their mailboxes released. */
  removedMeetings: 'removed-meetings-recorded',
  /** A scheduled meeting is not booked while the incident is reopened (the run started on a resolve that did not last). */
  reopenedBeforeBooking: 'reopened-before-booking',
  /** An empty attendance report waits for Zoom's meeting.ended webhook (the joins may still be on their way) and asks again. */
  attendanceSettles: 'attendance-waits-for-zoom-end',
  /** A bridge's lobby is followed: the timeline says who has waited to get in too long, and when that is over. */
  lobbyAlerts: 'lobby-alerts',
  /** collectSummary asks Zoom at once only for a summary webhook it has not looked up yet (it looped while Zoom's API lagged the webhook). */
  summaryOncePerWebhook: 'summary-once-per-webhook',
} as const;

/** The kind of meeting each create action makes (MeetingRecord.kind). */
export const MEETING_KIND = {
  'zoom.createMeeting': 'bridge',
  'zoom.scheduleMeeting': 'scheduled',
  'zoom.recurringMeeting': 'recurring',
} as const;
export type MeetingAction = keyof typeof MEETING_KIND;

/**
 * A create's idempotency key: once per run, step and re-plan generation. Its marker in the agenda
 * lets a retry, a cancel or the incident's close find the meeting in Zoom.
 */
export function meetingCreateKey(workflowId: string, runId: string, stepId: string, generation = 1): string {
  return `${workflowId}/${runId}/${stepId}${generation > 1 ? `/${generation}` : ''}`;
}
