/**
 * The steps that create meetings, and what follows each meeting afterwards: a bridge's topic follows
 * the incident, a scheduled meeting is cancelled (or re-planned) when the incident reopens before it
 * starts, a recurring series is deleted when the incident closes.
 */
import { condition, metricMeter, patched } from '@temporalio/workflow';
import type { StepInputs, StepOf } from '../../src/core/step-inputs';
import { nowMs } from '../clock';
import { BridgeMeetingIdAttr, MeetingSummary, TimelineLink } from '../contract/shared';
import { upsertSearchAttributes } from '@temporalio/workflow';
import { RUNBOOK_PATCHES } from '../contract/runbook';
import { Entry, RunbookRun, StepResult } from './run';
import { alertOnLobby } from './lobby-alerts';

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

type Step<A extends 'zoom.createMeeting' | 'zoom.scheduleMeeting' | 'zoom.recurringMeeting'> = StepOf<A>;

/** zoom.createMeeting: a meeting for now; the run's first one is the incident's bridge. */
export async function createMeeting(
  run: RunbookRun,
  step: Step<'zoom.createMeeting'>,
  inputs: StepInputs['zoom.createMeeting'],
): Promise<StepResult> {
  const { lobbyAlertAfter, ...meetingInputs } = inputs;
  const meeting = await run.createMeeting(step, meetingInputs);
  if (run.lifecycle && step.with.followIncident)
    run.watch(`Following the incident for meeting ${meeting.id}`, step.id, followIncident(run, step, meeting));
  alertOnLobby(run, step, meeting, lobbyAlertAfter);
  const announced: Entry = {
    status: 'ok',
    summary: `Zoom meeting ready: ${meeting.topic} (${meeting.id})`,
    links: [{ label: 'Join', url: meeting.joinUrl }, ...dialInLinks(meeting)],
    meeting: run.record(meeting.id, 'bridge'),
  };
  if (!run.bridge) {
    run.bridge = meeting;
    upsertSearchAttributes([{ key: BridgeMeetingIdAttr, value: meeting.id }]);
    bridgesOpened.add(1, { runbook: run.runbook.name });
    if (run.incident.createdAt)
      timeToBridge.record(Math.max(0, nowMs() - Date.parse(run.incident.createdAt)) / 1000, {
        runbook: run.runbook.name,
      });
    if (run.lifecycle) announced.bridge = meeting;
  }
  return { output: meeting, entry: announced };
}

/** zoom.scheduleMeeting: a meeting later (a postmortem), which follows the incident's reopenings until it starts. */
export async function scheduleMeeting(
  run: RunbookRun,
  step: Step<'zoom.scheduleMeeting'>,
  rendered: StepInputs['zoom.scheduleMeeting'],
): Promise<StepResult> {
  let inputs = rendered;
  const followsReopenings = run.lifecycle && step.with.onReopen !== 'keep';
  // The run started on a resolve that did not last (reopened before this step): nothing to book
  // now; with replan it is booked from the next resolution, as after a later reopening.
  if (followsReopenings && run.incident.status === 'reopened' && patched(RUNBOOK_PATCHES.reopenedBeforeBooking)) {
    if (step.with.onReopen !== 'replan')
      return {
        output: { booked: false },
        entry: { status: 'info', summary: `Not booked: the incident was reopened before step ${step.id} ran` },
      };
    await run.post({
      step: step.id,
      status: 'info',
      summary: 'Not booked yet: the incident was reopened; it is booked when the incident is resolved',
    });
    await condition(() => isSettled(run));
    inputs = await run.render(step);
  }
  // Counted before the create: a reopening that arrives while Zoom creates the meeting counts too.
  const reopeningsBefore = run.reopenings;
  const meeting = await run.createMeeting(step, inputs);
  if (followsReopenings)
    run.watch(
      `Following reopenings for meeting ${meeting.id}`,
      step.id,
      followReopenings(run, step, meeting, reopeningsBefore),
    );
  return { output: meeting, entry: scheduledEntry(run, meeting, '') };
}

/** zoom.recurringMeeting: a series (a daily sync) while the incident is open. */
export async function recurringMeeting(
  run: RunbookRun,
  step: Step<'zoom.recurringMeeting'>,
  inputs: StepInputs['zoom.recurringMeeting'],
): Promise<StepResult> {
  const meeting = await run.createMeeting(step, inputs);
  run.recurring.push(meeting);
  run.watch(`Deleting recurring meeting ${meeting.id}`, step.id, deleteWhenClosed(run, meeting));
  const every = step.with.recurrence.every === 'day' ? 'daily' : 'weekly';
  return {
    output: meeting,
    entry: {
      status: 'ok',
      summary: `Recurring Zoom meeting (${every}) from ${meeting.startTime}: ${meeting.topic} (${meeting.id}); deleted when the incident closes`,
      links: [{ label: 'Join', url: meeting.joinUrl }],
      meeting: run.record(meeting.id, 'recurring'),
    },
  };
}

