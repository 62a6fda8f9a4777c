import { ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { getTimeline } from '../src/temporal/client';
import { ConfigError } from '../src/platform/config';
import { IncidentEvent } from '../src/core/incident';
import { intakeAuthFromEnv, IntakeAuthenticator, signIntakeRead, signIntakeRequest } from '../src/apps/serve/auth';
import { intakeRoutes, RunningServe, serveListenFromEnv, startServe } from '../src/apps/serve';
import { incidentWorkflowId, TimelineEntry } from '../workflows/contract';
import { eventually, Stack, startStack, uniqueIncidentId } from './support/stack';
import { freePort } from '../src/apps/dev-stack/ports';
import { devServerArgs } from '../src/temporal/connection';

const SECRET = `zr-secret-${randomBytes(16).toString('hex')}`;
const TOKEN = `zr-token-${randomBytes(16).toString('hex')}`;
const PD_SECRET = `pd-secret-${randomBytes(16).toString('hex')}`;

function created(id: string, eventId = `evt-${id}`): IncidentEvent {
  return {
    eventId,
    type: 'incident.created',
    occurredAt: new Date().toISOString(),
    incident: { id, title: 'Checkout latency > 5s in eu-west', severity: 'SEV1' },
  };
}

interface RunbookRun {
  runbook: string;
}

interface Answer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe('intake authentication (unit)', () => {
  it('signs `${timestamp}.${body}` with HMAC-SHA256 as hex', () => {
    // printf '%s' '1764000000.{"ok":true}' | openssl dgst -sha256 -hmac zr-intake-secret-0123456789
    expect(signIntakeRequest('zr-intake-secret-0123456789', '{"ok":true}', 1764000000_999)).toEqual({
      'x-zr-timestamp': '1764000000',
      'x-zr-signature': 'v1=e690dd4297843c3490c9cdf42c1d219b6d03ecfe7a7ced915b779c2cf0815a9c',
    });
  });

  it('accepts a timestamp up to 5 minutes either way, and each signature once', () => {
    const auth = new IntakeAuthenticator({ secret: SECRET });
    const body = Buffer.from('{}');
    const now = 1764000000_000;
    for (const skew of [-300_000, 300_000]) {
      expect(auth.authenticate(signIntakeRequest(SECRET, body, now + skew), body, { now })).toMatchObject({
        ok: true,
        schemes: ['signature'],
      });
    }
    for (const skew of [-301_000, 301_000]) {
      expect(auth.authenticate(signIntakeRequest(SECRET, body, now + skew), body, { now })).toEqual({
        ok: false,
        reason: expect.stringMatching(/^stale request/),
      });
    }
    const headers = signIntakeRequest(SECRET, body, now);
    const first = auth.authenticate(headers, body, { now });
    expect(first.ok).toBe(true);
    expect(auth.authenticate(headers, body, { now: now + 1000 })).toEqual({
      ok: false,
      reason: expect.stringMatching(/^replayed request/),
    });
    // Released (the request was not acted on): the same request may come again, once.
    if (first.ok) first.release();
    expect(auth.authenticate(headers, body, { now: now + 2000 }).ok).toBe(true);
    expect(auth.authenticate(headers, body, { now: now + 3000 }).ok).toBe(false);
    // Reads change nothing: their signatures may be repeated within the window.
    const read = Buffer.from('GET /v1/incidents/INC-1/timeline');
    const readHeaders = signIntakeRequest(SECRET, read, now);
    expect(auth.authenticate(readHeaders, read, { now, repeatable: true }).ok).toBe(true);
    expect(auth.authenticate(readHeaders, read, { now: now + 1000, repeatable: true }).ok).toBe(true);
  });

  it('reads its configuration from the environment and refuses to run open by accident', () => {
    expect(intakeAuthFromEnv({ ZR_INTAKE_SECRET: SECRET })).toEqual({
      secret: SECRET,
      token: undefined,
      pagerdutySecret: undefined,
    });
    expect(intakeAuthFromEnv({ ZR_INTAKE_TOKEN: TOKEN, ZR_PAGERDUTY_SECRET: PD_SECRET })).toEqual({
      secret: undefined,
      token: TOKEN,
      pagerdutySecret: PD_SECRET,
    });
    expect(() => intakeAuthFromEnv({})).toThrow(ConfigError);
    expect(() => intakeAuthFromEnv({ ZR_PAGERDUTY_SECRET: PD_SECRET })).toThrow(
      /set ZR_INTAKE_SECRET .* and\/or ZR_INTAKE_TOKEN/,
    );
    expect(intakeAuthFromEnv({ ZR_INTAKE_INSECURE: '1' })).toMatchObject({ insecure: true });
    // ZR_INTAKE_INSECURE does not switch off configured credentials.
    expect(
      new IntakeAuthenticator(intakeAuthFromEnv({ ZR_INTAKE_SECRET: SECRET, ZR_INTAKE_INSECURE: '1' })).authenticate(
        {},
        Buffer.alloc(0),
      ).ok,
    ).toBe(false);
    const short = 'short-secret';
    let message = '';
    try {
      intakeAuthFromEnv({ ZR_INTAKE_SECRET: short });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^ZR_INTAKE_SECRET is too short/);
    expect(message).not.toContain(short);
  });
});

describe('serve configuration (unit)', () => {
  it('listens where the environment says, and refuses to listen open beyond loopback', async () => {
    expect(serveListenFromEnv({})).toEqual({ port: 9180, host: '127.0.0.1' });
    expect(serveListenFromEnv({ ZR_SERVE_PORT: '8443', ZR_SERVE_HOST: '0.0.0.0' })).toEqual({
      port: 8443,
      host: '0.0.0.0',
    });
    expect(() => serveListenFromEnv({ ZR_SERVE_PORT: 'http' })).toThrow(ConfigError);
    // Checked before anything is used, so no Temporal client is needed to see the refusal.
    const noClient = undefined as unknown as Client;
    await expect(
      startServe({ client: noClient, taskQueue: 'q', auth: { insecure: true }, host: '0.0.0.0', port: 0 }),
    ).rejects.toThrow(/^Refusing to accept unauthenticated intake requests on 0\.0\.0\.0/);
  });
});

describe('intake at the door (unit: Temporal is never reached)', () => {
  const NOW = Date.parse('2026-11-22T09:00:00Z');
  const signals: IncidentEvent[] = [];
  // Records what would reach Temporal; a refused event must reach nothing.
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      signalWithStart: async (_name: string, options: { workflowId: string; signalArgs: [IncidentEvent] }) => {
        signals.push(options.signalArgs[0]);
        return { signaledRunId: 'run-1', workflowId: options.workflowId };
      },
    },
  } as unknown as Client;
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  let serve: RunningServe;

  beforeAll(async () => {
    serve = await startServe({
      client,
      taskQueue: 'q',
      auth: { insecure: true },
      host: '127.0.0.1',
      port: 0,
      logger: quiet,
      now: () => NOW,
      clockSkewToleranceMs: 15 * 60_000,
    });
  });
  afterAll(() => serve?.close());
  beforeEach(() => (signals.length = 0));

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${serve.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const event = (occurredAt: string, incident: Record<string, unknown> = {}) => ({
    eventId: `e-${occurredAt}`,
    type: 'incident.created',
    occurredAt,
    incident: { id: 'INC-77', title: 'Payments API 500s', severity: 'SEV2', ...incident },
  });

  it('refuses an event stamped further ahead than the tolerance with a 400, and records nothing', async () => {
    expect(await post('/v1/events', event('2031-01-01T00:00:00Z'))).toEqual({
      status: 400,
      body: {
        error: 'Invalid incident event',
        problems: [
          "occurredAt: 2031-01-01T00:00:00Z is 4 years 40 days ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)",
        ],
      },
    });
    expect(await post('/v1/events', event('2026-11-22T09:15:01Z'))).toMatchObject({
      status: 400,
      body: { problems: [expect.stringContaining('is 15 minutes 1 second ahead')] },
    });
    expect(signals).toEqual([]);
  });

  it('accepts one within the tolerance (or from the past), with its severity on the scale', async () => {
    expect(await post('/v1/events', event('2026-11-22T09:15:00Z', { severity: 'P1' }))).toEqual({
      status: 202,
      body: { workflowId: 'incident-INC-77', eventId: 'e-2026-11-22T09:15:00Z' },
    });
    expect(await post('/v1/events', event('2026-11-20T00:00:00Z', { severity: 'critical' }))).toMatchObject({
      status: 202,
    });
    expect(signals.map((e) => e.incident)).toEqual([
      { id: 'INC-77', title: 'Payments API 500s', severity: 'SEV1', sourceSeverity: 'P1' },
      { id: 'INC-77', title: 'Payments API 500s', severity: 'SEV1', sourceSeverity: 'critical' },
    ]);
  });

  it('names incident.severity and the accepted values for a severity off the scale', async () => {
    expect(await post('/v1/events', event('2026-11-22T09:00:00Z', { severity: 'SEV9' }))).toEqual({
      status: 400,
      body: {
        error: 'Invalid incident event',
        problems: [
          'incident.severity: unknown severity "SEV9"; use SEV1, SEV2, SEV3, SEV4 or SEV5 (also read: SEV0 and P0 and 0 as SEV1; P1-P5 and 1-5 as SEV1-SEV5; critical; high, major; medium, moderate, warning; low, minor; info, informational)',
        ],
      },
    });
    expect(signals).toEqual([]);
  });

  it('refuses a PagerDuty delivery stamped too far ahead, and still answers what it ignores', async () => {
    const pd = (name: string, occurredAt?: string) => {
      const body = JSON.parse(readFileSync(join(__dirname, 'fixtures/pagerduty', `${name}.json`), 'utf8'));
      if (occurredAt) body.event.occurred_at = occurredAt;
      return body;
    };
    expect(await post('/v1/pagerduty', pd('incident.triggered', '2026-11-22T10:00:00Z'))).toEqual({
      status: 400,
      body: {
        error: 'Invalid PagerDuty webhook',
        problems: [
          "event.occurred_at: 2026-11-22T10:00:00Z is 1 hour ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)",
        ],
      },
    });
    expect(signals).toEqual([]);
    expect(await post('/v1/pagerduty', pd('pagey.ping', '2031-01-01T00:00:00Z'))).toMatchObject({
      status: 202,
      body: { ignored: true },
    });
    expect(await post('/v1/pagerduty', pd('incident.triggered', '2026-11-22T08:59:00Z'))).toMatchObject({
      status: 202,
    });
    expect(signals.map((e) => [e.type, e.incident.severity, e.incident.sourceSeverity])).toEqual([
      ['incident.created', 'SEV1', 'P1'],
    ]);
  });

  it('takes its tolerance from ZR_CLOCK_SKEW_TOLERANCE unless given one, and refuses to start with a bad one', () => {
    const saved = process.env.ZR_CLOCK_SKEW_TOLERANCE;
    try {
      process.env.ZR_CLOCK_SKEW_TOLERANCE = 'soon';
      expect(() => intakeRoutes({ client, taskQueue: 'q', auth: { insecure: true } })).toThrow(ConfigError);
      expect(() =>
        intakeRoutes({ client, taskQueue: 'q', auth: { insecure: true }, clockSkewToleranceMs: 60_000 }),
      ).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.ZR_CLOCK_SKEW_TOLERANCE;
      else process.env.ZR_CLOCK_SKEW_TOLERANCE = saved;
    }
  });
});

