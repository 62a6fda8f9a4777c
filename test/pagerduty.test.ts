import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidPagerDutyWebhookError, mapPagerDutyWebhook, pagerDutySeverity } from '../src/core/pagerduty';
import {
  PAGERDUTY_SIGNATURE_HEADER,
  signPagerDutyBody,
  verifyPagerDutySignature,
  IntakeAuthenticator,
} from '../src/apps/serve/auth';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures/pagerduty', `${name}.json`), 'utf8')) as {
    event: Record<string, unknown> & { data: Record<string, unknown> };
  };

/** What every event of PagerDuty incident #4711 carries besides its type and status. */
const checkoutFields = {
  source: 'pagerduty',
  pagerdutyId: 'Q0RIJJZL24RC6W',
  pagerdutyNumber: 4711,
  pagerdutyUrl: 'https://acme-sre.pagerduty.com/incidents/Q0RIJJZL24RC6W',
  incidentKey: 'checkout-latency-eu-west-1',
  service: 'checkout-api',
  urgency: 'high',
  escalationPolicy: 'Checkout on-call',
  assignees: ['Ana Ruiz'],
  teams: ['Payments SRE'],
};

describe('mapPagerDutyWebhook', () => {
  it('maps incident.triggered onto incident.created with the PagerDuty event id, number, title, P1 -> SEV1 and time', () => {
    expect(mapPagerDutyWebhook(fixture('incident.triggered'))).toEqual({
      kind: 'event',
      pagerdutyEventType: 'incident.triggered',
      event: {
        eventId: '01JDA2F6R3M0SQY2K9V7H4XB1C',
        type: 'incident.created',
        occurredAt: '2026-11-22T09:14:03.412Z',
        incident: {
          id: 'PD-4711',
          title: 'Checkout p99 latency > 5s in eu-west-1',
          severity: 'SEV1',
          sourceSeverity: 'P1',
          status: 'triggered',
          fields: { ...checkoutFields, priority: 'P1' },
        },
      },
    });
  });

  it('maps incident.acknowledged onto incident.updated with status acknowledged', () => {
    const mapped = mapPagerDutyWebhook(fixture('incident.acknowledged'));
    expect(mapped).toMatchObject({
      kind: 'event',
      event: {
        eventId: '01JDA2GKZ8W5T0BN3C6E1Q7D2F',
        type: 'incident.updated',
        occurredAt: '2026-11-22T09:15:41.077Z',
        incident: { id: 'PD-4711', status: 'acknowledged', severity: 'SEV1', sourceSeverity: 'P1' },
      },
    });
    // PagerDuty's own status wins; when a payload has none, the event type says it.
    const noStatus = fixture('incident.acknowledged');
    delete noStatus.event.data.status;
    expect(mapPagerDutyWebhook(noStatus)).toMatchObject({
      event: { type: 'incident.updated', incident: { status: 'acknowledged' } },
    });
  });

  it('maps incident.priority_updated onto incident.updated with the new severity', () => {
    expect(mapPagerDutyWebhook(fixture('incident.priority_updated'))).toMatchObject({
      event: {
        type: 'incident.updated',
        incident: {
          id: 'PD-4711',
          severity: 'SEV2',
          sourceSeverity: 'P2',
          fields: { ...checkoutFields, priority: 'P2' },
        },
      },
    });
  });

  it('maps incident.resolved and incident.reopened onto our lifecycle events', () => {
    expect(mapPagerDutyWebhook(fixture('incident.resolved'))).toMatchObject({
      event: {
        eventId: '01JDA3B7T1V6H2QW8Z4D9S5N0J',
        type: 'incident.resolved',
        occurredAt: '2026-11-22T10:02:44.901Z',
        incident: { id: 'PD-4711', status: 'resolved' },
      },
    });
  });

  it("keeps incident.reopened as our reopened event, with PagerDuty's own status (triggered) in incident.status", () => {
    const mapped = mapPagerDutyWebhook(fixture('incident.reopened'));
    expect(mapped).toEqual({
      kind: 'event',
      pagerdutyEventType: 'incident.reopened',
      event: {
        eventId: '01JDA3R2E5K8F1XM6B3T0Y7C4L',
        type: 'incident.reopened',
        occurredAt: '2026-11-22T10:20:18.004Z',
        incident: {
          id: 'PD-4711',
          title: expect.any(String),
          severity: 'SEV2',
          sourceSeverity: 'P2',
          status: 'triggered',
          fields: { ...checkoutFields, priority: 'P2' },
        },
      },
    });
  });

  it('reads priority names on the shared scale, and falls back to urgency for a name it cannot read', () => {
    const withPriority = (summary: string | null, urgency = 'high') => {
      const body = fixture('incident.triggered');
      body.event.data.priority = summary === null ? null : { id: 'PX', summary };
      body.event.data.urgency = urgency;
      const mapped = mapPagerDutyWebhook(body);
      if (mapped.kind !== 'event') throw new Error('expected an event');
      return { severity: mapped.event.incident.severity, sourceSeverity: mapped.event.incident.sourceSeverity };
    };
    expect(withPriority('P3')).toEqual({ severity: 'SEV3', sourceSeverity: 'P3' });
    expect(withPriority('P5', 'high')).toEqual({ severity: 'SEV5', sourceSeverity: 'P5' });
    expect(withPriority('SEV1')).toEqual({ severity: 'SEV1', sourceSeverity: null });
    expect(withPriority('Critical', 'low')).toEqual({ severity: 'SEV1', sourceSeverity: 'Critical' });
    // A custom priority name is no reason to refuse PagerDuty's delivery: urgency decides, and a
    // source severity an earlier event left is cleared (null).
    expect(withPriority('Urgent - customer facing', 'high')).toEqual({ severity: 'SEV2', sourceSeverity: null });
    expect(withPriority('P9', 'low')).toEqual({ severity: 'SEV4', sourceSeverity: null });
    expect(withPriority(null, 'low')).toEqual({ severity: 'SEV4', sourceSeverity: null });
  });

  it('falls back to urgency when there is no priority, and leaves out what PagerDuty left empty', () => {
    expect(mapPagerDutyWebhook(fixture('incident.triggered-low-urgency'))).toEqual({
      kind: 'event',
      pagerdutyEventType: 'incident.triggered',
      event: {
        eventId: '01JDA4A9M2P5S8V1Y4B7E0H3K6',
        type: 'incident.created',
        occurredAt: '2026-11-22T11:40:00Z',
        incident: {
          id: 'PD-4712',
          title: 'Disk usage above 85% on ledger-db-2',
          severity: 'SEV4',
          sourceSeverity: null,
          status: 'triggered',
          fields: {
            source: 'pagerduty',
            pagerdutyId: 'Q3NZ7K2PXW5M1A',
            pagerdutyNumber: 4712,
            pagerdutyUrl: 'https://acme-sre.pagerduty.com/incidents/Q3NZ7K2PXW5M1A',
            service: 'ledger-db',
            urgency: 'low',
            escalationPolicy: 'Checkout on-call',
            assignees: [],
            teams: [],
          },
        },
      },
    });
  });

  it('uses the PagerDuty id when there is no number, and names an untitled incident', () => {
    const body = fixture('incident.triggered');
    delete body.event.data.number;
    delete body.event.data.title;
    expect(mapPagerDutyWebhook(body)).toMatchObject({
      event: { incident: { id: 'PD-Q0RIJJZL24RC6W', title: 'PagerDuty incident Q0RIJJZL24RC6W' } },
    });
    const numbered = fixture('incident.triggered');
    numbered.event.data.title = null;
    expect(mapPagerDutyWebhook(numbered)).toMatchObject({
      event: { incident: { id: 'PD-4711', title: 'PagerDuty incident #4711' } },
    });
  });

  it('truncates a title longer than ours allows', () => {
    const body = fixture('incident.triggered');
    body.event.data.title = 'x'.repeat(1200);
    const mapped = mapPagerDutyWebhook(body);
    expect(mapped.kind === 'event' && mapped.event.incident.title).toHaveLength(500);
  });

  it.each(['pagey.ping', 'incident.annotated', 'service.updated'])('ignores %s', (name) => {
    const body = fixture(name);
    expect(mapPagerDutyWebhook(body)).toEqual({
      kind: 'ignored',
      pagerdutyEventType: body.event.event_type,
      pagerdutyEventId: body.event.id,
      reason: expect.stringContaining('does not change an incident'),
    });
  });

  it('names every problem of a malformed delivery with its path', () => {
    const problems = (body: unknown) => {
      try {
        mapPagerDutyWebhook(body);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidPagerDutyWebhookError);
        return (err as InvalidPagerDutyWebhookError).problems;
      }
      throw new Error('expected the mapping to fail');
    };
    expect(problems({})).toEqual(['event: is required']);
    expect(problems({ event: { event_type: 'incident.triggered' } })).toEqual(['event.id: is required']);
    const bad = fixture('incident.triggered');
    bad.event.occurred_at = 'yesterday';
    delete bad.event.data.id;
    bad.event.data.number = 'forty-seven';
    expect(problems(bad)).toEqual([
      'event.occurred_at: Invalid datetime',
      'event.data.id: is required',
      'event.data.number: Expected number, received string',
    ]);
    const wrongKind = fixture('incident.triggered');
    wrongKind.event.data.type = 'incident_note';
    expect(problems(wrongKind)[0]).toMatch(/^event\.data\.type: Invalid literal value, expected "incident"/);
  });
});

