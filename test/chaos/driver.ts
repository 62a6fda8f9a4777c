import type { Client } from '@temporalio/client';
import type { IncidentEvent } from '../../src/incident';
import { timelineQuery } from '../../workflows/definitions';
import type { ZoomSandbox } from '../../src/sandbox/server';
import type { StoredMeeting } from '../../src/sandbox/zoom-api';
import { EventKey, IncidentPlan, isFollowUpSeverity } from './plan';
import { Random } from './random';

/**
 * Drives incidents through the intake as a real sender would: POST /v1/events with a bearer
 * token, sending again (same eventId) until the answer is 202, and delivering some events twice
 * and some out of order. It also plays the people on the call: a bridge that appears in Zoom is
 * started (someone joined), so ending it is visible in Zoom's state.
 */

export interface SentEvent {
  key: EventKey;
  eventId: string;
  type: IncidentEvent['type'];
  occurredAt: string;
  /** When the intake answered 202 (first delivery). */
  ackAt?: string;
  attempts: number;
  duplicate?: boolean;
}

export interface IncidentRun {
  plan: IncidentPlan;
  events: SentEvent[];
  /** The create was recorded before the resolve (so the bridge runbook is triggered). */
  createFirst: boolean;
  bridgeId?: string;
  /** ms from the create's 202 to the bridge existing in Zoom. */
  timeToBridgeMs?: number;
  /** The runner started the bridge in Zoom (a participant joined from the timeline's link) before resolving. */
  bridgeStarted: boolean;
  /** occurredAt of the last resolve applied (what the postmortem is computed from). */
  lastResolvedAt?: string;
  /** The incident's status after the last event. */
  finalStatus: 'open' | 'resolved' | 'closed' | 'reopened';
  /** Intake answers other than 202, by status ("network" for no answer). */
  non202: Record<string, number>;
  /** An event never acknowledged within the delivery deadline. */
  undelivered: string[];
  /** The postmortem seen in Zoom before the reopen (reopenResolved), so the reopen comes after the booking. */
  postmortemBeforeReopen?: string;
}

