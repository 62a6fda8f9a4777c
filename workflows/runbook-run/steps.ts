/**
 * The step interpreter: one handler per runbook action, typed by the runbook schema from the step
 * to its rendered inputs, and the loop that runs a runbook's steps in order.
 */
import { ApplicationFailure, condition, isCancellation, log, setCurrentDetails, sleep } from '@temporalio/workflow';
import type { StepAction, StepInputs, StepOf } from '../../src/core/step-inputs';
import { evaluate } from '../../src/core/conditions';
import { nowIso, nowMs } from '../clock';
import { RUNBOOK_FAILURE_TYPE } from '../contract/runbook';
import { collectAttendance, collectRecordings, collectSummary, collectTranscript } from './collect';
import { callOut } from './call-out';
import { createMeeting, recurringMeeting, scheduleMeeting } from './meetings';
import { cutNote, describeFailure, RunbookRun, StepResult } from './run';

type StepHandler<A extends StepAction> = (
  run: RunbookRun,
  step: StepOf<A>,
  inputs: StepInputs[A],
) => Promise<StepResult>;

const STEPS: { [A in StepAction]: StepHandler<A> } = {
  'zoom.createMeeting': createMeeting,
  'zoom.scheduleMeeting': scheduleMeeting,
  'zoom.recurringMeeting': recurringMeeting,
  'zoom.updateMeeting': updateMeeting,
  'zoom.manageParticipants': manageParticipants,
  'zoom.endMeeting': endMeeting,
  'zoom.deleteMeeting': deleteMeeting,
  'zoom.recordingSettings': recordingSettings,
  'zoom.recordingControl': recordingControl,
  'zoom.callOut': callOut,
  'zoom.collectRecordings': collectRecordings,
  'zoom.collectSummary': collectSummary,
  'zoom.collectTranscript': collectTranscript,
  'zoom.collectAttendance': collectAttendance,
  'timeline.post': timelinePost,
  'wait.forIncident': waitForIncident,
  'wait.duration': waitDuration,
  'wait.until': waitUntil,
};

/** Runs the runbook's steps in order, each result on the incident timeline; a failed step ends the run unless it may fail. */
export async function runSteps(run: RunbookRun): Promise<void> {
  const { runbook } = run;
  for (const step of runbook.steps) {
    setCurrentDetails(`**${runbook.name}** for incident ${run.incident.id}: step \`${step.id}\` (${step.action})`);
    if (step.if && !evaluate(step.if, { ...run.incident, steps: run.outputs })) {
      await run.post({
        step: step.id,
        status: 'info',
        summary: `Step ${step.id} skipped: its condition does not hold`,
      });
      continue;
    }
    const where = { incidentId: run.incident.id, runbook: runbook.name, step: step.id, action: step.action };
    try {
      const { output, entry } = await runStep(run, step);
      run.outputs[step.id] = output;
      log.info(`Step ${step.id} done`, { ...where, status: entry?.status ?? 'ok' });
      if (entry) await run.post({ step: step.id, ...entry });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const reason = describeFailure(err);
      log.warn(`Step ${step.id} failed: ${reason}`, where);
      await run.post({ step: step.id, status: 'failed', summary: `Step ${step.id} failed: ${reason}` });
      if (step.continueOnError) continue;
      throw ApplicationFailure.nonRetryable(
        `Runbook ${runbook.name}, step ${step.id} failed: ${reason}`,
        RUNBOOK_FAILURE_TYPE.runbookStepFailed,
      );
    }
  }
}

/** One step: its inputs rendered for the incident as it is now, then its action's handler. */
async function runStep<A extends StepAction>(run: RunbookRun, step: StepOf<A>): Promise<StepResult> {
  const inputs = await run.render(step);
  return STEPS[step.action](run, step, inputs);
}

