import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions, Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type {
  Activities,
  AttendanceRecord,
  CreateMeetingInput,
  ManageParticipantsInput,
  RecordingSummary,
} from '../activities';
import { nowIso, nowMs } from './clock';
import { evaluate } from '../src/core/conditions';
import { ADD_PARTICIPANTS, CANCEL_RUNBOOK, ignoredInput, MEETING_EVENT, problems } from './inputs';
import {
  addParticipantsUpdate,
  appendTimelineSignal,
  BridgeMeetingIdAttr,
  runbookBridgeQuery as bridgeQuery,
  cancelRunbookSignal,
  runbookEndBridgeSignal as endBridgeSignal,
  FAILURE_TYPE,
  Incident,
  incidentChangedSignal,
  meetingMailboxWorkflowId,
  MeetingRecord,
  MeetingSummary,
  releaseMeetingSignal,
  RunbookInput,
  RunbookResult,
  RunbookStep,
  TimelinePost,
  ZoomMeetingEvent,
  zoomMeetingEventSignal,
  ZoomMeetingIdsAttr,
  zoomTaskQueue,
} from './contract';

const { renderStepInputs } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** Zoom calls: one attempt may take 30 s; retries back off up to a minute, for 15 minutes in all. */
export const ZOOM_CALLS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** Runs started before this patch call Zoom through the workflow's own task queue. */
const ZOOM_TASK_QUEUE_PATCH = 'zoom-task-queue';

/** Meetings, participants and recordings, per meeting this run created, as Zoom's webhooks told it. */
interface MeetingActivity {
  ended: boolean;
  /** Zoom's webhooks said the meeting was live (started, or someone joined). */
  seenLive?: boolean;
  /** Zoom's own meeting.ended has arrived (after the participants' leaves), not only our end call. */
  endedInZoom?: boolean;
  /** Participants in the room now, by participant id. */
  present: Map<string, { name?: string; email?: string }>;
  /** Every join, as it happened: the attendance when Zoom's report has none. */
  joins: (AttendanceRecord & { participantId: string })[];
  recording?: ZoomMeetingEvent['recording'];
}

/** What the incident keeps of a meeting, by the step that creates it. */
const MEETING_KIND = {
  'zoom.createMeeting': 'bridge',
  'zoom.scheduleMeeting': 'scheduled',
  'zoom.recurringMeeting': 'recurring',
} as const;

type Entry = Omit<TimelinePost, 'at' | 'source' | 'step'>;
type StepResult = { output: unknown; entry: Entry | null };

// Replay-safe metrics (not emitted while replaying): bridges and how long after the incident they were ready.
const bridgesOpened = metricMeter.createCounter(
  'zoom_runbooks_bridges_opened',
  'bridges',
  'Bridges opened by runbooks',
);
const timeToBridge = metricMeter.createHistogram(
  'zoom_runbooks_time_to_bridge',
  'float',
  's',
  'From the incident being created to its bridge being ready',
);

/** Patch: meeting ids as a search attribute, reopen and close watchers (runs recorded before it replay without). */
const MEETING_LIFECYCLE_PATCH = 'meeting-lifecycle-v2';
/** Patch: after a retried create, look again for meetings that timed-out attempts created late. */
const LATE_DUPLICATES_PATCH = 'remove-late-duplicates';
/** Patch: Zoom's webhooks come through each meeting's mailbox workflow, which this run releases when it ends. */
const MEETING_MAILBOX_PATCH = 'meeting-mailbox';
/** Patch: a cancel also removes what creates in flight made (found by their markers). */
const CANCEL_IN_FLIGHT_PATCH = 'cancel-creates-in-flight';
/** Patch: webhooks forwarded before the create's answer reached the run are applied when it does (they were dropped). */
const EARLY_EVENTS_PATCH = 'early-meeting-events';
/** Patch: meetings a cancel removed are recorded on the incident one by one, and their mailboxes released. */
const REMOVED_MEETINGS_PATCH = 'removed-meetings-recorded';
/** Patch: a scheduled meeting is not booked while the incident is reopened (the run started on a resolve that did not last). */
const REOPENED_BEFORE_BOOKING_PATCH = 'reopened-before-booking';
/** Patch: an empty attendance report waits for Zoom's meeting.ended webhook (the joins may still be on their way) and asks again. */
const ATTENDANCE_SETTLES_PATCH = 'attendance-waits-for-zoom-end';
/**
 * How long attendance waits for Zoom's meeting.ended after ending the meeting itself when Zoom's
 * report is still empty: the webhooks come through the meeting's mailbox, which can lag seconds
 * behind (a worker killed while holding its workflow task).
 */