export interface DriverOptions {
  intakeUrl: string;
  token: string;
  sandbox: ZoomSandbox;
  /** Reads timelines, as the people who join the bridge do. */
  client: Client;
  rng: Random;
  /** Give up on one event after this long (ms). */
  deliveryDeadlineMs: number;
  /** How long to wait for a bridge to appear before resolving anyway (ms). */
  bridgeWaitMs: number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Driver {
  readonly runs = new Map<string, IncidentRun>();
  /** Late duplicate deliveries still to be sent. */
  private readonly background: Promise<void>[] = [];
  private index?: { at: number; meetings: Map<string, IncidentMeetings> };
  private readonly queries = new Limiter(3);

  constructor(private readonly o: DriverOptions) {}

  /** Runs one incident's script from `driveStart + plan.startMs`. */
  async runIncident(plan: IncidentPlan, driveStart: number): Promise<IncidentRun> {
    const run: IncidentRun = { plan, events: [], createFirst: !plan.resolveFirst, bridgeStarted: false, finalStatus: 'open', non202: {}, undelivered: [] };
    this.runs.set(plan.id, run);
    await sleep(Math.max(0, driveStart + plan.startMs - Date.now()));
    const rng = this.o.rng.fork(plan.id);
    const now = Date.now();
    const lagMs = plan.backdated ? rng.between(2, 96) * 3_600_000 : 0;
    const createdAt = new Date(now - lagMs - (plan.resolveFirst ? plan.dwellMs : 0));

    if (plan.resolveFirst) {
      // The resolve is delivered first and acknowledged, then the create: the incident workflow
      // records them in that order.
      const resolvedAt = plan.backdated ? new Date(createdAt.getTime() + rng.between(0.1, 0.9) * lagMs) : new Date(now);
      await this.send(run, 'resolved', resolvedAt);
      run.lastResolvedAt = resolvedAt.toISOString();
      run.finalStatus = 'resolved';
      await this.send(run, 'created', createdAt);
      if (plan.flow === 'closed') await this.close(run, rng);
      return run;
    }

    await this.send(run, 'created', createdAt);
    if (!plan.permanentFault) await this.joinBridge(run);
    if (plan.flow === 'open') return run;

    await sleep(plan.dwellMs);
    const resolvedAt = plan.backdated ? new Date(createdAt.getTime() + rng.between(0.1, 0.9) * lagMs) : new Date();
    await this.send(run, 'resolved', resolvedAt);
    run.lastResolvedAt = resolvedAt.toISOString();
    run.finalStatus = 'resolved';

    switch (plan.flow) {
      case 'closed':
        await this.close(run, rng);
        break;
      case 'reopenQuick':
        // At once: the postmortem runbook is just starting or booking its meeting.
        await this.send(run, 'reopened', new Date());
        run.finalStatus = 'reopened';
        break;
      case 'reopenResolved': {
        // After the postmortem is booked, so the runbook must cancel it and book it again.
        const booked = await this.waitFor(() => this.meetings(plan.id).postmortems[0], 120_000);
        run.postmortemBeforeReopen = booked ? String(booked.id) : undefined;
        await sleep(rng.between(500, 2500));
        await this.send(run, 'reopened', new Date());
        run.finalStatus = 'reopened';
        await sleep(rng.between(2000, 6000));
        const again = new Date();
        await this.send(run, 'resolved2', again);
        run.lastResolvedAt = again.toISOString();
        run.finalStatus = 'resolved';
        break;
      }
    }
    return run;
  }

  /** Waits for late duplicate deliveries. */
  async drain(): Promise<void> {
    await Promise.all(this.background);
  }

  private async close(run: IncidentRun, rng: Random): Promise<void> {
    await sleep(rng.between(2000, 8000));
    await this.send(run, 'closed', new Date());
    run.finalStatus = 'closed';
  }

  /**
   * Someone joins the bridge once its link is shared on the timeline (as responders learn of it):
   * the sandbox starts the meeting, so its end is visible in Zoom's state.
   */
  private async joinBridge(run: IncidentRun): Promise<void> {
    const ack = run.events.find((e) => e.key === 'created')?.ackAt;
    const deadline = Date.now() + this.o.bridgeWaitMs;
    const bridge = await this.waitFor(() => this.meetings(run.plan.id).bridges[0], this.o.bridgeWaitMs);
    if (!bridge) {
      this.o.log(`${run.plan.id}: no bridge in Zoom after ${this.o.bridgeWaitMs / 1000} s; resolving anyway`);
      return;
    }
    run.bridgeId = String(bridge.id);
    if (ack) run.timeToBridgeMs = Date.now() - Date.parse(ack);
    const handle = this.o.client.workflow.getHandle(`incident-${run.plan.id}`);
    let shared = false;
    while (!shared && Date.now() < deadline) {
      // Few readers at a time, each every 5 s: queries are work for the workers too.
      const timeline = await this.queries.run(() => this.o.client.withDeadline(Date.now() + 3000, () => handle.query(timelineQuery))).catch(() => []);
      shared = timeline.some((t) => t.step === 'share' && t.summary.includes(String(bridge.join_url)));
      if (!shared) await sleep(5000);
    }
    if (!shared) {
      this.o.log(`${run.plan.id}: bridge ${bridge.id} exists but its link never reached the timeline; nobody joins`);
      return;
    }
    const res = await fetch(`${this.o.sandbox.url}/_sandbox/meetings/${bridge.id}/start`, { method: 'POST' });
    run.bridgeStarted = res.status === 201;
    if (!run.bridgeStarted) this.o.log(`${run.plan.id}: could not start bridge ${bridge.id}: HTTP ${res.status} ${await res.text()}`);
  }

  /** The incident's meetings in Zoom, from an index rebuilt at most every 200 ms (every script polls it). */
  meetings(incidentId: string): IncidentMeetings {
    if (!this.index || Date.now() - this.index.at > 200) this.index = { at: Date.now(), meetings: meetingsByIncident(this.o.sandbox) };
    return this.index.meetings.get(incidentId) ?? { bridges: [], postmortems: [], syncs: [] };
  }

  private async waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined || Date.now() > deadline) return value;
      await sleep(200);
    }
  }

  /** Sends one event (and its duplicate, when the plan says so), waiting for the first 202. */
  private async send(run: IncidentRun, key: EventKey, occurredAt: Date): Promise<void> {
    const event = buildEvent(run.plan, key, occurredAt);
    const sent: SentEvent = { key, eventId: event.eventId, type: event.type, occurredAt: event.occurredAt, attempts: 0 };
    run.events.push(sent);
    const dupDelay = run.plan.duplicates[key];
    const deliverDuplicate = async () => {
      const dup: SentEvent = { ...sent, attempts: 0, duplicate: true, ackAt: undefined };
      run.events.push(dup);
      await this.deliver(run, event, dup);
    };
    if (dupDelay === 0) {
      await Promise.all([this.deliver(run, event, sent), deliverDuplicate()]);
    } else {
      await this.deliver(run, event, sent);
      if (dupDelay !== undefined) this.background.push(sleep(dupDelay).then(deliverDuplicate));
    }
  }

  /** POST until 202, as a sender with retries would (honouring Retry-After up to 3 s). */
  private async deliver(run: IncidentRun, event: IncidentEvent, sent: SentEvent): Promise<void> {
    const deadline = Date.now() + this.o.deliveryDeadlineMs;
    const body = JSON.stringify(event);
    for (let backoff = 250; ; backoff = Math.min(backoff * 2, 3000)) {
      sent.attempts++;
      let status: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await fetch(`${this.o.intakeUrl}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(20_000),
        });
        await res.arrayBuffer();
        if (res.status === 202) {
          sent.ackAt = new Date().toISOString();
          return;
        }
        status = String(res.status);
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      } catch {
        status = 'network';
      }
      run.non202[status] = (run.non202[status] ?? 0) + 1;
      if (Date.now() > deadline) {
        run.undelivered.push(event.eventId);
        this.o.log(`${run.plan.id}: event ${event.eventId} not acknowledged after ${sent.attempts} attempts`);
        return;
      }
      await sleep(Math.min(retryAfterMs ?? backoff, 3000));
    }
  }
}

export function buildEvent(plan: IncidentPlan, key: EventKey, occurredAt: Date): IncidentEvent {
  const id = plan.id;
  const at = occurredAt.toISOString();
  switch (key) {
    case 'created':
      return {
        eventId: `${id}:created`,
        type: 'incident.created',
        occurredAt: at,
        incident: {
          id,
          title: plan.title,
          severity: plan.severity,
          summary: `Chaos incident ${plan.index}`,
          status: 'investigating',
          owner: { name: 'Ana Ruiz', email: `owner-${plan.index}@example.com` },
          responders: [{ email: 'sre-oncall@example.com' }, { email: `responder-${plan.index}@example.com` }],
          fields: { service: plan.title.split(' ')[0], ...(plan.record ? { record: true } : {}) },
        },
      };
    case 'resolved':
    case 'resolved2':
      return {
        eventId: `${id}:${key}`,
        type: 'incident.resolved',
        occurredAt: at,
        incident: { id, ...(plan.resolveCarriesSeverity ? { severity: plan.severity } : {}) },
      };
    case 'reopened':
      return { eventId: `${id}:reopened`, type: 'incident.reopened', occurredAt: at, incident: { id } };
    case 'closed':
      return { eventId: `${id}:closed`, type: 'incident.closed', occurredAt: at, incident: { id } };
  }
}

export interface IncidentMeetings {
  bridges: StoredMeeting[];
  postmortems: StoredMeeting[];
  syncs: StoredMeeting[];
}

/** All meetings of every incident, indexed once (the sandbox may hold a thousand). */
export function meetingsByIncident(sandbox: ZoomSandbox): Map<string, IncidentMeetings> {
  const index = new Map<string, IncidentMeetings>();
  const of = (id: string) => {
    let m = index.get(id);
    if (!m) index.set(id, (m = { bridges: [], postmortems: [], syncs: [] }));
    return m;
  };
  for (const m of sandbox.state.meetings.values()) {
    const first = String(m.agenda ?? '').split('\n')[0];
    let match: RegExpExecArray | null;
    if ((match = /^Incident (\S+)$/.exec(first))) of(match[1]).bridges.push(m);
    else if ((match = /^Postmortem for (\S+) \(/.exec(first))) of(match[1]).postmortems.push(m);
    else if ((match = /^Status of incident (\S+) \(/.exec(first))) of(match[1]).syncs.push(m);
  }
  return index;
}

export { isFollowUpSeverity };

/** At most `n` calls at once; the others wait their turn. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly n: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
