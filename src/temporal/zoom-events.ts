import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { meetingCreatedSignal } from '../../workflows/contract/incident';
import {
  claimMeetingSignal,
  MEETING_MAILBOX_WORKFLOW_TYPE,
  MeetingClaim,
  MeetingMailboxWorkflow,
  meetingMailboxWorkflowId,
  releaseMeetingSignal,
} from '../../workflows/contract/meeting-mailbox';
import { ZoomMeetingEvent, zoomMeetingEventSignal, ZoomMeetingIdsAttr } from '../../workflows/contract/shared';
import { ZOOM_LOBBY_EVENT_TYPES } from '../core/meeting-events';
import { isWebhookEvent, JoinBeforeHostParticipant, WaitingRoomParticipant, WebhookEnvelope } from '../zoom/webhooks';

/**
 * Zoom's meeting webhooks as runbook workflows take them: the meeting, what happened, who. The
 * recording's passcode and download token stay behind: only the share link travels; of a summary
 * or a transcript, only the instance it is about.
 */
export function meetingEventFromWebhook(envelope: WebhookEnvelope): ZoomMeetingEvent | undefined {
  const at = (iso: string | undefined) => iso ?? new Date(envelope.event_ts ?? Date.now()).toISOString();
  if (isWebhookEvent(envelope, 'meeting.started') || isWebhookEvent(envelope, 'meeting.ended')) {
    const m = envelope.payload.object;
    const when = 'end_time' in m && envelope.event === 'meeting.ended' ? m.end_time : m.start_time;
    return { type: envelope.event, meetingId: m.id, at: at(when), ...(m.uuid ? { uuid: m.uuid } : {}) };
  }
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
      ...(r.uuid ? { uuid: r.uuid } : {}),
      recording: {
        shareUrl: r.share_url,
        files: (r.recording_files ?? []).map((f) => ({ type: f.file_type, sizeBytes: f.file_size })),
      },
    };
  }
  if (isLobbyEvent(envelope)) {
    const { id, participant } = envelope.payload.object;
    return {
      type: envelope.event,
      meetingId: id,
      at: toTheMillisecond(lobbyTime(participant), envelope.event_ts) ?? at(undefined),
      participant: lobbyPerson(participant),
    };
  }
  // Only which instance: the run reads the transcript through Zoom's API with its own token, so
  // neither the webhook's download_token nor the file's URLs travel.
  if (isWebhookEvent(envelope, 'recording.transcript_completed')) {
    const r = envelope.payload.object;
    return { type: envelope.event, meetingId: String(r.id), at: at(undefined), ...(r.uuid ? { uuid: r.uuid } : {}) };
  }
  // Only which instance: the summary's text is fetched by the run, never carried (nor logged) here.
  if (isWebhookEvent(envelope, 'meeting.summary_completed')) {
    const o = envelope.payload.object;
    return { type: envelope.event, meetingId: o.meeting_id, at: at(o.summary_created_time), uuid: o.meeting_uuid };
  }
  return undefined;
}

const LOBBY_EVENTS = new Set<string>(ZOOM_LOBBY_EVENT_TYPES);
type LobbyEventType = (typeof ZOOM_LOBBY_EVENT_TYPES)[number];

function isLobbyEvent(envelope: WebhookEnvelope): envelope is WebhookEnvelope<{
  object: { id: string; participant: WaitingRoomParticipant | JoinBeforeHostParticipant };
}> & { event: LobbyEventType } {
  return LOBBY_EVENTS.has(envelope.event);
}

/**
 * Zoom's time for a lobby event is in whole seconds, and a join and an admission often share one:
 * the envelope's event_ts (milliseconds), when it falls within that second, tells which came first.
 */
function toTheMillisecond(iso: string | undefined, eventTs: number | undefined): string | undefined {
  if (eventTs === undefined) return iso;
  const second = iso === undefined ? undefined : Date.parse(iso);
  if (second === undefined) return new Date(eventTs).toISOString();
  return eventTs >= second && eventTs < second + 1000 ? new Date(eventTs).toISOString() : iso;
}

const lobbyTime = (p: WaitingRoomParticipant | JoinBeforeHostParticipant) =>
  'date_time' in p ? p.date_time : undefined;

