import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEventFile } from '../src/apps/cli/incident';
import { ConfigError, clockSkewTolerance } from '../src/platform/config';
import {
  checkClockSkew,
  clockSkewProblem,
  DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
  formatSpan,
  formatTolerance,
  incidentEventSchema,
  InvalidIncidentEventError,
  parseIncidentEvent,
} from '../src/core/incident';

const valid = {
  eventId: 'evt-7f3a',
  type: 'incident.created',
  occurredAt: '2026-11-22T09:14:03Z',
  incident: {
    id: 'INC-4211',
    title: 'Checkout latency > 5s in eu-west',
    severity: 'SEV1',
    owner: { name: 'Ana Ruiz', email: 'ana@example.com' },
    responders: [{ email: 'sre-oncall@example.com' }],
    fields: { service: 'checkout' },
  },
};

function problems(input: unknown): string[] {
  try {
    parseIncidentEvent(input, 'event.json');
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidIncidentEventError);
    expect((err as Error).message).toContain('event.json');
    return (err as InvalidIncidentEventError).problems;
  }
  throw new Error('expected the event to be rejected');
}

describe('incident events', () => {
  it('accepts the documented format', () => {
    // A severity already on the scale has no source severity to keep: null clears one an earlier event left.
    expect(parseIncidentEvent(valid)).toEqual({ ...valid, incident: { ...valid.incident, sourceSeverity: null } });
  });

  it('names each bad field', () => {
    expect(problems({ ...valid, type: 'incident.exploded' })).toEqual([
      expect.stringMatching(/^type: Invalid enum value/),
    ]);
    expect(problems({ ...valid, occurredAt: 'yesterday' })).toEqual(['occurredAt: Invalid datetime']);
    expect(problems({ ...valid, eventId: undefined })).toEqual(['eventId: is required']);
    expect(problems({ ...valid, incident: { ...valid.incident, id: 'INC 42/a' } })).toEqual([
      expect.stringMatching(/^incident\.id: must start with a letter or digit/),
    ]);
    expect(problems({ ...valid, incident: { ...valid.incident, owner: { email: 'not-an-email' } } })).toEqual([
      'incident.owner.email: Invalid email',
    ]);
    expect(problems({ ...valid, incident: { ...valid.incident, priority: 'P1' } })).toEqual([
      'incident: unknown field(s) "priority"',
    ]);
  });

  it('requires a title when an incident is created, not on later events', () => {
    const { title: _t, ...untitled } = valid.incident;
    expect(problems({ ...valid, incident: untitled })).toEqual([
      'incident.title: is required when an incident is created',
    ]);
    expect(parseIncidentEvent({ ...valid, type: 'incident.resolved', incident: { id: 'INC-4211' } }).type).toBe(
      'incident.resolved',
    );
  });

  it('reports every problem at once', () => {
    expect(problems({ type: 'x', incident: {} })).toHaveLength(4);
    expect(problems('not an object')).toEqual(['(event): Expected object, received string']);
  });
});