describe('intake over HTTP', () => {
  let stack: Stack;
  let serve: RunningServe;
  const logs: string[] = [];
  const answers: string[] = [];
  const logger = {
    info: (m: string) => logs.push(m),
    warn: (m: string) => logs.push(m),
    error: (m: string) => logs.push(m),
  };

  beforeAll(async () => {
    stack = await startStack();
    serve = await startServe({
      client: stack.client,
      taskQueue: stack.temporal.taskQueue,
      auth: { secret: SECRET, token: TOKEN, pagerdutySecret: PD_SECRET },
      port: 0,
      logger,
    });
  });
  afterAll(async () => {
    await serve?.close();
    await stack?.stop();
  });

  async function call(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(`${serve.url}${path}`, {
      method,
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    const text = await res.text();
    answers.push(text);
    return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
  }
  const postSigned = (path: string, body: string | Buffer, secret = SECRET) =>
    call('POST', path, body, signIntakeRequest(secret, body));
  const getSigned = (path: string) => call('GET', path, undefined, signIntakeRead(SECRET, path));
  const handle = (id: string) => stack.client.workflow.getHandle(incidentWorkflowId(id));

  async function expectNotStarted(id: string): Promise<void> {
    await expect(handle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  }
  async function signalsRecorded(id: string): Promise<number> {
    const history = await handle(id).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }
  async function timelineWith(
    id: string,
    predicate: (t: TimelineEntry[]) => boolean,
    what: string,
  ): Promise<TimelineEntry[]> {
    return eventually(async () => {
      const t = await getTimeline(stack.client, id);
      return predicate(t) ? t : undefined;
    }, what);
  }

  it('acknowledges a signed event only once Temporal has it; it shows on the timeline and the incident', async () => {
    const id = uniqueIncidentId();
    const event = {
      ...created(id),
      incident: {
        ...created(id).incident,
        owner: { name: 'Ana Ruiz', email: 'ana@example.com' },
        fields: { service: 'checkout' },
      },
    };
    const answer = await postSigned('/v1/events', JSON.stringify(event));
    expect(answer).toMatchObject({ status: 202, body: { workflowId: incidentWorkflowId(id), eventId: event.eventId } });
    // No waiting: when the 202 arrived, the workflow and the event were already in Temporal.
    expect((await handle(id).describe()).status.name).toBe('RUNNING');
    expect(await signalsRecorded(id)).toBe(1);

    await timelineWith(
      id,
      (t) => t.some((e) => e.summary === `Incident ${id} created: Checkout latency > 5s in eu-west (SEV1)`),
      'the event on the timeline',
    );
    const timeline = await getSigned(`/v1/incidents/${id}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.incidentId).toBe(id);
    expect(timeline.body.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          source: 'incident',
          summary: `Incident ${id} created: Checkout latency > 5s in eu-west (SEV1)`,
        }),
      ]),
    );
    // The same entries the workflow's timeline query gives (which may have grown since).
    const later = await getTimeline(stack.client, id);
    expect(timeline.body.timeline).toEqual(later.slice(0, timeline.body.timeline.length));

    const incident = await eventually(async () => {
      const a = await getSigned(`/v1/incidents/${id}`);
      return a.body.runbooks?.some((r: RunbookRun) => r.runbook === 'incident-bridge') ? a : undefined;
    }, 'the bridge runbook in the incident answer');
    expect(incident.status).toBe(200);
    expect(incident.body).toMatchObject({
      incidentId: id,
      workflowId: incidentWorkflowId(id),
      incident: {
        id,
        title: 'Checkout latency > 5s in eu-west',
        severity: 'SEV1',
        owner: { name: 'Ana Ruiz', email: 'ana@example.com' },
        fields: { service: 'checkout' },
        createdAt: event.occurredAt,
      },
    });
    expect(incident.body.runbooks).toContainEqual({
      runbook: 'incident-bridge',
      workflowId: `${incidentWorkflowId(id)}/incident-bridge`,
      runId: expect.any(String),
      status: 'RUNNING',
      startTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('answers 401 to unsigned, forged, wrongly signed, tampered, stale and future requests, and starts nothing', async () => {
    const cases: {
      name: string;
      headers: (body: string) => Record<string, string>;
      reason: RegExp;
      tamper?: (body: string) => string;
    }[] = [
      {
        name: 'unsigned',
        headers: () => ({}),
        reason:
          /^missing credentials: sign it \(x-zr-timestamp and x-zr-signature\) or send Authorization: Bearer <token>$/,
      },
      {
        name: 'forged signature',
        headers: (b) => ({
          ...signIntakeRequest(SECRET, b),
          'x-zr-signature': `v1=${randomBytes(32).toString('hex')}`,
        }),
        reason: /^signature mismatch$/,
      },
      { name: 'wrong secret', headers: (b) => signIntakeRequest(`not-${SECRET}`, b), reason: /^signature mismatch$/ },
      {
        name: 'body changed after signing',
        headers: (b) => signIntakeRequest(SECRET, b),
        tamper: (b) => b.replace('SEV1', 'SEV4'),
        reason: /^signature mismatch$/,
      },
      {
        name: 'stale timestamp',
        headers: (b) => signIntakeRequest(SECRET, b, Date.now() - 301_000),
        reason: /^stale request/,
      },
      {
        name: 'timestamp from the future',
        headers: (b) => signIntakeRequest(SECRET, b, Date.now() + 301_000),
        reason: /^stale request/,
      },
      {
        name: 'signature without timestamp',
        headers: (b) => ({ 'x-zr-signature': signIntakeRequest(SECRET, b)['x-zr-signature'] }),
        reason: /^missing x-zr-timestamp/,
      },
      {
        name: 'malformed signature',
        headers: (b) => ({ ...signIntakeRequest(SECRET, b), 'x-zr-signature': 'sha256=abc' }),
        reason: /^malformed x-zr-signature/,
      },
      {
        name: 'timestamp in milliseconds',
        headers: (b) => ({ ...signIntakeRequest(SECRET, b), 'x-zr-timestamp': String(Date.now()) }),
        reason: /^malformed x-zr-timestamp header: expected unix seconds$/,
      },
      {
        name: 'a PagerDuty signature is no credential here',
        headers: () => ({ 'x-pagerduty-signature': `v1=${randomBytes(32).toString('hex')}` }),
        reason: /^missing credentials/,
      },
    ];
    for (const c of cases) {
      const id = uniqueIncidentId();
      const body = JSON.stringify(created(id));
      const answer = await call('POST', '/v1/events', c.tamper ? c.tamper(body) : body, c.headers(body));
      expect({ case: c.name, status: answer.status, error: answer.body.error }).toEqual({
        case: c.name,
        status: 401,
        error: 'Unauthorized',
      });
      expect({ case: c.name, reason: answer.body.reason }).toEqual({
        case: c.name,
        reason: expect.stringMatching(c.reason),
      });
      await expectNotStarted(id);
    }
  });

  it('refuses a replayed signed request without calling Temporal again', async () => {
    const id = uniqueIncidentId();
    const body = JSON.stringify(created(id));
    const headers = signIntakeRequest(SECRET, body);
    expect((await call('POST', '/v1/events', body, headers)).status).toBe(202);
    const replay = await call('POST', '/v1/events', body, headers);
    expect(replay).toMatchObject({
      status: 401,
      body: { error: 'Unauthorized', reason: expect.stringMatching(/^replayed request/) },
    });
    expect(await signalsRecorded(id)).toBe(1);
  });

  it('accepts the right bearer token and refuses a wrong or malformed one', async () => {
    const ok = uniqueIncidentId();
    expect(
      await call('POST', '/v1/events', JSON.stringify(created(ok)), { authorization: `Bearer ${TOKEN}` }),
    ).toMatchObject({ status: 202, body: { workflowId: incidentWorkflowId(ok) } });
    expect((await handle(ok).describe()).status.name).toBe('RUNNING');

    const refused: [Record<string, string>, RegExp][] = [
      [{ authorization: `Bearer ${TOKEN.slice(0, -1)}` }, /^invalid bearer token$/],
      [{ authorization: `Bearer ${TOKEN}x` }, /^invalid bearer token$/],
      [{ authorization: `Bearer ${SECRET}` }, /^invalid bearer token$/],
      [
        { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
        /^malformed Authorization header/,
      ],
      [{ authorization: 'Bearer' }, /^malformed Authorization header/],
    ];
    for (const [headers, reason] of refused) {
      const id = uniqueIncidentId();
      expect(await call('POST', '/v1/events', JSON.stringify(created(id)), headers)).toMatchObject({
        status: 401,
        body: { reason: expect.stringMatching(reason) },
      });
      await expectNotStarted(id);
    }
    // Every credential presented must hold: a good token does not excuse a bad signature.
    const mixed = uniqueIncidentId();
    const body = JSON.stringify(created(mixed));
    const answer = await call('POST', '/v1/events', body, {
      ...signIntakeRequest(`not-${SECRET}`, body),
      authorization: `Bearer ${TOKEN}`,
    });
    expect(answer).toMatchObject({ status: 401, body: { reason: 'signature mismatch' } });
    await expectNotStarted(mixed);
  });

  it('answers 400 naming the problem for each malformed event, and keeps serving', async () => {
    const id = uniqueIncidentId('BAD');
    const good = created(id);
    const json = (v: unknown) => JSON.stringify(v);
    const without = (key: string) => json(Object.fromEntries(Object.entries(good).filter(([k]) => k !== key)));
    const withIncident = (patch: Record<string, unknown>) =>
      json({ ...good, incident: { ...good.incident, ...patch } });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = { deeper: deep };
    const corpus: [string, string | Buffer, string[]][] = [
      ['not JSON at all', 'incident INC-1 is on fire', ['(body): is not valid JSON']],
      ['truncated JSON', json(good).slice(0, 40), ['(body): is not valid JSON']],
      ['empty body', '', ['(body): is empty']],
      [
        'invalid UTF-8',
        Buffer.concat([Buffer.from('{"eventId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
        ['(body): is not valid UTF-8'],
      ],
      ['a JSON array', json([good]), ['(event): Expected object, received array']],
      ['a JSON string', json('incident.created'), ['(event): Expected object, received string']],
      ['JSON null', 'null', ['(event): Expected object, received null']],
      ['missing eventId', without('eventId'), ['eventId: is required']],
      ['empty eventId', json({ ...good, eventId: '' }), ['eventId: String must contain at least 1 character(s)']],
      ['eventId of the wrong type', json({ ...good, eventId: 42 }), ['eventId: Expected string, received number']],
      [
        'unknown event type',
        json({ ...good, type: 'incident.opened' }),
        [
          "type: Invalid enum value. Expected 'incident.created' | 'incident.updated' | 'incident.resolved' | 'incident.reopened' | 'incident.closed', received 'incident.opened'",
        ],
      ],
      ['time that is no time', json({ ...good, occurredAt: 'yesterday' }), ['occurredAt: Invalid datetime']],
      ['time without a zone', json({ ...good, occurredAt: '2026-11-22T09:14:03' }), ['occurredAt: Invalid datetime']],
      [
        'time as epoch number',
        json({ ...good, occurredAt: 1764000000 }),
        ['occurredAt: Expected string, received number'],
      ],
      ['missing incident', without('incident'), ['incident: is required']],
      ['missing incident id', json({ ...good, incident: { title: 'No id' } }), ['incident.id: is required']],
      [
        'incident id with a slash',
        withIncident({ id: 'INC/../1' }),
        ['incident.id: must start with a letter or digit and use only letters, digits, ".", "_", ":" and "-"'],
      ],
      [
        'created without a title',
        withIncident({ title: undefined }),
        ['incident.title: is required when an incident is created'],
      ],
      [
        'severity off the scale',
        withIncident({ severity: 'SEV9' }),
        ['incident.severity: unknown severity "SEV9"; use SEV1, SEV2, SEV3, SEV4 or SEV5 (also read:'],
      ],
      [
        'severity of the wrong type',
        withIncident({ severity: true }),
        ['incident.severity: expected a severity (a string or a number): SEV1, SEV2, SEV3, SEV4 or SEV5'],
      ],
      [
        'time too far ahead',
        json({ ...good, occurredAt: new Date(Date.now() + 86_400_000).toISOString() }),
        ["ahead of this server's clock (tolerance 15m, ZR_CLOCK_SKEW_TOLERANCE)"],
      ],
      [
        'owner email that is no email',
        withIncident({ owner: { email: 'ana at example' } }),
        ['incident.owner.email: Invalid email'],
      ],
      [
        'responders not a list',
        withIncident({ responders: 'sre-oncall@example.com' }),
        ['incident.responders: Expected array, received string'],
      ],
      ['unknown top-level field', json({ ...good, priority: 'P1' }), ['(event): unknown field(s) "priority"']],
      ['unknown incident field', withIncident({ sev: 'SEV1' }), ['incident: unknown field(s) "sev"']],
      [
        'title too long',
        withIncident({ title: 'x'.repeat(501) }),
        ['incident.title: String must contain at most 500 character(s)'],
      ],
      ['nested too deep', withIncident({ fields: { deep } }), ['(body): nests deeper than 32 levels']],
      [
        'several problems at once',
        json({ eventId: 7, type: 'incident.opened', occurredAt: 'soon', incident: { id: 'x y' } }),
        ['eventId:', 'type:', 'occurredAt:', 'incident.id:'],
      ],
    ];
    expect(corpus.length).toBeGreaterThanOrEqual(15);
    for (const [name, body, problems] of corpus) {
      const answer = await postSigned('/v1/events', body);
      expect({ name, status: answer.status, error: answer.body.error }).toEqual({
        name,
        status: 400,
        error: 'Invalid incident event',
      });
      expect({ name, count: answer.body.problems.length }).toEqual({ name, count: problems.length });
      problems.forEach((p, i) =>
        expect({ name, problem: answer.body.problems[i] }).toEqual({ name, problem: expect.stringContaining(p) }),
      );
      expect((await call('GET', '/healthz')).status).toBe(200);
    }
    await expectNotStarted(id);
    expect((await postSigned('/v1/events', json(good))).status).toBe(202);
  });

  it('answers 413 to a body over 1 MiB, announced or streamed, and keeps serving', async () => {
    const id = uniqueIncidentId();
    const huge = JSON.stringify({
      ...created(id),
      incident: { ...created(id).incident, summary: 'x'.repeat(1024 * 1024) },
    });
    const announced = await postSigned('/v1/events', huge);
    expect(announced).toMatchObject({
      status: 413,
      body: { error: 'Request body too large: the limit is 1048576 bytes.' },
    });

    // Chunked, with no content-length: the limit holds while reading.
    const streamed = await new Promise<{ status?: number; text: string }>((resolve, reject) => {
      const req = request(
        `${serve.url}/v1/events`,
        { method: 'POST', headers: { ...signIntakeRequest(SECRET, huge), 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < huge.length; i += 64 * 1024) req.write(huge.slice(i, i + 64 * 1024));
      req.end();
    });
    expect(streamed.status).toBe(413);
    await expectNotStarted(id);
    expect((await postSigned('/v1/events', JSON.stringify(created(id)))).status).toBe(202);
  });

  it('records a duplicate delivery once: one event on the timeline, one runbook run, one meeting', async () => {
    const id = uniqueIncidentId();
    const body = JSON.stringify(created(id));
    // Two deliveries of one event, each signed afresh (as a retrying sender would).
    const [a, b] = await Promise.all([
      postSigned('/v1/events', body),
      call('POST', '/v1/events', body, { authorization: `Bearer ${TOKEN}` }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body).toEqual(b.body);
    expect(await signalsRecorded(id)).toBe(2);

    const timeline = await timelineWith(
      id,
      (t) => t.some((e) => e.step === 'share'),
      'the bridge link on the timeline',
    );
    expect(timeline.filter((e) => e.source === 'incident')).toHaveLength(1);
    expect(timeline.filter((e) => e.summary === 'Runbook incident-bridge started')).toHaveLength(1);
    const meetings = [...stack.sandbox.state.meetings.values()].filter((m) =>
      String(m.agenda).includes(`Incident ${id}`),
    );
    expect(meetings).toHaveLength(1);
    const incident = await eventually(async () => {
      const answer = await getSigned(`/v1/incidents/${id}`);
      return answer.body.runbooks?.some((r: RunbookRun) => r.runbook === 'incident-bridge') ? answer.body : undefined;
    }, 'the runbook run');
    // Each runbook the event triggers runs once, whatever the runbooks folder holds.
    const names = incident.runbooks.map((r: RunbookRun) => r.runbook);
    expect(new Set(names).size).toBe(names.length);
  });

  describe('PagerDuty', () => {
    const number = 100000 + Math.floor(Math.random() * 800000);
    const id = `PD-${number}`;
    /** A fixture as PagerDuty would send it for a fresh incident number and event id. */
    function delivery(name: string): string {
      const body = JSON.parse(readFileSync(join(__dirname, 'fixtures/pagerduty', `${name}.json`), 'utf8'));
      body.event.id = randomUUID();
      if (body.event.data?.number) body.event.data.number = number;
      return JSON.stringify(body);
    }
    // Computed here, not with the code under test.
    const pdSignature = (body: string, secret = PD_SECRET) =>
      `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const postPagerDuty = (
      body: string,
      headers: Record<string, string> = { 'x-pagerduty-signature': pdSignature(body) },
    ) => call('POST', '/v1/pagerduty', body, headers);

    it('maps a signed incident.triggered onto a new incident, then acknowledged, priority and resolved onto updates', async () => {
      const triggered = await postPagerDuty(delivery('incident.triggered'));
      expect(triggered).toMatchObject({
        status: 202,
        body: { workflowId: incidentWorkflowId(id), eventId: expect.any(String) },
      });
      await timelineWith(
        id,
        (t) => t.some((e) => e.summary === `Incident ${id} created: Checkout p99 latency > 5s in eu-west-1 (SEV1)`),
        'the PagerDuty incident',
      );

      const incident = async () => (await getSigned(`/v1/incidents/${id}`)).body.incident;
      // The lifecycle status is the workflow's (open); PagerDuty's own word and priority are kept beside.
      expect(await incident()).toMatchObject({
        status: 'open',
        sourceStatus: 'triggered',
        severity: 'SEV1',
        sourceSeverity: 'P1',
        fields: { source: 'pagerduty', pagerdutyNumber: number, service: 'checkout-api', priority: 'P1' },
      });

      expect((await postPagerDuty(delivery('incident.acknowledged'))).status).toBe(202);
      await eventually(
        async () => ((await incident()).sourceStatus === 'acknowledged' ? true : undefined),
        'source status acknowledged',
      );

      expect((await postPagerDuty(delivery('incident.priority_updated'))).status).toBe(202);
      const reprioritised = await eventually(async () => {
        const i = await incident();
        return i.severity === 'SEV2' ? i : undefined;
      }, 'severity SEV2');
      expect(reprioritised).toMatchObject({ status: 'open', severity: 'SEV2', sourceSeverity: 'P2' });

      expect((await postPagerDuty(delivery('incident.resolved'))).status).toBe(202);
      const resolved = await eventually(async () => {
        const i = await incident();
        return i.status === 'resolved' ? i : undefined;
      }, 'status resolved');
      expect(resolved.resolvedAt).toBe('2026-11-22T10:02:44.901Z');
      // The resolution reaches the bridge runbook, which ends its meeting and finishes.
      await stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/incident-bridge`).result();
    });

    it('accepts PagerDuty signatures during a secret rotation and answers ignored to event types it does not map', async () => {
      const ping = delivery('pagey.ping');
      const rotated = `${pdSignature(ping, 'the-previous-secret-000000')},${pdSignature(ping)}`;
      expect(await postPagerDuty(ping, { 'x-pagerduty-signature': rotated })).toMatchObject({
        status: 202,
        body: { ignored: true, eventType: 'pagey.ping' },
      });
      expect(await postPagerDuty(delivery('incident.annotated'))).toMatchObject({
        status: 202,
        body: { ignored: true, eventType: 'incident.annotated' },
      });
    });

    it('refuses forged or unsigned PagerDuty deliveries, and reports malformed ones', async () => {
      const other = 900000 + Math.floor(Math.random() * 99999);
      const body = delivery('incident.triggered').replace(`"number":${number}`, `"number":${other}`);
      expect(
        await postPagerDuty(body, { 'x-pagerduty-signature': pdSignature(body, `not-${PD_SECRET}`) }),
      ).toMatchObject({ status: 401, body: { reason: 'PagerDuty signature mismatch' } });
      expect(await postPagerDuty(body, {})).toMatchObject({
        status: 401,
        body: { reason: expect.stringContaining("send PagerDuty's x-pagerduty-signature") },
      });
      expect(
        await postPagerDuty(body.replace('Checkout', 'Billing'), { 'x-pagerduty-signature': pdSignature(body) }),
      ).toMatchObject({ status: 401 });
      await expectNotStarted(`PD-${other}`);

      const malformed = JSON.stringify({
        event: { id: 'x', event_type: 'incident.triggered', occurred_at: 'now', data: {} },
      });
      expect(await postPagerDuty(malformed)).toMatchObject({
        status: 400,
        body: {
          error: 'Invalid PagerDuty webhook',
          problems: ['event.occurred_at: Invalid datetime', 'event.data.id: is required'],
        },
      });
    });
  });

  it('reads: 404 for an unknown incident, 400 for an impossible id, 401 unauthenticated, 404/405 for other routes', async () => {
    const unknown = uniqueIncidentId('NOPE');
    expect(await getSigned(`/v1/incidents/${unknown}/timeline`)).toMatchObject({
      status: 404,
      body: { error: `No incident "${unknown}" is known to Temporal (no workflow incident-${unknown}).` },
    });
    expect(await getSigned(`/v1/incidents/${unknown}`)).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining(`No incident "${unknown}"`) },
    });
    expect(await getSigned('/v1/incidents/%20bad%20id/timeline')).toMatchObject({
      status: 400,
      body: {
        error: 'Invalid incident id',
        problems: [expect.stringMatching(/^id: must start with a letter or digit/)],
      },
    });
    expect(await getSigned('/v1/incidents/%E0%A4%A/timeline')).toMatchObject({ status: 400 });
    expect(await call('GET', `/v1/incidents/${unknown}/timeline`)).toMatchObject({ status: 401 });
    // A read's signature names its path: it reads nothing else.
    const known = uniqueIncidentId();
    expect((await postSigned('/v1/events', JSON.stringify(created(known)))).status).toBe(202);
    expect(
      await call(
        'GET',
        `/v1/incidents/${known}/timeline`,
        undefined,
        signIntakeRead(SECRET, `/v1/incidents/${unknown}/timeline`),
      ),
    ).toMatchObject({
      status: 401,
      body: { reason: 'signature mismatch' },
    });
    expect(
      await call('GET', `/v1/incidents/${known}/timeline`, undefined, { authorization: `Bearer ${TOKEN}` }),
    ).toMatchObject({ status: 200 });
    expect(await call('GET', '/v1/events')).toMatchObject({
      status: 405,
      body: { error: 'Method GET is not allowed on /v1/events; use POST.' },
    });
    expect(await call('GET', '/v2/whatever')).toMatchObject({ status: 404 });
  });

  it('never puts a secret or token into a log line or an answer', () => {
    expect(logs.length).toBeGreaterThan(10);
    const everything = [...logs, ...answers].join('\n');
    for (const secret of [SECRET, TOKEN, PD_SECRET]) expect(everything).not.toContain(secret);
  });
});

describe('durability: an acknowledged event survives the Temporal server dying', () => {
  const cli = process.env.ZR_TEST_TEMPORAL_CLI!;
  let dir: string;
  let db: string;
  let server: ChildProcess | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zr-durability-'));
    db = join(dir, 'temporal.sqlite');
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (server) await kill(server, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  function startServer(port: number): ChildProcess {
    const args = devServerArgs(port, db);
    return spawn(cli, args, { stdio: 'ignore', detached: true });
  }

  it('answers 202 only for events Temporal recorded, 503 otherwise, and every 202 is there after a restart', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    server = startServer(port);
    const connection = await connectWhenReady(address);
    closers.push(() => connection.close());
    const taskQueue = `durability-${randomUUID()}`;
    const serve = await startServe({
      client: new Client({ connection }),
      taskQueue,
      auth: { token: TOKEN },
      port: 0,
      temporalTimeoutMs: 1500,
      logger: { info() {}, warn() {}, error() {} },
    });
    closers.push(() => serve.close());

    const results: { event: IncidentEvent; status: number; body: { error?: string } }[] = [];
    const send = async (event: IncidentEvent) => {
      const res = await fetch(`${serve.url}/v1/events`, {
        method: 'POST',
        body: JSON.stringify(event),
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      results.push({ event, status: res.status, body: (await res.json()) as { error?: string } });
      return res.status;
    };
    let n = 0;
    const next = () => created(`DUR-${++n}-${randomUUID().slice(0, 6)}`);

    // Healthy: a few events go through.
    for (let i = 0; i < 3; i++) expect(await send(next())).toBe(202);

    // Four senders keep sending; the server is killed while their requests are in flight.
    const lane = async () => {
      for (let i = 0; i < 4; i++) await send(next());
    };
    const lanes = Promise.all([lane(), lane(), lane(), lane()]);
    await new Promise((r) => setTimeout(r, 150));
    await kill(server, 'SIGKILL');
    server = undefined;
    await lanes;
    // Just after the kill: nothing can be recorded, so nothing is acknowledged.
    expect(await send(next())).toBe(503);

    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status !== 202);
    expect(results.every((r) => r.status === 202 || r.status === 503)).toBe(true);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) expect(r.body.error).toMatch(/^Temporal did not confirm the event/);

    // Restart on the same database: every acknowledged event is there.
    server = startServer(port);
    const after = new Client({ connection: await connectWhenReady(address) });
    closers.push(() => after.connection.close());
    for (const { event } of accepted) {
      expect(await recordedEventIds(after, event.incident.id)).toContain(event.eventId);
    }

    // A sender that retries its 503s loses nothing.
    const retry = await startServe({
      client: after,
      taskQueue,
      auth: { token: TOKEN },
      port: 0,
      logger: { info() {}, warn() {}, error() {} },
    });
    closers.push(() => retry.close());
    for (const { event } of refused) {
      const res = await fetch(`${retry.url}/v1/events`, {
        method: 'POST',
        body: JSON.stringify(event),
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(202);
      expect(await recordedEventIds(after, event.incident.id)).toContain(event.eventId);
    }
  }, 120_000);
});

/** Event ids delivered to an incident workflow, read from its history (what Temporal stored). */
async function recordedEventIds(client: Client, incidentId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(incidentWorkflowId(incidentId)).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const payload = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<IncidentEvent>(payload).eventId] : [];
  });
}

async function connectWhenReady(address: string): Promise<Connection> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Signals the server's whole process group and waits for it to exit. */
async function kill(server: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  process.kill(-server.pid!, signal);
  await exited;
}