async function updateMeeting(
  run: RunbookRun,
  step: StepOf<'zoom.updateMeeting'>,
  { meeting: _step, ...change }: StepInputs['zoom.updateMeeting'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  // Runs recorded before the cut report got no answer (void) from this activity.
  const updated = await run.zoom.updateMeeting.executeWithOptions({ summary: `Update Zoom meeting ${meetingId}` }, [
    { connector: run.connector, meetingId, ...change },
  ]);
  if (updated?.cut?.length) await run.post({ step: step.id, status: 'info', summary: cutNote(meetingId, updated.cut) });
  return {
    output: { meetingId },
    entry: { status: 'ok', summary: `Zoom meeting ${meetingId} updated${change.topic ? `: ${change.topic}` : ''}` },
  };
}

async function manageParticipants(
  run: RunbookRun,
  step: StepOf<'zoom.manageParticipants'>,
  { meeting: _step, ...change }: StepInputs['zoom.manageParticipants'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  const result = await run.zoom.manageParticipants.executeWithOptions(
    { summary: `Manage participants of Zoom meeting ${meetingId}` },
    [{ ...change, connector: run.connector, meetingId }],
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

async function endMeeting(
  run: RunbookRun,
  step: StepOf<'zoom.endMeeting'>,
  { graceMinutes = 0, whenEmpty }: StepInputs['zoom.endMeeting'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  if (graceMinutes > 0)
    await sleep(graceMinutes * 60_000, { summary: `Grace period before ending meeting ${meetingId}` });
  const room = run.room(meetingId);
  if (whenEmpty) await condition(() => room.present.size === 0, whenEmpty);
  await run.zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${meetingId}` }, [
    { connector: run.connector, meetingId },
  ]);
  if (run.bridge?.id === meetingId) run.bridgeEnded = true;
  room.ended = true;
  return {
    output: { meetingId, endedAt: nowIso() },
    entry: {
      status: 'ok',
      summary: `Zoom meeting ${meetingId} ended`,
      meeting: run.record(meetingId, run.kindOf(meetingId), 'ended'),
    },
  };
}

async function deleteMeeting(run: RunbookRun, step: StepOf<'zoom.deleteMeeting'>): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  await run.zoom.deleteMeeting.executeWithOptions({ summary: `Delete Zoom meeting ${meetingId}` }, [
    { connector: run.connector, meetingId },
  ]);
  return {
    output: { meetingId },
    entry: {
      status: 'ok',
      summary: `Zoom meeting ${meetingId} deleted`,
      meeting: run.record(meetingId, run.kindOf(meetingId), 'deleted'),
    },
  };
}

async function recordingSettings(
  run: RunbookRun,
  step: StepOf<'zoom.recordingSettings'>,
  { meeting: _step, ...settings }: StepInputs['zoom.recordingSettings'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  await run.zoom.updateRecordingSettings.executeWithOptions(
    { summary: `Recording settings of Zoom meeting ${meetingId}` },
    [{ ...settings, connector: run.connector, meetingId }],
  );
  return {
    output: { meetingId },
    entry: { status: 'ok', summary: `Recording settings of Zoom meeting ${meetingId} updated` },
  };
}

/** What each recording action leaves the recording as, and how the timeline says it. */
const RECORDING_AFTER = {
  start: { state: 'recording', done: 'started' },
  pause: { state: 'paused', done: 'paused' },
  resume: { state: 'recording', done: 'resumed' },
  stop: { state: 'stopped', done: 'stopped' },
} as const;

async function recordingControl(
  run: RunbookRun,
  step: StepOf<'zoom.recordingControl'>,
  { action, whenLive }: StepInputs['zoom.recordingControl'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  const room = run.room(meetingId);
  // Zoom's webhooks say when the host opened the meeting; without them, Zoom's answer says whether it is live.
  if (whenLive) await condition(() => !!room.seenLive && !room.ended, whenLive);
  await run.zoom.controlRecording.executeWithOptions(
    { summary: `Cloud recording of Zoom meeting ${meetingId}: ${action}` },
    [{ connector: run.connector, meetingId, action }],
  );
  const { state, done } = RECORDING_AFTER[action];
  return {
    output: { meetingId, action, recording: state },
    entry: { status: 'ok', summary: `Cloud recording of Zoom meeting ${meetingId} ${done}` },
  };
}

async function waitForIncident(
  run: RunbookRun,
  _step: StepOf<'wait.forIncident'>,
  { status, timeout }: StepInputs['wait.forIncident'],
): Promise<StepResult> {
  const wanted = Array.isArray(status) ? status : [status];
  const statusReached = () => wanted.includes(run.incident.status ?? '');
  const reached = timeout ? await condition(statusReached, timeout) : (await condition(statusReached), true);
  return reached
    ? {
        output: { status: run.incident.status },
        entry: { status: 'info', summary: `Incident is ${run.incident.status}` },
      }
    : {
        output: { timedOut: true },
        entry: { status: 'info', summary: `Stopped waiting for status ${wanted.join(' or ')} after ${timeout}` },
      };
}

async function timelinePost(
  _run: RunbookRun,
  _step: StepOf<'timeline.post'>,
  { message }: StepInputs['timeline.post'],
): Promise<StepResult> {
  return { output: { message }, entry: { status: 'info', summary: message } };
}

async function waitDuration(
  _run: RunbookRun,
  _step: StepOf<'wait.duration'>,
  inputs: StepInputs['wait.duration'],
): Promise<StepResult> {
  await sleep(inputs.for, { summary: `Wait ${inputs.for}` });
  return { output: { waited: inputs.for }, entry: null };
}

async function waitUntil(
  _run: RunbookRun,
  _step: StepOf<'wait.until'>,
  { at }: StepInputs['wait.until'],
): Promise<StepResult> {
  await sleep(Math.max(0, Date.parse(at) - nowMs()), { summary: `Wait until ${at}` });
  return { output: { until: at }, entry: null };
}
