/** workflows/runbook-run/lobby.ts: who waits to get into a meeting, from Zoom's lobby webhooks, late and twice as they may come. */
import {
  applyLobbyEvent,
  clearLobby,
  emptyLobby,
  Lobby,
  shownName,
  takeLobbyNews,
  waitingList,
} from '../workflows/runbook-run/lobby';
import type { ZoomMeetingEvent } from '../workflows/contract';

const at = (second: number) => new Date(Date.UTC(2031, 0, 1, 10, 0, second)).toISOString();
const ms = (second: number) => Date.parse(at(second));
const dana = { id: 'uuid-dana', name: 'Dana Lee' };
const guest = { id: 'name:Guest', name: 'Guest' };
const event = (type: ZoomMeetingEvent['type'], second: number, participant?: { id: string; name?: string }) => ({
  type,
  meetingId: '42',
  at: at(second),
  ...(participant ? { participant } : {}),
});
const apply = (lobby: Lobby, ...events: ZoomMeetingEvent[]) => events.forEach((e) => applyLobbyEvent(lobby, e));
/** What the timeline would say at `second` with a 60 s threshold. */
const news = (lobby: Lobby, second: number) => {
  const { alerts, cleared, nextDue } = takeLobbyNews(lobby, ms(second), 60_000);
  return {
    alerts: alerts.map((w) => `${w.name} since ${w.since} (${w.waitsFor})`),
    cleared: cleared.map((c) => `${c.waiter.name}: ${c.why}`),
    nextDue,
  };
};

