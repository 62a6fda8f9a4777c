import { createHmac } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { readBody, send } from '../src/sandbox/http';
import { ZoomSandbox } from '../src/sandbox/server';
import { startMeeting } from '../src/sandbox/simulate';
import { WebhookDelivery, WebhookSender } from '../src/sandbox/webhook-sender';
import {
  isWebhookEvent,
  parseWebhookEvent,
  signWebhook,
  urlValidationResponse,
  verifyWebhook,
  WebhookEnvelope,
  WebhookParseError,
} from '../src/zoom/webhooks';
import { meetingEventFromWebhook } from '../src/temporal/zoom-events';

const SECRET = 'sbx-webhook-secret-token';

describe('signWebhook and verifyWebhook', () => {
  // Zoom's documented example message; the expected hex was computed independently with
  // `printf '%s' 'v0:1658940994:<body>' | openssl dgst -sha256 -hmac sbx-webhook-secret-token`.
  const body =
    '{"event":"session.started","payload":{"account_id":"{ACCOUNT_ID}","object":{"start_time":"2022-07-27T16:56:34Z","id":"{SESSION_ID}"}},"event_ts":1658940994914}';
  const timestamp = '1658940994';
  const now = 1658940994 * 1000 + 1500;
  const signature = 'v0=739e4fac0d29d74cd5b62987dd2bf6acae3851ae5d360cc7e32b85b006dfa3a1';

  it('signs v0:{timestamp}:{body} with HMAC-SHA256 as hex', () => {
    expect(signWebhook(SECRET, timestamp, body)).toBe(signature);
    expect(signWebhook(SECRET, Number(timestamp), body)).toBe(signature);
  });

  it('accepts a valid signature', () => {
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature, now })).toEqual({ ok: true });
    expect(
      verifyWebhook({
        secretToken: SECRET,
        rawBody: body,
        timestamp,
        signature: signature.toUpperCase().replace('V0=', 'v0='),
        now,
      }),
    ).toEqual({ ok: true });
  });

  it('rejects a tampered body, a wrong secret and a changed timestamp', () => {
    expect(
      verifyWebhook({ secretToken: SECRET, rawBody: body.replace('session', 'meeting'), timestamp, signature, now }),
    ).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook({ secretToken: 'another-secret', rawBody: body, timestamp, signature, now })).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp: '1658940995', signature, now })).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });

  it('rejects timestamps outside the tolerance, in either direction', () => {
    const fresh = signWebhook(SECRET, timestamp, body);
    const stale = verifyWebhook({
      secretToken: SECRET,
      rawBody: body,
      timestamp,
      signature: fresh,
      now: now + 301_000,
    });
    expect(stale).toEqual({ ok: false, reason: expect.stringContaining('stale') });
    expect(
      verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: fresh, now: now - 400_000 }).ok,
    ).toBe(false);
    expect(
      verifyWebhook({
        secretToken: SECRET,
        rawBody: body,
        timestamp,
        signature: fresh,
        now: now + 301_000,
        toleranceSeconds: 600,
      }),
    ).toEqual({ ok: true });
    expect(
      verifyWebhook({
        secretToken: SECRET,
        rawBody: body,
        timestamp: String(Math.floor(Date.now() / 1000)),
        signature: 'v0=00',
      }).ok,
    ).toBe(false);
  });

  it('rejects missing headers and a missing secret', () => {
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp: undefined, signature, now })).toEqual({
      ok: false,
      reason: 'missing x-zm-request-timestamp header',
    });
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: undefined, now })).toEqual({
      ok: false,
      reason: 'missing x-zm-signature header',
    });
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp: '', signature: '', now }).ok).toBe(false);
    expect(verifyWebhook({ secretToken: '', rawBody: body, timestamp, signature, now })).toEqual({
      ok: false,
      reason: 'no webhook secret token is configured',
    });
  });

  it('rejects malformed signatures and timestamps', () => {
    const malformed = (sig: string | string[]) =>
      verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: sig, now });
    for (const sig of [
      '739e4fac0d29d74cd5b62987dd2bf6acae3851ae5d360cc7e32b85b006dfa3a1',
      'v1=739e4f',
      'v0=',
      'v0=zz',
      'v0=abc',
      [signature, signature],
    ]) {
      expect(malformed(sig)).toEqual({ ok: false, reason: expect.stringContaining('malformed x-zm-signature') });
    }
    for (const ts of ['1658940994000.5', 'yesterday', '-1658940994', ['1658940994', '1658940994']]) {
      expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp: ts, signature, now })).toEqual({
        ok: false,
        reason: expect.stringContaining('malformed x-zm-request-timestamp'),
      });
    }
  });

  it('rejects a well-formed signature of the wrong length without throwing', () => {
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: 'v0=739e4fac', now })).toEqual({
      ok: false,
      reason: 'signature length mismatch',
    });
    expect(verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: `${signature}00`, now })).toEqual({
      ok: false,
      reason: 'signature length mismatch',
    });
  });

  it('never puts the secret in a reason', () => {
    const reasons = [
      verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: 'v0=00', now }),
      verifyWebhook({ secretToken: SECRET, rawBody: body, timestamp, signature: 'nope', now }),
      verifyWebhook({ secretToken: SECRET, rawBody: 'x', timestamp, signature, now }),
    ].map((r) => (r.ok ? '' : r.reason));
    for (const reason of reasons) expect(reason).not.toContain(SECRET);
  });
});

