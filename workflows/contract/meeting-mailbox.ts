/**
 * The meeting mailbox's contract: one workflow per Zoom meeting, where Zoom's webhooks for it wait
 * for the runbook run that created it. Its events come by the shared `zoomMeetingEvent` signal.
 */
import { defineSignal } from '@temporalio/workflow';
import type { MeetingRecord, ZoomMeetingEvent } from './shared';

/** Its type name, as `temporal workflow list --query "WorkflowType = '…'"` and the Web UI show it. */
export const MEETING_MAILBOX_WORKFLOW_TYPE = 'meetingMailboxWorkflow';

/** Workflow id of a Zoom meeting's mailbox: deterministic, so a webhook and the run that created the meeting meet there. */
export function meetingMailboxWorkflowId(meetingId: string): string {
  return `zoom-meeting-${meetingId}`;
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

/** Its signature, for clients that signal-with-start it without importing workflow code. */
export type MeetingMailboxWorkflow = (input: MeetingMailboxInput) => Promise<void>;

/** A meeting a create made: the run that follows it and, when known, the incident that keeps it. */
export interface MeetingClaim {
  meetingId: string;
  owner: string;
  incident?: { workflowId: string; record: MeetingRecord };
}

/** A run created this meeting and follows it; forward its events there (the ones held first). */
export const claimMeetingSignal = defineSignal<[{ owner: string }]>('claimMeeting');
/** The run no longer follows the meeting (it has finished). */
export const releaseMeetingSignal = defineSignal<[{ owner: string }]>('releaseMeeting');

/** Its patch ids (`patched(…)`): recorded in histories, so a value never changes once released. */
export const MEETING_MAILBOX_PATCHES = {
  /** A claim from a run that has released the meeting is ignored (it came late, from a create the run cut short). */
  ignoresLateClaims: 'mailbox-ignores-late-claims',
} as const;
