import { Random } from './random';

/**
 * What each incident of a chaos run goes through. The plan is drawn from the seed before the run,
 * so a run can be repeated; what actually happened (times, retries) is recorded by the driver.
 */

export type Severity = 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';

/**
 * - open: created only.
 * - resolved: created, then resolved.
 * - closed: created, resolved, then closed (the daily sync is deleted).
 * - reopenQuick: created, resolved, reopened at once (while the postmortem is being booked), left open:
 *   the postmortem must be cancelled.
 * - reopenResolved: created, resolved, reopened after the postmortem was booked, resolved again:
 *   one postmortem, booked from the second resolution.
 */
export type Flow = 'open' | 'resolved' | 'closed' | 'reopenQuick' | 'reopenResolved';

export type EventKey = 'created' | 'resolved' | 'reopened' | 'resolved2' | 'closed' | 'update1' | 'update2';

/**
 * A sender whose clock is off by ten minutes (within the intake's 15-minute tolerance):
 * - createAhead: the create is stamped 10 minutes ahead of true time, the other events at true time;
 * - resolveBehind: the resolves are stamped 10 minutes behind true time.
 */
export type Skew = 'createAhead' | 'resolveBehind';

/** What happens to the bridge runbook while its create is held (Zoom made the meeting, its answer is on the way). */
export type Interrupt = 'cancel' | 'terminate';

/**
 * A partial `incident.updated`: one custom field changed (`field`), one added (`newField`), or only
 * the owner's name (`ownerName`). Each must leave everything it does not mention as it was.
 */
export type UpdateKind = 'field' | 'newField' | 'ownerName';

/** Where the incident comes from: our events API, or PagerDuty V3 webhooks (POST /v1/pagerduty). */
export type Source = 'events' | 'pagerduty';

/** The clock skew of a skewed sender (ms). */
export const SKEW_MS = 10 * 60_000;

export interface IncidentPlan {
  index: number;
  id: string;
  title: string;
  severity: Severity;
  /** fields.record: true, so the recorded-bridge runbook opens the bridge. */
  record: boolean;
  flow: Flow;
  /** The resolve is delivered (and acknowledged) before the create: a reordered delivery. */
  resolveFirst: boolean;
  /** The resolve event repeats the severity (senders differ in what they include). */
  resolveCarriesSeverity: boolean;
  /** Event times hours or days in the past (a sender catching up), so follow-ups land on varied days. */
  backdated: boolean;
  /** A permanent Zoom fault (400) on its bridge create, by design: the bridge step fails, the timeline says why. */
  permanentFault: boolean;
  /** When its first event is sent, from the start of the drive (ms). */
  startMs: number;
  /** Time between the bridge being joined and the resolve (ms). */
  dwellMs: number;
  /** Events delivered twice, with the delay of the second delivery (0: at the same time). */
  duplicates: Partial<Record<EventKey, number>>;
  /** Our events API, or PagerDuty webhooks (the incident is then `PD-<number>`, and never closed: PagerDuty does not close). */
  source: Source;
  /** With resolveFirst: the resolve and the create carry the same occurredAt (whole seconds), as a flapping alert sends them. */
  equalStamps: boolean;
  /** One sender's clock is ten minutes off. */
  skew?: Skew;
  /** Partial `incident.updated` events sent after the create (and before the resolve). */
  updates: UpdateKind[];
  /**
   * The bridge create's answer is held 2-4 s after Zoom made the meeting (sandbox fault
   * holdResponseMs): someone starts the meeting and joins during the hold, so Zoom's webhooks
   * reach the intake before the create's answer reaches the worker.
   */
  webhookRace: boolean;
  /** The bridge runbook is cancelled or terminated while its create is held. */
  interrupt?: Interrupt;
  /** How long the sandbox holds the bridge create's answer (ms), for webhookRace and interrupt. */
  holdMs?: number;
  /** The reopen says `incident.status: "triggered"` (PagerDuty's word for it). PagerDuty-sourced reopens always do. */
  pdReopen: boolean;
}