describe('urlValidationResponse', () => {
  it("hashes Zoom's example plainToken with the secret token", () => {
    // Zoom's example does not name its secret, so the hex comes from openssl with our own.
    expect(urlValidationResponse(SECRET, 'qgg8vlvZRS6UYooatFL8Aw')).toEqual({
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: 'ff7be5c642c65cb21a46884793d2f02d44e2d1e45dcb2492b67c4007d6bd3563',
    });
    const { encryptedToken } = urlValidationResponse('other', 'qgg8vlvZRS6UYooatFL8Aw');
    expect(encryptedToken).toBe(createHmac('sha256', 'other').update('qgg8vlvZRS6UYooatFL8Aw').digest('hex'));
  });
});

describe('parseWebhookEvent', () => {
  it('returns the envelope and normalises object.id to a string', () => {
    const parsed = parseWebhookEvent(
      '{"event":"recording.completed","event_ts":1626230691572,"payload":{"account_id":"a","object":{"id":86431910364,"uuid":"u"}},"download_token":"dt"}',
    );
    expect(parsed).toEqual({
      event: 'recording.completed',
      event_ts: 1626230691572,
      payload: { account_id: 'a', object: { id: '86431910364', uuid: 'u' } },
      download_token: 'dt',
    });
    const started = parseWebhookEvent(
      '{"event":"meeting.started","event_ts":1,"payload":{"object":{"id":"1234567890"}}}',
    );
    expect(isWebhookEvent(started, 'meeting.started') && started.payload.object.id).toBe('1234567890');
  });

  it('meeting.summary_completed: its meeting_id (a number) becomes a string; the run is told the instance, never the summary', () => {
    const secret = 'Rolled back release 42 after the payments pool ran dry';
    const parsed = parseWebhookEvent(
      JSON.stringify({
        event: 'meeting.summary_completed',
        event_ts: 1,
        payload: {
          account_id: 'a',
          object: {
            meeting_id: 86431910364,
            meeting_uuid: 'aB/c//d==',
            summary_overview: secret,
            next_steps: [secret],
          },
        },
      }),
    );
    expect(isWebhookEvent(parsed, 'meeting.summary_completed') && parsed.payload.object.meeting_id).toBe('86431910364');
    const event = meetingEventFromWebhook(parsed);
    expect(event).toEqual({
      type: 'meeting.summary_completed',
      meetingId: '86431910364',
      uuid: 'aB/c//d==',
      at: new Date(1).toISOString(),
    });
    expect(JSON.stringify(event)).not.toContain('payments');
    expect(() =>
      parseWebhookEvent('{"event":"meeting.summary_completed","payload":{"object":{"meeting_id":1}}}'),
    ).toThrow('Webhook "meeting.summary_completed": payload.object.meeting_uuid must be a meeting UUID.');
  });

  it("lobby webhooks: the run is told who (display name, never the email), and when, to the millisecond within Zoom's second", () => {
    const lobby = (event: string, participant: object, eventTs: number) =>
      meetingEventFromWebhook(
        parseWebhookEvent(
          JSON.stringify({
            event,
            event_ts: eventTs,
            payload: { account_id: 'a', object: { id: 85023456789, uuid: 'u', participant } },
          }),
        ),
      );
    const waiting = {
      user_id: '16778240',
      user_name: 'Dana Lee',
      id: '',
      participant_uuid: 'A1B2',
      email: 'dana@example.com',
      date_time: '2031-01-01T10:00:05Z',
    };
    expect(lobby('meeting.participant_joined_waiting_room', waiting, Date.parse('2031-01-01T10:00:05.250Z'))).toEqual({
      type: 'meeting.participant_joined_waiting_room',
      meetingId: '85023456789',
      at: '2031-01-01T10:00:05.250Z',
      participant: { id: 'A1B2', name: 'Dana Lee' },
    });
    // A delivery whose event_ts is not within date_time's second keeps Zoom's date_time.
    expect(lobby('meeting.participant_admitted', waiting, Date.parse('2031-01-01T10:09:00Z'))?.at).toBe(
      '2031-01-01T10:00:05Z',
    );
    // Waiting for the host: no per-join id nor time; the Zoom user id, else the name, and event_ts.
    expect(lobby('meeting.participant_jbh_waiting', { user_name: 'Guest' }, 7)).toEqual({
      type: 'meeting.participant_jbh_waiting',
      meetingId: '85023456789',
      at: new Date(7).toISOString(),
      participant: { id: 'name:Guest', name: 'Guest' },
    });
    expect(
      lobby('meeting.participant_jbh_waiting_left', { id: 'zoomUser1', user_name: 'Guest' }, 8)?.participant,
    ).toEqual({
      id: 'zoomUser1',
      name: 'Guest',
    });
    expect(() =>
      parseWebhookEvent(
        '{"event":"meeting.participant_admitted","payload":{"object":{"id":"1","participant":{"date_time":5}}}}',
      ),
    ).toThrow('Webhook "meeting.participant_admitted": payload.object.participant.date_time must be a string.');
    expect(() =>
      parseWebhookEvent('{"event":"meeting.participant_jbh_waiting","payload":{"object":{"id":"1"}}}'),
    ).toThrow('payload.object.participant must be an object');
  });

  it('recording.transcript_completed: the run is told the meeting and instance, never the download token or the file URLs', () => {
    const downloadToken = 'dt-abJhbGciOiJIUzUxMiJ9-transcript';
    const parsed = parseWebhookEvent(
      JSON.stringify({
        event: 'recording.transcript_completed',
        event_ts: 1626230691572,
        download_token: downloadToken,
        payload: {
          account_id: 'a',
          object: {
            id: 86431910364,
            uuid: '4444AAAiAAAAAiAiAiiAii==',
            share_url: 'https://zoom.test/rec/share/s',
            recording_files: [
              {
                file_type: 'TRANSCRIPT',
                file_extension: 'VTT',
                play_url: 'https://zoom.test/rec/play/p',
                download_url: 'https://zoom.test/rec/download/d',
                status: 'completed',
                recording_type: 'audio_transcript',
              },
            ],
          },
        },
      }),
    );
    expect(parsed.download_token).toBe(downloadToken);
    const event = meetingEventFromWebhook(parsed);
    expect(event).toEqual({
      type: 'recording.transcript_completed',
      meetingId: '86431910364',
      uuid: '4444AAAiAAAAAiAiAiiAii==',
      at: new Date(1626230691572).toISOString(),
    });
    expect(() =>
      parseWebhookEvent('{"event":"recording.transcript_completed","payload":{"object":{"id":1,"recording_files":3}}}'),
    ).toThrow('Webhook "recording.transcript_completed": payload.object.recording_files must be a list of objects.');
  });

  it("reads app_deauthorized's event_ts from the payload, as a number or Zoom's example string", () => {
    const example =
      '{"event":"app_deauthorized","payload":{"account_id":"AAAAAABBBB","user_id":"abcD3ojfdbjfg","signature":"827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000","deauthorization_time":"2020-06-17T13:52:28.632Z","client_id":"ABCDEFGHIJKLMNOPQRST!V","event_ts":"2024-09-08 15:58:40"}}';
    const parsed = parseWebhookEvent(example);
    expect(parsed.event).toBe('app_deauthorized');
    expect(parsed.event_ts).toBe(Date.parse('2024-09-08T15:58:40Z'));
    expect(parsed.payload).toMatchObject({ account_id: 'AAAAAABBBB', client_id: 'ABCDEFGHIJKLMNOPQRST!V' });
    expect(parseWebhookEvent('{"event":"app_deauthorized","payload":{"event_ts":1725811120000}}').event_ts).toBe(
      1725811120000,
    );
  });

  it('throws a clear WebhookParseError for bodies that are not webhooks', () => {
    const cases: [string, string][] = [
      ['not json', 'Webhook body is not valid JSON.'],
      ['[]', 'Webhook body must be a JSON object.'],
      ['{"payload":{}}', 'Webhook body has no "event" name.'],
      ['{"event":"meeting.started","payload":[1]}', 'Webhook "meeting.started" has no "payload" object.'],
    ];
    for (const [raw, message] of cases) {
      expect(() => parseWebhookEvent(raw)).toThrow(WebhookParseError);
      expect(() => parseWebhookEvent(raw)).toThrow(message);
    }
  });
});

