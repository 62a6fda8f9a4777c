/** A meeting's room as Zoom's webhooks describe it to the run that created the meeting: pure, so unit-testable. */
import type { AttendanceRecord } from '../../activities';
import type { ZoomMeetingEvent } from '../contract/shared';
import { applyLobbyEvent, emptyLobby, Lobby } from './lobby';

/** Meetings, participants and recordings, per meeting a run created, as Zoom's webhooks told it. */
export interface MeetingRoom {
  ended: boolean;
  /** Zoom's webhooks said the meeting was live (started, or someone joined). */
  seenLive?: boolean;
  /** Zoom's own meeting.ended has arrived (after the participants' leaves), not only our end call. */
  endedInZoom?: boolean;
  /** Participants in the room now, by participant id. */
  present: Map<string, { name?: string; email?: string }>;
  /** Every join, as it happened: the attendance when Zoom's report has none. */
  joins: (AttendanceRecord & { participantId: string })[];
  recording?: ZoomMeetingEvent['recording'];
  /** The UUID of the latest instance Zoom's webhooks named (started or ended). */
  uuid?: string;
  /** meeting.summary_completed came: the UUID of the instance whose AI Companion summary is ready. */
  summaryUuid?: string;
  /** Who waits to get in (the waiting room, or for the host). */
  lobby: Lobby;
  /**
   * How many times Zoom said a transcript is ready (recording.transcript_completed, or a
   * recording.completed listing a TRANSCRIPT file), and of which instance the last time.
   */
  transcriptsAnnounced?: number;
  transcriptUuid?: string;
}

export function emptyRoom(): MeetingRoom {
  return { ended: false, present: new Map(), joins: [], lobby: emptyLobby() };
}

export function applyMeetingEvent(room: MeetingRoom, event: ZoomMeetingEvent): void {
  if (event.type === 'meeting.ended') Object.assign(room, { ended: true, endedInZoom: true });
  if (event.type === 'meeting.started') Object.assign(room, { ended: false, endedInZoom: false, seenLive: true });
  const who = event.participant;
  if (event.type === 'meeting.participant_joined' && who) {
    room.seenLive = true;
    room.present.set(who.id, who);
    room.joins.push({
      participantId: who.id,
      name: who.name ?? who.email ?? who.id,
      email: who.email,
      joinedAt: event.at,
      seconds: 0,
    });
  }
  if (event.type === 'meeting.participant_left' && who) {
    room.present.delete(who.id);
    const join = [...room.joins].reverse().find((j) => j.participantId === who.id && !j.leftAt);
    if (join)
      Object.assign(join, {
        leftAt: event.at,
        seconds: Math.max(0, (Date.parse(event.at) - Date.parse(join.joinedAt)) / 1000),
      });
  }
  if (event.type === 'recording.completed') room.recording = event.recording;
  if ((event.type === 'meeting.started' || event.type === 'meeting.ended') && event.uuid) room.uuid = event.uuid;
  if (event.type === 'meeting.summary_completed' && event.uuid) room.summaryUuid = event.uuid;
  applyLobbyEvent(room.lobby, event);
  const transcript =
    event.type === 'recording.transcript_completed' ||
    (event.type === 'recording.completed' && !!event.recording?.files.some((f) => f.type === 'TRANSCRIPT'));
  if (transcript) {
    room.transcriptsAnnounced = (room.transcriptsAnnounced ?? 0) + 1;
    if (event.uuid) room.transcriptUuid = event.uuid;
  }
}

/** The webhooks' joins as attendance records. */
export function joinsSeen(room: MeetingRoom): AttendanceRecord[] {
  return room.joins.map(({ participantId: _id, ...join }) => join);
}

/** Zoom lists one record per join; people who rejoined are summed. */
export function attendanceByPerson(records: AttendanceRecord[]): AttendanceRecord[] {
  const people = new Map<string, AttendanceRecord>();
  for (const r of records) {
    const key = (r.email ?? r.name).toLowerCase();
    const p = people.get(key);
    if (!p) people.set(key, { ...r });
    else {
      p.seconds += r.seconds;
      if (r.joinedAt < p.joinedAt) p.joinedAt = r.joinedAt;
      if (r.leftAt && (!p.leftAt || r.leftAt > p.leftAt)) p.leftAt = r.leftAt;
    }
  }
  return [...people.values()].sort((a, b) => b.seconds - a.seconds);
}