/**
 * Who waits, by the per-join ids when Zoom gives them (the waiting room), else by the Zoom user id
 * or the display name (waiting for the host: Zoom gives no per-join id). No email: the lobby shows
 * display names only.
 */
function lobbyPerson(p: WaitingRoomParticipant | JoinBeforeHostParticipant): { id: string; name?: string } {
  const perJoin = 'user_id' in p ? p.participant_uuid || p.user_id : undefined;
  return { id: perJoin || p.id || `name:${p.user_name ?? ''}`, ...(p.user_name ? { name: p.user_name } : {}) };
}

/**
 * Records the event in the meeting's mailbox workflow (signal-with-start): once this returns,
 * Temporal holds it, and the run that created the meeting gets it whenever it claims the meeting.
 * No index has to be current: the mailbox's id is derived from the meeting id.
 */
export async function recordMeetingEvent(
  client: Client,
  taskQueue: string,
  event: ZoomMeetingEvent,
): Promise<{ workflowId: string }> {
  return signalMailbox(client, taskQueue, event.meetingId, zoomMeetingEventSignal, event);
}

/**
 * Makes `owner` (a runbook run's workflow id) follow the meeting: its mailbox forwards what it
 * holds and all that comes. The incident, when named, keeps the meeting too (an incident that has
 * ended keeps nothing more).
 */
export async function claimMeetingMailbox(
  client: Client,
  taskQueue: string,
  { meetingId, owner, incident }: MeetingClaim,
): Promise<void> {
  // Both must be durable before the create answers, in no particular order: sent together, the
  // answer waits for one round trip to Temporal, not two. Each is idempotent, so a retry sends both.
  await Promise.all([
    signalMailbox(client, taskQueue, meetingId, claimMeetingSignal, { owner }),
    incident && tellIncident(client, incident),
  ]);
}

async function tellIncident(client: Client, { workflowId, record }: NonNullable<MeetingClaim['incident']>) {
  try {
    await client.workflow.getHandle(workflowId).signal(meetingCreatedSignal, record);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/**
 * The run `owner` no longer follows the meeting (it removed it). By signal-with-start: when the
 * mailbox does not exist yet, a claim from a create that the run had cut short can still come
 * later, and must find the release there.
 */
export async function releaseMeetingMailbox(
  client: Client,
  taskQueue: string,
  { meetingId, owner }: { meetingId: string; owner: string },
): Promise<void> {
  await signalMailbox(client, taskQueue, meetingId, releaseMeetingSignal, { owner });
}

/** Signal-with-start of a meeting's mailbox: whoever comes first (a webhook, the create's claim, a release) starts it. */
async function signalMailbox<T>(
  client: Client,
  taskQueue: string,
  meetingId: string,
  signal: SignalDefinition<[T]>,
  arg: T,
): Promise<{ workflowId: string }> {
  assertMeetingId(meetingId);
  const workflowId = meetingMailboxWorkflowId(meetingId);
  await client.workflow.signalWithStart<MeetingMailboxWorkflow, [T]>(MEETING_MAILBOX_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [{ meetingId }],
    signal,
    signalArgs: [arg],
    staticSummary: `Zoom meeting ${meetingId}: webhooks for the run that created it`,
  });
  return { workflowId };
}

/**
 * Signals the event to every running runbook that lists the meeting in its ZoomMeetingIds search
 * attribute, and returns how many there were: for runs from before the mailboxes, once a mailbox
 * finds nobody claimed its meeting.
 */
export async function deliverMeetingEvent(client: Client, event: ZoomMeetingEvent): Promise<number> {
  assertMeetingId(event.meetingId);
  const query = `${ZoomMeetingIdsAttr.name} = '${event.meetingId}' AND ExecutionStatus = 'Running'`;
  let delivered = 0;
  for await (const run of client.workflow.list({ query })) {
    await client.workflow.getHandle(run.workflowId, run.runId).signal(zoomMeetingEventSignal, event);
    delivered++;
  }
  return delivered;
}

/** Zoom meeting ids are numbers; anything else would be a query injection or a strange workflow id. */
function assertMeetingId(meetingId: string): void {
  if (!/^\d{1,20}$/.test(meetingId))
    throw new Error(`Not a Zoom meeting id: ${JSON.stringify(meetingId.slice(0, 40))}`);
}
