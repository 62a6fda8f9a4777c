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
  host_video?: boolean;
  participant_video?: boolean;
}

/** Request body of `POST /users/{userId}/meetings` (the fields we send). */
export interface CreateMeetingRequest {
  topic: string;
  type?: MeetingType;
  start_time?: string;
  duration?: number;
  timezone?: string;
  agenda?: string;
  password?: string;
  default_password?: boolean;
  settings?: MeetingSettings;
}

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
        topic: z.string().optional(),
        agenda: z.string().optional(),
        join_url: z.string().optional(),
        start_time: z.string().optional(),
      })
      .passthrough(),
  ),
});
export type MeetingList = z.infer<typeof meetingListSchema>;