export interface PlanOptions {
  incidents: number;
  /** Creates are spread over this window (s). */
  arrivalWindowS: number;
  dwellS: [number, number];
  /** Probability that an event is delivered twice. */
  duplicateRate: number;
  /** Share of resolved incidents whose resolve is delivered before the create. */
  reorderRate: number;
  recordRate: number;
  backdatedRate: number;
  permanentFaults: number;
  /** Share of resolve-first incidents whose resolve and create carry the same second. */
  equalStampRate: number;
  /** Share of create-first incidents with a sender's clock ten minutes off. */
  skewRate: number;
  /** Share of create-first incidents that get partial updates. */
  updateRate: number;
  /** Share of create-first incidents whose bridge create is held while someone joins. */
  webhookRaceRate: number;
  /** Share of plain incidents whose bridge runbook is cancelled or terminated during its create. */
  interruptRate: number;
  /** Share of incidents sent as PagerDuty webhooks. */
  pagerdutyRate: number;
  /** Share of reopen flows (our events API) whose reopen says status "triggered". */
  pdReopenRate: number;
}

const SERVICES = ['checkout', 'payments', 'search', 'auth', 'ledger', 'notifications', 'catalog', 'shipping'];
const SYMPTOMS = ['5xx spike', 'latency > 5s', 'error budget burn', 'queue backlog', 'timeouts', 'partial outage'];

export function makePlan(rng: Random, o: PlanOptions): IncidentPlan[] {
  const width = String(o.incidents).length;
  const mean = (o.arrivalWindowS * 1000) / o.incidents;
  let t = 0;
  const plans: IncidentPlan[] = [];
  for (let i = 1; i <= o.incidents; i++) {
    const flow = rng.weighted<Flow>({ open: 10, resolved: 57, closed: 18, reopenQuick: 7.5, reopenResolved: 7.5 });
    // Reopen flows are about the postmortem, which only SEV1/SEV2 incidents get.
    const severity: Severity = flow.startsWith('reopen')
      ? rng.pick(['SEV1', 'SEV2'] as const)
      : rng.weighted<Severity>({ SEV1: 10, SEV2: 25, SEV3: 40, SEV4: 25 });
    const resolvable = flow === 'resolved' || flow === 'closed';
    const service = rng.pick(SERVICES);
    const duplicates: IncidentPlan['duplicates'] = {};
    for (const key of eventKeys(flow))
      if (rng.chance(o.duplicateRate)) duplicates[key] = rng.chance(0.5) ? 0 : rng.int(1000, 15000);
    plans.push({
      index: i,
      id: `CHAOS-${String(i).padStart(width, '0')}`,
      title: `${service} ${rng.pick(SYMPTOMS)} (chaos ${i})`,
      severity,
      record: rng.chance(o.recordRate),
      flow,
      resolveFirst: resolvable && rng.chance(o.reorderRate),
      resolveCarriesSeverity: rng.chance(0.5),
      backdated: resolvable && rng.chance(o.backdatedRate),
      permanentFault: false,
      startMs: Math.round(t),
      dwellMs: Math.round(rng.between(o.dwellS[0], o.dwellS[1]) * 1000),
      duplicates,
      source: 'events',
      equalStamps: false,
      updates: [],
      webhookRace: false,
      pdReopen: false,
    });
    t += -Math.log(1 - rng.next()) * mean;
  }
  const holders = ensureCoverage(rng, plans);
  // Permanent faults go to plain incidents (bridge opened by incident-bridge, create delivered first).
  const candidates = plans.filter(
    (p) => !p.resolveFirst && !p.record && (p.flow === 'resolved' || p.flow === 'closed'),
  );
  for (let k = 0; k < o.permanentFaults && candidates.length; k++)
    candidates.splice(rng.int(0, candidates.length - 1), 1)[0].permanentFault = true;
  // The lifecycle's disorder is drawn from a generator of its own, so the draws above (and a seed's
  // plan of the kinds above) stay what they were.
  addDisorder(rng.fork('disorder'), plans, o, holders);
  return plans;
}

