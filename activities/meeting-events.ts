import type { Client } from '@temporalio/client';
import { log } from '@temporalio/activity';
import type { ZoomMeetingEvent } from '../workflows/contract';
import { deliverMeetingEvent } from '../src/temporal/zoom-events';

/** Activities of the meeting mailboxes; they need a Temporal client (the worker's). */
export function createMeetingEventActivities(client: Client | undefined) {
  return {
    /**
     * Hands events nobody claimed to the runs that list the meeting in their ZoomMeetingIds search
     * attribute (runs from before the mailboxes); returns how many deliveries were made.
     */
    async deliverToIndexedRuns(input: { meetingId: string; events: ZoomMeetingEvent[] }): Promise<number> {
      if (!client) {
        log.warn('No Temporal client on this worker: unclaimed Zoom meeting events are dropped', {
          meetingId: input.meetingId,
          events: input.events.length,
        });
        return 0;
      }
      let delivered = 0;
      for (const event of input.events) delivered += await deliverMeetingEvent(client, event);
      return delivered;
    },
  };
}
