/**
 * Lobby alerts: the timeline says who has waited to get into a meeting the run created (in the
 * waiting room, or for the host to start it) longer than the step allows, and since when; and,
 * once they are in or gone, that it is over. One durable timer, to the earliest alert due.
 */
import { condition, patched } from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time';
import type { StepInputs, StepOf } from '../../src/core/step-inputs';
import { nowIso, nowMs } from '../clock';
import { RUNBOOK_PATCHES } from '../contract/runbook';
import type { MeetingSummary, TimelineEntry } from '../contract/shared';
import { Cleared, clearLobby, shownName, shownTime, takeLobbyNews, Waiter, waitingList } from './lobby';
import type { RunbookRun } from './run';

/** How long someone waits before the timeline says so, unless the step says otherwise (`lobbyAlertAfter`). */
export const LOBBY_ALERT_AFTER = '2m';

/** Follows the lobby of a meeting a createMeeting step made, unless the step turned the alerts off. */
export function alertOnLobby(
  run: RunbookRun,
  step: StepOf<'zoom.createMeeting'>,
  meeting: MeetingSummary,
  after: StepInputs['zoom.createMeeting']['lobbyAlertAfter'] = LOBBY_ALERT_AFTER,
): void {
  // Runs recorded before the alerts never followed a lobby.
  if (after === 'off' || !run.lifecycle || !patched(RUNBOOK_PATCHES.lobbyAlerts)) return;
  run.lobbyAlerts.add(meeting.id);
  run.follow(
    `Lobby alerts for meeting ${meeting.id}`,
    step.id,
    followLobby(run, step.id, meeting.id, msToNumber(after)),
  );
}

/** Until the meeting ends (or the run is done): alerts as they fall due, and their end as Zoom's webhooks tell it. */
async function followLobby(run: RunbookRun, stepId: string, meetingId: string, afterMs: number): Promise<void> {
  const room = run.room(meetingId);
  const { lobby } = room;
  const meetingOver = () => room.ended || (run.bridgeEnded && run.bridge?.id === meetingId);
  const post = (status: TimelineEntry['status'], summary: string) => {
    // The incident's bridge lists who waits; an ended bridge is no longer the incident's, so it is left alone.
    const bridge =
      run.bridge?.id === meetingId && !meetingOver() ? { bridge: { ...run.bridge, waiting: waitingList(lobby) } } : {};
    return run.post({ step: stepId, status, summary, ...bridge });
  };
  for (;;) {
    const seen = lobby.changes;
    const over = meetingOver() || !run.following;
    if (over)
      clearLobby(
        lobby,
        meetingOver() ? 'the meeting ended' : `runbook ${run.runbook.name} no longer follows the meeting`,
        nowIso(),
      );
    const { alerts, cleared, nextDue } = takeLobbyNews(lobby, nowMs(), afterMs);
    for (const waiter of alerts) await post('info', alertLine(meetingId, waiter));
    for (const done of cleared) await post('ok', clearedLine(meetingId, done));
    if (over) return;
    const woken = () => lobby.changes > seen || meetingOver() || !run.following;
    if (nextDue === undefined) await condition(woken);
    else await condition(woken, Math.max(1, nextDue - nowMs()));
  }
}

function alertLine(meetingId: string, w: Waiter): string {
  const where =
    w.waitsFor === 'host'
      ? `for the host to start Zoom meeting ${meetingId}`
      : `in the waiting room of Zoom meeting ${meetingId}`;
  return `${shownName(w.name)} has been waiting ${where} since ${shownTime(w.since)}`;
}

function clearedLine(meetingId: string, { waiter, why }: Cleared): string {
  return `${shownName(waiter.name)} no longer waits to get into Zoom meeting ${meetingId}: ${why} (waiting since ${shownTime(waiter.since)})`;
}