describe('incident event severity', () => {
  const withSeverity = (severity: unknown, extra: Record<string, unknown> = {}) => ({
    ...valid,
    incident: { ...valid.incident, severity, ...extra },
  });

  it.each<[unknown, string, string | null]>([
    ['SEV1', 'SEV1', null],
    ['SEV5', 'SEV5', null],
    ['P1', 'SEV1', 'P1'],
    ['p4', 'SEV4', 'p4'],
    ['sev2', 'SEV2', 'sev2'],
    ['Sev 3', 'SEV3', 'Sev 3'],
    ['SEV0', 'SEV1', 'SEV0'],
    [0, 'SEV1', '0'],
    [3, 'SEV3', '3'],
    ['5', 'SEV5', '5'],
    ['critical', 'SEV1', 'critical'],
    ['Major', 'SEV2', 'Major'],
    ['warning', 'SEV3', 'warning'],
    ['minor', 'SEV4', 'minor'],
    ['informational', 'SEV5', 'informational'],
  ])('severity %p is stored as %s with source severity %p', (sent, severity, sourceSeverity) => {
    expect(parseIncidentEvent(withSeverity(sent)).incident).toEqual({ ...valid.incident, severity, sourceSeverity });
  });

  it('keeps a source severity the sender set itself, and refuses one without a severity', () => {
    expect(
      parseIncidentEvent(withSeverity('SEV2', { sourceSeverity: 'Major outage (custom)' })).incident,
    ).toMatchObject({ severity: 'SEV2', sourceSeverity: 'Major outage (custom)' });
    expect(parseIncidentEvent(withSeverity('P2', { sourceSeverity: 'P2 - High' })).incident).toMatchObject({
      severity: 'SEV2',
      sourceSeverity: 'P2 - High',
    });
    const { severity: _s, ...unrated } = valid.incident;
    expect(problems({ ...valid, incident: { ...unrated, sourceSeverity: 'P1' } })).toEqual([
      'incident.sourceSeverity: is only accepted together with severity',
    ]);
  });

  it('leaves both out when the event says nothing of severity', () => {
    const { severity: _s, ...unrated } = valid.incident;
    const parsed = parseIncidentEvent({ ...valid, incident: unrated }).incident;
    expect(parsed).toEqual(unrated);
    expect(Object.keys(parsed)).not.toContain('sourceSeverity');
  });

  it('refuses a value off the scale, naming incident.severity and what is accepted', () => {
    const accepted =
      'use SEV1, SEV2, SEV3, SEV4 or SEV5 (also read: SEV0 and P0 and 0 as SEV1; P1-P5 and 1-5 as SEV1-SEV5; critical; high, major; medium, moderate, warning; low, minor; info, informational)';
    expect(problems(withSeverity('SEV9'))).toEqual([`incident.severity: unknown severity "SEV9"; ${accepted}`]);
    expect(problems(withSeverity('urgent-ish'))).toEqual([
      `incident.severity: unknown severity "urgent-ish"; ${accepted}`,
    ]);
    expect(problems(withSeverity(7))).toEqual([`incident.severity: unknown severity 7; ${accepted}`]);
    expect(problems(withSeverity(true))).toEqual([
      `incident.severity: expected a severity (a string or a number): ${accepted.slice(4)}`,
    ]);
    expect(problems(withSeverity(null))).toEqual([
      `incident.severity: expected a severity (a string or a number): ${accepted.slice(4)}`,
    ]);
  });

  it("reports a bad severity together with the event's other problems", () => {
    const { title: _t, ...untitled } = valid.incident;
    expect(problems({ ...valid, incident: { ...untitled, severity: 'SEV9' } })).toEqual([
      expect.stringMatching(/^incident\.severity: unknown severity "SEV9"/),
      'incident.title: is required when an incident is created',
    ]);
  });

  it('gives an event that validates again as it is (what Temporal stores is valid)', () => {
    for (const sent of ['P1', 'SEV1', 'critical', 2]) {
      const once = parseIncidentEvent(withSeverity(sent));
      const twice = parseIncidentEvent(JSON.parse(JSON.stringify(once)));
      expect(twice).toEqual(once);
      expect(incidentEventSchema.safeParse(once).success).toBe(true);
    }
  });
});

describe('partial updates: null removes', () => {
  const update = (incident: Record<string, unknown>) => ({
    eventId: 'evt-2',
    type: 'incident.updated',
    occurredAt: '2026-11-22T09:20:00Z',
    incident: { id: 'INC-4211', ...incident },
  });

  it('carries only what changed, nulls included', () => {
    expect(parseIncidentEvent(update({ fields: { region: 'x' } })).incident).toEqual({
      id: 'INC-4211',
      fields: { region: 'x' },
    });
    expect(parseIncidentEvent(update({ owner: { name: 'A' } })).incident).toEqual({
      id: 'INC-4211',
      owner: { name: 'A' },
    });
    expect(parseIncidentEvent(update({ fields: { region: null } })).incident).toEqual({
      id: 'INC-4211',
      fields: { region: null },
    });
    expect(parseIncidentEvent(update({ owner: { email: null } })).incident).toEqual({
      id: 'INC-4211',
      owner: { email: null },
    });
    expect(parseIncidentEvent(update({ owner: { name: null, email: 'b@example.com' } })).incident).toEqual({
      id: 'INC-4211',
      owner: { name: null, email: 'b@example.com' },
    });
    expect(parseIncidentEvent(update({ owner: null })).incident).toEqual({ id: 'INC-4211', owner: null });
    expect(parseIncidentEvent(update({ summary: null })).incident).toEqual({ id: 'INC-4211', summary: null });
  });

  it('refuses null where a field cannot be removed', () => {
    expect(problems(update({ title: null }))).toEqual(['incident.title: Expected string, received null']);
    expect(problems(update({ status: null }))).toEqual(['incident.status: Expected string, received null']);
    expect(problems(update({ id: null }))).toEqual(['incident.id: Expected string, received null']);
    expect(problems(update({ responders: [{ email: null }] }))).toEqual([
      'incident.responders.0.email: Expected string, received null',
    ]);
    expect(problems(update({ fields: null }))).toEqual(['incident.fields: Expected object, received null']);
  });
});

