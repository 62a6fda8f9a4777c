/** src/temporal/client.ts: delivering incident events (the client layer alone; the e2e files prove it on a server). */
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { sendIncidentEvent } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';

const event: IncidentEvent = {
  eventId: 'evt-1',
  type: 'incident.created',
  occurredAt: '2031-01-01T00:00:00.000Z',
  incident: { id: 'INC-1', title: 'Down', severity: 'SEV2' },
};

/** A client whose signal-with-start answers from a script, one answer per call. */
function scriptedClient(answers: (() => unknown)[]) {
  const calls: unknown[] = [];
  const workflow = {
    signalWithStart: async (_type: string, options: unknown) => {
      calls.push(options);
      return answers[calls.length - 1]();
    },
  };
  return { client: { workflow } as unknown as Client, calls };
}

describe('sendIncidentEvent', () => {
  it('signals the run that a concurrent delivery started when the server refuses this start', async () => {
    const { client, calls } = scriptedClient([
      () => {
        throw new WorkflowExecutionAlreadyStartedError('already started', 'incident-INC-1', 'incidentWorkflow');
      },
      () => ({ signaledRunId: 'run-1' }),
    ]);
    await expect(sendIncidentEvent(client, 'q', event)).resolves.toEqual({
      workflowId: 'incident-INC-1',
      runId: 'run-1',
    });
    expect(calls).toHaveLength(2);
  });

  it('passes on any other failure, so the intake does not answer 2xx for an event not recorded', async () => {
    const { client, calls } = scriptedClient([
      () => {
        throw new Error('deadline exceeded');
      },
    ]);
    await expect(sendIncidentEvent(client, 'q', event)).rejects.toThrow('deadline exceeded');
    expect(calls).toHaveLength(1);
  });
});
