/**
 * The state of one runbook run and what every step does with it: the incident as last told, each
 * step's output, the meetings the run created (with what Zoom's webhooks said of them), the
 * timeline it writes, and the Zoom calls that must never leave a meeting behind.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { Activities, CreateMeetingInput } from '../../activities';
import type { StepAction, StepInputs, StepOf } from '../../src/core/step-inputs';
import { nowIso } from '../clock';
import { CANCEL_RUNBOOK, ignoredInput, MEETING_EVENT } from '../inputs';
import { meetingMailboxWorkflowId, releaseMeetingSignal } from '../contract/meeting-mailbox';
import { appendTimelineSignal } from '../contract/incident';
import {
  CancelRunbookRequest,
  MEETING_KIND,
  MeetingAction,
  meetingCreateKey,
  RUNBOOK_FAILURE_TYPE,
  RUNBOOK_PATCHES,
  RunbookInput,
} from '../contract/runbook';
import {
  Incident,
  MeetingRecord,
  MeetingSummary,
  TimelinePost,
  ZoomMeetingEvent,
  ZoomMeetingIdsAttr,
  zoomTaskQueue,
} from '../contract/shared';
import { applyMeetingEvent, emptyRoom, MeetingRoom } from './room';
import { waitingList } from './lobby';

/** Zoom calls: one attempt may take 30 s; retries back off up to a minute, for 15 minutes in all. */
export const ZOOM_CALLS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * How long a create that a timed-out attempt sent may still reach Zoom: the client gives up at
 * 30 s; the rest is room for requests held in proxies and queues on the way.
 */
const LATE_CREATE_WINDOW = '2 minutes';

/** The actions that create a meeting, and what the incident keeps it as. */

/** A timeline entry as a step returns it: the run adds when, who and which step. */
export type Entry = Omit<TimelinePost, 'at' | 'source' | 'step'>;
export interface StepResult {
  output: unknown;
  entry: Entry | null;
}

const { renderStepInputs } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

export class RunbookRun {
  readonly runbook: RunbookInput['runbook'];
  readonly connector: string | undefined;
  readonly workflowId: string;
  /** Runs recorded before meeting lifecycles (search attribute, watchers) replay without them. */
  readonly lifecycle: boolean;
  readonly zoom: ReturnType<typeof proxyActivities<Activities>>;
  /** The steps and watchers; the cancelRunbook signal cancels it. */
  readonly main = new CancellationScope();

  incident: Incident;
  /** How often the incident has been reopened since the run started, and changed at all. */
  reopenings = 0;
  incidentChanges = 0;
  closed = false;
  readonly outputs: Record<string, unknown> = {};
  /** The first meeting a createMeeting step opened. */
  bridge: MeetingSummary | null = null;
  /** The bridge is ended at most once by an operator or a cancellation; ending steps may still run (Zoom: no-op). */
  bridgeEnded = false;
  readonly recurring: MeetingSummary[] = [];
  readonly rooms = new Map<string, MeetingRoom>();
  private readonly meetingIds: string[] = [];
  private readonly watchers: Promise<void>[] = [];
  private readonly followers: Promise<void>[] = [];
  /** False once the steps and watchers are done: followers stop. */
  following = true;
  /** The meetings whose lobby the run follows (lobby-alerts.ts). */
  readonly lobbyAlerts = new Set<string>();
  /** Creates sent but not yet taken in by this run: what each would make, by idempotency key. */
  private readonly createsInFlight = new Map<string, MeetingRecord['kind']>();
  /**
   * Webhooks for meetings whose create has not answered this run yet: the create claims the
   * meeting's mailbox before it answers, and the mailbox may forward what it holds in the very
   * workflow task that brings the answer (signals are handled first).
   */
  private readonly early = new Map<string, ZoomMeetingEvent[]>();
  private cleanupOnCancel = true;
  /** Why the cancelRunbook signal stopped the run (unset when `temporal workflow cancel` did). */
  cancelledBy: string | undefined;
  private readonly incidentWorkflow;

