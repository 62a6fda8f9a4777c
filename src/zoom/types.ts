import { z } from 'zod';

/** Zoom meeting types: 1 instant, 2 scheduled, 3 recurring without fixed time, 8 recurring fixed time. */
export type MeetingType = 1 | 2 | 3 | 8;

export interface MeetingSettings {
  join_before_host?: boolean;
  jbh_time?: 0 | 5 | 10;
  waiting_room?: boolean;
  auto_recording?: 'local' | 'cloud' | 'none';
  alternative_hosts?: string;
  meeting_invitees?: { email: string }[];
  approval_type?: 0 | 1 | 2;
  breakout_room?: { enable: boolean; rooms?: { name: string; participants?: string[] }[] };
  mute_upon_entry?: boolean;
  /** AI Companion's meeting summary starts with the meeting (not in the 2023 OpenAPI copy; Zoom documents it since). */
  auto_start_meeting_summary?: boolean;
  host_video?: boolean;
  participant_video?: boolean;
}

/** Request body of `POST /users/{userId}/meetings` (the fields we send). */
export interface CreateMeetingRequest {
  topic: string;
  type?: MeetingType;
  /** UTC, `yyyy-MM-ddTHH:mm:ssZ`: Zoom also takes local time plus `timezone`, but its spec's date-time format does not. */
  start_time?: string;
  duration?: number;
  timezone?: string;
  agenda?: string;
  password?: string;
  default_password?: boolean;
  /** Only with type 8 (recurring, fixed time). */
  recurrence?: CreateMeetingRecurrence;
  settings?: MeetingSettings;
}

/** Zoom's cloud-recording controls of a live meeting (`PATCH /live_meetings/{id}/events`). */
export const RECORDING_METHODS = ['recording.start', 'recording.stop', 'recording.pause', 'recording.resume'] as const;

/** Request body of `PATCH /live_meetings/{meetingId}/events` (the methods we use). */
export type InMeetingControl = RecordingControl | CallOutControl;

export interface RecordingControl {
  method: (typeof RECORDING_METHODS)[number];
}

/**
 * Zoom phones someone into the meeting (its call-out feature must be on for the account). Unlike
 * the recording controls it works for a meeting that is not live yet.
 */
export interface CallOutControl {
  method: 'participant.invite.callout';
  params: {
    invitee_name: string;
    /** With the country code (E.164). */
    phone_number: string;
    /** Zoom's defaults: both true. */
    invite_options?: { require_greeting?: boolean; require_pressing_one?: boolean };
  };
}

/**
 * One of `settings.global_dial_in_numbers` (create and get answers). A malformed list is dropped
 * rather than failing the call: a meeting Zoom has made must not be lost over its phone numbers.
 */
const dialInNumbersSchema = z
  .array(
    z
      .object({
        country: z.string(),
        number: z.string(),
        city: z.string().optional(),
        type: z.string().optional(),
        country_name: z.string().optional(),
      })
      .passthrough(),
  )
  .optional()
  .catch(undefined);

/**
 * The parts of Zoom's meeting object our logic reads. Zoom sends more; passthrough keeps it for
 * callers that need it while the fields we rely on are checked.
 */
export const meetingSchema = z
  .object({
    id: z.number().int(),
    uuid: z.string().optional(),
    host_id: z.string().optional(),
    host_email: z.string().optional(),
    topic: z.string(),
    type: z.number().int(),
    status: z.string().optional(),
    start_time: z.string().optional(),
    duration: z.number().optional(),
    timezone: z.string().optional(),
    agenda: z.string().optional(),
    created_at: z.string().optional(),
    join_url: z.string(),
    start_url: z.string().optional(),
    password: z.string().optional(),
    settings: z.object({ global_dial_in_numbers: dialInNumbersSchema }).passthrough().optional(),
  })
  .passthrough();
export type Meeting = z.infer<typeof meetingSchema>;

export const meetingListSchema = z.object({
  next_page_token: z.string().optional(),
  page_size: z.number().optional(),
  total_records: z.number().optional(),
  meetings: z.array(
    z
      .object({
        id: z.number().int(),
        uuid: z.string().optional(),
        host_id: z.string().optional(),
        topic: z.string().optional(),
        agenda: z.string().optional(),
        join_url: z.string().optional(),
        start_time: z.string().optional(),
      })
      .passthrough(),
  ),
});
export type MeetingList = z.infer<typeof meetingListSchema>;

