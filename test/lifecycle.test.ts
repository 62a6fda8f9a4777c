import { CLOCK_SKEW_TOLERANCE_MS, isLate, Lifecycle, mergeIncident, transition } from '../workflows/lifecycle';
import type { Incident, IncidentEventType } from '../workflows/contract';

/** Pure lifecycle rules: no server, no clock (every time is relative to one base). */
const BASE = Date.parse('2040-01-01T00:00:00Z');
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();
const ev = (type: IncidentEventType, minutes: number) => ({ type, occurredAt: at(minutes) });

/** Applies events in arrival order; returns the status after each. */
function replay(...events: ReturnType<typeof ev>[]): (string | undefined)[] {
  let lifecycle: Lifecycle | undefined;
  return events.map((e) => {
    const step = transition(lifecycle, e);
    if (step.moved) lifecycle = step.lifecycle;
    return lifecycle?.status;
  });
}

describe('incident lifecycle', () => {
  it('goes created → resolved ⇄ reopened → closed', () => {
    expect(
      replay(
        ev('incident.created', 0),
        ev('incident.resolved', 10),
        ev('incident.reopened', 20),
        ev('incident.resolved', 30),
        ev('incident.closed', 40),
      ),
    ).toEqual(['open', 'resolved', 'reopened', 'resolved', 'closed']);
  });

  it('a create with the same timestamp as the resolve before it does not reopen the incident', () => {
    expect(replay(ev('incident.resolved', 0), ev('incident.created', 0))).toEqual(['resolved', 'resolved']);
    expect(
      transition({ status: 'resolved', since: at(0), by: 'incident.resolved' }, ev('incident.created', 0)),
    ).toEqual({ moved: false, why: 'backwards' });
  });

  it('a create stamped ahead by a fast clock does not make the real resolve late', () => {
    expect(replay(ev('incident.created', 10), ev('incident.resolved', 0))).toEqual(['open', 'resolved']);
    // Even hours apart: resolving an open incident is always forward.
    expect(replay(ev('incident.created', 600), ev('incident.resolved', 0))).toEqual(['open', 'resolved']);
  });

  it('within the clock-skew tolerance, arrival order decides between resolve and reopen', () => {
    const skew = CLOCK_SKEW_TOLERANCE_MS / 60_000 - 1;
    expect(replay(ev('incident.created', 0), ev('incident.resolved', 30), ev('incident.reopened', 30 - skew))).toEqual([
      'open',
      'resolved',
      'reopened',
    ]);
    expect(replay(ev('incident.created', 0), ev('incident.resolved', 30), ev('incident.reopened', 30))).toEqual([
      'open',
      'resolved',
      'reopened',
    ]);
  });

  it('a reopen stamped clearly before the resolve it would undo is a late delivery', () => {
    const behind = CLOCK_SKEW_TOLERANCE_MS / 60_000 + 1;
    const resolved: Lifecycle = { status: 'resolved', since: at(60), by: 'incident.resolved' };
    expect(transition(resolved, ev('incident.reopened', 60 - behind))).toEqual({ moved: false, why: 'stale' });
    expect(
      transition({ status: 'reopened', since: at(60), by: 'incident.reopened' }, ev('incident.resolved', 60 - behind)),
    ).toEqual({ moved: false, why: 'stale' });
  });

  it('closed is final; updates never move it', () => {
    expect(
      replay(
        ev('incident.created', 0),
        ev('incident.closed', 5),
        ev('incident.reopened', 10),
        ev('incident.resolved', 11),
        ev('incident.created', 12),
      ),
    ).toEqual(['open', 'closed', 'closed', 'closed', 'closed']);
    expect(transition({ status: 'open', since: at(0), by: 'incident.created' }, ev('incident.updated', 5))).toEqual({
      moved: false,
      why: 'no lifecycle change',
    });
  });

  it('a reopen that overtakes its resolve stands: the older resolve arrives as a late delivery', () => {
    expect(replay(ev('incident.created', 0), ev('incident.reopened', 60), ev('incident.resolved', 30))).toEqual([
      'open',
      'reopened',
      'reopened',
    ]);
  });

  it('events that arrive before the create still count (a reopen first, its older resolve later)', () => {
    expect(replay(ev('incident.reopened', 30), ev('incident.resolved', 10), ev('incident.created', 0))).toEqual([
      'reopened',
      'reopened',
      'reopened',
    ]);
  });

  it('isLate allows the skew tolerance', () => {
    expect(isLate(at(0), undefined)).toBe(false);
    expect(isLate(at(0), at(CLOCK_SKEW_TOLERANCE_MS / 60_000))).toBe(false);
    expect(isLate(at(0), at(CLOCK_SKEW_TOLERANCE_MS / 60_000 + 1))).toBe(true);
  });
});

describe('mergeIncident', () => {
  const base = (): Incident => ({
    id: 'INC-1',
    title: 'Checkout down',
    summary: 'p99',
    owner: { name: 'Ana', email: 'ana@example.com' },
    responders: [{ email: 'a@example.com' }, { email: 'b@example.com' }],
    fields: { service: 'checkout', region: 'eu-west-1', links: { runbook: 'r', dashboard: 'd' } },
  });

  it('merges custom fields and the owner key by key: a partial update drops nothing', () => {
    const incident = base();
    mergeIncident(incident, {
      fields: { region: 'us-east-1', links: { dashboard: 'd2' } },
      owner: { name: 'Ana Ruiz' },
    });
    expect(incident.fields).toEqual({
      service: 'checkout',
      region: 'us-east-1',
      links: { runbook: 'r', dashboard: 'd2' },
    });
    expect(incident.owner).toEqual({ name: 'Ana Ruiz', email: 'ana@example.com' });
  });

  it('null removes a field; lists replace', () => {
    const incident = base();
    mergeIncident(incident, {
      fields: { region: null },
      owner: { email: null },
      summary: null,
      responders: [{ email: 'c@example.com' }],
    });
    expect(incident.fields).toEqual({ service: 'checkout', links: { runbook: 'r', dashboard: 'd' } });
    expect(incident.owner).toEqual({ name: 'Ana' });
    expect('summary' in incident).toBe(false);
    expect(incident.responders).toEqual([{ email: 'c@example.com' }]);
    mergeIncident(incident, { owner: null });
    expect('owner' in incident).toBe(false);
  });

  it('a late event only fills what is missing, and removes nothing', () => {
    const incident = base();
    mergeIncident(
      incident,
      { title: 'Old title', severity: 'SEV2', fields: { region: 'old', team: 'payments' }, summary: null },
      true,
    );
    expect(incident).toMatchObject({ title: 'Checkout down', severity: 'SEV2', summary: 'p99' });
    expect(incident.fields).toMatchObject({ region: 'eu-west-1', team: 'payments' });
  });

  it('ignores keys that would reach an object prototype', () => {
    const incident = base();
    mergeIncident(incident, JSON.parse('{"fields": {"__proto__": {"polluted": true}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
