import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  isCancellation,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities, CreateMeetingInput } from '../activities';
import { nowIso } from './clock';
import { evaluate } from './conditions';
import {
  appendTimelineSignal,
  BridgeMeetingIdAttr,
  bridgeQuery,
  endBridgeSignal,
  Incident,
  incidentChangedSignal,
  MeetingSummary,
  RunbookInput,
  RunbookResult,
  RunbookStep,
  TimelineEntry,
} from './definitions';

const { renderStepInputs } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** Zoom calls: one attempt may take 30 s; retries back off up to a minute, for 15 minutes in all. */
const zoom = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

type StepResult = { output: unknown; entry: Omit<TimelineEntry, 'at' | 'source' | 'step'> | null };

/**
 * Runs one runbook against one incident: its steps in order, each step's result on the incident
 * timeline. The runbook arrives as a snapshot, so editing runbook files never changes a run; the
 * incident stays current through `incidentChanged` signals.
 */
export async function runbookWorkflow(input: RunbookInput): Promise<RunbookResult> {
  const { runbook } = input;
  const { workflowId, runId } = workflowInfo();
  let incident: Incident = input.incident;
  const outputs: Record<string, unknown> = {};
  let bridge: MeetingSummary | null = null;
  setHandler(bridgeQuery, () => bridge);
  setHandler(incidentChangedSignal, (latest) => void (incident = latest));

  const incidentWorkflow = getExternalWorkflowHandle(input.incidentWorkflowId);
  const post = (entry: Omit<TimelineEntry, 'at' | 'source'>) => incidentWorkflow.signal(appendTimelineSignal, { at: nowIso(), source: runbook.name, ...entry });
  const connector = runbook.connector;
  const meetingOf = (stepId: string) => (outputs[stepId] as MeetingSummary).id;

  // The bridge is ended at most once by an operator or a cancellation; ending steps may still run (Zoom: no-op).
  let bridgeEnded = false;
  async function endBridge(why: string): Promise<void> {
    if (!bridge || bridgeEnded) return;
    bridgeEnded = true;
    await zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${bridge.id} (${why})` }, [{ connector, meetingId: bridge.id }]);
    await post({ status: 'ok', summary: `Zoom meeting ${bridge.id} ended: ${why}` });
  }
  setHandler(endBridgeSignal, () => endBridge('ended by an operator'));

  async function run(step: RunbookStep): Promise<StepResult> {
    const inputs = await renderStepInputs({ stepId: step.id, inputs: step.with, context: { Activity: incident, steps: outputs } });
    switch (step.action) {
      case 'zoom.createMeeting':
      case 'zoom.scheduleMeeting': {
        const request = { ...inputs, connector, idempotencyKey: `${workflowId}/${runId}/${step.id}` } as CreateMeetingInput;
        const meeting = await zoom.createMeeting.executeWithOptions({ summary: `Create Zoom meeting: ${request.topic}` }, [request]);
        const links = [{ label: 'Join', url: meeting.joinUrl }];
        if (step.action === 'zoom.scheduleMeeting') {
          return { output: meeting, entry: { status: 'ok', summary: `Zoom meeting scheduled: ${meeting.topic} at ${meeting.startTime} (${meeting.id})`, links } };
        }
        if (!bridge) {
          bridge = meeting;
          upsertSearchAttributes([{ key: BridgeMeetingIdAttr, value: meeting.id }]);
        }
        return { output: meeting, entry: { status: 'ok', summary: `Zoom meeting ready: ${meeting.topic} (${meeting.id})`, links } };
      }
      case 'zoom.updateMeeting': {
        const meetingId = meetingOf(step.with.meeting);
        const { topic, agenda, settings } = inputs as { topic?: string; agenda?: string; settings?: CreateMeetingInput['settings'] };
        await zoom.updateMeeting.executeWithOptions({ summary: `Update Zoom meeting ${meetingId}` }, [{ connector, meetingId, topic, agenda, settings }]);
        return { output: { meetingId }, entry: { status: 'ok', summary: `Zoom meeting ${meetingId} updated${topic ? `: ${topic}` : ''}` } };
      }
      case 'zoom.endMeeting': {
        const meetingId = meetingOf(step.with.meeting);
        const grace = step.with.graceMinutes ?? 0;
        if (grace > 0) await sleep(grace * 60_000, { summary: `Grace period before ending meeting ${meetingId}` });
        await zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${meetingId}` }, [{ connector, meetingId }]);
        return { output: { meetingId, endedAt: nowIso() }, entry: { status: 'ok', summary: `Zoom meeting ${meetingId} ended` } };
      }
      case 'zoom.deleteMeeting': {
        const meetingId = meetingOf(step.with.meeting);
        await zoom.deleteMeeting.executeWithOptions({ summary: `Delete Zoom meeting ${meetingId}` }, [{ connector, meetingId }]);
        return { output: { meetingId }, entry: { status: 'ok', summary: `Zoom meeting ${meetingId} deleted` } };
      }
      case 'timeline.post': {
        const message = String(inputs.message);
        return { output: { message }, entry: { status: 'info', summary: message } };
      }
      case 'wait.forIncident': {
        const wanted = ([] as string[]).concat(step.with.status);
        const statusReached = () => wanted.includes(incident.status ?? '');
        const reached = step.with.timeout ? await condition(statusReached, step.with.timeout as Duration) : (await condition(statusReached), true);
        return reached
          ? { output: { status: incident.status }, entry: { status: 'info', summary: `Incident is ${incident.status}` } }
          : { output: { timedOut: true }, entry: { status: 'info', summary: `Stopped waiting for status ${wanted.join(' or ')} after ${step.with.timeout}` } };
      }
      case 'wait.duration':
        await sleep(step.with.for as Duration, { summary: `Wait ${step.with.for}` });
        return { output: { waited: step.with.for }, entry: null };
    }
  }

  try {
    await runSteps();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled (e.g. `temporal workflow cancel`): leave nothing open behind.
    await CancellationScope.nonCancellable(async () => {
      await endBridge('runbook cancelled');
      await post({ status: 'info', summary: `Runbook ${runbook.name} cancelled` });
    });
    throw err;
  }
  await condition(allHandlersFinished);
  setCurrentDetails(`**${runbook.name}** for incident ${incident.id}: done`);
  return { runbook: runbook.name, steps: outputs };

  async function runSteps(): Promise<void> {
    for (const step of runbook.steps) {
      setCurrentDetails(`**${runbook.name}** for incident ${incident.id}: step \`${step.id}\` (${step.action})`);
      if (step.if && !evaluate(step.if, { ...incident, steps: outputs })) {
        await post({ step: step.id, status: 'info', summary: `Step ${step.id} skipped: its condition does not hold` });
        continue;
      }
      try {
        const { output, entry } = await run(step);
        outputs[step.id] = output;
        if (entry) await post({ step: step.id, ...entry });
      } catch (err) {
        if (isCancellation(err)) throw err;
        const reason = describeFailure(err);
        await post({ step: step.id, status: 'failed', summary: `Step ${step.id} failed: ${reason}` });
        if (step.continueOnError) continue;
        throw ApplicationFailure.nonRetryable(`Runbook ${runbook.name}, step ${step.id} failed: ${reason}`, 'RunbookStepFailed');
      }
    }
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
