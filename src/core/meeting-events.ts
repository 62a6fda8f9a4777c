/** Zoom's meeting webhooks that runbooks follow: read by the webhook parser and the workflows' contract alike (pure, no imports). */

/** The lobby: who waits for the host or in the waiting room, and how each got out of it. Each names one participant. */
export const ZOOM_LOBBY_EVENT_TYPES = [
  'meeting.participant_jbh_waiting',
  'meeting.participant_jbh_waiting_left',
  'meeting.participant_jbh_joined',
  'meeting.participant_joined_waiting_room',
  'meeting.participant_put_in_waiting_room',
  'meeting.participant_admitted',
  'meeting.participant_left_waiting_room',
] as const;

export const ZOOM_MEETING_EVENT_TYPES = [
  'meeting.started',
  'meeting.ended',
  'meeting.participant_joined',
  'meeting.participant_left',
  'recording.completed',
  'meeting.summary_completed',
  ...ZOOM_LOBBY_EVENT_TYPES,
  'recording.transcript_completed',
] as const;