const ATTENDANCE_SETTLE = '2 minutes';
/**
 * How long a create that a timed-out attempt sent may still reach Zoom: the client gives up at
 * 30 s; the rest is room for requests held in proxies and queues on the way.
 */
const LATE_CREATE_WINDOW = '2 minutes';

/**
 * Runs one runbook against one incident: its steps in order, each step's result on the incident
 * timeline. The runbook arrives as a snapshot, so editing runbook files never changes a run; the
 * incident stays current through `incidentChanged` signals and Zoom's webhooks arrive as
 * `zoomMeetingEvent` signals. Meetings that must follow the incident (a postmortem when it
 * reopens, a recurring sync when it closes) are watched after the last step, so the run ends
 * only when nothing is left to look after.
 */
export async function runbookWorkflow(input: RunbookInput): Promise<RunbookResult> {
  const { runbook } = input;
  const { workflowId, runId } = workflowInfo();
  const lifecycle = patched(MEETING_LIFECYCLE_PATCH);
  // Zoom calls have a task queue of their own, so they never wait behind workflow tasks for a slot
  // and the server can cap them for every worker at once (ZR_ACTIVITIES_PER_SECOND).
  const zoom = proxyActivities<Activities>(
    patched(ZOOM_TASK_QUEUE_PATCH) ? { ...ZOOM_CALLS, taskQueue: zoomTaskQueue(workflowInfo().taskQueue) } : ZOOM_CALLS,
  );
  let incident: Incident = input.incident;
  let reopenings = 0;
  let incidentChanges = 0;
  let closed = false;
  const outputs: Record<string, unknown> = {};
  let bridge: MeetingSummary | null = null;
  const meetingIds: string[] = [];
  const activity = new Map<string, MeetingActivity>();
  const watchers: Promise<void>[] = [];
  // Watchers run beside the later steps and are awaited after the last one. A watcher that fails
  // (say Zoom refuses a rename) says so on the timeline and leaves the runbook going; a
  // cancellation is left to the main scope (and must not count as an unhandled rejection).
  const watch = (what: string, stepId: string, watcher: Promise<void>) => {
    const guarded = watcher.catch(async (err) => {
      if (isCancellation(err)) throw err;
      await post({ step: stepId, status: 'failed', summary: `${what} failed: ${describeFailure(err)}` });
    });
    guarded.catch(() => undefined);
    watchers.push(guarded);
  };
  const recurring: MeetingSummary[] = [];
  /** Creates sent but not yet taken in by this run: what each would make, by idempotency key. */
  const createsInFlight = new Map<string, MeetingRecord['kind']>();

  setHandler(bridgeQuery, () => bridge);
  setHandler(incidentChangedSignal, (latest) => {
    if (latest.status === 'reopened' && incident.status !== 'reopened') reopenings++;
    if (latest.status === 'closed') closed = true;
    incident = latest;
    incidentChanges++;
  });
  /**
   * Webhooks for meetings whose create has not answered this run yet: the create claims the
   * meeting's mailbox before it answers, and the mailbox may forward what it holds in the very
   * workflow task that brings the answer (signals are handled first).
   */
  const early = new Map<string, ZoomMeetingEvent[]>();
  setHandler(zoomMeetingEventSignal, (event) => {
    if (ignoredInput('zoomMeetingEvent', event, MEETING_EVENT)) return;
    const meeting = activity.get(event.meetingId);
    if (meeting) applyMeetingEvent(meeting, event);
    else if (createsInFlight.size) early.set(event.meetingId, [...(early.get(event.meetingId) ?? []), event]);
    // Otherwise not one of ours.
  });
  function applyMeetingEvent(meeting: MeetingActivity, event: ZoomMeetingEvent): void {
    if (event.type === 'meeting.ended') Object.assign(meeting, { ended: true, endedInZoom: true });
    if (event.type === 'meeting.started') Object.assign(meeting, { ended: false, endedInZoom: false, seenLive: true });
    const who = event.participant;
    if (event.type === 'meeting.participant_joined' && who) {
      meeting.seenLive = true;
      meeting.present.set(who.id, who);
      meeting.joins.push({
        participantId: who.id,
        name: who.name ?? who.email ?? who.id,
        email: who.email,
        joinedAt: event.at,
        seconds: 0,
      });
    }
    if (event.type === 'meeting.participant_left' && who) {
      meeting.present.delete(who.id);
      const join = [...meeting.joins].reverse().find((j) => j.participantId === who.id && !j.leftAt);
      if (join)
        Object.assign(join, {
          leftAt: event.at,
          seconds: Math.max(0, (Date.parse(event.at) - Date.parse(join.joinedAt)) / 1000),
        });
    }
    if (event.type === 'recording.completed') meeting.recording = event.recording;
  }

  const incidentWorkflow = getExternalWorkflowHandle(input.incidentWorkflowId);
  const post = (entry: Omit<TimelinePost, 'at' | 'source'>) =>
    incidentWorkflow.signal(appendTimelineSignal, { at: nowIso(), source: runbook.name, ...entry });
  const connector = runbook.connector;
  const record = (id: string, kind: MeetingRecord['kind'], done?: MeetingRecord['done']): MeetingRecord => ({
    id,
    kind,
    owner: workflowId,
    connector,
    ...(done ? { done } : {}),
  });
  const kindOf = (meetingId: string): MeetingRecord['kind'] =>
    recurring.some((m) => m.id === meetingId) ? 'recurring' : bridge?.id === meetingId ? 'bridge' : 'scheduled';

  /** The meeting a step created; a step that failed (continueOnError) or was skipped has none, and the step naming it says so. */
  const meetingOf = (stepId: string) => {
    const meeting = outputs[stepId] as Partial<MeetingSummary> | undefined;
    if (!meeting?.id)
      throw ApplicationFailure.nonRetryable(
        `step "${stepId}" has no Zoom meeting (it failed, was skipped or has not run)`,
        FAILURE_TYPE.noMeeting,
      );
    return meeting.id;
  };
  const render = (step: RunbookStep) =>
    renderStepInputs({
      stepId: step.id,
      inputs: step.with,
      context: { Activity: incident, steps: outputs },
      now: nowIso(),
    });

  // The bridge is ended at most once by an operator or a cancellation; ending steps may still run (Zoom: no-op).
  let bridgeEnded = false;
  async function endBridge(why: string): Promise<void> {
    if (!bridge || bridgeEnded) return;
    bridgeEnded = true;
    await zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${bridge.id} (${why})` }, [
      { connector, meetingId: bridge.id },
    ]);
    await post({
      status: 'ok',
      summary: `Zoom meeting ${bridge.id} ended: ${why}`,
      meeting: record(bridge.id, 'bridge', 'ended'),
    });
  }
  setHandler(endBridgeSignal, () => endBridge('ended by an operator'));

  // The cancelRunbook signal stops the steps and the run completes saying so; `temporal workflow
  // cancel` does the same and the run ends as cancelled.
  let cleanupOnCancel = true;
  let cancelledBy: string | undefined;
  const main = new CancellationScope();
  setHandler(cancelRunbookSignal, (request) => {
    if (request !== undefined && ignoredInput('cancelRunbook', request, CANCEL_RUNBOOK)) return;
    cleanupOnCancel = request?.cleanup ?? true;
    cancelledBy = request?.reason || 'cancelled by an operator';
    main.cancel();
  });

  setHandler(
    addParticipantsUpdate,
    async (request) => {
      const meetingId = request.meeting ? meetingOf(request.meeting) : bridge!.id;
      const change: ManageParticipantsInput = {
        connector,
        meetingId,
        addInvitees: request.emails,
        addAlternativeHosts: request.alternativeHosts,
      };
      const result = await zoom.manageParticipants.executeWithOptions(
        { summary: `Add participants to Zoom meeting ${meetingId}` },
        [change],
      );
      const added = [...(request.emails ?? []), ...(request.alternativeHosts ?? [])];
      await post({ status: 'ok', summary: `Added to Zoom meeting ${meetingId} by an operator: ${added.join(', ')}` });
      return { meetingId, invitees: result.invitees, alternativeHosts: result.alternativeHosts };
    },
    {
      validator: (request) => {
        const found = problems(request, ADD_PARTICIPANTS);
        if (found.length) throw new Error(`addParticipants: ${found.join('; ')}`);
        if (!request.emails?.length && !request.alternativeHosts?.length)
          throw new Error('addParticipants needs "emails" or "alternativeHosts" (lists of email addresses).');
        if (request.meeting !== undefined && !(outputs[request.meeting] as MeetingSummary | undefined)?.id) {
          throw new Error(`addParticipants: step "${request.meeting}" has not created a meeting in this run.`);
        }
        if (request.meeting === undefined && !bridge)
          throw new Error('addParticipants: this run has no bridge yet; name a meeting step with "meeting".');
      },
    },
  );

  /**
   * A new meeting this run owns: remembered, and listed in the search attribute. (The create
   * activity has claimed its mailbox, where Zoom's webhooks wait for this run.)
   */
  function own(meeting: MeetingSummary): void {
    if (!activity.has(meeting.id)) activity.set(meeting.id, { ended: false, present: new Map(), joins: [] });
    const held = early.get(meeting.id);
    early.delete(meeting.id);
    if (held && patched(EARLY_EVENTS_PATCH))
      for (const event of held) applyMeetingEvent(activity.get(meeting.id)!, event);
    if (!lifecycle || meetingIds.includes(meeting.id)) return;
    meetingIds.push(meeting.id);
    upsertSearchAttributes([{ key: ZoomMeetingIdsAttr, value: [...meetingIds] }]);
  }

  /** This run no longer follows its meetings: their mailboxes may end. */
  async function releaseMeetings(): Promise<void> {
    if (!patched(MEETING_MAILBOX_PATCH)) return;
    for (const meetingId of meetingIds) {
      await getExternalWorkflowHandle(meetingMailboxWorkflowId(meetingId))
        .signal(releaseMeetingSignal, { owner: workflowId })
        .catch(() => undefined); // it has ended already
    }
  }

  async function createMeeting(
    step: RunbookStep,
    inputs: Record<string, unknown>,
    generation = 1,
  ): Promise<MeetingSummary> {
    const key = `${workflowId}/${runId}/${step.id}${generation > 1 ? `/${generation}` : ''}`;
    const kind = MEETING_KIND[step.action as keyof typeof MEETING_KIND];
    // The create tells the incident of the meeting itself: a run terminated before the answer came leaves it known there.
    const request = {
      ...inputs,
      connector,
      idempotencyKey: key,
      incident: { workflowId: input.incidentWorkflowId, kind },
    } as CreateMeetingInput;
    // Until the run has taken the meeting in, a cancel finds it by this key's marker (the answer may never come).
    createsInFlight.set(key, kind);
    const meeting = await zoom.createMeeting.executeWithOptions({ summary: `Create Zoom meeting: ${request.topic}` }, [
      request,
    ]);
    own(meeting);
    createsInFlight.delete(key);
    if (!createsInFlight.size) early.clear();
    if (meeting.cut?.length) await post({ step: step.id, status: 'info', summary: cutNote(meeting.id, meeting.cut) });
    if (meeting.retried && patched(LATE_DUPLICATES_PATCH))
      watch('Duplicate check', step.id, removeLateDuplicates(step.id, key, meeting));
    return meeting;
  }

  /**
   * After a cancel, the meetings of creates that were in flight: whatever reached Zoom is removed
   * now, and again once no create sent before the cancel can still land.
   */
  async function removeCreatesInFlight(): Promise<void> {
    const keys = [...createsInFlight];
    const removed: string[] = [];
    // Each removal is on the timeline as it happens, so the incident knows the meeting is gone
    // (runs recorded before: one entry after both passes). removeByMarker released their mailboxes.
    const oneByOne = patched(REMOVED_MEETINGS_PATCH);
    for (const pass of ['now', 'late']) {
      if (pass === 'late') await sleep(LATE_CREATE_WINDOW, { summary: 'Wait for creates sent before the cancel' });
      for (const [idempotencyKey, kind] of keys) {
        const ids = await zoom.removeByMarker.executeWithOptions(
          { summary: `Remove meetings of a create cut short (${pass})` },
          [{ connector, idempotencyKey }],
        );
        removed.push(...ids);
        if (!oneByOne) continue;
        for (const id of ids)
          await post({
            status: 'info',
            summary: `Removed Zoom meeting ${id}: created by a step the cancel cut short`,
            meeting: record(id, kind, 'deleted'),
          });
      }
    }
    createsInFlight.clear();
    early.clear();
    if (!oneByOne && removed.length)
      await post({
        status: 'info',
        summary: `Removed Zoom meeting(s) ${removed.join(', ')}: created by a step the cancel cut short`,
      });
  }

  /** Once no create of an earlier attempt can still land, the meetings with this step's marker but `meeting` are removed. */
  async function removeLateDuplicates(stepId: string, idempotencyKey: string, meeting: MeetingSummary): Promise<void> {
    await sleep(LATE_CREATE_WINDOW, { summary: `Wait for late creates of meeting ${meeting.id}` });
    const removed = await zoom.removeLateDuplicates.executeWithOptions(
      { summary: `Remove late duplicates of meeting ${meeting.id}` },
      [{ connector, idempotencyKey, keep: meeting.id }],
    );
    if (removed.length)
      await post({
        step: stepId,
        status: 'info',
        summary: `Removed ${removed.length} duplicate Zoom meeting(s) that a timed-out attempt created late: ${removed.join(', ')}`,
      });
  }

  async function run(step: RunbookStep): Promise<StepResult> {
    let inputs = await render(step);
    switch (step.action) {
      case 'zoom.createMeeting': {
        const meeting = await createMeeting(step, inputs);
        if (lifecycle && step.with.followIncident)
          watch(`Following the incident for meeting ${meeting.id}`, step.id, followIncident(step, meeting));
        const announced: Entry = {
          status: 'ok',
          summary: `Zoom meeting ready: ${meeting.topic} (${meeting.id})`,
          links: [{ label: 'Join', url: meeting.joinUrl }],
          meeting: record(meeting.id, 'bridge'),
        };
        if (!bridge) {
          bridge = meeting;
          upsertSearchAttributes([{ key: BridgeMeetingIdAttr, value: meeting.id }]);
          bridgesOpened.add(1, { runbook: runbook.name });
          if (incident.createdAt)
            timeToBridge.record(Math.max(0, nowMs() - Date.parse(incident.createdAt)) / 1000, {
              runbook: runbook.name,
            });
          if (lifecycle) announced.bridge = meeting;
        }
        return { output: meeting, entry: announced };
      }
      case 'zoom.scheduleMeeting': {
        // The run started on a resolve that did not last (reopened before this step): nothing to
        // book now; with replan it is booked from the next resolution, as after a later reopening.
        if (
          lifecycle &&
          step.with.onReopen !== 'keep' &&
          incident.status === 'reopened' &&
          patched(REOPENED_BEFORE_BOOKING_PATCH)
        ) {
          if (step.with.onReopen !== 'replan')
            return {
              output: { booked: false },
              entry: { status: 'info', summary: `Not booked: the incident was reopened before step ${step.id} ran` },
            };
          await post({
            step: step.id,
            status: 'info',
            summary: 'Not booked yet: the incident was reopened; it is booked when the incident is resolved',
          });
          await condition(() => incident.status === 'resolved' || incident.status === 'closed');
          inputs = await render(step);
        }
        // Counted before the create: a reopening that arrives while Zoom creates the meeting counts too.
        const reopeningsBefore = reopenings;
        const meeting = await createMeeting(step, inputs);
        if (lifecycle && step.with.onReopen !== 'keep')
          watch(
            `Following reopenings for meeting ${meeting.id}`,
            step.id,
            followReopenings(step, meeting, reopeningsBefore),
          );
        return {
          output: meeting,
          entry: {
            status: 'ok',
            summary: scheduledSummary(meeting),
            links: [{ label: 'Join', url: meeting.joinUrl }],
            meeting: record(meeting.id, 'scheduled'),
          },
        };
      }
      case 'zoom.recurringMeeting': {
        const meeting = await createMeeting(step, inputs);
        recurring.push(meeting);
        watch(`Deleting recurring meeting ${meeting.id}`, step.id, deleteWhenClosed(meeting));
        const every = step.with.recurrence.every === 'day' ? 'daily' : 'weekly';
        return {
          output: meeting,
          entry: {
            status: 'ok',
            summary: `Recurring Zoom meeting (${every}) from ${meeting.startTime}: ${meeting.topic} (${meeting.id}); deleted when the incident closes`,
            links: [{ label: 'Join', url: meeting.joinUrl }],
            meeting: record(meeting.id, 'recurring'),
          },
        };
      }
      case 'zoom.updateMeeting': {
        const meetingId = meetingOf(step.with.meeting);
        const { topic, agenda, duration, settings } = inputs as Pick<
          CreateMeetingInput,
          'topic' | 'agenda' | 'duration' | 'settings'
        >;
        // Runs recorded before the cut report got no answer (void) from this activity.
        const updated = await zoom.updateMeeting.executeWithOptions({ summary: `Update Zoom meeting ${meetingId}` }, [
          { connector, meetingId, topic, agenda, duration, settings },
        ]);
        if (updated?.cut?.length)
          await post({ step: step.id, status: 'info', summary: cutNote(meetingId, updated.cut) });
        return {
          output: { meetingId },
          entry: { status: 'ok', summary: `Zoom meeting ${meetingId} updated${topic ? `: ${topic}` : ''}` },
        };
      }
      case 'zoom.manageParticipants': {
        const meetingId = meetingOf(step.with.meeting);
        const change = { ...inputs, connector, meetingId } as ManageParticipantsInput;
        const result = await zoom.manageParticipants.executeWithOptions(
          { summary: `Manage participants of Zoom meeting ${meetingId}` },
          [change],
        );
        const parts = [
          `${result.invitees.length} invited`,
          `${result.alternativeHosts.length} alternative hosts`,
          ...(result.registered ? [`${result.registered} registered`] : []),
        ];
        return {
          output: { meetingId, ...result },
          entry: { status: 'ok', summary: `Participants of Zoom meeting ${meetingId}: ${parts.join(', ')}` },
        };
      }
      case 'zoom.endMeeting': {
        const meetingId = meetingOf(step.with.meeting);
        const grace = step.with.graceMinutes ?? 0;
        if (grace > 0) await sleep(grace * 60_000, { summary: `Grace period before ending meeting ${meetingId}` });
        if (step.with.whenEmpty) {
          const room = activity.get(meetingId)!;
          await condition(() => room.present.size === 0, step.with.whenEmpty as Duration);
        }
        await zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${meetingId}` }, [
          { connector, meetingId },
        ]);
        if (bridge?.id === meetingId) bridgeEnded = true;
        activity.get(meetingId)!.ended = true;
        return {
          output: { meetingId, endedAt: nowIso() },
          entry: {
            status: 'ok',
            summary: `Zoom meeting ${meetingId} ended`,
            meeting: record(meetingId, kindOf(meetingId), 'ended'),
          },
        };
      }
      case 'zoom.deleteMeeting': {
        const meetingId = meetingOf(step.with.meeting);
        await zoom.deleteMeeting.executeWithOptions({ summary: `Delete Zoom meeting ${meetingId}` }, [
          { connector, meetingId },
        ]);
        return {
          output: { meetingId },
          entry: {
            status: 'ok',
            summary: `Zoom meeting ${meetingId} deleted`,
            meeting: record(meetingId, kindOf(meetingId), 'deleted'),
          },
        };
      }
      case 'zoom.recordingSettings': {
        const meetingId = meetingOf(step.with.meeting);
        await zoom.updateRecordingSettings.executeWithOptions(
          { summary: `Recording settings of Zoom meeting ${meetingId}` },
          [{ ...inputs, connector, meetingId }],
        );
        return {
          output: { meetingId },
          entry: { status: 'ok', summary: `Recording settings of Zoom meeting ${meetingId} updated` },
        };
      }
      case 'zoom.collectRecordings':
        return collectRecording(
          meetingOf(step.with.meeting),
          step.with.deadline ?? '24h',
          step.with.pollEvery ?? '30m',
        );
      case 'zoom.collectAttendance':
        return collectAttendance(meetingOf(step.with.meeting), step.with.waitForEnd ?? '12h');
      case 'timeline.post': {
        const message = String(inputs.message);
        return { output: { message }, entry: { status: 'info', summary: message } };
      }
      case 'wait.forIncident': {
        const wanted = ([] as string[]).concat(step.with.status);
        const statusReached = () => wanted.includes(incident.status ?? '');
        const reached = step.with.timeout
          ? await condition(statusReached, step.with.timeout as Duration)
          : (await condition(statusReached), true);
        return reached
          ? {
              output: { status: incident.status },
              entry: { status: 'info', summary: `Incident is ${incident.status}` },
            }
          : {
              output: { timedOut: true },
              entry: {
                status: 'info',
                summary: `Stopped waiting for status ${wanted.join(' or ')} after ${step.with.timeout}`,
              },
            };
      }
      case 'wait.duration':
        await sleep(step.with.for as Duration, { summary: `Wait ${step.with.for}` });
        return { output: { waited: step.with.for }, entry: null };
      case 'wait.until': {
        const at = String(inputs.at);
        await sleep(Math.max(0, Date.parse(at) - nowMs()), { summary: `Wait until ${at}` });
        return { output: { until: at }, entry: null };
      }
    }
  }

  /**
   * A scheduled meeting follows the incident until it starts: when the incident reopens first,
   * the meeting is cancelled, or (onReopen: replan) cancelled and booked again from the next
   * resolution, as often as that happens.
   */
  async function followReopenings(
    step: Extract<RunbookStep, { action: 'zoom.scheduleMeeting' }>,
    first: MeetingSummary,
    reopeningsBefore: number,
  ): Promise<void> {
    let meeting = first;
    let seen = reopeningsBefore;
    for (let generation = 2; ; generation++) {
      const untilStart = Date.parse(meeting.startTime ?? '') - nowMs();
      if (!(untilStart > 0) || !(await condition(() => reopenings > seen, untilStart))) return; // it started: nothing left to guard
      await zoom.deleteMeeting.executeWithOptions(
        { summary: `Cancel Zoom meeting ${meeting.id} (incident reopened)` },
        [{ connector, meetingId: meeting.id }],
      );
      if (step.with.onReopen !== 'replan') {
        await post({
          step: step.id,
          status: 'info',
          summary: `Zoom meeting ${meeting.id} cancelled: the incident was reopened`,
          meeting: record(meeting.id, 'scheduled', 'deleted'),
        });
        return;
      }
      await post({
        step: step.id,
        status: 'info',
        summary: `Zoom meeting ${meeting.id} cancelled: the incident was reopened; it is booked again when the incident is resolved`,
        meeting: record(meeting.id, 'scheduled', 'deleted'),
      });
      await condition(() => incident.status === 'resolved' || incident.status === 'closed');
      seen = reopenings;
      meeting = await createMeeting(step, await render(step), generation);
      outputs[step.id] = meeting;
      await post({
        step: step.id,
        status: 'ok',
        summary: `Re-planned: ${scheduledSummary(meeting)}`,
        links: [{ label: 'Join', url: meeting.joinUrl }],
        meeting: record(meeting.id, 'scheduled'),
      });
    }
  }

  /** The meeting's topic follows the incident (a new title, a new severity) until it is resolved or the meeting ends. */
  async function followIncident(step: RunbookStep, meeting: MeetingSummary): Promise<void> {
    const room = activity.get(meeting.id)!;
    const over = () => room.ended || ['resolved', 'closed'].includes(incident.status ?? '');
    let topic = meeting.topic;
    for (;;) {
      const seen = incidentChanges;
      await condition(() => incidentChanges > seen || over());
      if (over()) return;
      const rendered = String((await render(step)).topic);
      if (rendered === topic) continue;
      // The agenda keeps its exactly-once marker: only the topic changes.
      await zoom.updateMeeting.executeWithOptions({ summary: `Rename Zoom meeting ${meeting.id}: ${rendered}` }, [
        { connector, meetingId: meeting.id, topic: rendered },
      ]);
      topic = rendered;
      await post({ step: step.id, status: 'ok', summary: `Zoom meeting ${meeting.id} renamed: ${topic}` });
    }
  }

  /** A recurring meeting lasts while the incident is open. */
  async function deleteWhenClosed(meeting: MeetingSummary): Promise<void> {
    await condition(() => closed);
    await zoom.deleteMeeting.executeWithOptions(
      { summary: `Delete recurring Zoom meeting ${meeting.id} (incident closed)` },
      [{ connector, meetingId: meeting.id }],
    );
    recurring.splice(recurring.indexOf(meeting), 1);
    await post({
      status: 'ok',
      summary: `Recurring Zoom meeting ${meeting.id} deleted: the incident is closed`,
      meeting: record(meeting.id, 'recurring', 'deleted'),
    });
  }

  /** Waits for Zoom's recording.completed webhook, asking Zoom every `pollEvery` in case it never comes. */
  async function collectRecording(meetingId: string, deadline: string, pollEvery: string): Promise<StepResult> {
    const room = activity.get(meetingId)!;
    const giveUpAt = nowMs() + msToNumber(deadline as Duration);
    let recording: RecordingSummary | undefined;
    while (!recording) {
      const wait = Math.min(msToNumber(pollEvery as Duration), giveUpAt - nowMs());
      if (wait > 0 && (await condition(() => !!room.recording, wait))) {
        recording = { ready: true, ...room.recording! };
        break;
      }
      const polled = await zoom.getRecording.executeWithOptions(
        { summary: `Look for the recording of Zoom meeting ${meetingId}` },
        [{ connector, meetingId }],
      );
      if (polled.ready) recording = polled;
      else if (nowMs() >= giveUpAt) {
        return {
          output: { meetingId, found: false },
          entry: { status: 'info', summary: `No recording of Zoom meeting ${meetingId} within ${deadline}` },
        };
      }
    }
    const links = recording.shareUrl ? [{ label: 'Recording', url: recording.shareUrl }] : undefined;
    const files = recording.files.map((f) => f.type).join(', ');
    return {
      output: { meetingId, found: true, ...recording },
      entry: { status: 'ok', summary: `Recording of Zoom meeting ${meetingId} is ready (${files})`, links },
    };
  }

  /** Once the meeting ends, who attended and for how long, from Zoom's past-participants API. */
  async function collectAttendance(meetingId: string, waitForEnd: string): Promise<StepResult> {
    const room = activity.get(meetingId)!;
    await condition(() => room.ended, waitForEnd as Duration);
    const askZoom = () =>
      zoom.getAttendance.executeWithOptions({ summary: `Attendance of Zoom meeting ${meetingId}` }, [
        { connector, meetingId },
      ]);
    let reported = await askZoom();
    // Zoom's report lags the end; the joins then come from the webhooks, which may still be on their
    // way when the run ended a live meeting itself (a meeting nobody started sends no meeting.ended).
    if (!reported.length && room.seenLive && !room.endedInZoom && patched(ATTENDANCE_SETTLES_PATCH)) {
      if (await condition(() => !!room.endedInZoom, ATTENDANCE_SETTLE)) reported = await askZoom();
    }
    // Zoom's report is the record; the webhooks' joins stand in when it has none (e.g. not yet processed).
    const source = reported.length ? 'Zoom report' : 'live webhooks';
    const people = attendanceByPerson(
      reported.length ? reported : room.joins.map(({ participantId: _id, ...join }) => join),
    );
    const summary = people.length
      ? `Attendance of Zoom meeting ${meetingId} (${source}): ${people.length} people (${people.map((p) => `${p.name} ${Math.round(p.seconds / 60)} min`).join(', ')})`
      : `Nobody attended Zoom meeting ${meetingId}`;
    return { output: { meetingId, source, people }, entry: { status: 'ok', summary } };
  }

  try {
    await main.run(async () => {
      await runSteps();
      if (watchers.length)
        setCurrentDetails(
          `**${runbook.name}** for incident ${incident.id}: following its meetings until they start or the incident closes`,
        );
      await Promise.all(watchers);
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled (`temporal workflow cancel` or the cancelRunbook signal): leave nothing open behind.
    await CancellationScope.nonCancellable(async () => {
      if (cleanupOnCancel) {
        await endBridge('runbook cancelled');
        for (const meeting of [...recurring]) {
          await zoom.deleteMeeting({ connector, meetingId: meeting.id });
          if (patched(CANCEL_IN_FLIGHT_PATCH))
            await post({
              status: 'ok',
              summary: `Recurring Zoom meeting ${meeting.id} deleted: runbook cancelled`,
              meeting: record(meeting.id, 'recurring', 'deleted'),
            });
        }
        if (createsInFlight.size && patched(CANCEL_IN_FLIGHT_PATCH)) await removeCreatesInFlight();
      }
      await post({
        status: 'info',
        summary: `Runbook ${runbook.name} cancelled${cleanupOnCancel ? '' : ' (its meetings were left as they are)'}`,
      });
      await releaseMeetings();
    });
    if (cancelledBy === undefined) throw err;
    return { runbook: runbook.name, steps: outputs, cancelled: cancelledBy };
  }
  await condition(allHandlersFinished);
  await releaseMeetings();
  setCurrentDetails(`**${runbook.name}** for incident ${incident.id}: done`);
  return { runbook: runbook.name, steps: outputs };

  async function runSteps(): Promise<void> {
    for (const step of runbook.steps) {
      setCurrentDetails(`**${runbook.name}** for incident ${incident.id}: step \`${step.id}\` (${step.action})`);
      if (step.if && !evaluate(step.if, { ...incident, steps: outputs })) {
        await post({ step: step.id, status: 'info', summary: `Step ${step.id} skipped: its condition does not hold` });
        continue;
      }
      const where = { incidentId: incident.id, runbook: runbook.name, step: step.id, action: step.action };
      try {
        const { output, entry } = await run(step);
        outputs[step.id] = output;
        log.info(`Step ${step.id} done`, { ...where, status: entry?.status ?? 'ok' });
        if (entry) await post({ step: step.id, ...entry });
      } catch (err) {
        if (isCancellation(err)) throw err;
        const reason = describeFailure(err);
        log.warn(`Step ${step.id} failed: ${reason}`, where);
        await post({ step: step.id, status: 'failed', summary: `Step ${step.id} failed: ${reason}` });
        if (step.continueOnError) continue;
        throw ApplicationFailure.nonRetryable(
          `Runbook ${runbook.name}, step ${step.id} failed: ${reason}`,
          FAILURE_TYPE.runbookStepFailed,
        );
      }
    }
  }
}

/** Rendered fields longer than Zoom takes are cut to fit (the exactly-once marker always kept); the timeline says what. */
function cutNote(meetingId: string, cut: string[]): string {
  return `Cut to fit Zoom's limits for meeting ${meetingId}: ${cut.join(', ')}`;
}

function scheduledSummary(meeting: MeetingSummary): string {
  return `Zoom meeting scheduled: ${meeting.topic} at ${meeting.startTime} (${meeting.id})`;
}

/** Zoom lists one record per join; people who rejoined are summed. */
function attendanceByPerson(records: AttendanceRecord[]): AttendanceRecord[] {
  const people = new Map<string, AttendanceRecord>();
  for (const r of records) {
    const key = (r.email ?? r.name).toLowerCase();
    const p = people.get(key);
    if (!p) people.set(key, { ...r });
    else {
      p.seconds += r.seconds;
      if (r.joinedAt < p.joinedAt) p.joinedAt = r.joinedAt;
      if (r.leftAt && (!p.leftAt || r.leftAt > p.leftAt)) p.leftAt = r.leftAt;
    }
  }
  return [...people.values()].sort((a, b) => b.seconds - a.seconds);
}

function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
