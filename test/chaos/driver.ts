import type { Client } from '@temporalio/client';
import type { IncidentEvent } from '../../src/core/incident';
import { mapPagerDutyWebhook } from '../../src/core/pagerduty';
import { PAGERDUTY_SIGNATURE_HEADER, signPagerDutyBody } from '../../src/apps/serve/auth';
import { incidentHandle } from '../../src/temporal/handles';
import type { ZoomSandbox } from '../../src/sandbox/server';
import type { StoredMeeting } from '../../src/sandbox/zoom-api';
import { EventKey, IncidentPlan, Interrupt, isFollowUpSeverity, pagerDutyNumber, SKEW_MS, UpdateKind } from './plan';
import { Random } from './random';
import type { ZoomFaultProxy } from './zoom-faults';

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
  /** The event as the incident workflow gets it (a PagerDuty webhook: as the intake maps it). */
  event: IncidentEvent;
  via: '/v1/events' | '/v1/pagerduty';
}

/** Someone the driver put in a bridge (sandbox admin API), and what became of them. */
export interface Participant {
  meetingId: string;
  name: string;
  email: string;
  /** Zoom's per-meeting participant id (to leave) and the join's UUID (what the webhooks carry). */
  participantId: string;
  uuid: string;
  /** When the join call was sent, and when it returned (the sandbox delivers the webhook before it answers). */
  joinSentAt: string;
  joinReturnedAt: string;
  /** Joined while the bridge create's answer was still held: the run did not know the meeting yet. */
  duringHold: boolean;
  /** The meeting was ended while this person was still inside (found before they left). */
  endedWhileInside?: boolean;
  leftAt?: string;
  leaveError?: string;
}

/** A cancel or terminate of the bridge runbook while its create was held. */
export interface InterruptRecord {
  kind: Interrupt;
  workflowId: string;
  at?: string;
  meetingId?: string;
  /** Temporal had accepted the cancel/terminate before the create's answer left Zoom. */
  duringCreate: boolean;
  error?: string;
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
  /** People the driver put in the bridge (webhook races, recorded bridges). */
  participants: Participant[];
  /** Webhook race: the meeting was started while its create's answer was held. */
  raceStartDuringHold?: boolean;
  interrupt?: InterruptRecord;
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
  /** Holds bridge creates (webhook races, cancels and terminates mid-create). */
  proxy: ZoomFaultProxy;
  /** Signs PagerDuty webhooks (ZR_PAGERDUTY_SECRET of the intake). */
  pagerdutySecret: string;
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
    const run: IncidentRun = {
      plan,
      events: [],
      createFirst: !plan.resolveFirst,
      bridgeStarted: false,
      finalStatus: 'open',
      non202: {},
      undelivered: [],
      participants: [],
    };
    this.runs.set(plan.id, run);
    await sleep(Math.max(0, driveStart + plan.startMs - Date.now()));
    const rng = this.o.rng.fork(plan.id);
    const now = Date.now();
    const lagMs = plan.backdated ? rng.between(2, 96) * 3_600_000 : 0;
    const createdAt = new Date(now - lagMs - (plan.resolveFirst ? plan.dwellMs : 0));
    // A sender whose clock is ten minutes off stamps its events so (within the intake's 15 minutes).
    const stamp = (key: EventKey, at: Date) =>
      new Date(
        at.getTime() +
          (plan.skew === 'createAhead' && key === 'created'
            ? SKEW_MS
            : plan.skew === 'resolveBehind' && (key === 'resolved' || key === 'resolved2')
              ? -SKEW_MS
              : 0),
      );
    /** Now, in the incident's own time frame (hours ago for a back-dated one). */
    const frameNow = () => new Date(Date.now() - lagMs);