  constructor(private readonly input: RunbookInput) {
    this.runbook = input.runbook;
    this.connector = input.runbook.connector;
    this.incident = input.incident;
    this.workflowId = workflowInfo().workflowId;
    this.lifecycle = patched(RUNBOOK_PATCHES.meetingLifecycle);
    // Zoom calls have a task queue of their own, so they never wait behind workflow tasks for a slot
    // and the server can cap them for every worker at once (ZR_ACTIVITIES_PER_SECOND).
    this.zoom = proxyActivities<Activities>(
      patched(RUNBOOK_PATCHES.zoomTaskQueue)
        ? { ...ZOOM_CALLS, taskQueue: zoomTaskQueue(workflowInfo().taskQueue) }
        : ZOOM_CALLS,
    );
    this.incidentWorkflow = getExternalWorkflowHandle(input.incidentWorkflowId);
  }

  incidentChanged(latest: Incident): void {
    if (latest.status === 'reopened' && this.incident.status !== 'reopened') this.reopenings++;
    if (latest.status === 'closed') this.closed = true;
    this.incident = latest;
    this.incidentChanges++;
  }

  meetingEvent(event: ZoomMeetingEvent): void {
    if (ignoredInput('zoomMeetingEvent', event, MEETING_EVENT)) return;
    const room = this.rooms.get(event.meetingId);
    if (room) applyMeetingEvent(room, event);
    else if (this.createsInFlight.size)
      this.early.set(event.meetingId, [...(this.early.get(event.meetingId) ?? []), event]);
    // Otherwise not one of ours.
  }

  /** The cancelRunbook signal: stop the steps; the cleanup runs unless the request says not to. */
  cancel(request: CancelRunbookRequest | undefined): void {
    if (request !== undefined && ignoredInput('cancelRunbook', request, CANCEL_RUNBOOK)) return;
    this.cleanupOnCancel = request?.cleanup ?? true;
    this.cancelledBy = request?.reason || 'cancelled by an operator';
    this.main.cancel();
  }

  post(entry: Omit<TimelinePost, 'at' | 'source'>): Promise<void> {
    return this.incidentWorkflow.signal(appendTimelineSignal, { at: nowIso(), source: this.runbook.name, ...entry });
  }

  record(id: string, kind: MeetingRecord['kind'], done?: MeetingRecord['done']): MeetingRecord {
    return { id, kind, owner: this.workflowId, connector: this.connector, ...(done ? { done } : {}) };
  }

  kindOf(meetingId: string): MeetingRecord['kind'] {
    if (this.recurring.some((m) => m.id === meetingId)) return 'recurring';
    return this.bridge?.id === meetingId ? 'bridge' : 'scheduled';
  }

  /** The meeting a step created; a step that failed (continueOnError) or was skipped has none, and the step naming it says so. */
  meetingOf(stepId: string): string {
    const meeting = this.outputs[stepId];
    if (!isMeeting(meeting))
      throw ApplicationFailure.nonRetryable(
        `step "${stepId}" has no Zoom meeting (it failed, was skipped or has not run)`,
        RUNBOOK_FAILURE_TYPE.noMeeting,
      );
    return meeting.id;
  }

  render<A extends StepAction>(step: StepOf<A>): Promise<StepInputs[A]> {
    return renderStepInputs({
      step,
      context: { Activity: this.incident, steps: this.outputs },
      now: nowIso(),
    });
  }

  /**
   * Watchers run beside the later steps and are awaited after the last one. A watcher that fails
   * (say Zoom refuses a rename) says so on the timeline and leaves the runbook going; a
   * cancellation is left to the main scope (and must not count as an unhandled rejection).
   */
  watch(what: string, stepId: string, watcher: Promise<void>): void {
    this.watchers.push(this.guard(what, stepId, watcher));
  }

  /**
   * Followers (lobby alerts) run beside the steps and watchers, as a watcher does, but keep no run
   * going: once the watchers are done, `following` turns false and they finish.
   */
  follow(what: string, stepId: string, follower: Promise<void>): void {
    this.followers.push(this.guard(what, stepId, follower));
  }

