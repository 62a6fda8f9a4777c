import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import axios from 'axios';
import { scopeReport } from '../src/zoom/scope-report';
import { verifyWebhook } from '../src/zoom/webhooks';
import { meetingPathId, ZoomClient } from '../src/zoom/client';
import { AccountRateLimiter } from '../src/zoom/rate-limiter';
import { zoomConnector } from '../src/apps/worker';
import {
  ZoomAuthError,
  ZoomDailyLimitError,
  ZoomNotFoundError,
  ZoomRateLimitError,
  ZoomScopeError,
  ZoomUnavailableError,
  ZoomValidationError,
} from '../src/zoom/errors';
import { parseRetryAfter } from '../src/zoom/error-mapping';
import { ZoomSandbox } from '../src/sandbox/server';
import { failure } from './support/failure';
import { sandboxConnector } from './support/stack';

/** The Zoom client against the sandbox over real HTTP. */
describe('ZoomClient against the Zoom sandbox', () => {
  let sandbox: ZoomSandbox;
  let host: string;

  beforeEach(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
    host = sandbox.state.users[0].email;
  });
  afterEach(async () => sandbox.stop());

  function client(overrides: Partial<ReturnType<typeof sandboxConnector>> = {}): ZoomClient {
    return zoomConnector({ ...sandboxConnector(sandbox), ...overrides }).client;
  }

  it('creates a meeting and reads it back with Zoom shapes', async () => {
    const zoom = client();
    const created = await zoom.createMeeting(host, {
      topic: 'INC-1 bridge',
      type: 2,
      start_time: '2026-11-22T09:14:03Z',
      duration: 45,
      agenda: 'checkout latency',
      settings: { join_before_host: true, auto_recording: 'cloud' },
    });
    expect(created).toMatchObject({
      topic: 'INC-1 bridge',
      type: 2,
      duration: 45,
      host_email: host,
      start_time: '2026-11-22T09:14:03Z',
    });
    expect(created.join_url).toMatch(new RegExp(`^${sandbox.url}/j/${created.id}\\?pwd=`));
    expect(created.settings).toMatchObject({ join_before_host: true, auto_recording: 'cloud' });

    const fetched = await zoom.getMeeting(created.id);
    expect(fetched).toMatchObject({
      id: created.id,
      topic: 'INC-1 bridge',
      status: 'waiting',
      host_id: sandbox.state.users[0].id,
    });
    expect(fetched.uuid).toEqual(expect.any(String));

    const list = await zoom.listMeetings(host);
    expect(list.meetings.map((m) => m.id)).toEqual([created.id]);
    expect(list.total_records).toBe(1);
  });

  it('shares one token across concurrent calls: 50 calls, one token request', async () => {
    const zoom = client();
    const meeting = await zoom.createMeeting(host, { topic: 'x' });
    await Promise.all(Array.from({ length: 50 }, () => zoom.getMeeting(meeting.id)));
    expect(sandbox.state.tokenRequests).toBe(1);
  });

  it('fetches a new token once when Zoom answers 124, and every concurrent caller shares it', async () => {
    const zoom = client();
    const meeting = await zoom.createMeeting(host, { topic: 'x' });
    for (const t of sandbox.state.tokens.values()) t.expiresAt = 0; // Zoom revoked or expired it early
    await Promise.all(Array.from({ length: 50 }, () => zoom.getMeeting(meeting.id)));
    expect(sandbox.state.tokenRequests).toBe(2);
  });

  it('names an unknown host user with a hint, as ZoomNotFoundError with the tracking id', async () => {
    const err = (await failure(client().createMeeting('nobody@example.com', { topic: 'x' }))) as ZoomNotFoundError;
    expect(err).toBeInstanceOf(ZoomNotFoundError);
    expect(err.name).toBe('ZoomNotFoundError');
    expect(err).toMatchObject({ status: 404, code: 1001 });
    expect(err.trackingId).toMatch(/^sbx_/);
    expect(err.message).toContain('User nobody@example.com not exist or not belong to this account.');
    expect(err.message).toContain('ZOOM_HOST_USER');
  });

  it('reports a missing meeting as 404/3001', async () => {
    const err = await failure(client().getMeeting(12345678901));
    expect(err).toBeInstanceOf(ZoomNotFoundError);
    expect(err).toMatchObject({ status: 404, code: 3001 });
  });

  it('rejects wrong credentials with ZoomAuthError that never shows the secret', async () => {
    const err = await failure(client({ clientSecret: 'wrong-secret-value' }).createMeeting(host, { topic: 'x' }));
    expect(err).toBeInstanceOf(ZoomAuthError);
    expect(err.message).toContain('ZOOM_CLIENT_SECRET');
    expect(err.message).not.toContain('wrong-secret-value');
    expect(JSON.stringify(err)).not.toContain('wrong-secret-value');
  });

  it('names the scopes to add when the app lacks one', async () => {
    await sandbox.stop();
    sandbox = new ZoomSandbox({ scopes: ['meeting:read:meeting:admin'] });
    await sandbox.start();
    const err = await failure(client().createMeeting(host, { topic: 'x' }));
    expect(err).toBeInstanceOf(ZoomScopeError);
    expect(err).toMatchObject({ status: 400, code: 4711 });
    expect(err.message).toContain(
      'add one of these scopes to the Zoom app: meeting:write, meeting:write:admin, meeting:write:meeting, meeting:write:meeting:admin',
    );
  });

  it('reports Zoom validation failures with the field', async () => {
    const err = await failure(client().createMeeting(host, { topic: 'x'.repeat(201) }));
    expect(err).toBeInstanceOf(ZoomValidationError);
    expect(err).toMatchObject({ status: 400, code: 300 });
    expect(err.message).toContain('topic: Topic must be a string of at most 200 characters.');
  });

  it('maps 429s: per-second with Retry-After seconds, and the per-user daily limit with its reset time', async () => {
    const zoom = client();
    sandbox.addFault({
      status: 429,
      code: 429,
      message: 'You have reached the maximum per-second rate limit for this API. Try again later.',
      headers: { 'retry-after': '2', 'x-ratelimit-type': 'QPS' },
    });
    const perSecond = (await failure(zoom.createMeeting(host, { topic: 'x' }))) as ZoomRateLimitError;
    expect(perSecond).toBeInstanceOf(ZoomRateLimitError);
    expect(perSecond.retryAfterMs).toBe(2000);

    sandbox.addFault({
      status: 429,
      message:
        'You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00.',
    });
    const daily = (await failure(zoom.createMeeting(host, { topic: 'x' }))) as ZoomDailyLimitError;
    expect(daily).toBeInstanceOf(ZoomDailyLimitError);
    const resetAt = new Date(Date.now() + daily.retryAfterMs!);
    expect(resetAt.getUTCHours()).toBe(0);
    expect(resetAt.getUTCMinutes()).toBe(0);
    expect(daily.message).toMatch(/resets at \d{4}-\d{2}-\d{2}T00:00:00.000Z/);
  });

  it('turns a server failure or a dropped connection into ZoomUnavailableError', async () => {
    const zoom = client();
    sandbox.addFault({ status: 503, code: 503, message: 'Service unavailable' });
    expect(await failure(zoom.createMeeting(host, { topic: 'x' }))).toBeInstanceOf(ZoomUnavailableError);
    sandbox.addFault({ dropResponse: true, method: 'GET' });
    const dropped = await failure(zoom.listMeetings(host));
    expect(dropped).toBeInstanceOf(ZoomUnavailableError);
    expect(dropped.message).not.toMatch(/sbx\./); // no bearer token in the message
  });

  it('stops at the caller abort signal: a queued call is never sent, a call in flight is abandoned', async () => {
    const abort = new AbortController();
    const { tokens } = zoomConnector(sandboxConnector(sandbox));
    const paced = new ZoomClient({
      apiUrl: sandboxConnector(sandbox).apiUrl,
      tokens,
      pacer: new AccountRateLimiter(),
      signal: () => abort.signal,
    });
    sandbox.addFault({ method: 'POST', delayMs: 2_000 });
    const inFlight = failure(paced.createMeeting(host, { topic: 'slow' }));
    await new Promise((r) => setTimeout(r, 200));
    abort.abort(new Error('out of time'));
    const err = await inFlight;
    expect(err).toBeInstanceOf(ZoomUnavailableError);
    expect(err.message).toBe('Zoom create meeting abandoned: the caller was cancelled or ran out of time');

    const before = sandbox.state.meetings.size;
    const queued = await failure(paced.createMeeting(host, { topic: 'never sent' }));
    expect(queued.message).toBe('Zoom create meeting abandoned: the caller was cancelled or ran out of time');
    await new Promise((r) => setTimeout(r, 2_000));
    expect([...sandbox.state.meetings.values()].map((m) => m.topic)).not.toContain('never sent');
    expect(sandbox.state.meetings.size).toBeLessThanOrEqual(before + 1);
  });

  it('gives up waiting for an access token that does not come, so the caller frees its slot', async () => {
    const stuck = {
      getToken: () => new Promise<string>(() => undefined),
      invalidate: () => undefined,
      grantedScopes: async () => [],
    };
    const zoom = new ZoomClient({ apiUrl: sandboxConnector(sandbox).apiUrl, tokens: stuck, tokenWaitMs: 300 });
    const err = await failure(zoom.getMeeting(1));
    expect(err).toBeInstanceOf(ZoomUnavailableError);
    expect(err.message).toBe(
      'No Zoom access token within 0.3 s (a token refresh is slow or failing); the call is tried again later',
    );
  });

  /** A meeting that was held: started, two people attended, ended (what the simulation API does). */
  function hold(meetingId: number, uuid: string, people = 2) {
    const start = new Date(Date.now() - 30 * 60_000).toISOString();
    const end = new Date().toISOString();
    sandbox.state.instances.push({
      uuid,
      meetingId,
      startTime: start,
      endTime: end,
      participants: Array.from({ length: people }, (_, i) => ({
        id: `p${i}`,
        user_id: `u${i}`,
        name: `Person ${i}`,
        user_email: `p${i}@example.com`,
        join_time: start,
        leave_time: end,
        duration: 1800,
        status: 'in_meeting' as const,
      })),
    });
    return sandbox.state.instances[sandbox.state.instances.length - 1];
  }

  it('updates, ends and deletes meetings', async () => {
    const zoom = client();
    const m = await zoom.createMeeting(host, { topic: 'old', settings: { waiting_room: false } });
    await zoom.updateMeeting(m.id, { topic: 'INC-1 [SEV1] bridge', settings: { waiting_room: true } });
    expect(await zoom.getMeeting(m.id)).toMatchObject({
      topic: 'INC-1 [SEV1] bridge',
      settings: expect.objectContaining({ waiting_room: true, join_before_host: false }),
    });

    sandbox.state.meetings.get(m.id)!.status = 'started';
    hold(m.id, m.uuid ?? 'u1').endTime = undefined;
    expect(await failure(zoom.deleteMeeting(m.id))).toMatchObject({ name: 'ZoomValidationError', code: 3002 });
    await zoom.endMeeting(m.id);
    expect((await zoom.getMeeting(m.id)).status).toBe('waiting');
    expect(sandbox.state.instances[0].endTime).toEqual(expect.any(String));

    await zoom.deleteMeeting(m.id);
    expect(await failure(zoom.getMeeting(m.id))).toMatchObject({ name: 'ZoomNotFoundError', code: 3001 });
    expect(sandbox.requests.map((r) => `${r.method} ${r.status}`)).toEqual(
      expect.arrayContaining(['PATCH 204', 'PUT 204', 'DELETE 204']),
    );
    expect(sandbox.requests.find((r) => r.method === 'PUT')!.body).toEqual({ action: 'end' });
  });

  it('creates a recurring meeting with its recurrence', async () => {
    const m = await client().createMeeting(host, {
      topic: 'INC-9 daily sync',
      type: 8,
      start_time: '2026-11-23T09:00:00',
      timezone: 'Europe/Berlin',
      recurrence: { type: 1, repeat_interval: 1, end_times: 10 },
    });
    expect(await client().getMeeting(m.id)).toMatchObject({
      type: 8,
      recurrence: { type: 1, repeat_interval: 1, end_times: 10 },
    });
    const bad = await failure(
      client().createMeeting(host, { topic: 'x', type: 8, recurrence: { type: 1, end_times: 61 } }),
    );
    expect(bad.message).toContain('recurrence.end_times');
  });

  it('adds registrants only where registration is on', async () => {
    const zoom = client();
    const open = await zoom.createMeeting(host, { topic: 'postmortem', settings: { approval_type: 0 } });
    const r = await zoom.addRegistrant(open.id, { email: 'ana@example.com', first_name: 'Ana' });
    expect(r.join_url).toContain(`/j/${open.id}`);
    expect(r.registrant_id).toEqual(expect.any(String));
    const closed = await zoom.createMeeting(host, { topic: 'bridge' });
    expect(await failure(zoom.addRegistrant(closed.id, { email: 'ana@example.com', first_name: 'Ana' }))).toMatchObject(
      { name: 'ZoomValidationError', code: 3000 },
    );
  });

  it('reads attendance by double-encoded UUID', async () => {
    const zoom = client();
    const m = await zoom.createMeeting(host, { topic: 'held' });
    hold(m.id, '/ajXp112QmuoKj4854875==');
    const people = await zoom.listPastParticipants('/ajXp112QmuoKj4854875==');
    expect(people.map((p) => p.user_email)).toEqual(['p0@example.com', 'p1@example.com']);
    expect(sandbox.requests.some((r) => r.path.includes('%252FajXp112QmuoKj4854875%253D%253D'))).toBe(true);

    const solo = await zoom.createMeeting(host, { topic: 'alone' });
    hold(solo.id, 'solo-uuid', 1);
    expect(await zoom.listPastParticipants(solo.id)).toEqual([]); // Zoom's rule: nothing for one attendee
    expect(await failure(zoom.listPastParticipants(solo.id + 1))).toMatchObject({
      name: 'ZoomNotFoundError',
      code: 3001,
    });
  });

  it('pages through 650 participants', async () => {
    const zoom = client();
    const m = await zoom.createMeeting(host, { topic: 'big' });
    hold(m.id, 'big-uuid', 650);
    expect(await zoom.listPastParticipants(m.id)).toHaveLength(650);
    expect(sandbox.requests.filter((r) => r.path.endsWith('/participants'))).toHaveLength(3);
  });

  it('reads recordings and updates their settings; a missing recording is 404/3301', async () => {
    const zoom = client();
    const m = await zoom.createMeeting(host, { topic: 'recorded', settings: { auto_recording: 'cloud' } });
    expect(await failure(zoom.getRecordings(m.id))).toMatchObject({ name: 'ZoomNotFoundError', code: 3301 });
    hold(m.id, 'rec-uuid').recording = {
      uuid: 'rec-uuid',
      id: m.id,
      topic: 'recorded',
      share_url: `${sandbox.url}/rec/share/abc`,
      recording_count: 1,
      recording_files: [{ id: 'f1', file_type: 'MP4', status: 'completed', play_url: `${sandbox.url}/rec/play/f1` }],
    };
    expect(await zoom.getRecordings(m.id)).toMatchObject({
      share_url: `${sandbox.url}/rec/share/abc`,
      recording_files: [expect.objectContaining({ file_type: 'MP4' })],
    });
    await zoom.updateRecordingSettings(m.id, { share_recording: 'internally', viewer_download: false });
    expect(sandbox.state.instances[0].recording!.settings).toEqual({
      share_recording: 'internally',
      viewer_download: false,
    });
  });

  it('reads users', async () => {
    expect(await client().getUser(host)).toMatchObject({ email: host, status: 'active' });
  });

  it('reports, per runbook action, whether the granted scopes allow it and what to add', async () => {
    await sandbox.stop();
    sandbox = new ZoomSandbox({ scopes: ['meeting:write:admin', 'meeting:read:admin', 'user:read:user:admin'] });
    await sandbox.start();
    const connector = zoomConnector(sandboxConnector(sandbox));
    const report = await scopeReport(connector);
    expect(report.host).toEqual({ id: 'sbxHostUser001', email: connector.hosts.hosts[0] });
    const byAction = Object.fromEntries(report.actions.map((a) => [a.action, a]));
    // Classic admin scopes cover the meeting actions...
    expect(byAction['zoom.createMeeting']).toEqual({ action: 'zoom.createMeeting', allowed: true, missing: [] });
    expect(byAction['zoom.endMeeting'].allowed).toBe(true);
    // ...but not recordings: the report names the scopes that would.
    expect(byAction['zoom.collectRecordings']).toEqual({
      action: 'zoom.collectRecordings',
      allowed: false,
      missing: [
        {
          operation: 'getRecordings',
          anyOf: [
            'recording:read',
            'recording:read:admin',
            'cloud_recording:read:list_recording_files',
            'cloud_recording:read:list_recording_files:admin',
          ],
        },
      ],
    });
  });

  it('reports an unreadable host user in the scope report', async () => {
    const report = await scopeReport(zoomConnector({ ...sandboxConnector(sandbox), hostUser: 'ghost@example.com' }), [
      'zoom.createMeeting',
    ]);
    expect(report.host).toEqual({ error: expect.stringContaining('User ghost@example.com not exist') });
    expect(report.actions).toHaveLength(1);
  });

  it('sends signed webhooks when a meeting is held and then ended through the REST API', async () => {
    const received: { event: string; ok: boolean }[] = [];
    const receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const check = verifyWebhook({
          secretToken: 'whsec-test',
          rawBody: raw,
          timestamp: req.headers['x-zm-request-timestamp'],
          signature: req.headers['x-zm-signature'],
        });
        received.push({ event: JSON.parse(raw).event, ok: check.ok });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    try {
      const admin = axios.create({ baseURL: `${sandbox.url}/_sandbox` });
      await admin.post('/webhooks', {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/zoom`,
        secretToken: 'whsec-test',
      });
      const zoom = client();
      const m = await zoom.createMeeting(host, { topic: 'held' });
      await admin.post(`/meetings/${m.id}/start`);
      await admin.post(`/meetings/${m.id}/participants`, { name: 'Ana', email: 'ana@example.com' });
      await admin.post(`/meetings/${m.id}/participants`, { name: 'Bo', email: 'bo@example.com' });
      await zoom.endMeeting(m.id);
      expect(received).toEqual(
        [
          'meeting.started',
          'meeting.participant_joined',
          'meeting.participant_joined',
          'meeting.participant_left',
          'meeting.participant_left',
          'meeting.ended',
        ].map((event) => ({ event, ok: true })),
      );
      expect((await zoom.listPastParticipants(m.id)).map((p) => p.user_email)).toEqual([
        'ana@example.com',
        'bo@example.com',
      ]);
    } finally {
      receiver.close();
    }
  });

  it('paces a 300-create burst under Pro limits: no 429, while the same sandbox refuses an unpaced burst', async () => {
    const connector = zoomConnector(sandboxConnector(sandbox));
    const hosts = sandbox.state.users.map((u) => u.email); // 3 hosts x 100 creates: each host's daily limit exactly
    const created = await Promise.all(
      Array.from({ length: 300 }, (_, i) => connector.client.createMeeting(hosts[i % 3], { topic: `burst ${i}` })),
    );
    expect(new Set(created.map((m) => m.id)).size).toBe(300);
    const creates = sandbox.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/meetings'));
    expect(creates.map((r) => r.status).filter((st) => st !== 201)).toEqual([]);
    expect(sandbox.state.tokenRequests).toBe(1);

    // The host's 101st create of the UTC day is refused until midnight.
    expect(await failure(connector.client.createMeeting(hosts[0], { topic: 'one too many' }))).toBeInstanceOf(
      ZoomDailyLimitError,
    );

    // The same kind of burst without pacing: 60 reads at once against a 30/s Light limit.
    const unpaced = new ZoomClient({ apiUrl: `${sandbox.url}/v2`, tokens: connector.tokens });
    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, () => unpaced.getMeeting(created[0].id)));
    const refused = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ZoomRateLimitError);
    expect(refused.length).toBeGreaterThan(0);
  }, 60_000);

  it('double-encodes meeting UUIDs that start with "/" or contain "//"', () => {
    expect(meetingPathId(85746065432)).toBe('85746065432');
    expect(meetingPathId('aDYlohsHRtCd4ii1uC2+hA==')).toBe('aDYlohsHRtCd4ii1uC2%2BhA%3D%3D');
    expect(meetingPathId('/ajXp112QmuoKj4854875==')).toBe('%252FajXp112QmuoKj4854875%253D%253D');
    expect(meetingPathId('ab//cd')).toBe('ab%252F%252Fcd');
  });

  it('parses Retry-After as seconds or as a date', () => {
    const now = new Date('2026-11-22T23:59:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('2026-11-23T00:00:00Z', now)).toBe(60_000);
    expect(parseRetryAfter('not a date', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
