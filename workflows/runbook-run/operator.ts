/** What operators ask of a running runbook (besides cancelling it): more people on one of its meetings. */
import { ADD_PARTICIPANTS, CALL_OUT, problems } from '../inputs';
import type { AddParticipantsRequest, AddParticipantsResult, CallOutRequest } from '../contract/runbook';
import { isMeeting, RunbookRun } from './run';

/** The addParticipants update's validator: refuses, naming the field, what the handler could not do. */
export function checkAddParticipants(run: RunbookRun, request: AddParticipantsRequest): void {
  const found = problems(request, ADD_PARTICIPANTS);
  if (found.length) throw new Error(`addParticipants: ${found.join('; ')}`);
  if (!request.emails?.length && !request.alternativeHosts?.length)
    throw new Error('addParticipants needs "emails" or "alternativeHosts" (lists of email addresses).');
  checkMeeting(run, 'addParticipants', request.meeting);
}

/** The callOut update's validator: refuses, naming the field (never the number), what the handler could not do. */
export function checkCallOut(run: RunbookRun, request: CallOutRequest): void {
  const found = problems(request, CALL_OUT);
  if (found.length) throw new Error(`callOut: ${found.join('; ')}`);
  checkMeeting(run, 'callOut', request.meeting);
}

/** The meeting an update names (default: the bridge) is one this run made. */
function checkMeeting(run: RunbookRun, update: string, meeting: string | undefined): void {
  if (meeting !== undefined && !isMeeting(run.outputs[meeting]))
    throw new Error(`${update}: step "${meeting}" has not created a meeting in this run.`);
  if (meeting === undefined && !run.bridge)
    throw new Error(`${update}: this run has no bridge yet; name a meeting step with "meeting".`);
}

/** The addParticipants update: invites them to the meeting (default: the bridge) and says so on the timeline. */
export async function addParticipants(
  run: RunbookRun,
  request: AddParticipantsRequest,
): Promise<AddParticipantsResult> {
  const meetingId = request.meeting ? run.meetingOf(request.meeting) : run.bridge!.id;
  const result = await run.zoom.manageParticipants.executeWithOptions(
    { summary: `Add participants to Zoom meeting ${meetingId}` },
    [
      {
        connector: run.connector,
        meetingId,
        addInvitees: request.emails,
        addAlternativeHosts: request.alternativeHosts,
      },
    ],
  );
  const added = [...(request.emails ?? []), ...(request.alternativeHosts ?? [])];
  await run.post({ status: 'ok', summary: `Added to Zoom meeting ${meetingId} by an operator: ${added.join(', ')}` });
  return { meetingId, invitees: result.invitees, alternativeHosts: result.alternativeHosts };
}
