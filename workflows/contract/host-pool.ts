/**
 * The host-pool workflow's contract: per connector, the one owner of who hosts new meetings (each
 * host's daily budget and who is live), asked by every worker process before a create.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { HostPoolState, LeaseAnswer, LeaseRequest } from '../../src/core/host-pool';

/** Its type name, as `temporal workflow list --query "WorkflowType = '…'"` and the Web UI show it. */
export const ZOOM_HOST_POOL_WORKFLOW_TYPE = 'zoomHostPoolWorkflow';

/** Per connector and task queue: deployments that share a namespace (and a connector name) keep their own. */
export function hostPoolWorkflowId(connector: string, taskQueue: string): string {
  return `zoom-hosts/${taskQueue}/${connector}`;
}

export interface HostPoolWorkflowInput {
  connector: string;
  /** Carried over continue-as-new. */
  state?: HostPoolState;
}

/** Its signature, for clients that start it without importing workflow code. */
export type ZoomHostPoolWorkflow = (input: HostPoolWorkflowInput) => Promise<void>;

/** A host for one meeting (counted against its budget), or the hosts to ask Zoom about first. */
export const leaseHostUpdate = defineUpdate<LeaseAnswer, [LeaseRequest]>('leaseHost');
/** The create answered: the lease's reservation names the meeting; the host's Zoom user id is learned. */
export const hostMeetingCreatedSignal =
  defineSignal<[{ host: string; leaseId: string; meetingId: string; userId?: string }]>('hostMeetingCreated');
/** Zoom said the host is out of its daily budget. */
export const hostSpentSignal = defineSignal<[{ host: string }]>('hostSpent');
/** `meeting.started` / `meeting.ended`, forwarded by `serve` (the host's Zoom user id from the webhook). */
export const hostMeetingWebhookSignal =
  defineSignal<[{ type: 'meeting.started' | 'meeting.ended'; meetingId: string; userId?: string }]>(
    'hostMeetingWebhook',
  );
/** What the pool believes now. */
export const hostPoolQuery = defineQuery<HostPoolState>('hostPool');