describe('clock skew at the door', () => {
  const now = Date.parse('2026-11-22T09:00:00Z');
  const ahead = (ms: number) => new Date(now + ms).toISOString();

  it('accepts events up to the tolerance ahead, and any time in the past', () => {
    expect(DEFAULT_CLOCK_SKEW_TOLERANCE_MS).toBe(15 * 60_000);
    expect(clockSkewProblem(ahead(15 * 60_000), now)).toBeUndefined();
    expect(clockSkewProblem(ahead(0), now)).toBeUndefined();
    expect(clockSkewProblem('2020-01-01T00:00:00Z', now)).toBeUndefined();
    expect(clockSkewProblem('2026-11-22T10:14:00+01:00', now)).toBeUndefined(); // 09:14Z: 14 minutes ahead
    expect(clockSkewProblem(ahead(60_000), new Date(now), 120_000)).toBeUndefined();
  });

  it('refuses an event further ahead, saying by how much and the tolerance', () => {
    expect(clockSkewProblem(ahead(15 * 60_000 + 1000), now)).toBe(
      "occurredAt: 2026-11-22T09:15:01.000Z is 15 minutes 1 second ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)",
    );
    expect(clockSkewProblem('2031-01-01T00:00:00Z', now)).toBe(
      "occurredAt: 2031-01-01T00:00:00Z is 4 years 40 days ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)",
    );
    expect(clockSkewProblem('2026-11-22T12:00:00+02:00', now)).toBe(
      "occurredAt: 2026-11-22T12:00:00+02:00 is 1 hour ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)",
    );
    expect(clockSkewProblem(ahead(90_000), now, 60_000, 'event.occurred_at')).toBe(
      "event.occurred_at: 2026-11-22T09:01:30.000Z is 1 minute 30 seconds ahead of this server's clock (tolerance 1m, ZR_CLOCK_SKEW_TOLERANCE)",
    );
  });

  it('throws the problem as an invalid event', () => {
    const event = parseIncidentEvent({ ...valid, occurredAt: '2026-11-22T11:00:00Z' });
    expect(() => checkClockSkew(event, now + 2 * 3_600_000)).not.toThrow();
    let error: unknown;
    try {
      checkClockSkew(event, now, DEFAULT_CLOCK_SKEW_TOLERANCE_MS, 'event.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidIncidentEventError);
    expect((error as InvalidIncidentEventError).problems).toEqual([
      "occurredAt: 2026-11-22T11:00:00Z is 2 hours ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)",
    ]);
    expect((error as Error).message).toContain('Invalid incident event in event.json');
  });

  it("applies to event files the CLI sends (incident send <file>), with this machine's clock", () => {
    const dir = mkdtempSync(join(tmpdir(), 'zr-skew-'));
    const file = join(dir, 'future.json');
    writeFileSync(
      file,
      JSON.stringify({ ...valid, occurredAt: '2026-11-22T10:00:00Z', incident: { ...valid.incident, severity: 'P2' } }),
    );
    expect(readEventFile(file, now + 50 * 60_000, DEFAULT_CLOCK_SKEW_TOLERANCE_MS)).toMatchObject({
      occurredAt: '2026-11-22T10:00:00Z',
      incident: { severity: 'SEV2', sourceSeverity: 'P2' },
    });
    expect(() => readEventFile(file, now, DEFAULT_CLOCK_SKEW_TOLERANCE_MS)).toThrow(
      new InvalidIncidentEventError(
        [
          `occurredAt: 2026-11-22T10:00:00Z is 1 hour ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)`,
        ],
        file,
      ),
    );
    expect(() => readEventFile(file, now, 2 * 3_600_000)).not.toThrow();
  });

  it('words spans and tolerances', () => {
    expect([
      formatSpan(1000),
      formatSpan(61_000),
      formatSpan(3_600_000),
      formatSpan(3_660_000),
      formatSpan(90_061_000),
      formatSpan(400 * 86_400_000),
      formatSpan(500),
    ]).toEqual([
      '1 second',
      '1 minute 1 second',
      '1 hour',
      '1 hour 1 minute',
      '1 day 1 hour',
      '1 year 35 days',
      '500 ms',
    ]);
    expect([
      formatTolerance(900_000),
      formatTolerance(5_400_000),
      formatTolerance(3_600_000),
      formatTolerance(90_000),
      formatTolerance(1500),
      formatTolerance(0),
    ]).toEqual(['15m', '90m', '1h', '90s', '1500ms', '0ms']);
  });

  it('reads its tolerance from ZR_CLOCK_SKEW_TOLERANCE', () => {
    expect(clockSkewTolerance({})).toBe(900_000);
    expect(clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: '' })).toBe(900_000);
    expect(clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: '15m' })).toBe(900_000);
    expect(clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: '900s' })).toBe(900_000);
    expect(clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: '1h' })).toBe(3_600_000);
    expect(clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: '2 minutes' })).toBe(120_000);
    expect(clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: '0s' })).toBe(0);
    for (const bad of ['900', '-5m', 'soon', '15 parsecs']) {
      expect(() => clockSkewTolerance({ ZR_CLOCK_SKEW_TOLERANCE: bad })).toThrow(
        new ConfigError(`ZR_CLOCK_SKEW_TOLERANCE must be a duration such as "15m", "900s" or "1h"; got "${bad}".`),
      );
    }
  });
});
