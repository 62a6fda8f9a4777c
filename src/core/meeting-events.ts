/** Zoom's meeting webhooks that runbooks follow: read by the webhook parser and the workflows' contract alike (pure, no imports). */
export const ZOOM_MEETING_EVENT_TYPES = [
  'meeting.started',
  'meeting.ended',
  'meeting.participant_joined',
  'meeting.participant_left',
  'recording.completed',
  'meeting.summary_completed',
  'recording.transcript_completed',
] as const;
