import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import {
  addParticipantsUpdate,
  callOutUpdate,
  cancelRunbookSignal,
  incidentChangedSignal,
  runbookBridgeQuery,
  runbookEndBridgeSignal,
  RunbookInput,
  RunbookResult,
} from './contract/runbook';
import { zoomMeetingEventSignal } from './contract/shared';
import { callOutByOperator } from './runbook-run/call-out';
import { addParticipants, checkAddParticipants, checkCallOut } from './runbook-run/operator';
import { RunbookRun } from './runbook-run/run';
import { runSteps } from './runbook-run/steps';

export { ZOOM_CALLS } from './runbook-run/run';

/**
 * Runs one runbook against one incident: its steps in order, each step's result on the incident
 * timeline. The runbook arrives as a snapshot, so editing runbook files never changes a run; the
 * incident stays current through `incidentChanged` signals and Zoom's webhooks arrive as
 * `zoomMeetingEvent` signals. Meetings that must follow the incident (a postmortem when it
 * reopens, a recurring sync when it closes) are watched after the last step, so the run ends
 * only when nothing is left to look after.
 */
export async function runbookWorkflow(input: RunbookInput): Promise<RunbookResult> {
  const run = new RunbookRun(input);
  const { runbook } = input;
  setHandler(runbookBridgeQuery, () => run.bridgeNow());
  setHandler(incidentChangedSignal, (latest) => run.incidentChanged(latest));
  setHandler(zoomMeetingEventSignal, (event) => run.meetingEvent(event));
  setHandler(runbookEndBridgeSignal, () => run.endBridge('ended by an operator'));
  // The cancelRunbook signal stops the steps and the run completes saying so; `temporal workflow
  // cancel` does the same and the run ends as cancelled.
  setHandler(cancelRunbookSignal, (request) => run.cancel(request));
  setHandler(addParticipantsUpdate, (request) => addParticipants(run, request), {
    validator: (request) => checkAddParticipants(run, request),
  });
  setHandler(callOutUpdate, (request) => callOutByOperator(run, request), {
    validator: (request) => checkCallOut(run, request),
  });

  try {
    await run.main.run(async () => {
      await runSteps(run);
      if (run.hasWatchers)
        setCurrentDetails(
          `**${runbook.name}** for incident ${run.incident.id}: following its meetings until they start or the incident closes`,
        );
      await run.watchersDone();
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled (`temporal workflow cancel` or the cancelRunbook signal): leave nothing open behind.
    await CancellationScope.nonCancellable(() => run.cleanUpAfterCancel());
    if (run.cancelledBy === undefined) throw err;
    return { runbook: runbook.name, steps: run.outputs, cancelled: run.cancelledBy };
  }
  await condition(allHandlersFinished);
  await run.releaseMeetings();
  setCurrentDetails(`**${runbook.name}** for incident ${run.incident.id}: done`);
  return { runbook: runbook.name, steps: run.outputs };
}