  private guard(what: string, stepId: string, work: Promise<void>): Promise<void> {
    const guarded = work.catch(async (err) => {
      if (isCancellation(err)) throw err;
      await this.post({ step: stepId, status: 'failed', summary: `${what} failed: ${describeFailure(err)}` });
    });
    guarded.catch(() => undefined);
    return guarded;
  }

  /** After the last step: the watchers, until each has nothing left to follow; then the followers stop. */
  async watchersDone(): Promise<void> {
    await Promise.all(this.watchers);
    if (!this.followers.length) return;
    this.following = false;
    await Promise.all(this.followers);
  }

  /** The bridge as the `bridge` query shows it: with who has waited too long to get in, when its lobby is followed. */
  bridgeNow(): MeetingSummary | null {
    if (!this.bridge || !this.lobbyAlerts.has(this.bridge.id)) return this.bridge;
    return { ...this.bridge, waiting: waitingList(this.room(this.bridge.id).lobby) };
  }

  get hasWatchers(): boolean {
    return this.watchers.length > 0;
  }

  /** Creates a meeting for a step, exactly once per step (and re-plan generation), and owns it. */
  async createMeeting(
    step: StepOf<MeetingAction>,
    inputs: StepInputs[MeetingAction],
    generation = 1,
  ): Promise<MeetingSummary> {
    const { workflowId, runId } = workflowInfo();
    const key = meetingCreateKey(workflowId, runId, step.id, generation);
    const kind = MEETING_KIND[step.action];
    // The create tells the incident of the meeting itself: a run terminated before the answer came leaves it known there.
    const request: CreateMeetingInput = {
      ...inputs,
      connector: this.connector,
      idempotencyKey: key,
      incident: { workflowId: this.input.incidentWorkflowId, kind },
    };
    // Until the run has taken the meeting in, a cancel finds it by this key's marker (the answer may never come).
    this.createsInFlight.set(key, kind);
    const meeting = await this.zoom.createMeeting.executeWithOptions(
      { summary: `Create Zoom meeting: ${request.topic}` },
      [request],
    );
    this.own(meeting);
    this.createsInFlight.delete(key);
    if (!this.createsInFlight.size) this.early.clear();
    if (meeting.cut?.length)
      await this.post({ step: step.id, status: 'info', summary: cutNote(meeting.id, meeting.cut) });
    if (meeting.retried && patched(RUNBOOK_PATCHES.lateDuplicates))
      this.watch('Duplicate check', step.id, this.removeLateDuplicates(step.id, key, meeting));
    return meeting;
  }

  /**
   * A new meeting this run owns: remembered, and listed in the search attribute. (The create
   * activity has claimed its mailbox, where Zoom's webhooks wait for this run.)
   */
  private own(meeting: MeetingSummary): void {
    if (!this.rooms.has(meeting.id)) this.rooms.set(meeting.id, emptyRoom());
    const held = this.early.get(meeting.id);
    this.early.delete(meeting.id);
    if (held && patched(RUNBOOK_PATCHES.earlyEvents))
      for (const event of held) applyMeetingEvent(this.rooms.get(meeting.id)!, event);
    if (!this.lifecycle || this.meetingIds.includes(meeting.id)) return;
    this.meetingIds.push(meeting.id);
    upsertSearchAttributes([{ key: ZoomMeetingIdsAttr, value: [...this.meetingIds] }]);
  }

  /** The room of a meeting this run created. */
  room(meetingId: string): MeetingRoom {
    return this.rooms.get(meetingId)!;
  }