/**
 * Equal timestamps, skewed clocks, partial updates, webhooks racing the create, cancels and
 * terminates during a create, PagerDuty-shaped reopens and PagerDuty webhooks: drawn per incident,
 * then each kind written onto one more incident if the draws missed it (every kind at least once,
 * even in 30 incidents). Incidents that hold a scenario of ensureCoverage are not reshaped.
 */
function addDisorder(rng: Random, plans: IncidentPlan[], o: PlanOptions, holders: Set<number>): void {
  const plain = (p: IncidentPlan) => p.source === 'events' && !p.permanentFault && !p.interrupt && !p.webhookRace;
  const toPagerDuty = (p: IncidentPlan) =>
    Object.assign(p, {
      source: 'pagerduty',
      id: pagerDutyId(p.index),
      pdReopen: p.flow.startsWith('reopen'),
      record: false,
      updates: [],
      skew: undefined,
    });
  for (const p of plans) {
    // PagerDuty never closes, and its events cannot carry fields.record.
    if (
      !holders.has(p.index) &&
      p.flow !== 'closed' &&
      !p.resolveFirst &&
      !p.permanentFault &&
      !p.record &&
      rng.chance(o.pagerdutyRate)
    )
      toPagerDuty(p);
    if (p.resolveFirst && p.source === 'events' && rng.chance(o.equalStampRate))
      Object.assign(p, { equalStamps: true, backdated: false });
    if (!p.resolveFirst && p.source === 'events' && rng.chance(o.skewRate))
      p.skew = p.flow === 'open' ? 'createAhead' : rng.pick(['createAhead', 'resolveBehind'] as const);
    if (!p.resolveFirst && p.source === 'events' && rng.chance(o.updateRate))
      p.updates = Array.from({ length: rng.int(1, 2) }, () => rng.pick(['field', 'newField', 'ownerName'] as const));
    if (p.flow.startsWith('reopen') && p.source === 'events' && rng.chance(o.pdReopenRate)) p.pdReopen = true;
    if (!p.resolveFirst && plain(p) && rng.chance(o.webhookRaceRate)) {
      p.webhookRace = true;
      if (!holders.has(p.index) && rng.chance(0.5)) p.record = true;
    }
    if (
      !holders.has(p.index) &&
      !p.resolveFirst &&
      !p.record &&
      plain(p) &&
      (p.flow === 'resolved' || p.flow === 'closed') &&
      rng.chance(o.interruptRate)
    )
      makeInterrupt(rng, p, rng.pick(['cancel', 'terminate'] as const));
    if (p.webhookRace || p.interrupt) p.holdMs = holdFor(rng, p);
  }
  const used = new Set<number>();
  const kinds: {
    has: (p: IncidentPlan) => boolean;
    fits: (p: IncidentPlan) => boolean;
    make: (p: IncidentPlan) => void;
  }[] = [
    {
      has: (p) => p.equalStamps,
      fits: (p) =>
        p.source === 'events' &&
        !p.permanentFault &&
        !p.webhookRace &&
        !p.interrupt &&
        !p.record &&
        !p.skew &&
        p.updates.length === 0,
      make: (p) =>
        Object.assign(p, {
          flow: p.flow === 'closed' ? 'closed' : 'resolved',
          resolveFirst: true,
          equalStamps: true,
          backdated: false,
        }),
    },
    {
      has: (p) => p.skew === 'createAhead',
      fits: (p) => !p.resolveFirst && p.source === 'events',
      make: (p) => (p.skew = 'createAhead'),
    },
    {
      has: (p) => p.skew === 'resolveBehind',
      fits: (p) => !p.resolveFirst && p.source === 'events' && p.flow !== 'open',
      make: (p) => (p.skew = 'resolveBehind'),
    },
    {
      has: (p) => p.updates.some((u) => u !== 'ownerName'),
      fits: (p) => !p.resolveFirst && p.source === 'events',
      make: (p) => (p.updates = [...p.updates, rng.pick(['field', 'newField'] as const)]),
    },
    {
      has: (p) => p.updates.includes('ownerName'),
      fits: (p) => !p.resolveFirst && p.source === 'events',
      make: (p) => (p.updates = [...p.updates, 'ownerName']),
    },
    {
      has: (p) => p.webhookRace && p.record,
      fits: (p) => !p.resolveFirst && plain(p) && p.flow !== 'open',
      make: (p) => Object.assign(p, { webhookRace: true, record: true, holdMs: rng.int(...RACE_HOLD_MS) }),
    },
    {
      has: (p) => p.webhookRace && !p.record,
      fits: (p) => !p.resolveFirst && plain(p) && !p.record,
      make: (p) => Object.assign(p, { webhookRace: true, holdMs: rng.int(...RACE_HOLD_MS) }),
    },
    {
      has: (p) => p.interrupt === 'cancel',
      fits: (p) => !p.resolveFirst && !p.record && plain(p),
      make: (p) => makeInterrupt(rng, p, 'cancel'),
    },
    {
      has: (p) => p.interrupt === 'terminate',
      fits: (p) => !p.resolveFirst && !p.record && plain(p),
      make: (p) => makeInterrupt(rng, p, 'terminate'),
    },
    {
      has: (p) => p.pdReopen && p.source === 'events',
      fits: (p) => p.source === 'events' && !p.resolveFirst && !p.permanentFault && !p.interrupt,
      make: (p) =>
        Object.assign(p, {
          flow: 'reopenResolved',
          severity: 'SEV2',
          pdReopen: true,
          backdated: false,
          record: false,
          webhookRace: false,
        }),
    },
    {
      has: (p) => p.source === 'pagerduty' && p.flow.startsWith('reopen'),
      fits: (p) => plain(p) && !p.resolveFirst && !p.record,
      make: (p) =>
        toPagerDuty(
          Object.assign(p, {
            flow: rng.pick(['reopenQuick', 'reopenResolved'] as const),
            severity: rng.pick(['SEV1', 'SEV2'] as const),
            backdated: false,
          }),
        ),
    },
  ];
  for (const k of kinds) {
    const holder = plans.find((p) => k.has(p) && !used.has(p.index));
    if (holder) {
      used.add(holder.index);
      continue;
    }
    const free = plans.filter((p) => !used.has(p.index) && !holders.has(p.index) && k.fits(p));
    if (!free.length) continue;
    const p = rng.pick(free);
    k.make(p);
    if (p.webhookRace || p.interrupt) p.holdMs ??= holdFor(rng, p);
    const keys = new Set(eventKeys(p.flow));
    for (const key of Object.keys(p.duplicates) as EventKey[]) if (!keys.has(key)) delete p.duplicates[key];
    used.add(p.index);
  }
}

