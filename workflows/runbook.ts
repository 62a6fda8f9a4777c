import {
  ActivityFailure,
  ApplicationFailure,
  getExternalWorkflowHandle,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, CreateMeetingInput } from '../activities';
import { nowIso } from './clock';
import {
  appendTimelineSignal,
  BridgeMeetingIdAttr,
  bridgeQuery,
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

/**
 * Runs one runbook against one incident: its steps in order, each step's result on the incident
 * timeline. The runbook arrives as a snapshot, so editing runbook files never changes a run.
 */
export async function runbookWorkflow(input: RunbookInput): Promise<RunbookResult> {
  const { runbook, incident } = input;
  const { workflowId, runId } = workflowInfo();
  const outputs: Record<string, unknown> = {};
  let bridge: MeetingSummary | null = null;
  setHandler(bridgeQuery, () => bridge);

  const incidentWorkflow = getExternalWorkflowHandle(input.incidentWorkflowId);
  const post = (entry: Omit<TimelineEntry, 'at' | 'source'>) =>
    incidentWorkflow.signal(appendTimelineSignal, { at: nowIso(), source: runbook.name, ...entry });

  for (const step of runbook.steps) {
    setCurrentDetails(`**${runbook.name}** for incident ${incident.id}: step \`${step.id}\` (${step.action})`);
    try {
      const inputs = await renderStepInputs({ stepId: step.id, inputs: step.with, context: { Activity: incident, steps: outputs } });
      switch (step.action) {
        case 'zoom.createMeeting': {
          const request = { ...inputs, connector: runbook.connector, idempotencyKey: `${workflowId}/${runId}/${step.id}` } as CreateMeetingInput;
          const meeting = await zoom.createMeeting.executeWithOptions({ summary: `Create Zoom meeting: ${request.topic}` }, [request]);
          outputs[step.id] = meeting;
          if (!bridge) {
            bridge = meeting;
            upsertSearchAttributes([{ key: BridgeMeetingIdAttr, value: meeting.id }]);
          }
          await post({ step: step.id, status: 'ok', summary: `Zoom meeting ready: ${meeting.topic} (${meeting.id})`, links: [{ label: 'Join', url: meeting.joinUrl }] });
          break;
        }
        case 'timeline.post': {
          const message = String(inputs.message ?? '');
          outputs[step.id] = { message };
          await post({ step: step.id, status: 'info', summary: message });
          break;
        }
        default:
          throw ApplicationFailure.nonRetryable(`Unknown action "${(step as RunbookStep).action}"`, 'RunbookError');
      }
    } catch (err) {
      const reason = describeFailure(err);
      await post({ step: step.id, status: 'failed', summary: `Step ${step.id} failed: ${reason}` });
      throw ApplicationFailure.nonRetryable(`Runbook ${runbook.name}, step ${step.id} failed: ${reason}`, 'RunbookStepFailed');
    }
  }
  setCurrentDetails(`**${runbook.name}** for incident ${incident.id}: done`);
  return { runbook: runbook.name, steps: outputs };
}

function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
