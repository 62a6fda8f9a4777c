/**
 * The incident lifecycle: created → resolved ⇄ reopened → closed, decided by what the incident
 * workflow has already seen, never by "the newest timestamp wins". Timestamps come from the
 * senders' clocks, which disagree and tie, so they only order events that undo each other
 * (resolved ⇄ reopened), and only beyond a clock-skew tolerance; within it, arrival order decides.
 * Pure and deterministic: the incident workflow and unit tests share it.
 */
import type { Incident, IncidentEvent, IncidentEventType } from './contract/shared';

export type LifecycleStatus = 'open' | 'resolved' | 'reopened' | 'closed';

/** Where the lifecycle is, and which event (type and sender's time) put it there. */
export interface Lifecycle {
  status: LifecycleStatus;
  since: string;
  by: IncidentEventType;
}

/**
 * Clocks of different senders may disagree by this much: events closer than this are treated as
 * simultaneous, so the one that arrived last wins. The intake refuses events further ahead than
 * its own tolerance (ZR_CLOCK_SKEW_TOLERANCE, the same 15 minutes by default).
 */
export const CLOCK_SKEW_TOLERANCE_MS = 15 * 60_000;

/** Rank of each status: an event never takes the incident to a lower rank. */
const RANK: Record<LifecycleStatus, number> = { open: 1, resolved: 2, reopened: 2, closed: 3 };

/** The status each lifecycle event asks for (updates ask for none). */
const TARGET: Partial<Record<IncidentEventType, LifecycleStatus>> = {
  'incident.created': 'open',
  'incident.resolved': 'resolved',
  'incident.reopened': 'reopened',
  'incident.closed': 'closed',
};

export type Transition =
  | { moved: true; lifecycle: Lifecycle }
  /** `unchanged`: already there (or nothing to undo); `backwards`: to a lower rank; `stale`: undoes a newer event. */
  | { moved: false; why: 'no lifecycle change' | 'unchanged' | 'backwards' | 'stale' };

/** What `event` does to the lifecycle `current` (undefined: no lifecycle event seen yet). */
export function transition(
  current: Lifecycle | undefined,
  event: Pick<IncidentEvent, 'type' | 'occurredAt'>,
  toleranceMs = CLOCK_SKEW_TOLERANCE_MS,
): Transition {
  const target = TARGET[event.type];
  if (!target) return { moved: false, why: 'no lifecycle change' };
  const next = { moved: true as const, lifecycle: { status: target, since: event.occurredAt, by: event.type } };
  if (!current) return next;
  if (current.status === target) return { moved: false, why: 'unchanged' };
  if (RANK[target] < RANK[current.status]) return { moved: false, why: 'backwards' };
  if (RANK[target] > RANK[current.status]) return next;
  // resolved ⇄ reopened (an open incident reopens too: its resolve was overtaken): an event that
  // undoes a clearly newer one is a late delivery.
  if (Date.parse(event.occurredAt) < Date.parse(current.since) - toleranceMs) return { moved: false, why: 'stale' };
  return next;
}

/** True when `event` was stamped clearly before `newest` (beyond the clock-skew tolerance). */
export function isLate(occurredAt: string, newest: string | undefined, toleranceMs = CLOCK_SKEW_TOLERANCE_MS): boolean {
  return !!newest && Date.parse(occurredAt) < Date.parse(newest) - toleranceMs;
}

/** An incident change as events carry it: `null` removes a field. */
export type IncidentChange = { [key: string]: unknown };

/**
 * Merges a change into the incident: objects (custom `fields`, `owner`) are merged key by key at
 * every depth, so a partial update never drops what it does not mention; `null` removes; arrays
 * and other values replace. With `fillOnly` (a late event) only what is missing is filled in.
 */
export function mergeIncident(incident: Incident, change: IncidentChange, fillOnly = false): void {
  mergeInto(incident as unknown as Record<string, unknown>, change, fillOnly);
}

function mergeInto(target: Record<string, unknown>, change: Record<string, unknown>, fillOnly: boolean): void {
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined || key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const current = target[key];
    if (value === null) {
      if (!fillOnly) delete target[key];
    } else if (isPlainObject(value) && (isPlainObject(current) || current === undefined)) {
      const merged = isPlainObject(current) ? current : {};
      mergeInto(merged, value, fillOnly);
      target[key] = merged;
    } else if (!fillOnly || current === undefined) {
      target[key] = value;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why an event left the status as it was, for the timeline. */
export function describeNoMove(
  why: Exclude<Transition, { moved: true }>['why'],
  lifecycle: Lifecycle | undefined,
): string {
  const status = lifecycle?.status ?? 'open';
  if (why === 'backwards') return `the incident is already ${status}: its status is unchanged`;
  if (why === 'stale')
    return `stamped before the incident was ${status}, so it is a late delivery: its status is unchanged`;
  return '';
}