/**
 * How long the sandbox holds a bridge create's answer after making the meeting. Inside the hold the
 * driver must see the meeting in Zoom, then start it and join (a webhook race) or cancel or
 * terminate the run: long enough for that on a loaded CI machine, the interrupts longest.
 */
const RACE_HOLD_MS = [4000, 7000] as const;
const INTERRUPT_HOLD_MS = [8000, 10000] as const;
function holdFor(rng: Random, p: IncidentPlan): number {
  const [min, max] = p.interrupt ? INTERRUPT_HOLD_MS : RACE_HOLD_MS;
  return rng.int(min, max);
}

/** The bridge runbook is cancelled or terminated mid-create; a terminated one is closed (its close reconciles what it left). */
function makeInterrupt(rng: Random, p: IncidentPlan, kind: Interrupt): void {
  Object.assign(p, {
    interrupt: kind,
    // Plain incidents: the bridge is the only meeting (no daily sync racing it for the held create's host).
    severity: rng.pick(['SEV3', 'SEV4'] as const),
    flow: kind === 'terminate' ? 'closed' : p.flow === 'closed' ? 'closed' : 'resolved',
    resolveFirst: false,
    record: false,
    webhookRace: false,
    skew: undefined,
    updates: [],
    holdMs: rng.int(...INTERRUPT_HOLD_MS),
  });
}

/** A PagerDuty incident's id here: `PD-<its number>`, as the PagerDuty intake names it. */
export function pagerDutyId(index: number): string {
  return `PD-${900000 + index}`;
}