export interface CreateMeetingRecurrence {
  type: 1 | 2 | 3;
  repeat_interval?: number;
  weekly_days?: string;
  monthly_day?: number;
  monthly_week?: -1 | 1 | 2 | 3 | 4;
  monthly_week_day?: number;
  end_times?: number;
  end_date_time?: string;
}

export interface RegistrantRequest {
  email: string;
  first_name: string;
  last_name?: string;
  auto_approve?: boolean;
}

export const registrantSchema = z
  .object({
    id: z.number().optional(),
    registrant_id: z.string(),
    join_url: z.string(),
    topic: z.string().optional(),
    start_time: z.string().optional(),
  })
  .passthrough();
export type Registrant = z.infer<typeof registrantSchema>;

const participantSchema = z
  .object({
    id: z.string().optional(),
    user_id: z.string().optional(),
    name: z.string().optional(),
    user_email: z.string().optional(),
    join_time: z.string().optional(),
    leave_time: z.string().optional(),
    duration: z.number().optional(),
    status: z.string().optional(),
  })
  .passthrough();
export type Participant = z.infer<typeof participantSchema>;

export const participantPageSchema = z
  .object({
    participants: z.array(participantSchema),
    next_page_token: z.string().optional(),
    total_records: z.number().optional(),
  })
  .passthrough();

export const recordingsSchema = z
  .object({
    uuid: z.string().optional(),
    id: z.number().optional(),
    topic: z.string().optional(),
    share_url: z.string().optional(),
    recording_count: z.number().optional(),
    recording_files: z
      .array(
        z
          .object({
            id: z.string().optional(),
            file_type: z.string().optional(),
            status: z.string().optional(),
            play_url: z.string().optional(),
            download_url: z.string().optional(),
          })
          .passthrough(),
      )
      .default([]),
  })
  .passthrough();
export type Recordings = z.infer<typeof recordingsSchema>;

/** `GET /past_meetings/{meetingId}`: given a meeting id, Zoom answers for its latest ended instance. */
export const pastMeetingSchema = z
  .object({ uuid: z.string().min(1), id: z.number().optional(), end_time: z.string().optional() })
  .passthrough();

/**
 * `GET /meetings/{meetingUUID}/meeting_summary` (AI Companion; not in the 2023 OpenAPI copy, fields
 * as Zoom documents them). Zoom leaves the content out for some accounts: every field may be missing.
 */
export const meetingSummarySchema = z
  .object({
    meeting_uuid: z.string().optional(),
    meeting_id: z.number().optional(),
    summary_title: z.string().optional(),
    summary_overview: z.string().optional(),
    summary_details: z
      .array(z.object({ label: z.string().optional(), summary: z.string().optional() }).passthrough())
      .default([]),
    next_steps: z.array(z.string()).default([]),
  })
  .passthrough();
export type ZoomMeetingSummary = z.infer<typeof meetingSummarySchema>;

/**
 * `GET /meetings/{meetingId}/transcript` (2025; not in the 2023 OpenAPI copy, fields as Zoom
 * documents them): where the meeting's transcript can be downloaded, or why it cannot
 * (`download_restriction_reason`: DELETED_OR_TRASHED, UNSUPPORTED, NO_TRANSCRIPT_DATA, NOT_READY).
 */
export const meetingTranscriptSchema = z
  .object({
    meeting_id: z.string().optional(),
    meeting_topic: z.string().optional(),
    transcript_created_time: z.string().optional(),
    can_download: z.boolean().optional(),
    download_url: z.string().optional(),
    download_restriction_reason: z.string().optional(),
  })
  .passthrough();

export interface RecordingSettings {
  share_recording?: 'publicly' | 'internally' | 'none';
  recording_authentication?: boolean;
  viewer_download?: boolean;
  password?: string;
  on_demand?: boolean;
  approval_type?: 0 | 1 | 2;
  send_email_to_host?: boolean;
  show_social_share_buttons?: boolean;
  topic?: string;
  auto_delete?: boolean;
}

export const userSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    first_name: z.string().optional(),
    last_name: z.string().optional(),
    type: z.number().optional(),
    status: z.string().optional(),
    timezone: z.string().optional(),
  })
  .passthrough();
export type ZoomUser = z.infer<typeof userSchema>;
