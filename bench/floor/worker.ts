import { NativeConnection, Worker } from '@temporalio/worker';
import { RunbooksWorker } from '../../src/apps/worker';
import { TemporalConfig, workerTuning, WorkerTuning, ZoomConnectorConfig } from '../../src/platform/config';
import { dataConverter } from '../../src/temporal/connection';
import { bareZoomClient, createBareMeeting } from '../lib/bare-zoom';
import { floorActivityQueue, FloorActivities } from './workflows';

/** What the bench worker process needs to run the floor beside the product (WorkerSpec.floor). */
export interface FloorSpec {
  /** The floor's workflow bundle (bench/floor/workflows.ts, built apart from the product's). */
  bundlePath: string;
  /** The Zoom user the floor's meetings are created for (the bench's bare-call user, off the host pool). */
  host: string;
}

/** The floor's task queue, beside the product's on the same dev server. */
export function floorTaskQueue(taskQueue: string): string {
  return `${taskQueue}-floor`;
}

/**
 * The floor's workers, built as createWorker builds the product's (src/apps/worker.ts): the same
 * connection, data converter (payloads encrypted alike) and tuning; workflows and their activity on
 * the floor queue, the shape's activity on the queue beside it, as Zoom activities are.
 */
export async function createFloorWorker(
  connection: NativeConnection,
  temporal: TemporalConfig,
  connector: ZoomConnectorConfig,
  spec: FloorSpec,
  preset: WorkerTuning,
): Promise<RunbooksWorker> {
  const zoom = bareZoomClient(connector);
  const activities: FloorActivities = { floorCreateMeeting: (label) => createBareMeeting(zoom, spec.host, label) };
  const tuning = { ...workerTuning({}), ...preset };
  const common = { connection, namespace: temporal.namespace, dataConverter: dataConverter(temporal), activities };
  const taskQueue = floorTaskQueue(temporal.taskQueue);
  const workflows = await Worker.create({
    ...common,
    taskQueue,
    workflowBundle: { codePath: spec.bundlePath },
    ...tuning,
  });
  const activityWorker = await Worker.create({
    ...common,
    taskQueue: floorActivityQueue(taskQueue),
    maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions,
    activityTaskPollerBehavior: tuning.activityTaskPollerBehavior,
    maxTaskQueueActivitiesPerSecond: tuning.maxTaskQueueActivitiesPerSecond,
  });
  return new RunbooksWorker(workflows, activityWorker);
}
