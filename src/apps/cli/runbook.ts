import { randomUUID } from 'node:crypto';
import { join, relative } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Client, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { getTimeline } from '../../temporal/client';
import { incidentHandle, RunbookHandle } from '../../temporal/handles';
import { loadRunbooks } from '../../core/runbook-loader';
import { FAILURE_TYPE, incidentWorkflowId, parseRunbookWorkflowId } from '../../../workflows/contract';
import { connect } from './runtime';
import { CliError, progress, runbooksDir, sleep } from './shared';
import { suggestion } from './suggest';

/** How long `meeting end` waits to see the bridge ended before leaving it to the runbook. */
const END_WAIT_MS = 30_000;

export function validateRunbooks(dir?: string): void {
  for (const { file, runbook } of loadRunbooks(runbooksDir(dir)))
    console.log(`ok  ${file}: ${runbook.name} (${runbook.steps.length} steps)`);
}

export function listRunbooks(dir?: string): void {
  for (const { runbook } of loadRunbooks(runbooksDir(dir))) {
    const when = runbook.trigger.when ? ` when ${JSON.stringify(runbook.trigger.when)}` : '';
    console.log(
      `${runbook.name}  on ${runbook.trigger.on.join(', ')}${when}\n  ${runbook.steps.map((st) => `${st.id} (${st.action})`).join(' -> ')}`,
    );
  }
}

export async function runRunbook(name: string, opts: { incident: string; requestId?: string }): Promise<void> {
  const { client } = await connect();
  const incident = incidentHandle(client, opts.incident);
  // One run per request: a retry with the same id (printed on failure) returns the run the first one started.
  const requestId = opts.requestId ?? randomUUID();
  progress(
    `asking ${incident.workflowId} to run runbook ${name} (request ${requestId}; waiting for a worker to start it)…`,
  );
  try {
    const result = await incident.runRunbook({ runbook: name, requestId });
    const already = result.alreadyStarted ? ' (already started by this request)' : '';
    console.log(`Runbook ${name} started for incident ${opts.incident}${already}: workflow ${result.workflowId}`);
  } catch (err) {
    // The workflow's own words ("No runbook named …"), decoded by the client.
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause;
      const hint =
        cause instanceof ApplicationFailure && cause.type === FAILURE_TYPE.unknownRunbook
          ? `\n${runbookFilesHint(name)}`
          : '';
      throw new CliError(`${cause?.message ?? err.message}${hint}`);
    }
    if (err instanceof Error)
      err.message += `\n(to retry without starting the runbook twice: --request-id ${requestId})`;
    throw err;
  }
}

/**
 * The runbooks of this CLI's folder, the closest to `name` first: the worker says only that it has
 * none of that name, and it loads the same folder unless it was given another ZR_RUNBOOKS_DIR.
 */
function runbookFilesHint(name: string): string {
  const dir = runbooksDir();
  try {
    return suggestion(
      name,
      loadRunbooks(dir).map((r) => r.runbook.name),
      `The runbooks in ${join(relative(process.cwd(), dir), '/')}`,
    );
  } catch {
    return ''; // an unreadable folder is not this command's problem
  }
}

/** The runbooks of an incident that still run: the incident workflow's open children. */
async function runningRunbooks(client: Client, incident: string): Promise<string[]> {
  const workflowId = incidentWorkflowId(incident);
  const { pendingChildren } = await client.workflowService.describeWorkflowExecution({
    namespace: client.options.namespace,
    execution: { workflowId },
  });
  return (pendingChildren ?? [])
    .map((c) => c.workflowId ?? '')
    .filter((id) => id.startsWith(`${workflowId}/`))
    .map((id) => id.slice(workflowId.length + 1));
}

/** The runbook's workflow (`runbook` may name an on-demand run), checked to exist so a typo gets a clear answer. */
async function knownRunbook(client: Client, incident: string, runbook: string): Promise<RunbookHandle> {
  const handle = incidentHandle(client, incident).runbook(runbook);
  try {
    await handle.workflow.describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    await getTimeline(client, incident); // IncidentNotFoundError when the incident itself is unknown
    const running = await runningRunbooks(client, incident);
    throw new CliError(
      `Incident ${incident} has no runbook ${runbook} (no workflow ${handle.workflowId}).\n${suggestion(runbook, running, 'Its runbooks running now')}`,
    );
  }
  return handle;
}

/** Signals a runbook; a finished one cannot take signals any more, which deserves plain words. */
async function signalRunbook(handle: RunbookHandle, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`${handle.workflowId} is no longer running.`);
    throw err;
  }
}

export async function cancelRunbook(
  name: string,
  opts: { incident: string; keepMeetings?: boolean; reason?: string; wait: boolean },
): Promise<void> {
  const { client } = await connect();
  const handle = await knownRunbook(client, opts.incident, name);
  await signalRunbook(handle, () => handle.cancel({ cleanup: !opts.keepMeetings, reason: opts.reason }));
  const what = opts.keepMeetings ? 'its meetings are left as they are' : 'it ends its bridge first';
  if (!opts.wait) return void console.log(`Cancel requested for ${handle.workflowId}; ${what}.`);
  progress(`cancel recorded; waiting for ${handle.workflowId} to stop (${what})…`);
  try {
    const result = await handle.workflow.result();
    console.log(
      `Runbook ${name} for incident ${opts.incident} stopped: ${result.cancelled ?? 'it had already finished its steps'}.`,
    );
  } catch (err) {
    if (err instanceof WorkflowFailedError)
      throw new CliError(`Runbook ${name} for incident ${opts.incident} failed: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}

export async function endMeeting(incident: string, opts: { runbook: string; wait: boolean }): Promise<void> {
  const { client } = await connect();
  const handle = await knownRunbook(client, incident, opts.runbook);
  const bridge = await handle.bridge();
  if (!bridge) throw new CliError(`Runbook ${opts.runbook} of incident ${incident} has not opened a bridge.`);
  // A runbook that no longer runs (terminated, failed) cannot end it: the incident workflow calls Zoom itself.
  const running = (await handle.workflow.describe()).status.name === 'RUNNING';
  // Timeline entries name the runbook without an on-demand run's suffix ("postmortem/on-demand-1").
  const endedBy = running ? (parseRunbookWorkflowId(handle.workflowId)?.runbook ?? opts.runbook) : 'incident';
  if (running) await signalRunbook(handle, () => handle.endBridge());
  else await incidentHandle(client, incident).endBridge({ meetingId: bridge.id });
  const via = running ? '' : ` through the incident (runbook ${opts.runbook} no longer runs)`;
  if (!opts.wait) return void console.log(`End requested for Zoom meeting ${bridge.id} (${bridge.topic})${via}.`);
  progress(`waiting for Zoom to end meeting ${bridge.id}${via}…`);
  const ended = (entries: { source: string; summary: string }[]) =>
    entries.some((e) => e.source === endedBy && e.summary.startsWith(`Zoom meeting ${bridge.id} ended`));
  const deadline = Date.now() + END_WAIT_MS;
  while (Date.now() < deadline) {
    if (ended(await getTimeline(client, incident))) {
      return void console.log(
        `Zoom meeting ${bridge.id} (${bridge.topic}) ended${running ? `; runbook ${opts.runbook} goes on` : via}.`,
      );
    }
    await sleep(500);
  }
  throw new CliError(
    `The end of Zoom meeting ${bridge.id} is recorded, but Zoom has not confirmed it within ${END_WAIT_MS / 1000} s; Temporal keeps trying (see the timeline).`,
  );
}
