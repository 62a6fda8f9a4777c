import { Client, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { status } from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

/** What one workflow's history holds, counted by kind (the costs issue 15 asks about). */
export interface HistoryCounts {
  events: number;
  /** Workflow tasks completed (each one a round trip server -> worker -> server). */
  workflowTasks: number;
  /** Signals received. */
  signals: number;
  /** Signals sent to other workflows. */
  signalsSent: number;
  /** Activity tasks scheduled (each one dispatched through a task queue). */
  activityTasks: number;
  /** Local activities (markers). */
  localActivities: number;
  searchAttributeUpserts: number;
  childStarts: number;
  timers: number;
  updates: number;
}

const ZERO: HistoryCounts = {
  events: 0,
  workflowTasks: 0,
  signals: 0,
  signalsSent: 0,
  activityTasks: 0,
  localActivities: 0,
  searchAttributeUpserts: 0,
  childStarts: 0,
  timers: 0,
  updates: 0,
};

/** Event types counted, and the field each goes to. */
const COUNTED: [number, keyof HistoryCounts][] = [
  [EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 'workflowTasks'],
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'signals'],
  [EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, 'signalsSent'],
  [EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 'activityTasks'],
  [EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 'searchAttributeUpserts'],
  [EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 'childStarts'],
  [EventType.EVENT_TYPE_TIMER_STARTED, 'timers'],
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 'updates'],
];

/** The counts of one workflow's current run; undefined when there is no such workflow. */
export async function historyCounts(client: Client, workflowId: string): Promise<HistoryCounts | undefined> {
  let history;
  try {
    history = await client.workflow.getHandle(workflowId).fetchHistory();
  } catch (err) {
    // fetchHistory passes the server's NOT_FOUND on as it is.
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === status.NOT_FOUND))
      return undefined;
    throw err;
  }
  const counts = { ...ZERO };
  for (const e of history.events ?? []) {
    counts.events++;
    const field = COUNTED.find(([type]) => type === e.eventType)?.[1];
    if (field) counts[field]++;
    // Local activities are recorded as markers ("core_local_activity"); patches are markers too.
    if (e.markerRecordedEventAttributes?.markerName?.includes('local_activity')) counts.localActivities++;
  }
  return counts;
}

/** Field by field sum. */
export function addCounts(list: HistoryCounts[]): HistoryCounts {
  const sum = { ...ZERO };
  for (const c of list) for (const k of Object.keys(sum) as (keyof HistoryCounts)[]) sum[k] += c[k];
  return sum;
}

/** Counts of a set of workflows: their sum, and each one's events (by a name of the caller's choosing). */
export interface WorkflowCounts {
  total: HistoryCounts;
  byWorkflow: Record<string, number>;
}

/** Counts of the workflows that exist among `workflows` (name -> workflow id). */
export async function countWorkflows(client: Client, workflows: Record<string, string>): Promise<WorkflowCounts> {
  const found = await Promise.all(
    Object.entries(workflows).map(async ([name, id]) => [name, await historyCounts(client, id)] as const),
  );
  const present = found.filter((f): f is readonly [string, HistoryCounts] => f[1] !== undefined);
  return {
    total: addCounts(present.map(([, c]) => c)),
    byWorkflow: Object.fromEntries(present.map(([name, c]) => [name, c.events])),
  };
}
