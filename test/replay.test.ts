import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

/**
 * Replays recorded histories (`temporal workflow show -o json`, from the dev stack) through the
 * current workflow code. A change that would break a running incident or runbook fails here;
 * guard such changes with patched() instead of re-recording.
 */
const FIXTURES = join(__dirname, 'fixtures/histories');
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
const load = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory({ workflowBundle: { codePath: process.env.ZR_TEST_WORKFLOW_BUNDLE! }, replayName: 'replay-test' }, history, workflowId);

/** The workflow id the history was recorded under (workflows read it, e.g. for child ids), from its input. */
function workflowIdOf(file: string): string {
  const started = load(file).events[0].workflowExecutionStartedEventAttributes;
  const input = JSON.parse(Buffer.from(started.input.payloads[0].data, 'base64').toString('utf8'));
  return input.incidentWorkflowId ? `${input.incidentWorkflowId}/${input.runbook.name}` : `incident-${input.incidentId}`;
}

describe('replay of recorded histories', () => {
  it('has fixtures for the incident workflow and each example runbook', () => {
    // Recorded before and after the meeting-lifecycle patch (test/support/record-histories.ts records the latter).
    expect(fixtures).toEqual([
      'incident-workflow-v2.json',
      'incident-workflow.json',
      'runbook-incident-bridge.json',
      'runbook-incident-sync.json',
      'runbook-postmortem-replan.json',
      'runbook-postmortem.json',
      'runbook-recorded-bridge.json',
    ]);
  });

  it.each(fixtures)('%s replays without non-determinism', async (file) => {
    await expect(replay(load(file), workflowIdOf(file))).resolves.toBeUndefined();
  });

  it('catches an incompatible change (an activity the code no longer schedules)', async () => {
    const history = load('runbook-incident-bridge.json');
    const scheduled = history.events.find((e: { eventType: string }) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'createMeetingV0';
    await expect(replay(history, workflowIdOf('runbook-incident-bridge.json'))).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
