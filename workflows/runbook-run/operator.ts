/** What operators ask of a running runbook (besides cancelling it): more people on one of its meetings. */
import { ADD_PARTICIPANTS, problems } from '../inputs';
import type { AddParticipantsRequest, AddParticipantsResult } from '../contract/runbook';
import { isMeeting, RunbookRun } from './run';

/** The addParticipants update's validator: refuses, naming the field, what the handler could not do. */
export function checkAddParticipants(run: RunbookRun, request: AddParticipantsRequest): void {
  const found = problems(request, ADD_PARTICIPANTS);
  if (found.length) throw new Error(`addParticipants: ${found.join('; ')}`);
  if (!request.emails?.length && !request.alternativeHosts?.length)
    throw new Error('addParticipants needs "emails" or "alternativeHosts" (lists of email addresses).');
  if (request.meeting !== undefined && !isMeeting(run.outputs[request.meeting]))
    throw new Error(`addParticipants: step "${request.meeting}" has not created a meeting in this run.`);
  if (request.meeting === undefined && !run.bridge)
    throw new Error('addParticipants: this run has no bridge yet; name a meeting step with "meeting".');
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
