import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  incidentWorkflowId,
  INCIDENT_PATCHES,
  meetingMailboxWorkflowId,
  parseRunbookWorkflowId,
  RUNBOOK_PATCHES,
  runbookWorkflowId,
} from '../workflows/contract';

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
