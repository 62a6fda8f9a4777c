/**
 * Which Zoom user hosts a new meeting: the knowledge and the choice, as pure functions over a
 * state the connector's host-pool workflow keeps (workflows/host-pool.ts), so every worker process
 * shares one daily budget per host and one view of who is live. Times are epoch milliseconds,
 * given by the caller (the workflow's clock).
 *
 * Who is live comes from what the product saw: the bridges it created for now (reserved: about to
 * go live), Zoom's `meeting.started`/`meeting.ended` webhooks, and Zoom's own answer when the pool
 * last asked. Zoom is asked (a Medium call, like the create) only when that knowledge is stale.
 */

/** Zoom lets one user create or update at most 100 meetings a day (UTC). */
export const HOST_DAILY_BUDGET = 100;
/** Zoom's answer to "who is live" stands this long: a burst of bridges asks once per host a minute, not per bridge. */
export const CHECK_TTL_MS = 60_000;
/** While webhooks about this connector's meetings came this recently, they are the knowledge. */
export const WEBHOOKS_FRESH_MS = 30 * 60_000;
/** Even with webhooks flowing, a host's knowledge is checked against Zoom this often (a missed `meeting.ended`). */
export const RECHECK_MS = 6 * 3_600_000;
/** A bridge created for now and not started within this long no longer holds its host. */
export const RESERVE_MS = 2 * 60_000;
/** While one create asks Zoom about a host, others go on what is known rather than ask too (a burst's first moments). */
export const ASKING_MS = 10_000;

export interface HostKnowledge {
  /** Meetings and budget of today (UTC day, YYYY-MM-DD). */
  day?: string;
  used: number;
  /** Zoom answered "out of daily budget": skipped until then. */
  spentUntil?: number;
  /** Meetings live on this host (meeting id → since), from webhooks or Zoom's answer. */
  live: Record<string, number>;
  /** Bridges created for now, not yet started (meeting or lease id → created at). */
  reserved: Record<string, number>;
  /** When Zoom was last asked who is live on this host. */
  checkedAt?: number;
  /** When a create was last told to ask Zoom about this host. */
  askedAt?: number;
}

export interface HostPoolState {
  hosts: Record<string, HostKnowledge>;
  /** Zoom user id → the configured host (id or email), learned from Zoom's lists and our meetings' webhooks. */
  userIds: Record<string, string>;
  /** The last meeting webhook heard for this connector. */
  webhookAt?: number;
  /** Where the next rotation starts, so meetings spread over the pool. */
  next: number;
}

export interface LeaseRequest {
  /** The hosts the worker is configured with, in order (the pool follows the latest configuration). */
  hosts: string[];
  /** Live meetings one host may hold at once (Zoom: Basic and Pro 1; Business and above 2). */
  concurrency: number;
  /** A meeting that starts now needs a host who is not live; a later one does not. */
  startsNow: boolean;
  /** Names this lease's reservation until the create answers with the meeting id. */
  leaseId: string;
  /** What Zoom said after an `ask` answer: each host's live meeting ids (and Zoom user id when known). */
  seen?: Record<string, { live: string[]; userId?: string }>;
}

export type LeaseAnswer =
  | { host: string }
  /** The pool's knowledge of these hosts is stale: ask Zoom, then lease again with `seen`. */
  | { ask: string[] }
  /** Every host has spent its daily budget until `retryAt`. */
  | { exhausted: { retryAt: number } };

export function emptyHostPool(): HostPoolState {
  return { hosts: {}, userIds: {}, next: 0 };
}

function knowledgeOf(state: HostPoolState, host: string): HostKnowledge {
  return (state.hosts[host] ??= { used: 0, live: {}, reserved: {} });
}

/** Picks a host for one meeting and counts it against that host's budget. */
export function leaseHost(state: HostPoolState, req: LeaseRequest, now: number): LeaseAnswer {
  for (const [host, seen] of Object.entries(req.seen ?? {})) learnFromZoom(state, host, seen, now);
  const start = state.next % req.hosts.length;
  const rotation = [...req.hosts.slice(start), ...req.hosts.slice(0, start)];
  const available = rotation.filter((h) => hasBudget(knowledgeOf(state, h), now));
  if (available.length === 0) return { exhausted: { retryAt: nextUtcMidnight(now) } };
  let host = available[0];
  if (req.startsNow && req.hosts.length > 1) {
    const stale = available.filter((h) => isStale(state, h, now));
    if (stale.length) {
      for (const h of stale) knowledgeOf(state, h).askedAt = now;
      return { ask: stale };
    }
    // The first in turn with room. When every host is at its limit, one that is not live (only
    // holding bridges nobody has started) before one that is, then the least loaded.
    const held = (h: string) => liveCount(knowledgeOf(state, h), now);
    const onCall = (h: string) => (Object.keys(knowledgeOf(state, h).live).length >= req.concurrency ? 1 : 0);
    const worse = (a: string, b: string) => onCall(a) - onCall(b) || held(a) - held(b);
    host = available.find((h) => held(h) < req.concurrency) ?? available.reduce((a, b) => (worse(b, a) < 0 ? b : a));
  }
  state.next = start + 1;
  const k = knowledgeOf(state, host);
  const day = utcDay(now);
  k.used = k.day === day ? k.used + 1 : 1;
  k.day = day;
  if (req.startsNow) k.reserved[req.leaseId] = now;
  return { host };
}

