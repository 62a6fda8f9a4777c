/**
 * Temporal's own floor (bench/floor.ts), bundled apart from the product's workflows and run by
 * the bench worker process beside them. No product logic: no runbooks, no matching, no rendering,
 * no timeline; only the Temporal shapes, each around the one Zoom call a bridge needs.
 */
import {
  condition,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';

export interface FloorActivities {
  /** Creates one Zoom meeting whose agenda opens with `label`; resolves with its join URL. */
  floorCreateMeeting(label: string): Promise<string>;
}

/** The task queue of the shape's activity: beside the workflows' own, as the product's Zoom queue is. */
export function floorActivityQueue(taskQueue: string): string {
  return `${taskQueue}-act`;
}

const ACTIVITY_TIMEOUT = { startToCloseTimeout: '30s' } as const;

/** Plain: start -> one activity (on the workflow's own queue) -> result. */
export async function floorPlainWorkflow(label: string): Promise<string> {
  return proxyActivities<FloorActivities>(ACTIVITY_TIMEOUT).floorCreateMeeting(label);
}

/** Starts the shape's parent (signal-with-start), as an incident event does. */
export const floorStartSignal = defineSignal<[string]>('floorStart');
/** The child hands the join URL back to its parent, as a runbook posts to the timeline. */
export const floorLinkSignal = defineSignal<[string]>('floorLink');
/** What the client asks until the link is there, as time to bridge asks for the timeline. */
export const floorLinkQuery = defineQuery<string | null>('floorLink');

/**
 * The product's shape: a long-lived parent, signal-with-started, starts a child, which runs the
 * activity on a separate task queue and signals the link back. The parent stays open, as an
 * incident does.
 */
export async function floorParentWorkflow(): Promise<void> {
  let label: string | undefined;
  let link: string | null = null;
  setHandler(floorStartSignal, (l) => {
    label ??= l;
  });
  setHandler(floorLinkSignal, (l) => {
    link = l;
  });
  setHandler(floorLinkQuery, () => link);
  await condition(() => label !== undefined);
  const { workflowId } = workflowInfo();
  await startChild(floorChildWorkflow, { workflowId: `${workflowId}/child`, args: [label!, workflowId] });
  await condition(() => false);
}

export async function floorChildWorkflow(label: string, parentId: string): Promise<void> {
  const zoom = proxyActivities<FloorActivities>({
    ...ACTIVITY_TIMEOUT,
    taskQueue: floorActivityQueue(workflowInfo().taskQueue),
  });
  const link = await zoom.floorCreateMeeting(label);
  await getExternalWorkflowHandle(parentId).signal(floorLinkSignal, link);
}
