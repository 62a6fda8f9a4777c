import type { Incident, IncidentEventType, RunbookDefinition } from '../workflows/definitions';

/**
 * The runbook every worker runs until runbook files exist: open a recorded-off bridge when an
 * incident is created and share its link on the timeline.
 */
export const DEFAULT_RUNBOOK: RunbookDefinition = {
  name: 'incident-bridge',
  description: 'Open a Zoom bridge when an incident is created and share its link on the timeline.',
  trigger: { on: ['incident.created'] },
  steps: [
    {
      id: 'bridge',
      action: 'zoom.createMeeting',
      with: {
        topic: '{{Activity.title}} - Incident Bridge',
        agenda: 'Incident {{Activity.id}}',
        duration: 60,
        settings: { joinBeforeHost: true, waitingRoom: false, autoRecording: 'none' },
      },
    },
    { id: 'share', action: 'timeline.post', with: { message: 'Join the bridge: {{steps.bridge.joinUrl}}' } },
  ],
};

/** Does this event, on this incident, trigger the runbook? */
export function runbookMatches(runbook: RunbookDefinition, eventType: IncidentEventType, incident: Incident): boolean {
  if (!runbook.trigger.on.includes(eventType)) return false;
  const severities = runbook.trigger.when?.severity?.in;
  return !severities || (incident.severity !== undefined && severities.includes(incident.severity));
}
