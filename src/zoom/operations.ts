/**
 * Facts about each Zoom operation we use, from Zoom's API reference (each endpoint's page, and
 * developers.zoom.us/docs/api/rate-limits/): the scopes that allow it (classic user level, classic :admin, granular; holding any
 * one is enough, Zoom lists every level as an alternative), its rate-limit category, and whether it
 * counts toward the host's 100 meeting create/update calls per UTC day.
 */
export type RateCategory = 'Light' | 'Medium' | 'Heavy';

export interface OperationFacts {
  scopes: readonly string[];
  category: RateCategory;
  /** Counts toward the per-host daily create/update limit (100 per UTC day). */
  hostDaily?: boolean;
}

export const OPERATIONS = {
  createMeeting: {
    scopes: ['meeting:write', 'meeting:write:admin', 'meeting:write:meeting', 'meeting:write:meeting:admin'],
    category: 'Medium',
    hostDaily: true,
  },
  getMeeting: {
    scopes: ['meeting:read', 'meeting:read:admin', 'meeting:read:meeting', 'meeting:read:meeting:admin'],
    category: 'Light',
  },
  updateMeeting: {
    scopes: ['meeting:write', 'meeting:write:admin', 'meeting:update:meeting', 'meeting:update:meeting:admin'],
    category: 'Light',
    hostDaily: true,
  },
  deleteMeeting: {
    scopes: ['meeting:write', 'meeting:write:admin', 'meeting:delete:meeting', 'meeting:delete:meeting:admin'],
    category: 'Light',
  },
  endMeeting: {
    scopes: ['meeting:write', 'meeting:write:admin', 'meeting:update:status', 'meeting:update:status:admin'],
    category: 'Light',
  },
  listMeetings: {
    scopes: ['meeting:read', 'meeting:read:admin', 'meeting:read:list_meetings', 'meeting:read:list_meetings:admin'],
    category: 'Medium',
  },
  // PATCH /live_meetings/{meetingId}/events: recording control (and invitations) in a live meeting.
  inMeetingControl: {
    scopes: [
      'meeting:write',
      'meeting:write:admin',
      'meeting:update:in_meeting_controls',
      'meeting:update:in_meeting_controls:admin',
    ],
    category: 'Medium',
  },
  addRegistrant: {
    scopes: ['meeting:write', 'meeting:write:admin', 'meeting:write:registrant', 'meeting:write:registrant:admin'],
    category: 'Light',
  },
  listPastParticipants: {
    scopes: [
      'meeting:read',
      'meeting:read:admin',
      'meeting:read:list_past_participants',
      'meeting:read:list_past_participants:admin',
    ],
    category: 'Medium',
  },
  getPastMeeting: {
    scopes: ['meeting:read', 'meeting:read:admin', 'meeting:read:past_meeting', 'meeting:read:past_meeting:admin'],
    category: 'Light',
  },
  // GET /meetings/{meetingUUID}/meeting_summary (AI Companion, 2023-11; not in the 2023 OpenAPI copy):
  // classic meeting_summary:read[:admin], granular meeting:read:summary[:admin].
  getMeetingSummary: {
    scopes: [
      'meeting_summary:read',
      'meeting_summary:read:admin',
      'meeting:read:summary',
      'meeting:read:summary:admin',
    ],
    category: 'Light',
  },
  // Zoom's 2023 spec lists phone_recording:read:admin here, which looks like a documentation error;
  // the older spec's recording:read:admin is the safe reading.
  getRecordings: {
    scopes: [
      'recording:read',
      'recording:read:admin',
      'cloud_recording:read:list_recording_files',
      'cloud_recording:read:list_recording_files:admin',
    ],
    category: 'Light',
  },
  // GET /meetings/{meetingId}/transcript (2025; not in the 2023 OpenAPI copy): Zoom's page lists the
  // granular cloud_recording:read:meeting_transcript[:admin]; classic apps read cloud recordings with
  // recording:read[:admin].
  getMeetingTranscript: {
    scopes: [
      'recording:read',
      'recording:read:admin',
      'cloud_recording:read:meeting_transcript',
      'cloud_recording:read:meeting_transcript:admin',
    ],
    category: 'Light',
  },
  // A transcript file at the download_url Zoom gave (recordings or the transcript endpoint), read
  // with the access token: whatever scope let us list the file lets us read it. Not an API endpoint
  // with a rate label of its own.
  downloadTranscript: {
    scopes: [
      'recording:read',
      'recording:read:admin',
      'cloud_recording:read:list_recording_files',
      'cloud_recording:read:list_recording_files:admin',
      'cloud_recording:read:meeting_transcript',
      'cloud_recording:read:meeting_transcript:admin',
    ],
    category: 'Light',
  },
  updateRecordingSettings: {
    scopes: [
      'recording:write',
      'recording:write:admin',
      'cloud_recording:update:recording_settings',
      'cloud_recording:update:recording_settings:admin',
    ],
    category: 'Light',
  },
  getUser: {
    scopes: [
      'user:read',
      'user:write',
      'user:read:admin',
      'user:write:admin',
      'user_profile',
      'user_info:read',
      'user:read:user',
      'user:read:user:admin',
    ],
    category: 'Light',
  },
} as const satisfies Record<string, OperationFacts>;

export type ZoomOperation = keyof typeof OPERATIONS;
