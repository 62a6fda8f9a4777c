import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { hostPoolWorkflowId, incidentWorkflowId, meetingMailboxWorkflowId } from '../workflows/contract';

/**
 * Replays recorded histories (`temporal workflow show -o json`, from the dev stack) through the
 * current workflow code. A change that would break a running incident or runbook fails here;
 * guard such changes with patched() instead of re-recording.
 */
const FIXTURES = join(__dirname, 'fixtures/histories');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory(
    { workflowBundle: { codePath: process.env.ZR_TEST_WORKFLOW_BUNDLE! }, replayName: 'replay-test' },
    history,
    workflowId,
  );

/** The workflow id the history was recorded under (workflows read it, e.g. for child ids), from its input. */
function workflowIdOf(file: string): string {
  const started = load(file).events[0].workflowExecutionStartedEventAttributes;
  const input = JSON.parse(Buffer.from(started.input.payloads[0].data, 'base64').toString('utf8'));
  if (input.incidentWorkflowId) return `${input.incidentWorkflowId}/${input.runbook.name}`;
  if (input.meetingId) return meetingMailboxWorkflowId(input.meetingId);
  if (input.connector) return hostPoolWorkflowId(input.connector, 'zoom-runbooks');
  return incidentWorkflowId(input.incidentId);
}

describe('replay of recorded histories', () => {
  it('has fixtures for the incident workflow and each example runbook', () => {
    // Recorded before the meeting-lifecycle patch, after it (v2), after the Zoom task queue (v3), after the lifecycle state
    // machine and meeting mailboxes (v4), and after the actions beyond peers and the host pool (v5; test/support/record-histories.ts).
    expect(fixtures).toEqual([
      'host-pool-v5.json',
      'incident-workflow-v2.json',
      'incident-workflow-v3.json',
      'incident-workflow-v4.json',
      'incident-workflow-v5.json',
      'incident-workflow.json',
      'meeting-mailbox-v5.json',
      'runbook-incident-bridge.json',
      'runbook-incident-sync-v3.json',
      'runbook-incident-sync-v4.json',
      'runbook-incident-sync-v5.json',
      'runbook-incident-sync.json',
      'runbook-postmortem-replan-v3.json',
      'runbook-postmortem-replan-v4.json',
      'runbook-postmortem-replan-v5.json',
      'runbook-postmortem-replan.json',
      'runbook-postmortem.json',
      'runbook-recorded-bridge-v3.json',
      'runbook-recorded-bridge-v4.json',
      'runbook-recorded-bridge-v5.json',
      'runbook-recorded-bridge.json',
      'runbook-sev1-escalation-v5.json',
    ]);
  });

  it('has runs from before the Zoom task queue (Zoom on the workflow queue) and after it (every Zoom call on <queue>-zoom)', () => {
    const queues = (file: string) => {
      const events: { eventType: string; activityTaskScheduledEventAttributes?: { taskQueue: { name: string } } }[] =
        load(file).events;
      const scheduled = events
        .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
        .map((e) => e.activityTaskScheduledEventAttributes!.taskQueue.name);
      const own: string = load(file).events[0].workflowExecutionStartedEventAttributes.taskQueue.name;
      return { own, scheduled: [...new Set(scheduled)] };
    };
    const before = queues('runbook-recorded-bridge.json');
    expect(before.scheduled).toEqual([before.own]);
    const after = queues('runbook-recorded-bridge-v3.json');
    expect(after.scheduled).toEqual([`${after.own}-zoom`]);
  });

  it.each(fixtures)('%s replays without non-determinism', async (file) => {
    await expect(replay(load(file), workflowIdOf(file))).resolves.toBeUndefined();
  });

  it('catches an incompatible change (an activity the code no longer schedules)', async () => {
    const history = load('runbook-incident-bridge.json');
    const scheduled = history.events.find(
      (e: { eventType: string }) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
    );
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'createMeetingV0';
    await expect(replay(history, workflowIdOf('runbook-incident-bridge.json'))).rejects.toBeInstanceOf(
      DeterminismViolationError,
    );
  });
});