// ---- HTTP helpers ----

interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
}

interface Receiver {
  url: string;
  received: Received[];
  /** Decides the answer; by default 200, and the CRC reply for endpoint.url_validation. */
  respond: (r: Received) => { status: number; body?: unknown } | 'hang';
  close(): Promise<void>;
}

/** A stand-in for our webhook endpoint: records every request with its raw body. */
async function startReceiver(secret = SECRET): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    respond: (r) => {
      const body = JSON.parse(r.rawBody) as WebhookEnvelope<{ plainToken?: string }>;
      if (body.event === 'endpoint.url_validation')
        return { status: 200, body: urlValidationResponse(secret, body.payload.plainToken!) };
      return { status: 200 };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    void readBody(req).then((rawBody) => {
      const r = { headers: req.headers, rawBody };
      receiver.received.push(r);
      const answer = receiver.respond(r);
      if (answer === 'hang') return;
      send(res, answer);
    });
  });
  receiver.url = `${await listen(server)}/zoom/webhooks`;
  return receiver;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function call(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function waitFor<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- Sender ----

describe('WebhookSender', () => {
  let receiver: Receiver;
  beforeEach(async () => (receiver = await startReceiver()));
  afterEach(async () => receiver.close());

  it('posts the envelope with Zoom headers, signed over the exact bytes sent', async () => {
    const sender = new WebhookSender(() => ({ url: receiver.url, secretToken: SECRET }));
    const before = Date.now();
    await expect(sender.send('meeting.started', { account_id: 'acc', object: { id: '1' } })).resolves.toEqual({
      status: 200,
    });

    const [r] = receiver.received;
    expect(r.headers).toMatchObject({
      'user-agent': 'Zoom Marketplace/1.0a',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(r.headers['x-zm-request-id']).toMatch(/^[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}$/);
    expect(Number(r.headers['x-zm-request-timestamp'])).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(r.headers['x-zm-signature']).toBe(
      signWebhook(SECRET, r.headers['x-zm-request-timestamp'] as string, r.rawBody),
    );
    const envelope = JSON.parse(r.rawBody) as WebhookEnvelope;
    expect(envelope).toEqual({
      event: 'meeting.started',
      event_ts: expect.any(Number),
      payload: { account_id: 'acc', object: { id: '1' } },
    });
    expect(envelope.event_ts).toBeGreaterThanOrEqual(before); // milliseconds
    expect(sender.deliveries).toEqual([
      expect.objectContaining({
        event: 'meeting.started',
        status: 200,
        ok: true,
        retryable: false,
        requestId: r.headers['x-zm-request-id'],
      }),
    ]);
  });

  it('sends nothing without a subscription', async () => {
    const sender = new WebhookSender(() => undefined);
    await expect(sender.send('meeting.started', {})).resolves.toBeUndefined();
    await expect(sender.validateEndpoint()).resolves.toBe(false);
    expect(sender.deliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it('records failures and whether Zoom would retry them, without waiting for retries', async () => {
    const sender = new WebhookSender(() => ({ url: receiver.url, secretToken: SECRET }));
    receiver.respond = () => ({ status: 503 });
    await expect(sender.send('meeting.ended', {})).resolves.toEqual({ status: 503 });
    receiver.respond = () => ({ status: 404 });
    await expect(sender.send('meeting.ended', {})).resolves.toEqual({ status: 404 });
    expect(sender.deliveries.map((d) => [d.status, d.ok, d.retryable, d.error])).toEqual([
      [503, false, true, 'endpoint answered HTTP 503'],
      [404, false, false, 'endpoint answered HTTP 404'],
    ]);
  });

  it('gives up on an endpoint that does not answer in time, and on a refused connection', async () => {
    const slow = new WebhookSender(() => ({ url: receiver.url, secretToken: SECRET }), { timeoutMs: 200 });
    receiver.respond = () => 'hang';
    const started = Date.now();
    await expect(slow.send('meeting.started', {})).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(slow.deliveries[0]).toMatchObject({ ok: false, retryable: true, error: 'no answer within 200 ms' });
    expect(slow.deliveries[0].status).toBeUndefined();

    const url = receiver.url;
    await receiver.close();
    const refused = new WebhookSender(() => ({ url, secretToken: SECRET }));
    await expect(refused.send('meeting.started', {})).resolves.toBeUndefined();
    expect(refused.deliveries[0]).toMatchObject({ ok: false, retryable: true, error: 'delivery failed: ECONNREFUSED' });
    receiver = await startReceiver(); // for afterEach
  });

  it('validates the endpoint with a challenge-response check', async () => {
    const sender = new WebhookSender(() => ({ url: receiver.url, secretToken: SECRET }));
    await expect(sender.validateEndpoint()).resolves.toBe(true);
    const challenge = JSON.parse(receiver.received[0].rawBody) as WebhookEnvelope<{ plainToken: string }>;
    expect(challenge.event).toBe('endpoint.url_validation');
    expect(challenge.payload.plainToken).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(
      verifyWebhook({
        secretToken: SECRET,
        rawBody: receiver.received[0].rawBody,
        timestamp: receiver.received[0].headers['x-zm-request-timestamp'],
        signature: receiver.received[0].headers['x-zm-signature'],
      }),
    ).toEqual({ ok: true });

    const wrongSecret = new WebhookSender(() => ({ url: receiver.url, secretToken: 'not-the-receivers-secret' }));
    await expect(wrongSecret.validateEndpoint()).resolves.toBe(false);
    expect(wrongSecret.deliveries[0]).toMatchObject({
      status: 200,
      ok: false,
      error: expect.stringContaining('URL validation failed'),
    });
    expect(wrongSecret.deliveries[0].error).not.toContain('not-the-receivers-secret');

    receiver.respond = () => ({ status: 204 });
    await expect(sender.validateEndpoint()).resolves.toBe(false);
    expect(sender.deliveries.at(-1)).toMatchObject({
      status: 204,
      ok: false,
      error: expect.stringContaining('URL validation failed'),
    });
  });
});

// ---- Simulation routes against a real sandbox ----

describe('simulation admin API', () => {
  let sandbox: ZoomSandbox;
  let receiver: Receiver;
  let sender: WebhookSender;
  let token: string;
  let meetingId: number;
  let meetingUuid: string;
  const host = 'bridge-host@sandbox.zoom.test';

  beforeEach(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
    receiver = await startReceiver();
    sender = sandbox.webhooks;

    const auth = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('sandbox-client-id:sandbox-client-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=account_credentials&account_id=sandbox-account',
    });
    token = ((await auth.json()) as { access_token: string }).access_token;
    const created = await rest('POST', `/v2/users/${host}/meetings`, {
      topic: 'INC-7 checkout latency',
      type: 2,
      start_time: '2026-11-22T09:14:03Z',
      duration: 45,
      timezone: 'Europe/Berlin',
    });
    expect(created.status).toBe(201);
    meetingId = created.body.id as number;
    meetingUuid = sandbox.state.meetings.get(meetingId)!.uuid;
  });

  afterEach(async () => {
    await receiver.close();
    await sandbox.stop();
  });

  function rest(method: string, path: string, body?: unknown) {
    return call(method, `${sandbox.url}${path}`, body, { authorization: `Bearer ${token}` });
  }
  function adminCall(method: string, path: string, body?: unknown) {
    return call(method, `${sandbox.url}/_sandbox${path}`, body);
  }
  async function subscribe(): Promise<void> {
    const res = await adminCall('POST', '/webhooks', { url: receiver.url, secretToken: SECRET, validate: true });
    expect(res).toEqual({ status: 200, body: { url: receiver.url, validated: true } });
    receiver.received.length = 0;
  }
  /** Every event the receiver got, checked the way our webhook endpoint will check it. */
  function events(): WebhookEnvelope[] {
    return receiver.received.map((r) => {
      const verdict = verifyWebhook({
        secretToken: SECRET,
        rawBody: r.rawBody,
        timestamp: r.headers['x-zm-request-timestamp'],
        signature: r.headers['x-zm-signature'],
      });
      expect(verdict).toEqual({ ok: true });
      return parseWebhookEvent(r.rawBody);
    });
  }

  it('sends signed webhooks in order for a held, attended and recorded meeting, matching the REST API', async () => {
    await subscribe();
    const started = await adminCall('POST', `/meetings/${meetingId}/start`);
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ uuid: meetingUuid, meetingId });
    expect((await rest('GET', `/v2/meetings/${meetingId}`)).body.status).toBe('started');

    const alice = await adminCall('POST', `/meetings/${meetingId}/participants`, {
      name: 'Alice Oncall',
      email: 'alice@example.com',
      userId: 'sbxOnCallUser01',
    });
    const bob = await adminCall('POST', `/meetings/${meetingId}/participants`, {
      name: 'Bob Guest',
      email: 'bob@example.com',
    });
    expect(alice).toMatchObject({ status: 201, body: { participantId: '16778240', instanceUuid: meetingUuid } });
    expect(bob.body.participantId).toBe('16779264');

    const left = await adminCall(
      'POST',
      `/meetings/${meetingId}/participants/${String(alice.body.participantId)}/leave`,
    );
    expect(left).toMatchObject({ status: 200, body: { participantId: '16778240', duration: expect.any(Number) } });
    const ended = await adminCall('POST', `/meetings/${meetingId}/end`);
    expect(ended.status).toBe(200);
    expect((await rest('GET', `/v2/meetings/${meetingId}`)).body.status).toBe('waiting');
    const recorded = await adminCall('POST', `/meetings/${meetingId}/recording`);
    expect(recorded.status).toBe(201);

    const got = events();
    expect(got.map((e) => e.event)).toEqual([
      'meeting.started',
      'meeting.participant_joined',
      'meeting.participant_joined',
      'meeting.participant_left',
      'meeting.participant_left',
      'meeting.ended',
      'recording.completed',
    ]);
    const meetingObject = {
      id: String(meetingId),
      uuid: meetingUuid,
      host_id: 'sbxHostUser001',
      topic: 'INC-7 checkout latency',
      type: 2,
      start_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      timezone: 'Europe/Berlin',
      duration: 45,
    };
    expect(got[0].payload).toEqual({ account_id: 'sandbox-account', object: meetingObject });
    expect(got[1].payload).toEqual({
      account_id: 'sandbox-account',
      object: {
        ...meetingObject,
        participant: {
          user_id: '16778240',
          user_name: 'Alice Oncall',
          id: 'sbxOnCallUser01',
          participant_uuid: alice.body.participantUuid,
          join_time: alice.body.joinTime,
          email: 'alice@example.com',
        },
      },
    });
    expect(got[2].payload).toMatchObject({
      object: { participant: { user_id: '16779264', user_name: 'Bob Guest', id: '', email: 'bob@example.com' } },
    });
    expect(got[3].payload).toMatchObject({
      object: {
        participant: {
          user_id: '16778240',
          leave_time: left.body.leaveTime,
          leave_reason: 'left the meeting. Reason : left the meeting',
          email: 'alice@example.com',
        },
      },
    });
    expect(got[4].payload).toMatchObject({
      object: {
        participant: { user_id: '16779264', leave_reason: 'left the meeting. Reason : Host ended the meeting.' },
      },
    });
    expect(got[5].payload).toEqual({
      account_id: 'sandbox-account',
      object: { ...meetingObject, end_time: ended.body.endTime },
    });
    for (const e of got) expect(e.event_ts).toEqual(expect.any(Number));
    expect(new Set(receiver.received.map((r) => r.headers['x-zm-request-id'])).size).toBe(got.length);

    // recording.completed: download_token beside event, and the same object Get recordings returns.
    const recording = got[6];
    expect(recording.download_token).toBe(recorded.body.downloadToken);
    const rawRecording = JSON.parse(receiver.received[6].rawBody) as { payload: { object: { id: unknown } } };
    expect(rawRecording.payload.object.id).toBe(meetingId); // numeric on the wire (reference §6.4), string after parsing
    const object = (recording.payload as { object: Record<string, unknown> }).object;
    expect(object).toMatchObject({
      id: String(meetingId),
      uuid: meetingUuid,
      account_id: 'sandbox-account',
      host_id: 'sbxHostUser001',
      host_email: host,
      topic: 'INC-7 checkout latency',
      type: 2,
      duration: expect.any(Number),
      total_size: expect.any(Number),
      recording_count: 3,
      share_url: expect.stringMatching(new RegExp(`^${sandbox.url}/rec/share/`)),
      password: expect.any(String),
      recording_play_passcode: expect.any(String),
    });
    const files = object.recording_files as Record<string, unknown>[];
    expect(files.map((f) => [f.file_type, f.file_extension, f.recording_type])).toEqual([
      ['MP4', 'MP4', 'shared_screen_with_speaker_view'],
      ['M4A', 'M4A', 'audio_only'],
      ['TRANSCRIPT', 'VTT', 'audio_transcript'],
    ]);
    for (const f of files) {
      expect(f).toMatchObject({
        id: expect.any(String),
        meeting_id: meetingUuid,
        recording_start: meetingObject.start_time,
        recording_end: ended.body.endTime,
        file_size: expect.any(Number),
        status: 'completed',
      });
      expect(f.download_url).toMatch(new RegExp(`^${sandbox.url}/rec/download/`));
    }
    expect(object.total_size).toBe(files.reduce((sum, f) => sum + (f.file_size as number), 0));
    const fromRest = await rest('GET', `/v2/meetings/${meetingId}/recordings`);
    // Same recording; only the spec's types differ (REST: string type; event: number).
    expect(fromRest.body).toEqual({ ...object, id: meetingId, type: String(object.type) });

    // Past participants agree with the webhooks.
    const past = await rest('GET', `/v2/past_meetings/${meetingId}/participants`);
    expect(
      (past.body.participants as Record<string, unknown>[]).map((p) => [
        p.user_id,
        p.name,
        p.id,
        p.leave_time !== undefined,
      ]),
    ).toEqual([
      ['16778240', 'Alice Oncall', 'sbxOnCallUser01', true],
      ['16779264', 'Bob Guest', '', true],
    ]);

    const deliveries = await adminCall('GET', '/webhooks/deliveries');
    expect((deliveries.body.deliveries as WebhookDelivery[]).map((d) => [d.event, d.status, d.ok])).toEqual([
      ['endpoint.url_validation', 200, true],
      ...got.map((e) => [e.event, 200, true]),
    ]);
  });

  it('gives every later occurrence its own UUID', async () => {
    await subscribe();
    await adminCall('POST', `/meetings/${meetingId}/start`);
    await adminCall('POST', `/meetings/${meetingId}/end`);
    const again = await adminCall('POST', `/meetings/${meetingId}/start`);
    expect(again.body.uuid).not.toBe(meetingUuid);
    expect(again.body.uuid).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    await adminCall('POST', `/meetings/${meetingId}/end`);
    const uuids = events().map((e) => (e.payload as { object: { uuid: string } }).object.uuid);
    expect(uuids).toEqual([meetingUuid, meetingUuid, again.body.uuid, again.body.uuid]);
    expect(sandbox.state.instances.map((i) => i.uuid)).toEqual([meetingUuid, again.body.uuid]);
  });

  it('answers clear errors for bad requests', async () => {
    expect(await adminCall('POST', '/meetings/123/start')).toEqual({
      status: 404,
      body: { code: 3001, message: 'Meeting 123 is not found or has expired.' },
    });
    expect(await adminCall('POST', `/meetings/${meetingId}/end`)).toMatchObject({
      status: 400,
      body: { code: 3000, message: expect.stringContaining('is not started') },
    });
    expect(
      await adminCall('POST', `/meetings/${meetingId}/participants`, { name: 'x', email: 'x@example.com' }),
    ).toMatchObject({ status: 400, body: { code: 3000 } });
    expect(await adminCall('POST', `/meetings/${meetingId}/recording`)).toMatchObject({
      status: 400,
      body: { code: 3000, message: expect.stringContaining('has not ended') },
    });

    await adminCall('POST', `/meetings/${meetingId}/start`);
    expect(await adminCall('POST', `/meetings/${meetingId}/start`)).toMatchObject({
      status: 400,
      body: { code: 3000, message: expect.stringContaining('already started') },
    });
    expect(await adminCall('POST', `/meetings/${meetingId}/participants`, { email: 'x@example.com' })).toEqual({
      status: 400,
      body: {
        code: 300,
        message: 'Invalid field "name": must be a non-empty string.',
        errors: [{ field: 'name', message: 'must be a non-empty string' }],
      },
    });
    expect(await adminCall('POST', `/meetings/${meetingId}/participants`, { name: 'x', email: 'nope' })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('"email"') },
    });
    expect(
      await adminCall('POST', `/meetings/${meetingId}/participants`, { name: 'x', email: 'x@example.com', userId: 7 }),
    ).toMatchObject({ status: 400, body: { message: expect.stringContaining('"userId"') } });
    expect(await adminCall('POST', `/meetings/${meetingId}/participants/999/leave`)).toMatchObject({
      status: 404,
      body: { message: expect.stringContaining('Participant 999') },
    });
    const joined = await adminCall('POST', `/meetings/${meetingId}/participants`, {
      name: 'x',
      email: 'x@example.com',
    });
    await adminCall('POST', `/meetings/${meetingId}/participants/${String(joined.body.participantId)}/leave`);
    expect(
      await adminCall('POST', `/meetings/${meetingId}/participants/${String(joined.body.participantId)}/leave`),
    ).toMatchObject({ status: 400, body: { message: expect.stringContaining('already left') } });
    await adminCall('POST', `/meetings/${meetingId}/end`);
    expect(await adminCall('POST', `/meetings/${meetingId}/recording`, { delayMs: -1 })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('"delayMs"') },
    });
    await adminCall('POST', `/meetings/${meetingId}/recording`);
    expect(await adminCall('POST', `/meetings/${meetingId}/recording`)).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('already has a recording') },
    });

    expect(await adminCall('POST', '/webhooks', { url: 'ftp://x', secretToken: 's' })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('"url"') },
    });
    const noSecret = await adminCall('POST', '/webhooks', { url: receiver.url, secretToken: '' });
    expect(noSecret).toMatchObject({
      status: 400,
      body: { message: 'Invalid field "secretToken": must be a non-empty string.' },
    });
    expect(await adminCall('POST', '/webhooks', [])).toMatchObject({
      status: 400,
      body: { message: 'Request body must be a JSON object.' },
    });
  });

  it('refuses a subscription whose endpoint fails validation, without echoing the secret', async () => {
    await subscribe();
    const res = await adminCall('POST', '/webhooks', {
      url: receiver.url,
      secretToken: 'a-different-secret',
      validate: true,
    });
    expect(res).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('Endpoint URL validation failed') },
    });
    expect(JSON.stringify(res.body)).not.toContain('a-different-secret');
    expect(sandbox.state.webhook).toEqual({ url: receiver.url, secretToken: SECRET }); // the previous one stays
    expect((await adminCall('DELETE', '/webhooks')).status).toBe(204);
    expect(sandbox.state.webhook).toBeUndefined();
  });

  it('completes a recording after a delay, like Zoom processing it', async () => {
    await subscribe();
    await adminCall('POST', `/meetings/${meetingId}/start`);
    const ended = await adminCall('POST', `/meetings/${meetingId}/end`);
    const res = await adminCall('POST', `/meetings/${meetingId}/recording`, { delayMs: 150 });
    expect(res).toEqual({ status: 202, body: { instanceUuid: meetingUuid, status: 'processing', readyInMs: 150 } });
    expect((await rest('GET', `/v2/meetings/${meetingId}/recordings`)).body.code).toBe(3301);
    expect(await adminCall('POST', `/meetings/${meetingId}/recording`)).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('already being processed') },
    });

    const event = await waitFor(() => events().find((e) => e.event === 'recording.completed'));
    expect(event.payload).toMatchObject({ object: { uuid: meetingUuid, recording_files: expect.any(Array) } });
    expect((await rest('GET', `/v2/meetings/${meetingId}/recordings`)).body).toMatchObject({
      uuid: meetingUuid,
      recording_count: 3,
    });
    expect(ended.body.endTime).toEqual(expect.any(String));
  });

  it('still simulates without a subscriber, and answers quickly when the subscriber is slow', async () => {
    expect((await adminCall('POST', `/meetings/${meetingId}/start`)).status).toBe(201);
    expect(sender.deliveries).toEqual([]);
    await adminCall('POST', `/meetings/${meetingId}/end`);

    const quick = new WebhookSender(() => sandbox.state.webhook, { timeoutMs: 100 });
    sandbox.state.webhook = { url: receiver.url, secretToken: SECRET };
    receiver.respond = () => 'hang';
    const instance = await startMeeting(sandbox.state, quick, sandbox.state.meetings.get(meetingId)!);
    expect(instance.endTime).toBeUndefined();
    expect(quick.deliveries).toEqual([
      expect.objectContaining({ event: 'meeting.started', ok: false, retryable: true }),
    ]);
  });

  it('deauthorizing revokes every token and sends app_deauthorized', async () => {
    await subscribe();
    expect((await rest('GET', `/v2/meetings/${meetingId}`)).status).toBe(200);
    const res = await adminCall('POST', '/deauthorize');
    expect(res).toEqual({ status: 200, body: { revokedTokens: 1, userId: 'sbxHostUser001' } });
    expect(sandbox.state.tokens.size).toBe(0);
    expect(await rest('GET', `/v2/meetings/${meetingId}`)).toMatchObject({ status: 401, body: { code: 124 } });

    const [event] = events();
    expect(event.event).toBe('app_deauthorized');
    expect(event.payload).toEqual({
      account_id: 'sandbox-account',
      user_id: 'sbxHostUser001',
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
      deauthorization_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      client_id: 'sandbox-client-id',
      event_ts: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
    });
    expect(
      isWebhookEvent(event, 'app_deauthorized') &&
        Math.abs(event.event_ts! - Date.parse(event.payload.deauthorization_time)),
    ).toBeLessThan(2000);

    const other = await adminCall('POST', '/deauthorize', { userId: 'sbxHostUser002' });
    expect(other.body).toEqual({ revokedTokens: 0, userId: 'sbxHostUser002' });
  });
});