/** How many dial-in numbers the bridge's timeline entry shows; the step's output (`dialIn`) has them all. */
const DIAL_IN_SHOWN = 3;

/**
 * The first dial-in numbers as one-tap links (`tel:<number>,,<meeting id>#`): the meeting id is
 * dialled for the caller, the phone passcode never (Zoom asks for it; it is not ours to show).
 */
function dialInLinks(meeting: MeetingSummary): TimelineLink[] {
  return (meeting.dialIn ?? []).slice(0, DIAL_IN_SHOWN).map((d) => ({
    label: `Dial-in ${[d.country, d.city, d.type === 'tollfree' ? 'toll-free' : undefined].filter(Boolean).join(' ')} ${d.number}`,
    url: `tel:${d.number.replace(/[^\d+]/g, '')},,${meeting.id}#`,
  }));
}

export const isSettled = (run: RunbookRun) => run.incident.status === 'resolved' || run.incident.status === 'closed';

function scheduledEntry(run: RunbookRun, meeting: MeetingSummary, prefix: string): Entry {
  return {
    status: 'ok',
    summary: `${prefix}Zoom meeting scheduled: ${meeting.topic} at ${meeting.startTime} (${meeting.id})`,
    links: [{ label: 'Join', url: meeting.joinUrl }],
    meeting: run.record(meeting.id, 'scheduled'),
  };
}

/**
 * A scheduled meeting follows the incident until it starts: when the incident reopens first,
 * the meeting is cancelled, or (onReopen: replan) cancelled and booked again from the next
 * resolution, as often as that happens.
 */
async function followReopenings(
  run: RunbookRun,
  step: Step<'zoom.scheduleMeeting'>,
  first: MeetingSummary,
  reopeningsBefore: number,
): Promise<void> {
  let meeting = first;
  let seen = reopeningsBefore;
  for (let generation = 2; ; generation++) {
    const untilStart = Date.parse(meeting.startTime ?? '') - nowMs();
    if (!(untilStart > 0) || !(await condition(() => run.reopenings > seen, untilStart))) return; // it started: nothing left to guard
    await run.zoom.deleteMeeting.executeWithOptions(
      { summary: `Cancel Zoom meeting ${meeting.id} (incident reopened)` },
      [{ connector: run.connector, meetingId: meeting.id }],
    );
    const replan = step.with.onReopen === 'replan';
    await run.post({
      step: step.id,
      status: 'info',
      summary: `Zoom meeting ${meeting.id} cancelled: the incident was reopened${replan ? '; it is booked again when the incident is resolved' : ''}`,
      meeting: run.record(meeting.id, 'scheduled', 'deleted'),
    });
    if (!replan) return;
    await condition(() => isSettled(run));
    seen = run.reopenings;
    meeting = await run.createMeeting(step, await run.render(step), generation);
    run.outputs[step.id] = meeting;
    await run.post({ step: step.id, ...scheduledEntry(run, meeting, 'Re-planned: ') });
  }
}

/** The meeting's topic follows the incident (a new title, a new severity) until it is resolved or the meeting ends. */
async function followIncident(
  run: RunbookRun,
  step: Step<'zoom.createMeeting'>,
  meeting: MeetingSummary,
): Promise<void> {
  const room = run.room(meeting.id);
  const over = () => room.ended || ['resolved', 'closed'].includes(run.incident.status ?? '');
  let topic = meeting.topic;
  for (;;) {
    const seen = run.incidentChanges;
    await condition(() => run.incidentChanges > seen || over());
    if (over()) return;
    const rendered = (await run.render(step)).topic;
    if (rendered === topic) continue;
    // The agenda keeps its exactly-once marker: only the topic changes.
    await run.zoom.updateMeeting.executeWithOptions({ summary: `Rename Zoom meeting ${meeting.id}: ${rendered}` }, [
      { connector: run.connector, meetingId: meeting.id, topic: rendered },
    ]);
    topic = rendered;
    await run.post({ step: step.id, status: 'ok', summary: `Zoom meeting ${meeting.id} renamed: ${topic}` });
  }
}

/** A recurring meeting lasts while the incident is open. */
async function deleteWhenClosed(run: RunbookRun, meeting: MeetingSummary): Promise<void> {
  await condition(() => run.closed);
  await run.zoom.deleteMeeting.executeWithOptions(
    { summary: `Delete recurring Zoom meeting ${meeting.id} (incident closed)` },
    [{ connector: run.connector, meetingId: meeting.id }],
  );
  run.recurring.splice(run.recurring.indexOf(meeting), 1);
  await run.post({
    status: 'ok',
    summary: `Recurring Zoom meeting ${meeting.id} deleted: the incident is closed`,
    meeting: run.record(meeting.id, 'recurring', 'deleted'),
  });
}