    if (plan.resolveFirst) {
      // The resolve is delivered first and acknowledged, then the create: the incident workflow
      // records them in that order. A flapping alert stamps both with the same second.
      const second = new Date(Math.floor(now / 1000) * 1000);
      const resolvedAt = plan.equalStamps
        ? second
        : plan.backdated
          ? new Date(createdAt.getTime() + rng.between(0.1, 0.9) * lagMs)
          : new Date(now);
      await this.send(run, 'resolved', resolvedAt);
      run.lastResolvedAt = resolvedAt.toISOString();
      run.finalStatus = 'resolved';
      await this.send(run, 'created', plan.equalStamps ? second : createdAt);
      if (plan.flow === 'closed') await this.close(run, rng);
      return run;
    }

    if (plan.webhookRace || plan.interrupt) this.o.proxy.holdBridgeCreate(plan.id, plan.holdMs ?? 3000);
    await this.send(run, 'created', stamp('created', createdAt));
    if (plan.interrupt) await this.interruptCreate(run);
    else if (plan.webhookRace) await this.raceBridge(run);
    else if (!plan.permanentFault) await this.joinBridge(run);
    for (const [i, kind] of plan.updates.entries()) {
      await sleep(rng.between(300, 1500));
      await this.send(run, i === 0 ? 'update1' : 'update2', frameNow(), kind);
    }
    if (plan.flow === 'open') return run;