describe('lobby', () => {
  it('alerts once someone has waited in the waiting room past the threshold, and clears it when they are admitted', () => {
    const lobby = emptyLobby();
    apply(lobby, event('meeting.participant_joined_waiting_room', 0, dana));
    expect(news(lobby, 30)).toEqual({ alerts: [], cleared: [], nextDue: ms(60) });
    expect(news(lobby, 60).alerts).toEqual([`Dana Lee since ${at(0)} (admission)`]);
    expect(news(lobby, 90)).toEqual({ alerts: [], cleared: [], nextDue: undefined });
    expect(waitingList(lobby)).toEqual([{ name: 'Dana Lee', since: '2031-01-01T10:00:00Z', waitsFor: 'admission' }]);
    apply(lobby, event('meeting.participant_admitted', 95, dana), event('meeting.participant_joined', 95, dana));
    expect(news(lobby, 96).cleared).toEqual(['Dana Lee: admitted']);
    expect(waitingList(lobby)).toEqual([]);
  });

  it('says nothing of someone admitted before the threshold', () => {
    const lobby = emptyLobby();
    apply(lobby, event('meeting.participant_put_in_waiting_room', 0, dana));
    apply(lobby, event('meeting.participant_admitted', 10, dana));
    expect(news(lobby, 120)).toEqual({ alerts: [], cleared: [], nextDue: undefined });
  });

  it('takes the same webhook delivered twice as one wait, before and after the alert', () => {
    const lobby = emptyLobby();
    const waits = event('meeting.participant_joined_waiting_room', 0, dana);
    apply(lobby, waits, waits);
    expect(news(lobby, 60).alerts).toHaveLength(1);
    apply(lobby, waits);
    expect(news(lobby, 120).alerts).toEqual([]);
    apply(lobby, event('meeting.participant_left_waiting_room', 130, dana), waits);
    expect(news(lobby, 200)).toEqual({ alerts: [], cleared: ['Dana Lee: left the waiting room'], nextDue: undefined });
  });

  it('leaves nobody waiting when an admission overtakes the webhook that put them in the waiting room', () => {
    const lobby = emptyLobby();
    apply(
      lobby,
      event('meeting.participant_admitted', 5, dana),
      event('meeting.participant_put_in_waiting_room', 0, dana),
    );
    // Within the same second (Zoom's times are in seconds) too.
    apply(
      lobby,
      event('meeting.participant_admitted', 7, guest),
      event('meeting.participant_joined_waiting_room', 7, guest),
    );
    expect(lobby.waiting.size).toBe(0);
    expect(news(lobby, 300).alerts).toEqual([]);
    // A later wait is a new one.
    apply(lobby, event('meeting.participant_put_in_waiting_room', 400, dana));
    expect(news(lobby, 460).alerts).toEqual([`Dana Lee since ${at(400)} (admission)`]);
  });

  it('ignores an exit older than the wait it would end (a late delivery from an earlier stay)', () => {
    const lobby = emptyLobby();
    apply(
      lobby,
      event('meeting.participant_put_in_waiting_room', 100, dana),
      event('meeting.participant_admitted', 50, dana),
    );
    expect(lobby.waiting.size).toBe(1);
  });

  it('waiting for the host: cleared when the host starts the meeting, or by the join that names them', () => {
    const lobby = emptyLobby();
    apply(lobby, event('meeting.participant_jbh_waiting', 0, guest));
    expect(news(lobby, 60).alerts).toEqual([`Guest since ${at(0)} (host)`]);
    apply(lobby, event('meeting.started', 70));
    expect(news(lobby, 71).cleared).toEqual(['Guest: the host started the meeting']);
    // A jbh webhook that comes after the start it preceded is ignored.
    apply(lobby, event('meeting.participant_jbh_waiting', 65, guest));
    expect(lobby.waiting.size).toBe(0);

    // Zoom's join gives a per-join id, not the one the wait had: the display name ties them.
    const other = emptyLobby();
    apply(other, event('meeting.participant_jbh_waiting', 0, guest));
    expect(news(other, 60).alerts).toHaveLength(1);
    apply(other, event('meeting.participant_joined', 80, { id: 'uuid-guest', name: 'guest' }));
    expect(news(other, 81).cleared).toEqual(['Guest: joined the meeting']);
    // Someone waiting in the waiting room is never taken for another by name.
    apply(other, event('meeting.participant_joined_waiting_room', 90, dana));
    apply(other, event('meeting.participant_joined', 95, { id: 'uuid-2', name: 'Dana Lee' }));
    expect(other.waiting.size).toBe(1);
  });

  it('gave up waiting for the host, joined before the host, the meeting ended, the run stopped following', () => {
    const lobby = emptyLobby();
    apply(lobby, event('meeting.participant_jbh_waiting', 0, guest), event('meeting.participant_jbh_waiting', 0, dana));
    news(lobby, 60);
    apply(
      lobby,
      event('meeting.participant_jbh_waiting_left', 61, guest),
      event('meeting.participant_jbh_joined', 62, dana),
    );
    expect(news(lobby, 63).cleared).toEqual(['Guest: stopped waiting for the host', 'Dana Lee: joined the meeting']);

    apply(lobby, event('meeting.participant_joined_waiting_room', 100, dana));
    news(lobby, 160);
    apply(lobby, event('meeting.ended', 170), event('meeting.participant_joined_waiting_room', 100, dana));
    expect(news(lobby, 171).cleared).toEqual(['Dana Lee: the meeting ended']);
    expect(lobby.waiting.size).toBe(0);

    apply(lobby, event('meeting.participant_joined_waiting_room', 200, guest));
    clearLobby(lobby, 'the run is done', at(210));
    // Never alerted: nothing to clear.
    expect(news(lobby, 300)).toEqual({ alerts: [], cleared: [], nextDue: undefined });
  });

  it('alerts when the earliest of several waits falls due, each once', () => {
    const lobby = emptyLobby();
    apply(
      lobby,
      event('meeting.participant_joined_waiting_room', 20, dana),
      event('meeting.participant_jbh_waiting', 5, guest),
    );
    expect(news(lobby, 10).nextDue).toBe(ms(65));
    expect(news(lobby, 65)).toEqual({ alerts: [`Guest since ${at(5)} (host)`], cleared: [], nextDue: ms(80) });
    expect(news(lobby, 80).alerts).toEqual([`Dana Lee since ${at(20)} (admission)`]);
  });

  it("orders within a second by Zoom's milliseconds, and clears by whole seconds", () => {
    const lobby = emptyLobby();
    const precise = (second: number, millis: number) => new Date(ms(second) + millis).toISOString();
    // Joined at 10:00:00 (Zoom's join time, whole seconds), put back in the waiting room 500 ms later.
    apply(lobby, event('meeting.participant_joined', 0, dana), {
      ...event('meeting.participant_put_in_waiting_room', 0, dana),
      at: precise(0, 500),
    });
    expect(lobby.waiting.size).toBe(1);
    // Waiting for the host from 10:00:01.122; the host's start, in whole seconds, is 10:00:01.
    apply(
      lobby,
      { ...event('meeting.participant_jbh_waiting', 1, guest), at: precise(1, 122) },
      event('meeting.started', 1),
    );
    expect([...lobby.waiting.keys()]).toEqual([dana.id]);
  });

  it('shows display names only: a dial-in caller’s number masked, an email address without its domain', () => {
    expect(shownName('Dana Lee')).toBe('Dana Lee');
    expect(shownName('+1 (555) 010-0100')).toBe('+••• ••• 0100');
    expect(shownName('15550100100')).toBe('+••• ••• 0100');
    expect(shownName('dana.lee@example.com')).toBe('dana.lee');
    expect(shownName('  ')).toBe('someone without a display name');
    expect(shownName(undefined)).toBe('someone without a display name');
    expect(shownName('Room 101')).toBe('Room 101');
  });
});
