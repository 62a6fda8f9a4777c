import type { ZoomClient } from './client';
import { ZoomDailyLimitError } from './errors';

/** Zoom lets one user create or update at most 100 meetings a day (UTC). */
export const HOST_DAILY_BUDGET = 100;
/** How long a host's live-or-not answer is reused. */
const LIVE_TTL_MS = 10_000;

/**
 * The users a connector may host new meetings with. A new bridge goes to a host that is not
 * hosting a live meeting and has daily create/update budget left. The budget is counted here per
 * worker process and corrected by Zoom itself: a daily-limit answer marks the host spent until
 * the next UTC midnight, whichever process hit it.
 */
export class HostPool {
  private readonly used = new Map<string, { day: string; count: number }>();
  private readonly spentUntil = new Map<string, number>();
  private readonly liveness = new Map<string, { live: boolean; until: number }>();
  private next = 0;

  constructor(
    readonly hosts: string[],
    private readonly now: () => number = Date.now,
  ) {
    if (hosts.length === 0) throw new Error('A host pool needs at least one Zoom user.');
  }

  /**
   * A host for a new meeting; throws ZoomDailyLimitError when every host has spent its budget.
   * Only a meeting that starts now needs a host who is not on a call: Zoom books later meetings
   * whatever the host is doing, so those skip the live check (a Medium call, like the create).
   */
  async pick(client: ZoomClient, startsNow = true): Promise<string> {
    const available = this.rotation().filter((h) => this.hasBudget(h));
    if (available.length === 0) {
      const midnight = nextUtcMidnight(this.now());
      throw new ZoomDailyLimitError(
        `Every host of this connector (${this.hosts.length}) is out of Zoom's daily meeting create/update budget.`,
        {
          hint: `add hosts to ZOOM_HOST_USER (comma-separated), or wait for ${new Date(midnight).toISOString()}.`,
          retryAfterMs: midnight - this.now(),
        },
      );
    }
    if (this.hosts.length === 1 || !startsNow) return available[0];
    for (const host of available) if (!(await this.isLive(client, host))) return host;
    // Everyone is on a call: the host with budget next in turn takes one more.
    return available[0];
  }

  /**
   * Whether the host is on a live meeting, as Zoom said at most LIVE_TTL_MS ago: list calls share
   * the create calls' rate limit, so a burst of bridges must not ask for every host every time.
   */
  private async isLive(client: ZoomClient, host: string): Promise<boolean> {
    const known = this.liveness.get(host);
    if (known && known.until > this.now()) return known.live;
    const live = (await client.listMeetings(host, { type: 'live', page_size: 30 })).meetings.length > 0;
    this.liveness.set(host, { live, until: this.now() + LIVE_TTL_MS });
    return live;
  }

  /** Counts a create or update against the host's budget for today. */
  spend(host: string): void {
    // Its new meeting may go live any moment: ask Zoom again next time.
    this.liveness.delete(host);
    const day = utcDay(this.now());
    const u = this.used.get(host);
    this.used.set(host, u && u.day === day ? { day, count: u.count + 1 } : { day, count: 1 });
  }

  /** Zoom said this host is out of budget: skip it until the next UTC midnight. */
  markSpent(host: string): void {
    this.spentUntil.set(host, nextUtcMidnight(this.now()));
  }

  private hasBudget(host: string): boolean {
    if ((this.spentUntil.get(host) ?? 0) > this.now()) return false;
    const u = this.used.get(host);
    return !u || u.day !== utcDay(this.now()) || u.count < HOST_DAILY_BUDGET;
  }

  /** All hosts, starting one further each call, so bridges spread over the pool. */
  private rotation(): string[] {
    const start = this.next++ % this.hosts.length;
    return [...this.hosts.slice(start), ...this.hosts.slice(0, start)];
  }
}

function nextUtcMidnight(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