  async endBridge(why: string): Promise<void> {
    if (!this.bridge || this.bridgeEnded) return;
    const { id } = this.bridge;
    this.bridgeEnded = true;
    await this.zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${id} (${why})` }, [
      { connector: this.connector, meetingId: id },
    ]);
    await this.post({
      status: 'ok',
      summary: `Zoom meeting ${id} ended: ${why}`,
      meeting: this.record(id, 'bridge', 'ended'),
    });
  }

  /** This run no longer follows its meetings: their mailboxes may end. */
  async releaseMeetings(): Promise<void> {
    if (!patched(RUNBOOK_PATCHES.meetingMailbox)) return;
    for (const meetingId of this.meetingIds) {
      await getExternalWorkflowHandle(meetingMailboxWorkflowId(meetingId))
        .signal(releaseMeetingSignal, { owner: this.workflowId })
        .catch(() => undefined); // it has ended already
    }
  }

  /** Cancelled: leave nothing open behind (unless the cancel said to keep it), then say so and let go of the meetings. */
  async cleanUpAfterCancel(): Promise<void> {
    if (this.cleanupOnCancel) {
      await this.endBridge('runbook cancelled');
      for (const meeting of [...this.recurring]) {
        await this.zoom.deleteMeeting({ connector: this.connector, meetingId: meeting.id });
        if (patched(RUNBOOK_PATCHES.cancelInFlight))
          await this.post({
            status: 'ok',
            summary: `Recurring Zoom meeting ${meeting.id} deleted: runbook cancelled`,
            meeting: this.record(meeting.id, 'recurring', 'deleted'),
          });
      }
      if (this.createsInFlight.size && patched(RUNBOOK_PATCHES.cancelInFlight)) await this.removeCreatesInFlight();
    }
    await this.post({
      status: 'info',
      summary: `Runbook ${this.runbook.name} cancelled${this.cleanupOnCancel ? '' : ' (its meetings were left as they are)'}`,
    });
    await this.releaseMeetings();
  }

  /**
   * After a cancel, the meetings of creates that were in flight: whatever reached Zoom is removed
   * now, and again once no create sent before the cancel can still land.
   */
  private async removeCreatesInFlight(): Promise<void> {
    const keys = [...this.createsInFlight];
    const removed: string[] = [];
    // Each removal is on the timeline as it happens, so the incident knows the meeting is gone
    // (runs recorded before: one entry after both passes). removeByMarker released their mailboxes.
    const oneByOne = patched(RUNBOOK_PATCHES.removedMeetings);
    for (const pass of ['now', 'late']) {
      if (pass === 'late') await sleep(LATE_CREATE_WINDOW, { summary: 'Wait for creates sent before the cancel' });
      for (const [idempotencyKey, kind] of keys) {
        const ids = await this.zoom.removeByMarker.executeWithOptions(
          { summary: `Remove meetings of a create cut short (${pass})` },
          [{ connector: this.connector, idempotencyKey }],
        );
        removed.push(...ids);
        if (!oneByOne) continue;
        for (const id of ids)
          await this.post({
            status: 'info',
            summary: `Removed Zoom meeting ${id}: created by a step the cancel cut short`,
            meeting: this.record(id, kind, 'deleted'),
          });
      }
    }
    this.createsInFlight.clear();
    this.early.clear();
    if (!oneByOne && removed.length)
      await this.post({
        status: 'info',
        summary: `Removed Zoom meeting(s) ${removed.join(', ')}: created by a step the cancel cut short`,
      });
  }

  /** Once no create of an earlier attempt can still land, the meetings with this step's marker but `meeting` are removed. */
  private async removeLateDuplicates(stepId: string, idempotencyKey: string, meeting: MeetingSummary): Promise<void> {
    await sleep(LATE_CREATE_WINDOW, { summary: `Wait for late creates of meeting ${meeting.id}` });
    const removed = await this.zoom.removeLateDuplicates.executeWithOptions(
      { summary: `Remove late duplicates of meeting ${meeting.id}` },
      [{ connector: this.connector, idempotencyKey, keep: meeting.id }],
    );
    if (removed.length)
      await this.post({
        step: stepId,
        status: 'info',
        summary: `Removed ${removed.length} duplicate Zoom meeting(s) that a timed-out attempt created late: ${removed.join(', ')}`,
      });
  }
}

export function isMeeting(output: unknown): output is MeetingSummary {
  return typeof output === 'object' && output !== null && 'id' in output && typeof output.id === 'string';
}

/** Rendered fields longer than Zoom takes are cut to fit (the exactly-once marker always kept); the timeline says what. */
export function cutNote(meetingId: string, cut: string[]): string {
  return `Cut to fit Zoom's limits for meeting ${meetingId}: ${cut.join(', ')}`;
}

export function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