describe('pagerDutySeverity', () => {
  it.each([
    ['P1', 'low', 'SEV1'],
    ['P2', 'high', 'SEV2'],
    ['P5', 'high', 'SEV5'],
    ['p3', undefined, 'SEV3'],
    ['SEV-1', 'low', 'SEV1'],
    ['Sev 2', undefined, 'SEV2'],
    ['Critical', 'high', 'SEV1'],
    ['critical', 'low', 'SEV1'],
    ['P0', 'low', 'SEV1'],
    ['Urgent - customer facing', 'high', 'SEV2'],
    ['P9', 'low', 'SEV4'],
    ['', 'high', 'SEV2'],
    [null, 'high', 'SEV2'],
    [undefined, 'low', 'SEV4'],
    [null, null, undefined],
  ])('priority %p, urgency %p -> %p', (priority, urgency, severity) => {
    expect(pagerDutySeverity(priority, urgency)).toBe(severity);
  });
});

describe('PagerDuty signatures (x-pagerduty-signature)', () => {
  const secret = 'pd-webhook-secret-0123456789';
  const body = '{"event":{"id":"01JDA0ZZ3K6N9Q2T5W8Z1C4F7H","event_type":"pagey.ping"}}';
  // printf '%s' "$body" | openssl dgst -sha256 -hmac pd-webhook-secret-0123456789
  const signature = 'v1=f75142d94b2475e55872911b23081698f065a804c6a574bc01c538937eab8f19';

  it('signs the raw body with HMAC-SHA256 as hex', () => {
    expect(signPagerDutyBody(secret, body)).toBe(signature);
  });

  it('accepts a matching signature, also among several during a secret rotation', () => {
    expect(verifyPagerDutySignature(secret, signature, body)).toBeUndefined();
    const other = signPagerDutyBody('the-previous-secret-000000', body);
    expect(verifyPagerDutySignature(secret, `${other},${signature}`, body)).toBeUndefined();
    expect(verifyPagerDutySignature(secret, `${signature}, ${other}`, Buffer.from(body))).toBeUndefined();
  });

  it('rejects a changed body, another secret, a missing or malformed header', () => {
    expect(verifyPagerDutySignature(secret, signature, body.replace('ping', 'pong'))).toBe(
      'PagerDuty signature mismatch',
    );
    expect(verifyPagerDutySignature('another-secret-0000000', signature, body)).toBe('PagerDuty signature mismatch');
    expect(verifyPagerDutySignature(secret, undefined, body)).toMatch(/^missing or repeated/);
    expect(verifyPagerDutySignature(secret, [signature, signature], body)).toMatch(/^missing or repeated/);
    expect(verifyPagerDutySignature(secret, 'v0=abcd', body)).toMatch(/^malformed x-pagerduty-signature/);
    expect(verifyPagerDutySignature(secret, signature.slice(0, -2), body)).toMatch(/^malformed/);
  });

  it('counts only on the PagerDuty route, and only when a PagerDuty secret is configured', () => {
    const auth = new IntakeAuthenticator({ token: 'intake-token-0123456789', pagerdutySecret: secret });
    const headers = { [PAGERDUTY_SIGNATURE_HEADER]: signature };
    expect(auth.authenticate(headers, Buffer.from(body), { pagerduty: true })).toMatchObject({
      ok: true,
      schemes: ['pagerduty'],
    });
    expect(auth.authenticate(headers, Buffer.from(body))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^missing credentials/),
    });
    // PagerDuty always signs; with no PagerDuty secret, a custom Authorization header is what counts.
    const tokenOnly = new IntakeAuthenticator({ token: 'intake-token-0123456789' });
    expect(
      tokenOnly.authenticate({ ...headers, authorization: 'Bearer intake-token-0123456789' }, Buffer.from(body), {
        pagerduty: true,
      }),
    ).toMatchObject({ ok: true, schemes: ['token'] });
    expect(tokenOnly.authenticate(headers, Buffer.from(body), { pagerduty: true })).toMatchObject({ ok: false });
  });
});
