import { Client, WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import type { LeaseAnswer, LeaseRequest } from '../core/host-pool';
import {
  hostMeetingCreatedSignal,
  hostMeetingWebhookSignal,
  hostPoolWorkflowId,
  hostSpentSignal,
  leaseHostUpdate,
  ZOOM_HOST_POOL_WORKFLOW_TYPE,
  ZoomHostPoolWorkflow,
} from '../../workflows/contract/host-pool';
import { zoomTaskQueue } from '../../workflows/contract/shared';
import type { HostPoolOwner, LeasedMeeting } from '../zoom/host-pool';
import { isWebhookEvent, WebhookEnvelope } from '../zoom/webhooks';

/**
 * The connector's host-pool workflow as every worker process's HostPoolOwner: one budget per host
 * and one view of who is live, whichever process creates. Whoever comes first starts it. `taskQueue`
 * is the workers' (the pool runs on the Zoom queue beside it).
 */
export class WorkflowHostPoolOwner implements HostPoolOwner {
  constructor(
    private readonly client: Client,
    private readonly connector: string,
    private readonly taskQueue: string,
  ) {}

  async lease(request: LeaseRequest): Promise<LeaseAnswer> {
    return this.client.workflow.executeUpdateWithStart(leaseHostUpdate, {
      args: [request],
      startWorkflowOperation: new WithStartWorkflowOperation<ZoomHostPoolWorkflow>(ZOOM_HOST_POOL_WORKFLOW_TYPE, {
        ...this.start(),
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
  }

  async created(meeting: LeasedMeeting): Promise<void> {
    await this.client.workflow.signalWithStart<ZoomHostPoolWorkflow, [LeasedMeeting]>(ZOOM_HOST_POOL_WORKFLOW_TYPE, {
      ...this.start(),
      signal: hostMeetingCreatedSignal,
      signalArgs: [meeting],
    });
  }

  async spent(host: string): Promise<void> {
    await this.client.workflow.signalWithStart<ZoomHostPoolWorkflow, [{ host: string }]>(ZOOM_HOST_POOL_WORKFLOW_TYPE, {
      ...this.start(),
      signal: hostSpentSignal,
      signalArgs: [{ host }],
    });
  }

  private start() {
    return {
      workflowId: hostPoolWorkflowId(this.connector, this.taskQueue),
      // Beside the Zoom calls, not behind a burst's incident and runbook workflow tasks.
      taskQueue: zoomTaskQueue(this.taskQueue),
      args: [{ connector: this.connector }] as [{ connector: string }],
      staticSummary: `Zoom connector **${this.connector}** (host pool: daily budgets, who is live)`,
    };
  }
}

export type HostPoolWebhook = { type: 'meeting.started' | 'meeting.ended'; meetingId: string; userId?: string };

/** What a host pool learns from a Zoom webhook: a meeting started or ended, and whose (the host's Zoom user id). */
export function hostPoolWebhook(envelope: WebhookEnvelope): HostPoolWebhook | undefined {
  if (!isWebhookEvent(envelope, 'meeting.started') && !isWebhookEvent(envelope, 'meeting.ended')) return undefined;
  const m = envelope.payload.object;
  return { type: envelope.event, meetingId: m.id, ...(m.host_id ? { userId: m.host_id } : {}) };
}

/**
 * Tells the connectors' host pools that a meeting started or ended (a pool that has not started
 * yet has nothing to correct). The host's Zoom user id says whose it is.
 */
export async function tellHostPools(
  client: Client,
  taskQueue: string,
  connectors: string[],
  event: HostPoolWebhook,
): Promise<void> {
  await Promise.all(
    connectors.map((c) =>
      client.workflow
        .getHandle(hostPoolWorkflowId(c, taskQueue))
        .signal(hostMeetingWebhookSignal, event)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }),
    ),
  );
}
