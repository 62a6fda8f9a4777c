import { Client, WorkflowNotFoundError } from '@temporalio/client';
import {
  incidentEventSignal,
  IncidentIdAttr,
  incidentWorkflowId,
  SeverityAttr,
  TimelineEntry,
  timelineQuery,
  WORKFLOW_TYPE,
} from '../../workflows/definitions';
import { IncidentEvent } from '../core/incident';

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
  const handle = await client.workflow.signalWithStart(WORKFLOW_TYPE.incident, {
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
  return { workflowId, runId: handle.signaledRunId };
}

export class IncidentNotFoundError extends Error {
  constructor(id: string) {
    super(`No incident "${id}" is known to Temporal (no workflow ${incidentWorkflowId(id)}).`);
    this.name = 'IncidentNotFoundError';
  }
}

export async function getTimeline(client: Client, incidentId: string): Promise<TimelineEntry[]> {
  try {
    return await client.workflow.getHandle(incidentWorkflowId(incidentId)).query(timelineQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new IncidentNotFoundError(incidentId);
    throw err;
  }
}
