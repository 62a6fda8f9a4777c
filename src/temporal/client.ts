import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  incidentEventSignal,
  INCIDENT_WORKFLOW_TYPE,
  IncidentWorkflow,
  incidentWorkflowId,
} from '../../workflows/contract/incident';
import { IncidentIdAttr, SeverityAttr, TimelineEntry } from '../../workflows/contract/shared';
import { IncidentEvent } from '../core/incident';
import { incidentHandle } from './handles';

/**
 * Delivers an incident event to its incident workflow, starting the workflow if needed
 * (signal-with-start). When this resolves, Temporal has durably recorded the event.
 */
export async function sendIncidentEvent(
  client: Client,
  taskQueue: string,
  event: IncidentEvent,
): Promise<{ workflowId: string; runId: string }> {
  const { incident } = event;
  const workflowId = incidentWorkflowId(incident.id);
  const deliver = () =>
    client.workflow.signalWithStart<IncidentWorkflow, [IncidentEvent]>(INCIDENT_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [{ incidentId: incident.id }],
      signal: incidentEventSignal,
      signalArgs: [event],
      typedSearchAttributes: [
        { key: IncidentIdAttr, value: incident.id },
        ...(incident.severity ? [{ key: SeverityAttr, value: incident.severity }] : []),
      ],
      // Set when the first event starts the workflow: later events do not change it.
      staticSummary: `Incident **${incident.id}**${incident.title ? `: ${incident.title}` : ''}${incident.severity ? ` (${incident.severity})` : ''}`,
    });
  // Two events of a new incident sent at once may both find no run; a server may then refuse the
  // second start rather than signal the first (Temporal's time-skipping server does). By now the run
  // exists, so sending again signals it.
  const handle = await deliver().catch((err) => {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return deliver();
    throw err;
  });
  return { workflowId, runId: handle.signaledRunId };
}

/** The incident's timeline, oldest first; IncidentNotFoundError when Temporal knows no such incident. */
export function getTimeline(client: Client, incidentId: string): Promise<TimelineEntry[]> {
  return incidentHandle(client, incidentId).timeline();
}
