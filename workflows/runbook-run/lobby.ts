/**
 * Who waits to get into a meeting, as Zoom's lobby webhooks tell it: in the waiting room, or for
 * the host to start the meeting. Pure, like the room it belongs to (room.ts), so unit-testable; the
 * run's lobby alerts (lobby-alerts.ts) read it.
 *
 * Zoom may deliver a webhook twice, or late. An arrival for someone already waiting is the same
 * wait (it keeps the first `since`); one whose time is no later than the moment that person last
 * got out of the lobby came after the exit it precedes, and is ignored: nobody is left waiting
 * because an admission overtook the webhook that put them in the waiting room.
 */
import { maskPhone } from '../../src/core/phone';
import type { LobbyWaiter, ZoomMeetingEvent, ZoomMeetingEventType } from '../contract/shared';

export interface Waiter {
  /** Zoom's per-join id (the waiting room), else the Zoom user id or `name:<display name>` (waiting for the host). */
  id: string;
  /** As Zoom gives it; shown only through shownName. */
  name?: string;
  /** When Zoom says they began waiting (ISO). */
  since: string;
  waitsFor: LobbyWaiter['waitsFor'];
  /** The timeline has said they wait. */
  alerted: boolean;
}

/** An alerted waiter who no longer waits: why, and when Zoom says it happened. */
export interface Cleared {
  waiter: Waiter;
  why: string;
  at: string;
}

export interface Lobby {
  waiting: Map<string, Waiter>;
  /**
   * When each person last got out of the lobby, by id and by `name:<display name>` (people waiting
   * for the host have no per-join id), and `*host` (the host started) and `*all` (the meeting ended).
   */
  exits: Map<string, string>;
  /** Alerted people who no longer wait: the run's alerts say so, then drop them. */
  cleared: Cleared[];
  /** Counts every change, for the run's alerts to wait on. */
  changes: number;
}

const ENTERS: Partial<Record<ZoomMeetingEventType, Waiter['waitsFor']>> = {
  'meeting.participant_jbh_waiting': 'host',
  'meeting.participant_joined_waiting_room': 'admission',
  'meeting.participant_put_in_waiting_room': 'admission',
};

const EXITS: Partial<Record<ZoomMeetingEventType, string>> = {
  'meeting.participant_admitted': 'admitted',
  'meeting.participant_joined': 'joined the meeting',
  'meeting.participant_jbh_joined': 'joined the meeting',
  'meeting.participant_left_waiting_room': 'left the waiting room',
  'meeting.participant_jbh_waiting_left': 'stopped waiting for the host',
};

export function emptyLobby(): Lobby {
  return { waiting: new Map(), exits: new Map(), cleared: [], changes: 0 };
}

export function applyLobbyEvent(lobby: Lobby, event: ZoomMeetingEvent): void {
  if (event.type === 'meeting.started')
    return leave(lobby, '*host', event.at, 'the host started the meeting', (w) => w.waitsFor === 'host');
  if (event.type === 'meeting.ended') return leave(lobby, '*all', event.at, 'the meeting ended', () => true);
  const who = event.participant;
  if (!who) return;
  const waitsFor = ENTERS[event.type];
  if (waitsFor) return enter(lobby, { id: who.id, name: who.name, since: event.at, waitsFor, alerted: false });
  const why = EXITS[event.type];
  if (!why) return;
  const byName = who.name ? nameKey(who.name) : undefined;
  markExit(lobby, who.id, event.at);
  if (byName) markExit(lobby, byName, event.at);
  // People waiting for the host are known by name only when Zoom's join names them otherwise.
  leave(
    lobby,
    undefined,
    event.at,
    why,
    (w) => w.id === who.id || (byName !== undefined && w.waitsFor === 'host' && nameKey(w.name) === byName),
  );
}

/** The run no longer follows the meeting (ended by the run, or the run is done): nobody is left waiting. */
export function clearLobby(lobby: Lobby, why: string, at: string): void {
  leave(lobby, undefined, at, why, () => true);
}

