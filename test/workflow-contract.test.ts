import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { zoomConnectorWorkflow } from '../workflows/connector';
import type { zoomHostPoolWorkflow } from '../workflows/host-pool';
import type { incidentWorkflow } from '../workflows/incident';
import type { meetingMailboxWorkflow } from '../workflows/meeting-mailbox';
import type { runbookWorkflow } from '../workflows/runbook';
import {
  IncidentWorkflow,
  incidentWorkflowId,
  INCIDENT_PATCHES,
  MeetingMailboxWorkflow,
  meetingMailboxWorkflowId,
  parseRunbookWorkflowId,
  RUNBOOK_PATCHES,
  RunbookWorkflow,
  runbookWorkflowId,
  ZoomConnectorWorkflow,
  ZoomHostPoolWorkflow,
} from '../workflows/contract';

/** Checked by the compiler: the signatures clients start workflows with are those of the workflows. */
type Fits<Contract, Workflow extends Contract> = Workflow;
export type _Signatures = [
  Fits<IncidentWorkflow, typeof incidentWorkflow>,
  Fits<RunbookWorkflow, typeof runbookWorkflow>,
  Fits<MeetingMailboxWorkflow, typeof meetingMailboxWorkflow>,
  Fits<ZoomConnectorWorkflow, typeof zoomConnectorWorkflow>,
  Fits<ZoomHostPoolWorkflow, typeof zoomHostPoolWorkflow>,
];

/** The workflow contract (workflows/contract/) against what is on the wire: recorded histories and ids. */
describe('workflow contract', () => {
  const FIXTURES = join(__dirname, 'fixtures/histories');

  /** The patch ids a recorded history holds (`core_patch` markers). */
  function patchIdsIn(file: string): string[] {
    const history: {
      events: {
        markerRecordedEventAttributes?: {
          markerName: string;
          details: Record<string, { payloads: { data: string }[] }>;
        };
      }[];
    } = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
    return history.events
      .map((e) => e.markerRecordedEventAttributes)
      .filter((m) => m?.markerName === 'core_patch')
      .map((m) => JSON.parse(Buffer.from(m!.details['patch-data'].payloads[0].data, 'base64').toString('utf8')).id);
  }

  it.each([
    ['incident-', INCIDENT_PATCHES],
    ['runbook-', RUNBOOK_PATCHES],
  ])('names every patch id recorded in the %s histories', (prefix, patches) => {
    const recorded = readdirSync(FIXTURES)
      .filter((f) => f.startsWith(prefix))
      .flatMap(patchIdsIn);
    expect(recorded.length).toBeGreaterThan(0);
    expect(Object.values(patches)).toEqual(expect.arrayContaining(recorded));
  });

  it('parses back the runbook run ids it builds, and no other id', () => {
    const incident = incidentWorkflowId('INC-7');
    expect(parseRunbookWorkflowId(runbookWorkflowId(incident, 'incident-bridge'))).toEqual({
      incidentWorkflowId: incident,
      runbook: 'incident-bridge',
    });
    expect(parseRunbookWorkflowId(runbookWorkflowId(incident, 'postmortem', 2))).toEqual({
      incidentWorkflowId: incident,
      runbook: 'postmortem',
      onDemand: 2,
    });
    expect(parseRunbookWorkflowId(incident)).toBeUndefined();
    expect(parseRunbookWorkflowId(meetingMailboxWorkflowId('85746065432'))).toBeUndefined();
  });
});
