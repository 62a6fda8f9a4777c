/** workflows/runbook-run/room.ts: a meeting's room as Zoom's webhooks describe it, and attendance from it. */
import { applyMeetingEvent, attendanceByPerson, emptyRoom, joinsSeen } from '../workflows/runbook-run/room';
import type { ZoomMeetingEvent } from '../workflows/contract';

const at = (minute: number) => new Date(Date.UTC(2031, 0, 1, 10, minute)).toISOString();
const ana = { id: 'p1', name: 'Ana', email: 'ana@example.com' };
const event = (type: ZoomMeetingEvent['type'], minute: number, participant?: typeof ana): ZoomMeetingEvent => ({
  type,
  meetingId: '42',
  at: at(minute),
  ...(participant ? { participant } : {}),
});

describe('meeting room', () => {
  it('follows joins and leaves, and counts each stay', () => {
    const room = emptyRoom();
    applyMeetingEvent(room, event('meeting.participant_joined', 0, ana));
    expect(room.seenLive).toBe(true);
    expect([...room.present.keys()]).toEqual(['p1']);
    applyMeetingEvent(room, event('meeting.participant_left', 5, ana));
    applyMeetingEvent(room, event('meeting.participant_joined', 10, ana));
    applyMeetingEvent(room, event('meeting.participant_left', 12, ana));
    expect(room.present.size).toBe(0);
    expect(joinsSeen(room).map((j) => j.seconds)).toEqual([300, 120]);
    expect(attendanceByPerson(joinsSeen(room))).toEqual([
      { name: 'Ana', email: 'ana@example.com', joinedAt: at(0), leftAt: at(12), seconds: 420 },
    ]);
  });

  it("tells Zoom's own end from the run's, and a restart from an end", () => {
    const room = emptyRoom();
    applyMeetingEvent(room, event('meeting.ended', 30));
    expect(room).toMatchObject({ ended: true, endedInZoom: true });
    applyMeetingEvent(room, event('meeting.started', 31));
    expect(room).toMatchObject({ ended: false, endedInZoom: false, seenLive: true });
  });

  it('ignores a leave without a join (out of order) rather than inventing a stay', () => {
    const room = emptyRoom();
    applyMeetingEvent(room, event('meeting.participant_left', 3, ana));
    expect(room.joins).toEqual([]);
  });

  it('sums rejoins per person, by email or name, longest stay first', () => {
    const people = attendanceByPerson([
      { name: 'Bo', joinedAt: at(5), leftAt: at(6), seconds: 60 },
      { name: 'Ana', email: 'ANA@example.com', joinedAt: at(2), leftAt: at(3), seconds: 60 },
      { name: 'Ana Lima', email: 'ana@example.com', joinedAt: at(0), leftAt: at(1), seconds: 60 },
    ]);
    expect(people.map((p) => [p.name, p.seconds, p.joinedAt, p.leftAt])).toEqual([
      ['Ana', 120, at(0), at(3)],
      ['Bo', 60, at(5), at(6)],
    ]);
  });
});
