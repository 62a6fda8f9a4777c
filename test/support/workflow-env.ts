import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { Client, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { activityInfo } from '@temporalio/activity';
import { Activities, createActivities } from '../../activities';
import { IncidentPolicy } from '../../src/platform/config';
import { IncidentEvent } from '../../src/core/incident';
import { Runbook, runbookSchema } from '../../src/core/runbook';
import { registerSearchAttributes } from '../../src/temporal/connection';
import { getTimeline, sendIncidentEvent } from '../../src/temporal/client';
import { incidentWorkflowId, TimelineEntry, zoomTaskQueue } from '../../workflows/contract';
import { eventually } from './stack';

/**
 * The cheap tier: the real workflows on Temporal's time-skipping test server, with Zoom replaced
 * by plain functions (no sandbox, no dev server, no worker process). Rendering, matching and the
 * incident policy are the real local activities; only the Zoom calls are stubbed. What the Zoom
 * activities do over HTTP is proven in the e2e files (test/*.test.ts).
 */

/** The activities that call Zoom: what FakeZoom stands in for. */
export type ZoomActivities = Pick<
  Activities,
  | 'createMeeting'
  | 'updateMeeting'
  | 'manageParticipants'
  | 'updateRecordingSettings'
  | 'controlRecording'
  | 'callOut'
  | 'getRecording'
  | 'getMeetingSummary'
  | 'getTranscript'
  | 'getAttendance'
  | 'endMeeting'
  | 'deleteMeeting'
  | 'removeLateDuplicates'
  | 'removeByMarker'
  | 'meetingsByMarker'
>;
type ZoomName = keyof ZoomActivities;
export type ZoomInput<N extends ZoomName> = Parameters<ZoomActivities[N]>[0];

/** One call to Zoom: the activity, what it was given, and when (the test server's skipped time, ms). */
export type ZoomCall = { [N in ZoomName]: { activity: N; input: ZoomInput<N> } }[ZoomName] & { at: number };
type CallTo<N extends ZoomName> = Extract<ZoomCall, { activity: N }>;

/**
 * Zoom as plain functions: meetings get ids 1001, 1002, …; ends and deletes succeed; no recording
 * and no attendance report until a test says otherwise (`answer`). Every call is recorded.
 */
export class FakeZoom {
  readonly calls: ZoomCall[] = [];
  /** How each activity answers; a test replaces one for itself and `reset()` puts the defaults back. */
  answer: ZoomActivities = this.defaults();
  private nextId = 1001;

  private defaults(): ZoomActivities {
    return {
      createMeeting: async (input) => {
        const id = String(this.nextId++);
        return {
          id,
          topic: input.topic,
          joinUrl: `https://zoom.test/j/${id}`,
          startTime: input.startTime,
          created: true,
        };
      },
      updateMeeting: async () => ({}),
      manageParticipants: async (input) => ({
        invitees: input.addInvitees ?? [],
        alternativeHosts: input.addAlternativeHosts ?? [],
        registered: 0,
      }),
      updateRecordingSettings: async () => undefined,
      controlRecording: async () => undefined,
      callOut: async () => undefined,
      getRecording: async () => ({ ready: false, files: [] }),
      getMeetingSummary: async () => ({ state: 'pending' }),
      getTranscript: async () => ({ state: 'pending' }),
      getAttendance: async () => [],
      endMeeting: async () => ({}),
      deleteMeeting: async () => ({}),
      removeLateDuplicates: async () => [],
      removeByMarker: async () => [],
      meetingsByMarker: async () => [],
    };
  }

  reset(): void {
    this.answer = this.defaults();
  }

  /** The activities to register: each records its call, then answers as `answer` says. */
  activities(): ZoomActivities {
    const a = () => this.answer;
    return {
      createMeeting: async (input) => (this.record({ activity: 'createMeeting', input }), a().createMeeting(input)),
      updateMeeting: async (input) => (this.record({ activity: 'updateMeeting', input }), a().updateMeeting(input)),
      manageParticipants: async (input) => (
        this.record({ activity: 'manageParticipants', input }),
        a().manageParticipants(input)
      ),
      updateRecordingSettings: async (input) => (
        this.record({ activity: 'updateRecordingSettings', input }),
        a().updateRecordingSettings(input)
      ),
      controlRecording: async (input) => (
        this.record({ activity: 'controlRecording', input }),
        a().controlRecording(input)
      ),
      callOut: async (input) => (this.record({ activity: 'callOut', input }), a().callOut(input)),
      getRecording: async (input) => (this.record({ activity: 'getRecording', input }), a().getRecording(input)),
      getMeetingSummary: async (input) => (
        this.record({ activity: 'getMeetingSummary', input }),
        a().getMeetingSummary(input)
      ),
      getTranscript: async (input) => (this.record({ activity: 'getTranscript', input }), a().getTranscript(input)),
      getAttendance: async (input) => (this.record({ activity: 'getAttendance', input }), a().getAttendance(input)),
      endMeeting: async (input) => (this.record({ activity: 'endMeeting', input }), a().endMeeting(input)),
      deleteMeeting: async (input) => (this.record({ activity: 'deleteMeeting', input }), a().deleteMeeting(input)),
      removeLateDuplicates: async (input) => (
        this.record({ activity: 'removeLateDuplicates', input }),
        a().removeLateDuplicates(input)
      ),
      removeByMarker: async (input) => (this.record({ activity: 'removeByMarker', input }), a().removeByMarker(input)),
      meetingsByMarker: async (input) => (
        this.record({ activity: 'meetingsByMarker', input }),
        a().meetingsByMarker(input)
      ),
    };
  }

  private record(call: { [N in ZoomName]: Omit<CallTo<N>, 'at'> }[ZoomName]): void {
    this.calls.push({ ...call, at: activityInfo().currentAttemptScheduledTimestampMs });
  }

  /** The creates the runbooks of one incident made. */
  createsFor(incidentId: string): CallTo<'createMeeting'>[] {
    return this.callsTo('createMeeting').filter((c) => c.input.incident?.workflowId === incidentWorkflowId(incidentId));
  }

  /** The calls to one activity, optionally for one meeting only. */
  callsTo<N extends ZoomName>(activity: N, meetingId?: string): CallTo<N>[] {
    return this.calls.filter(
      (c): c is CallTo<N> =>
        c.activity === activity &&
        (meetingId === undefined || ('meetingId' in c.input && c.input.meetingId === meetingId)),
    );
  }
}

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  client: Client;
  taskQueue: string;
  zoom: FakeZoom;
  /** Sends an incident event (as the intake does), stamped with workflow time unless `occurredAt` is given. */
  send(
    id: string,
    type: IncidentEvent['type'],
    incident?: Partial<IncidentEvent['incident']>,
    occurredAt?: string,
  ): Promise<void>;
  timeline(id: string): Promise<TimelineEntry[]>;
  /** The run of runbook `name` for incident `id`. */
  runbook(id: string, name: string): WorkflowHandle;
  /** Workflow time now (ms), as the test server's clock has it. */
  now(): Promise<number>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** A time-skipping test server with the workflows and FakeZoom on a worker of this process. */
export async function startWorkflowEnv(options: {
  runbooks: Runbook[];
  incidentPolicy?: IncidentPolicy;
}): Promise<WorkflowEnv> {
  const path = process.env.TEMPORAL_TEST_SERVER_PATH;
  const bundle = process.env.ZR_TEST_WORKFLOW_BUNDLE;
  if (!path || !bundle)
    throw new Error(
      'TEMPORAL_TEST_SERVER_PATH or ZR_TEST_WORKFLOW_BUNDLE is not set: run the tests with ./temporal-dev.sh test.',
    );
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    // Quiet: the tests make steps and activities fail on purpose, and say so in their own words.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
  const namespace = env.namespace ?? 'default';
  await registerSearchAttributes(env.connection, namespace);
  const taskQueue = `workflows-${randomUUID()}`;
  const zoom = new FakeZoom();
  const activities = {
    ...createActivities({ connectors: new Map(), runbooks: options.runbooks, incidentPolicy: options.incidentPolicy }),
    ...zoom.activities(),
  };
  const common = { connection: env.nativeConnection, namespace, activities };
  const workers = [
    await Worker.create({ ...common, taskQueue, workflowBundle: { codePath: bundle } }),
    await Worker.create({ ...common, taskQueue: zoomTaskQueue(taskQueue) }),
  ];
  const running = Promise.all(workers.map((w) => w.run()));
  const now = () => env.currentTimeMs();
  return {
    env,
    client: env.client,
    taskQueue,
    zoom,
    now,
    async send(id, type, incident = {}, occurredAt) {
      const at = occurredAt ?? new Date(await now()).toISOString();
      await sendIncidentEvent(env.client, taskQueue, {
        eventId: `${id}-${type}-${randomUUID()}`,
        type,
        occurredAt: at,
        incident: { id, ...incident },
      });
    },
    timeline: (id) => getTimeline(env.client, id),
    runbook: (id, name) => env.client.workflow.getHandle(`${incidentWorkflowId(id)}/${name}`),
    async stop() {
      for (const w of workers) w.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/** A runbook from YAML, checked by the real schema. */
export function runbook(yaml: string): Runbook {
  return runbookSchema.parse(YAML.parse(yaml));
}

/**
 * Until the run has taken in every signal sent to it so far (a workflow task completed after the
 * last one). Skipping time before that can fire a timer in the signal's own workflow task, which
 * strands the run on the time-skipping server (temporalio/sdk-java#3088).
 */
export async function signalsHandled(run: WorkflowHandle): Promise<void> {
  await eventually(async () => {
    const events = (await run.fetchHistory()).events ?? [];
    const lastSignal = events.map((e) => !!e.workflowExecutionSignaledEventAttributes).lastIndexOf(true);
    return events.slice(lastSignal + 1).some((e) => e.workflowTaskCompletedEventAttributes) ? true : undefined;
  }, `${run.workflowId} to take in its signals`);
}