    await sleep(plan.dwellMs);
    const resolvedAt = stamp(
      'resolved',
      plan.backdated ? new Date(createdAt.getTime() + rng.between(0.1, 0.9) * lagMs) : new Date(),
    );
    await this.send(run, 'resolved', resolvedAt);
    run.lastResolvedAt = resolvedAt.toISOString();
    run.finalStatus = 'resolved';
    this.leaveAfterResolve(run, rng);

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
        const again = stamp('resolved2', new Date());
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
    const incident = incidentHandle(this.o.client, run.plan.id);
    let shared = false;
    while (!shared && Date.now() < deadline) {
      // Few readers at a time, each every 5 s: queries are work for the workers too.
      const timeline = await this.queries
        .run(() => this.o.client.withDeadline(Date.now() + 3000, () => incident.timeline()))
        .catch(() => []);
      shared = timeline.some((t) => t.step === 'share' && t.summary.includes(String(bridge.join_url)));
      if (!shared) await sleep(5000);
    }
    if (!shared) {
      this.o.log(`${run.plan.id}: bridge ${bridge.id} exists but its link never reached the timeline; nobody joins`);
      return;
    }
    const res = await fetch(`${this.o.sandbox.url}/_sandbox/meetings/${bridge.id}/start`, { method: 'POST' });
    run.bridgeStarted = res.status === 201;
    if (!run.bridgeStarted)
      this.o.log(`${run.plan.id}: could not start bridge ${bridge.id}: HTTP ${res.status} ${await res.text()}`);
    // A recorded bridge ends only once the room is empty: someone stays in until after the resolve.
    else if (run.plan.record) await this.join(run, String(bridge.id), false);
  }

  /** Waits (up to the bridge wait) until the bridge's link is on the timeline: the run has taken the meeting in. */
  private async waitForShare(run: IncidentRun, joinUrl: string, deadline: number): Promise<boolean> {
    const incident = incidentHandle(this.o.client, run.plan.id);
    while (Date.now() < deadline) {
      const timeline = await this.queries
        .run(() => this.o.client.withDeadline(Date.now() + 3000, () => incident.timeline()))
        .catch(() => []);
      if (timeline.some((t) => t.step === 'share' && t.summary.includes(joinUrl))) return true;
      await sleep(5000);
    }
    return false;
  }

  /** One person joins the meeting (the sandbox sends Zoom's participant_joined before it answers). */
  private async join(run: IncidentRun, meetingId: string, duringHold: boolean): Promise<Participant | undefined> {
    const person = { name: `Responder ${run.plan.index}`, email: `joiner-${run.plan.index}@example.com` };
    const joinSentAt = new Date().toISOString();
    const res = await fetch(`${this.o.sandbox.url}/_sandbox/meetings/${meetingId}/participants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(person),
    });
    if (res.status !== 201) {
      this.o.log(`${run.plan.id}: could not join meeting ${meetingId}: HTTP ${res.status} ${await res.text()}`);
      return undefined;
    }
    const body = (await res.json()) as { participantId: string; participantUuid: string };
    const participant: Participant = {
      meetingId,
      ...person,
      participantId: body.participantId,
      uuid: body.participantUuid,
      joinSentAt,
      joinReturnedAt: new Date().toISOString(),
      duringHold,
    };
    run.participants.push(participant);
    return participant;
  }

  /**
   * Webhooks race the create: the sandbox made the meeting and holds the create's answer; someone
   * starts the meeting and joins now, so meeting.started and participant_joined reach the intake
   * (and the meeting's mailbox) before the run knows the meeting exists.
   */
  private async raceBridge(run: IncidentRun): Promise<void> {
    const id = run.plan.id;
    const ack = run.events.find((e) => e.key === 'created')?.ackAt;
    const deadline = Date.now() + this.o.bridgeWaitMs;
    const bridge = await this.waitFor(() => this.meetings(id).bridges[0], this.o.bridgeWaitMs, 50);
    if (!bridge) {
      this.o.log(`${id}: no bridge in Zoom after ${this.o.bridgeWaitMs / 1000} s (webhook race); resolving anyway`);
      return;
    }
    run.bridgeId = String(bridge.id);
    if (ack) run.timeToBridgeMs = Date.now() - Date.parse(ack);
    const held = () => {
      const create = this.o.proxy.heldBridgeCreate(id);
      return !!create && !create.answeredAt;
    };
    // The sandbox changes its state at once and then delivers the webhook (≤ 3 s): the join is sent as
    // soon as the meeting is in progress, so both webhooks are on their way during the hold.
    run.raceStartDuringHold = held();
    const started = fetch(`${this.o.sandbox.url}/_sandbox/meetings/${bridge.id}/start`, { method: 'POST' }).then(
      async (res) => {
        if (res.status !== 201)
          this.o.log(
            `${id}: could not start bridge ${bridge.id} during the held create: HTTP ${res.status} ${await res.text()}`,
          );
        return res.status === 201;
      },
    );
    const inProgress = await this.waitFor(
      () => (this.o.sandbox.state.instances.some((i) => i.meetingId === bridge.id && !i.endTime) ? true : undefined),
      5000,
      10,
    );
    if (inProgress) await this.join(run, String(bridge.id), held());
    run.bridgeStarted = await started;
    if (!(await this.waitForShare(run, String(bridge.join_url), deadline)))
      this.o.log(`${id}: bridge ${bridge.id} (webhook race) never reached the timeline`);
  }

  /**
   * Cancels or terminates the bridge runbook while its create is held: Zoom has made the meeting,
   * the answer has not reached the worker.
   */
  private async interruptCreate(run: IncidentRun): Promise<void> {
    const id = run.plan.id;
    const kind = run.plan.interrupt!;
    const runbook = incidentHandle(this.o.client, id).runbook('incident-bridge');
    const workflowId = runbook.workflowId;
    const record: InterruptRecord = { kind, workflowId, duringCreate: false };
    run.interrupt = record;
    const bridge = await this.waitFor(() => this.meetings(id).bridges[0], this.o.bridgeWaitMs, 50);
    if (!bridge) {
      record.error = `no bridge in Zoom within ${this.o.bridgeWaitMs / 1000} s`;
      this.o.log(`${id}: ${record.error}; nothing to ${kind}`);
      return;
    }
    record.meetingId = String(bridge.id);
    try {
      if (kind === 'cancel') await runbook.workflow.cancel();
      else await runbook.workflow.terminate('chaos: terminated while its Zoom create was in flight');
      record.at = new Date().toISOString();
      const create = this.o.proxy.heldBridgeCreate(id);
      record.duringCreate = !!create && !create.answeredAt;
    } catch (err) {
      record.error = (err as Error).message;
      this.o.log(`${id}: ${kind} of ${workflowId} failed: ${record.error}`);
    }
  }

  /**
   * People in a recorded bridge leave a few seconds after the resolve (its end step waits for an
   * empty room). Found already out before they left: the runbook ended the meeting with them inside.
   */
  private leaveAfterResolve(run: IncidentRun, rng: Random): void {
    if (!run.plan.record || run.participants.length === 0) return;
    const stay = rng.between(2000, 6000);
    this.background.push(
      sleep(stay).then(async () => {
        for (const p of run.participants) {
          const record = this.o.sandbox.state.instances
            .filter((i) => i.meetingId === Number(p.meetingId))
            .flatMap((i) => i.participants)
            .find((x) => x.user_id === p.participantId);
          if (record?.leave_time) {
            p.endedWhileInside = true;
            p.leftAt = record.leave_time;
            continue;
          }
          const res = await fetch(
            `${this.o.sandbox.url}/_sandbox/meetings/${p.meetingId}/participants/${p.participantId}/leave`,
            { method: 'POST' },
          );
          if (res.status === 200) p.leftAt = new Date().toISOString();
          else p.leaveError = `HTTP ${res.status} ${await res.text()}`;
        }
      }),
    );
  }

  /** The incident's meetings in Zoom, from an index rebuilt at most every 200 ms (every script polls it). */
  meetings(incidentId: string): IncidentMeetings {
    if (!this.index || Date.now() - this.index.at > 50)
      this.index = { at: Date.now(), meetings: meetingsByIncident(this.o.sandbox) };
    return this.index.meetings.get(incidentId) ?? { bridges: [], postmortems: [], syncs: [] };
  }

  private async waitFor<T>(probe: () => T | undefined, timeoutMs: number, everyMs = 200): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined || Date.now() > deadline) return value;
      await sleep(everyMs);
    }
  }

  /** Sends one event (and its duplicate, when the plan says so), waiting for the first 202. */
  private async send(run: IncidentRun, key: EventKey, occurredAt: Date, update?: UpdateKind): Promise<void> {
    const pagerduty = run.plan.source === 'pagerduty';
    const body = pagerduty
      ? pagerDutyWebhook(run.plan, key, occurredAt)
      : buildEvent(run.plan, key, occurredAt, update);
    const event = pagerduty ? mappedPagerDutyEvent(body) : (body as IncidentEvent);
    const sent: SentEvent = {
      key,
      eventId: event.eventId,
      type: event.type,
      occurredAt: event.occurredAt,
      attempts: 0,
      event,
      via: pagerduty ? '/v1/pagerduty' : '/v1/events',
    };
    run.events.push(sent);
    const dupDelay = run.plan.duplicates[key];
    const deliverDuplicate = async () => {
      const dup: SentEvent = { ...sent, attempts: 0, duplicate: true, ackAt: undefined };
      run.events.push(dup);
      await this.deliver(run, body, dup);
    };
    if (dupDelay === 0) {
      await Promise.all([this.deliver(run, body, sent), deliverDuplicate()]);
    } else {
      await this.deliver(run, body, sent);
      if (dupDelay !== undefined) this.background.push(sleep(dupDelay).then(deliverDuplicate));
    }
  }

  /** POST until 202, as a sender with retries would (honouring Retry-After up to 3 s). PagerDuty signs its webhooks. */
  private async deliver(run: IncidentRun, payload: unknown, sent: SentEvent): Promise<void> {
    const deadline = Date.now() + this.o.deliveryDeadlineMs;
    const body = JSON.stringify(payload);
    const headers: Record<string, string> =
      sent.via === '/v1/pagerduty'
        ? {
            'content-type': 'application/json',
            [PAGERDUTY_SIGNATURE_HEADER]: signPagerDutyBody(this.o.pagerdutySecret, body),
          }
        : { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' };
    for (let backoff = 250; ; backoff = Math.min(backoff * 2, 3000)) {
      sent.attempts++;
      let status: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await fetch(`${this.o.intakeUrl}${sent.via}`, {
          method: 'POST',
          headers,
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
        run.undelivered.push(sent.eventId);
        this.o.log(`${run.plan.id}: event ${sent.eventId} not acknowledged after ${sent.attempts} attempts`);
        return;
      }
      await sleep(Math.min(retryAfterMs ?? backoff, 3000));
    }
  }
}

export function buildEvent(plan: IncidentPlan, key: EventKey, occurredAt: Date, update?: UpdateKind): IncidentEvent {
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
          fields: {
            service: plan.title.split(' ')[0],
            region: `eu-west-${(plan.index % 3) + 1}`,
            tier: 'tier-1',
            ...(plan.record ? { record: true } : {}),
          },
        },
      };
    case 'update1':
    case 'update2':
      // Partial: one key of the custom fields, or only the owner's name; the rest must stay.
      return {
        eventId: `${id}:${key}`,
        type: 'incident.updated',
        occurredAt: at,
        incident: { id, ...partialUpdate(plan, update ?? 'field') },
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
      // PagerDuty says "triggered" for a reopened incident: a reopen whatever the word.
      return {
        eventId: `${id}:reopened`,
        type: 'incident.reopened',
        occurredAt: at,
        incident: { id, ...(plan.pdReopen ? { status: 'triggered' } : {}) },
      };
    case 'closed':
      return { eventId: `${id}:closed`, type: 'incident.closed', occurredAt: at, incident: { id } };
  }
}

function partialUpdate(plan: IncidentPlan, kind: UpdateKind): Omit<IncidentEvent['incident'], 'id'> {
  switch (kind) {
    case 'field':
      return { fields: { region: `us-east-${(plan.index % 2) + 1}` } };
    case 'newField':
      return { fields: { customer: `customer-${plan.index}` } };
    case 'ownerName':
      return { owner: { name: `Sam Lee (chaos ${plan.index})` } };
  }
}

const PAGERDUTY_EVENT_TYPE: Partial<Record<EventKey, string>> = {
  created: 'incident.triggered',
  resolved: 'incident.resolved',
  resolved2: 'incident.resolved',
  reopened: 'incident.reopened',
};

/**
 * A PagerDuty V3 webhook for the incident (`PD-<number>`): every delivery carries the whole
 * incident as PagerDuty has it, with its status word (a reopened incident is `triggered`).
 */
export function pagerDutyWebhook(plan: IncidentPlan, key: EventKey, occurredAt: Date): object {
  const eventType = PAGERDUTY_EVENT_TYPE[key];
  if (!eventType) throw new Error(`PagerDuty sends no ${key} event (incident ${plan.id})`);
  const number = pagerDutyNumber(plan);
  const ref = (type: string, rid: string, summary: string) => ({
    id: rid,
    type,
    summary,
    self: `https://api.pagerduty.com/${type}s/${rid}`,
    html_url: `https://chaos.pagerduty.com/${type}s/${rid}`,
  });
  return {
    event: {
      id: `${plan.id}:${key}`,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: occurredAt.toISOString(),
      agent: ref('user_reference', 'PCHAOS1', 'Ana Ruiz'),
      client: { name: 'PagerDuty' },
      data: {
        id: `Q${number}`,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/Q${number}`,
        html_url: `https://chaos.pagerduty.com/incidents/Q${number}`,
        number,
        status: key === 'created' || key === 'reopened' ? 'triggered' : 'resolved',
        incident_key: `chaos-${plan.index}`,
        title: plan.title,
        service: ref('service_reference', 'PSVCHAOS', plan.title.split(' ')[0]),
        assignees: [ref('user_reference', 'PCHAOS1', 'Ana Ruiz')],
        escalation_policy: ref('escalation_policy_reference', 'PEPCHAOS', 'Chaos on-call'),
        teams: [ref('team_reference', 'PTMCHAOS', 'Chaos SRE')],
        priority: ref('priority_reference', `PPR${plan.severity}`, `P${plan.severity.slice(3)}`),
        urgency: isFollowUpSeverity(plan) ? 'high' : 'low',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  };
}

/** The incident event the intake makes of a PagerDuty webhook (what the incident workflow gets). */
export function mappedPagerDutyEvent(body: object): IncidentEvent {
  const mapping = mapPagerDutyWebhook(body);
  if (mapping.kind !== 'event') throw new Error(`PagerDuty webhook ignored: ${mapping.reason}`);
  return mapping.event;
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
