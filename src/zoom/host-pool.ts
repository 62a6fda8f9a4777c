import {
  emptyHostPool,
  hostSpent,
  HostPoolState,
  LeaseAnswer,
  LeaseRequest,
  leaseHost,
  meetingCreated,
} from '../core/host-pool';
import type { ZoomClient } from './client';
import { ZoomDailyLimitError } from './errors';

export { HOST_DAILY_BUDGET } from '../core/host-pool';

/** A meeting the create made on a leased host. */
export interface LeasedMeeting {
  host: string;
  leaseId: string;
  meetingId: string;
}

/**
 * Who keeps the pool's knowledge (src/core/host-pool.ts): the connector's host-pool workflow in a
 * worker (src/temporal/host-pool.ts), shared by every process; this process alone elsewhere.
 */
export interface HostPoolOwner {
  lease(request: LeaseRequest): Promise<LeaseAnswer>;
  created(meeting: LeasedMeeting): Promise<void>;
  spent(host: string): Promise<void>;
}

/** The pool's knowledge in this process only (the CLI, tests of the Zoom layer). */
export class InProcessHostPoolOwner implements HostPoolOwner {
  readonly state: HostPoolState = emptyHostPool();
  constructor(private readonly now: () => number = Date.now) {}
  async lease(request: LeaseRequest): Promise<LeaseAnswer> {
    return leaseHost(this.state, request, this.now());
  }
  async created(meeting: LeasedMeeting): Promise<void> {
    meetingCreated(this.state, meeting);
  }
  async spent(host: string): Promise<void> {
    hostSpent(this.state, host, this.now());
  }
}

/**
 * The users a connector may host new meetings with. A new bridge goes to a host that is not live
 * (up to `concurrency` live meetings: Zoom's Basic and Pro 1, Business and above 2) and has daily
 * create/update budget left; its owner knows, and says when Zoom must be asked first.
 */
export class HostPool {
  constructor(
    readonly hosts: string[],
    private readonly owner: HostPoolOwner = new InProcessHostPoolOwner(),
    private readonly concurrency = 1,
  ) {
    if (hosts.length === 0) throw new Error('A host pool needs at least one Zoom user.');
  }

  /**
   * A host for the meeting the lease `leaseId` names; throws ZoomDailyLimitError when every host
   * has spent its budget. Only a meeting that starts now needs a host who is not on a call.
   */
  async pick(client: ZoomClient, { startsNow, leaseId }: { startsNow: boolean; leaseId: string }): Promise<string> {
    const request = { hosts: this.hosts, concurrency: this.concurrency, startsNow, leaseId };
    let answer = await this.owner.lease(request);
    if ('ask' in answer) {
      // The owner's knowledge of these hosts is stale: what Zoom says now is the knowledge.
      const seen = await Promise.all(
        answer.ask.map(async (host) => {
          const { meetings } = await client.listMeetings(host, { type: 'live', page_size: 30 });
          return [host, { live: meetings.map((m) => String(m.id)), userId: meetings[0]?.host_id }] as const;
        }),
      );
      answer = await this.owner.lease({ ...request, seen: Object.fromEntries(seen) });
    }
    if ('exhausted' in answer) {
      const retryAfterMs = Math.max(answer.exhausted.retryAt - Date.now(), 0);
      throw new ZoomDailyLimitError(
        `Every host of this connector (${this.hosts.length}) is out of Zoom's daily meeting create/update budget.`,
        {
          hint: `add hosts to ZOOM_HOST_USER (comma-separated), or wait for ${new Date(answer.exhausted.retryAt).toISOString()}.`,
          retryAfterMs,
        },
      );
    }
    // Asked twice in a row only if the owner's clock moved past the check's life at once: take the first asked.
    return 'host' in answer ? answer.host : answer.ask[0];
  }

  /** The create answered: the host's reservation names the meeting. */
  async created(meeting: LeasedMeeting): Promise<void> {
    await this.owner.created(meeting);
  }

  /** Zoom said this host is out of budget: skip it until the next UTC midnight. */
  async markSpent(host: string): Promise<void> {
    await this.owner.spent(host);
  }
}
