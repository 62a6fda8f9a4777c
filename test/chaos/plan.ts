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

export type EventKey = 'created' | 'resolved' | 'reopened' | 'resolved2' | 'closed';

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
    const severity: Severity = flow.startsWith('reopen') ? rng.pick(['SEV1', 'SEV2'] as const) : rng.weighted<Severity>({ SEV1: 10, SEV2: 25, SEV3: 40, SEV4: 25 });
    const resolvable = flow === 'resolved' || flow === 'closed';
    const service = rng.pick(SERVICES);
    const duplicates: IncidentPlan['duplicates'] = {};
    for (const key of eventKeys(flow)) if (rng.chance(o.duplicateRate)) duplicates[key] = rng.chance(0.5) ? 0 : rng.int(1000, 15000);
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
    });
    t += -Math.log(1 - rng.next()) * mean;
  }
  ensureCoverage(rng, plans);
  // Permanent faults go to plain incidents (bridge opened by incident-bridge, create delivered first).
  const candidates = plans.filter((p) => !p.resolveFirst && !p.record && (p.flow === 'resolved' || p.flow === 'closed'));
  for (let k = 0; k < o.permanentFaults && candidates.length; k++) candidates.splice(rng.int(0, candidates.length - 1), 1)[0].permanentFault = true;
  return plans;
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
function ensureCoverage(rng: Random, plans: IncidentPlan[]): void {
  const scenarios: { has: (p: IncidentPlan) => boolean; make: (p: IncidentPlan) => void }[] = [
    { has: (p) => p.flow === 'reopenQuick', make: (p) => Object.assign(p, { flow: 'reopenQuick', severity: 'SEV1', resolveFirst: false, backdated: false, record: false }) },
    { has: (p) => p.flow === 'reopenResolved', make: (p) => Object.assign(p, { flow: 'reopenResolved', severity: 'SEV2', resolveFirst: false, backdated: false, record: false }) },
    {
      has: (p) => p.resolveFirst && isFollowUpSeverity(p) && p.resolveCarriesSeverity,
      make: (p) => Object.assign(p, { flow: 'resolved', severity: 'SEV2', resolveFirst: true, resolveCarriesSeverity: true, record: false }),
    },
    {
      has: (p) => p.resolveFirst && isFollowUpSeverity(p) && !p.resolveCarriesSeverity,
      make: (p) => Object.assign(p, { flow: 'resolved', severity: 'SEV1', resolveFirst: true, resolveCarriesSeverity: false, record: false }),
    },
    { has: (p) => p.flow === 'closed' && isFollowUpSeverity(p) && !p.resolveFirst, make: (p) => Object.assign(p, { flow: 'closed', severity: 'SEV1', resolveFirst: false, record: false }) },
    { has: (p) => p.backdated && isFollowUpSeverity(p), make: (p) => Object.assign(p, { flow: 'resolved', severity: 'SEV2', backdated: true, resolveFirst: false, record: false }) },
    { has: (p) => p.record && p.flow !== 'open' && !p.resolveFirst, make: (p) => Object.assign(p, { flow: 'resolved', record: true, resolveFirst: false }) },
    { has: (p) => p.flow === 'open', make: (p) => Object.assign(p, { flow: 'open', resolveFirst: false, backdated: false }) },
    { has: (p) => Object.keys(p.duplicates).length > 0, make: (p) => Object.assign(p, { duplicates: { ...p.duplicates, created: 0 } }) },
  ];
  const used = new Set<number>();
  for (const s of scenarios) {
    if (plans.some((p) => s.has(p))) {
      const holder = plans.find((p) => s.has(p) && !used.has(p.index));
      if (holder) used.add(holder.index);
      continue;
    }
    const free = plans.filter((p) => !used.has(p.index));
    if (!free.length) return;
    const p = rng.pick(free);
    s.make(p);
    const keys = new Set(eventKeys(p.flow));
    for (const k of Object.keys(p.duplicates) as EventKey[]) if (!keys.has(k)) delete p.duplicates[k];
    used.add(p.index);
  }
}

export function isFollowUpSeverity(p: Pick<IncidentPlan, 'severity'>): boolean {
  return p.severity === 'SEV1' || p.severity === 'SEV2';
}