/** The create answered: the lease's reservation now names the meeting, so its webhooks find it. */
export function meetingCreated(
  state: HostPoolState,
  { host, leaseId, meetingId }: { host: string; leaseId: string; meetingId: string },
): void {
  const k = knowledgeOf(state, host);
  const at = k.reserved[leaseId];
  delete k.reserved[leaseId];
  if (at !== undefined && k.live[meetingId] === undefined) k.reserved[meetingId] = at;
}

/** Zoom answered "out of daily budget" for this host. */
export function hostSpent(state: HostPoolState, host: string, now: number): void {
  knowledgeOf(state, host).spentUntil = nextUtcMidnight(now);
}

/** `meeting.started` / `meeting.ended` for any meeting of a host of this pool (others are only a sign webhooks flow). */
export function meetingWebhook(
  state: HostPoolState,
  { type, meetingId, userId }: { type: 'meeting.started' | 'meeting.ended'; meetingId: string; userId?: string },
  now: number,
): void {
  state.webhookAt = now;
  const host = userId !== undefined ? state.userIds[userId] : undefined;
  const hosts = host ? [host] : Object.keys(state.hosts);
  for (const h of hosts) {
    const k = knowledgeOf(state, h);
    const ours = host === h || k.reserved[meetingId] !== undefined || k.live[meetingId] !== undefined;
    if (!ours) continue;
    // Zoom's create answer names the host by email only; a webhook of a meeting we placed names its id.
    if (userId !== undefined) state.userIds[userId] = h;
    delete k.reserved[meetingId];
    if (type === 'meeting.started') k.live[meetingId] = now;
    else delete k.live[meetingId];
  }
}

/** What the pool believes, for the query and for continue-as-new (expired reservations dropped). */
export function prunedHostPool(state: HostPoolState, now: number): HostPoolState {
  for (const k of Object.values(state.hosts))
    for (const [id, at] of Object.entries(k.reserved)) if (at <= now - RESERVE_MS) delete k.reserved[id];
  return state;
}

export function liveCount(k: HostKnowledge, now: number): number {
  const reserved = Object.entries(k.reserved).filter(([id, at]) => at > now - RESERVE_MS && !(id in k.live));
  return Object.keys(k.live).length + reserved.length;
}

function learnFromZoom(state: HostPoolState, host: string, seen: { live: string[]; userId?: string }, now: number) {
  const k = knowledgeOf(state, host);
  k.live = Object.fromEntries(seen.live.map((id) => [id, k.live[id] ?? now]));
  for (const id of seen.live) delete k.reserved[id];
  k.checkedAt = now;
  if (seen.userId) state.userIds[seen.userId] = host;
}

/**
 * Zoom's answer within CHECK_TTL_MS is current; so is what webhooks told, while they flow and can
 * be told apart by host (its Zoom user id is known), up to RECHECK_MS after Zoom was last asked.
 * A host someone is asking Zoom about right now is not asked about twice.
 */
function isStale(state: HostPoolState, host: string, now: number): boolean {
  const k = knowledgeOf(state, host);
  if (k.checkedAt !== undefined && now - k.checkedAt < CHECK_TTL_MS) return false;
  if (k.askedAt !== undefined && now - k.askedAt < ASKING_MS) return false;
  const webhooksFlow = state.webhookAt !== undefined && now - state.webhookAt < WEBHOOKS_FRESH_MS;
  const attributable = Object.values(state.userIds).includes(host);
  return !(webhooksFlow && attributable && k.checkedAt !== undefined && now - k.checkedAt < RECHECK_MS);
}

function hasBudget(k: HostKnowledge, now: number): boolean {
  if ((k.spentUntil ?? 0) > now) return false;
  return k.day !== utcDay(now) || k.used < HOST_DAILY_BUDGET;
}

export function nextUtcMidnight(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
