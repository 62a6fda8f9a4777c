import type { Client } from '@temporalio/client';
import { ZoomMeetingEvent, zoomMeetingEventSignal, ZoomMeetingIdsAttr } from '../workflows/definitions';
import { isWebhookEvent, WebhookEnvelope } from './zoom/webhooks';

/**
 * Zoom's meeting webhooks as runbook workflows take them: the meeting, what happened, who. The
 * recording's passcode and download token stay behind: only the share link travels.
 */
export function meetingEventFromWebhook(envelope: WebhookEnvelope): ZoomMeetingEvent | undefined {
  const at = (iso: string | undefined) => iso ?? new Date(envelope.event_ts ?? Date.now()).toISOString();
  if (isWebhookEvent(envelope, 'meeting.started')) return { type: envelope.event, meetingId: envelope.payload.object.id, at: at(envelope.payload.object.start_time) };
  if (isWebhookEvent(envelope, 'meeting.ended')) return { type: envelope.event, meetingId: envelope.payload.object.id, at: at(envelope.payload.object.end_time) };
  if (isWebhookEvent(envelope, 'meeting.participant_joined') || isWebhookEvent(envelope, 'meeting.participant_left')) {
    const p = envelope.payload.object.participant;
    const when = 'join_time' in p && envelope.event === 'meeting.participant_joined' ? p.join_time : p.leave_time;
    return {
      type: envelope.event,
      meetingId: envelope.payload.object.id,
      at: at(when),
      participant: { id: p.participant_uuid || p.user_id, name: p.user_name, email: p.email || undefined },
    };
  }
  if (isWebhookEvent(envelope, 'recording.completed')) {
    const r = envelope.payload.object;
    return {
      type: envelope.event,
      meetingId: String(r.id),
      at: at(undefined),
      recording: { shareUrl: r.share_url, files: (r.recording_files ?? []).map((f) => ({ type: f.file_type, sizeBytes: f.file_size })) },
    };
  }
  return undefined;
}

/**
 * Signals the event to every running runbook that created the meeting (found through the
 * ZoomMeetingIds search attribute) and returns how many there were.
 */
export async function deliverMeetingEvent(client: Client, event: ZoomMeetingEvent): Promise<number> {
  // Zoom meeting ids are numbers; anything else would be a query injection.
  if (!/^\d{1,20}$/.test(event.meetingId)) throw new Error(`Not a Zoom meeting id: ${JSON.stringify(event.meetingId.slice(0, 40))}`);
  const query = `${ZoomMeetingIdsAttr.name} = '${event.meetingId}' AND ExecutionStatus = 'Running'`;
  let delivered = 0;
  for await (const run of client.workflow.list({ query })) {
    await client.workflow.getHandle(run.workflowId, run.runId).signal(zoomMeetingEventSignal, event);
    delivered++;
  }
  return delivered;
}