/** The PagerDuty incident number behind `PD-<number>`. */
export function pagerDutyNumber(p: Pick<IncidentPlan, 'index'>): number {
  return 900000 + p.index;
}

export function eventKeys(flow: Flow): EventKey[] {
  switch (flow) {
    case 'open':
      return ['created'];
    case 'resolved':
      return ['created', 'resolved'];
    case 'closed':
      return ['created', 'resolved', 'closed'];
    case 'reopenQuick':
      return ['created', 'resolved', 'reopened'];
    case 'reopenResolved':
      return ['created', 'resolved', 'reopened', 'resolved2'];
  }
}

/**
 * Every scenario the suite checks happens at least once, even in a 30-incident run: each is
 * written onto a different incident, chosen at random.
 */
function ensureCoverage(rng: Random, plans: IncidentPlan[]): Set<number> {
  const scenarios: { has: (p: IncidentPlan) => boolean; make: (p: IncidentPlan) => void }[] = [
    {
      has: (p) => p.flow === 'reopenQuick',
      make: (p) =>
        Object.assign(p, {
          flow: 'reopenQuick',
          severity: 'SEV1',
          resolveFirst: false,
          backdated: false,
          record: false,
        }),
    },
    {
      has: (p) => p.flow === 'reopenResolved',
      make: (p) =>
        Object.assign(p, {
          flow: 'reopenResolved',
          severity: 'SEV2',
          resolveFirst: false,
          backdated: false,
          record: false,
        }),
    },
    {
      has: (p) => p.resolveFirst && isFollowUpSeverity(p) && p.resolveCarriesSeverity,
      make: (p) =>
        Object.assign(p, {
          flow: 'resolved',
          severity: 'SEV2',
          resolveFirst: true,
          resolveCarriesSeverity: true,
          record: false,
        }),
    },
    {
      has: (p) => p.resolveFirst && isFollowUpSeverity(p) && !p.resolveCarriesSeverity,
      make: (p) =>
        Object.assign(p, {
          flow: 'resolved',
          severity: 'SEV1',
          resolveFirst: true,
          resolveCarriesSeverity: false,
          record: false,
        }),
    },
    {
      has: (p) => p.flow === 'closed' && isFollowUpSeverity(p) && !p.resolveFirst,
      make: (p) => Object.assign(p, { flow: 'closed', severity: 'SEV1', resolveFirst: false, record: false }),
    },
    {
      has: (p) => p.backdated && isFollowUpSeverity(p),
      make: (p) =>
        Object.assign(p, { flow: 'resolved', severity: 'SEV2', backdated: true, resolveFirst: false, record: false }),
    },
    {
      has: (p) => p.record && p.flow !== 'open' && !p.resolveFirst,
      make: (p) => Object.assign(p, { flow: 'resolved', record: true, resolveFirst: false }),
    },
    {
      has: (p) => p.flow === 'open',
      make: (p) => Object.assign(p, { flow: 'open', resolveFirst: false, backdated: false }),
    },
    {
      has: (p) => Object.keys(p.duplicates).length > 0,
      make: (p) => Object.assign(p, { duplicates: { ...p.duplicates, created: 0 } }),
    },
  ];
  const used = new Set<number>();
  for (const s of scenarios) {
    if (plans.some((p) => s.has(p))) {
      const holder = plans.find((p) => s.has(p) && !used.has(p.index));
      if (holder) used.add(holder.index);
      continue;
    }
    const free = plans.filter((p) => !used.has(p.index));
    if (!free.length) return used;
    const p = rng.pick(free);
    s.make(p);
    const keys = new Set(eventKeys(p.flow));
    for (const k of Object.keys(p.duplicates) as EventKey[]) if (!keys.has(k)) delete p.duplicates[k];
    used.add(p.index);
  }
  return used;
}

export function isFollowUpSeverity(p: Pick<IncidentPlan, 'severity'>): boolean {
  return p.severity === 'SEV1' || p.severity === 'SEV2';
}