/**
 * What the timeline should say at `now`: who has waited `afterMs` or longer and has not been
 * alerted yet (marked alerted here), whose alerts are over (taken off the list here), and when the
 * next alert falls due (ms), if anyone is still waiting short of it.
 */
export function takeLobbyNews(
  lobby: Lobby,
  now: number,
  afterMs: number,
): { alerts: Waiter[]; cleared: Cleared[]; nextDue?: number } {
  const alerts: Waiter[] = [];
  let nextDue: number | undefined;
  for (const waiter of lobby.waiting.values()) {
    if (waiter.alerted) continue;
    const due = Date.parse(waiter.since) + afterMs;
    if (due <= now) {
      waiter.alerted = true;
      alerts.push(waiter);
    } else nextDue = Math.min(due, nextDue ?? due);
  }
  return { alerts, cleared: lobby.cleared.splice(0), nextDue };
}

/** The alerted people still waiting, as the incident's bridge lists them. */
export function waitingList(lobby: Lobby): LobbyWaiter[] {
  return [...lobby.waiting.values()]
    .filter((w) => w.alerted)
    .map((w) => ({ name: shownName(w.name), since: shownTime(w.since), waitsFor: w.waitsFor }));
}

/**
 * A display name fit for the timeline: Zoom shows dial-in callers by their phone number, and some
 * people by their email address, neither of which the timeline may carry.
 */
export function shownName(name: string | undefined): string {
  const trimmed = name?.trim();
  if (!trimmed) return 'someone without a display name';
  if (/^\+?[\d\s().-]+$/.test(trimmed) && trimmed.replace(/\D/g, '').length >= 7) return maskPhone(trimmed);
  const email = /^([^\s@]+)@[^\s@]+$/.exec(trimmed);
  return email ? email[1] : trimmed;
}

/** A time as Zoom shows it, in whole seconds (the milliseconds only order events). */
export function shownTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

function enter(lobby: Lobby, waiter: Waiter): void {
  const after = (key: string | undefined) => {
    const exit = key === undefined ? undefined : lobby.exits.get(key);
    return exit !== undefined && Date.parse(waiter.since) <= Date.parse(exit);
  };
  const overtaken =
    after(waiter.id) ||
    after('*all') ||
    (waiter.waitsFor === 'host' && (after('*host') || after(waiter.name ? nameKey(waiter.name) : undefined)));
  if (overtaken) return;
  const known = lobby.waiting.get(waiter.id);
  if (known) {
    // The same wait delivered again: it began at the earliest time Zoom gave.
    if (Date.parse(waiter.since) < Date.parse(known.since)) known.since = waiter.since;
  } else lobby.waiting.set(waiter.id, waiter);
  lobby.changes++;
}

/** Everyone `who` matches, who was waiting by `at`, leaves the lobby; `key` remembers the moment. */
function leave(lobby: Lobby, key: string | undefined, at: string, why: string, who: (w: Waiter) => boolean): void {
  if (key) markExit(lobby, key, at);
  for (const waiter of [...lobby.waiting.values()]) {
    // An exit from an earlier second than the wait is a late delivery from an earlier stay (Zoom's
    // join and start times are whole seconds: within the wait's second, it counts).
    if (!who(waiter) || Date.parse(at) < Math.floor(Date.parse(waiter.since) / 1000) * 1000) continue;
    lobby.waiting.delete(waiter.id);
    if (waiter.alerted) lobby.cleared.push({ waiter, why, at });
  }
  lobby.changes++;
}

function markExit(lobby: Lobby, key: string, at: string): void {
  const known = lobby.exits.get(key);
  if (known === undefined || Date.parse(at) > Date.parse(known)) lobby.exits.set(key, at);
}

const nameKey = (name: string | undefined) => (name ? `name:${name.trim().toLowerCase()}` : undefined);
