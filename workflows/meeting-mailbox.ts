import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ignoredInput, MEETING_EVENT, MEETING_OWNER } from './inputs';
import {
  claimMeetingSignal,
  MEETING_MAILBOX_PATCHES,
  MeetingMailboxInput,
  releaseMeetingSignal,
} from './contract/meeting-mailbox';
import { ZoomMeetingEvent, zoomMeetingEventSignal } from './contract/shared';

/**
 * How long events for a meeting nobody has claimed are kept. A create's answer can reach its run
 * well after Zoom sends the meeting's first webhooks (a worker killed after Zoom's answer: the
 * retry finds the meeting by its marker within the step's 15-minute retry budget), so the mailbox
 * waits past that. Meetings that no run of ours created end here too.
 */
const UNCLAIMED_FOR = '20 minutes';
const MAX_HISTORY_EVENTS = 2000;

const { deliverToIndexedRuns } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

/**
 * The durable mailbox of one Zoom meeting (id `zoom-meeting-<meeting id>`). `serve` records each
 * of Zoom's webhooks here by signal-with-start before it answers Zoom, so no index (visibility)
 * has to be current for an event to be kept. The run that created the meeting claims it; the
 * mailbox forwards what it holds, in the order Zoom sent it, and everything after. It ends when
 * its owners release the meeting or are gone, or when nobody claims the meeting in time.
 */
export async function meetingMailboxWorkflow(input: MeetingMailboxInput): Promise<void> {
  const owners = new Set(input.owners ?? []);
  // A run that let go of the meeting stays gone: a create it had cut short may still claim it late.
  const released = new Set(input.released ?? []);
  const pending: ZoomMeetingEvent[] = [...(input.pending ?? [])];
  let claimedEver = owners.size > 0;

  setHandler(
    zoomMeetingEventSignal,
    (event) => void (ignoredInput('zoomMeetingEvent', event, MEETING_EVENT) || pending.push(event)),
  );
  setHandler(claimMeetingSignal, (claim) => {
    if (ignoredInput('claimMeeting', claim, MEETING_OWNER)) return;
    if (released.has(claim.owner) && patched(MEETING_MAILBOX_PATCHES.ignoresLateClaims)) return;
    owners.add(claim.owner);
    claimedEver = true;
  });
  setHandler(releaseMeetingSignal, (release) => {
    if (ignoredInput('releaseMeeting', release, MEETING_OWNER)) return;
    owners.delete(release.owner);
    released.add(release.owner);
  });

  if (!claimedEver && !(await condition(() => owners.size > 0, UNCLAIMED_FOR))) {
    // Nobody claimed it: a meeting another app or person made, or one created by a run from before
    // the mailboxes, which the ZoomMeetingIds search attribute still finds.
    if (pending.length) await deliverToIndexedRuns({ meetingId: input.meetingId, events: pending.splice(0) });
    return;
  }
  const historyTooLong = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
  for (;;) {
    await condition(() => pending.length > 0 || owners.size === 0 || historyTooLong());
    while (pending.length > 0 && owners.size > 0) {
      const event = pending.shift()!;
      for (const owner of [...owners]) {
        try {
          await getExternalWorkflowHandle(owner).signal(zoomMeetingEventSignal, event);
        } catch {
          owners.delete(owner); // its run has ended: nothing follows the meeting there any more
        }
      }
    }
    if (owners.size === 0) return;
    if (historyTooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof meetingMailboxWorkflow>({
        meetingId: input.meetingId,
        owners: [...owners],
        pending,
        released: [...released],
      });
    }
  }
}
