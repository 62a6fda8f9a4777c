/** Runbook inputs to Zoom's request shapes, and Zoom's answers to what a run may keep. */
import { activityInfo } from '@temporalio/activity';
import type { DialInNumber, MeetingSummary } from '../workflows/contract';
import { CallOutControl, CreateMeetingRecurrence, Meeting, MeetingSettings, RecordingControl } from '../src/zoom/types';
import type { CallOutInput, CreateMeetingInput, RecordingAction, Weekday } from './types';

/** A new bridge: join before host, no waiting room, no recording, unless the runbook says otherwise. */
export function meetingSettings(input: CreateMeetingInput): MeetingSettings {
  return {
    ...zoomSettings({ joinBeforeHost: true, waitingRoom: false, autoRecording: 'none', ...input.settings }),
    meeting_invitees: input.invitees?.map((email) => ({ email })),
    alternative_hosts: input.alternativeHosts?.join(';'),
  };
}

/** Runbook setting names to Zoom's; settings left out stay out (an update changes only those given). */
export function zoomSettings(s: NonNullable<CreateMeetingInput['settings']>): MeetingSettings {
  return {
    join_before_host: s.joinBeforeHost,
    waiting_room: s.waitingRoom,
    auto_recording: s.autoRecording,
    mute_upon_entry: s.muteUponEntry,
    auto_start_meeting_summary: s.summary === undefined ? undefined : s.summary === 'auto',
    // Registration: approved automatically (0); Zoom's "no registration" is 2.
    approval_type: s.registration === undefined ? undefined : s.registration ? 0 : 2,
    breakout_room: s.breakoutRooms && {
      enable: true,
      rooms: s.breakoutRooms.map((r) => ({ name: r.name, participants: r.participants })),
    },
  };
}

export const ZOOM_WEEKDAY: Record<Weekday, number> = { sun: 1, mon: 2, tue: 3, wed: 4, thu: 5, fri: 6, sat: 7 };
/** Zoom's longest fixed-time series: 60 occurrences (two months daily); "while open" ends earlier by deletion. */
export const MAX_OCCURRENCES = 60;

export function zoomRecurrence(
  r: NonNullable<CreateMeetingInput['recurrence']>,
  start: Date,
  timezone = 'UTC',
): CreateMeetingRecurrence {
  if (r.every === 'day') return { type: 1, repeat_interval: 1, end_times: MAX_OCCURRENCES };
  const firstDay = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: timezone })
    .format(start)
    .toLowerCase()
    .slice(0, 3) as Weekday;
  const days = (r.on ?? [firstDay]).map((d) => ZOOM_WEEKDAY[d]).sort();
  return { type: 2, repeat_interval: 1, weekly_days: days.join(','), end_times: MAX_OCCURRENCES };
}

/** A list of addresses with some added and some removed, each once, in order. */
export function edit(current: string[], add: string[] = [], remove: string[] = []): string[] {
  const gone = new Set(remove.map((e) => e.toLowerCase()));
  const seen = new Set<string>();
  return [...current, ...add]
    .map((e) => e.trim())
    .filter((e) => e && !gone.has(e.toLowerCase()) && !seen.has(e.toLowerCase()) && seen.add(e.toLowerCase()));
}

/**
 * Only what may be shared: never start_url (it lets anyone host) nor a passcode (the meeting's,
 * or the phone one, pstn_password / h323_password: the dial-in numbers are copied field by field).
 */
export function summarise(m: Meeting, created: boolean): MeetingSummary {
  const retried = activityInfo().attempt > 1;
  const dialIn = m.settings?.global_dial_in_numbers?.map(({ country, number, city, type }): DialInNumber => ({
    country,
    number,
    ...(city ? { city } : {}),
    ...(type ? { type } : {}),
  }));
  return {
    id: String(m.id),
    topic: m.topic,
    joinUrl: m.join_url,
    hostEmail: m.host_email,
    startTime: m.start_time,
    created,
    ...(retried ? { retried } : {}),
    ...(dialIn?.length ? { dialIn } : {}),
  };
}

/** A runbook's recording action as Zoom's in-meeting control method. */
export function recordingMethod(action: RecordingAction): RecordingControl['method'] {
  return `recording.${action}`;
}

/** A call-out as Zoom's in-meeting control; options the step leaves out keep Zoom's defaults. */
export function callOutControl({ name, phone, requireGreeting, requirePressingOne }: CallOutInput): CallOutControl {
  const options = {
    ...(requireGreeting !== undefined ? { require_greeting: requireGreeting } : {}),
    ...(requirePressingOne !== undefined ? { require_pressing_one: requirePressingOne } : {}),
  };
  return {
    method: 'participant.invite.callout',
    params: {
      invitee_name: name,
      phone_number: phone,
      ...(Object.keys(options).length ? { invite_options: options } : {}),
    },
  };
}
