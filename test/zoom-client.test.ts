import { ServerToServerTokenProvider } from '../src/zoom/auth';
import { meetingPathId, ZoomClient } from '../src/zoom/client';
import { ZoomAuthError, ZoomDailyLimitError, ZoomNotFoundError, ZoomRateLimitError, ZoomScopeError, ZoomUnavailableError, ZoomValidationError } from '../src/zoom/errors';
import { parseRetryAfter } from '../src/zoom/error-mapping';
import { ZoomSandbox } from '../src/sandbox/server';
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
    const c = { ...sandboxConnector(sandbox), ...overrides };
    const tokens = new ServerToServerTokenProvider({ accountId: c.accountId, clientId: c.clientId, clientSecret: c.clientSecret, tokenUrl: c.tokenUrl });
    return new ZoomClient({ apiUrl: c.apiUrl, tokens });
  }

  async function failure(p: Promise<unknown>): Promise<Error> {
    try {
      await p;
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected the call to fail');
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
    expect(created).toMatchObject({ topic: 'INC-1 bridge', type: 2, duration: 45, host_email: host, start_time: '2026-11-22T09:14:03Z' });
    expect(created.join_url).toMatch(new RegExp(`^${sandbox.url}/j/${created.id}\\?pwd=`));
    expect(created.settings).toMatchObject({ join_before_host: true, auto_recording: 'cloud' });

    const fetched = await zoom.getMeeting(created.id);
    expect(fetched).toMatchObject({ id: created.id, topic: 'INC-1 bridge', status: 'waiting', host_id: sandbox.state.users[0].id });
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
    expect(err.message).toContain('add one of these scopes to the Zoom app: meeting:write, meeting:write:admin, meeting:write:meeting, meeting:write:meeting:admin');
  });

  it('reports Zoom validation failures with the field', async () => {
    const err = await failure(client().createMeeting(host, { topic: 'x'.repeat(201) }));
    expect(err).toBeInstanceOf(ZoomValidationError);
    expect(err).toMatchObject({ status: 400, code: 300 });
    expect(err.message).toContain('topic: Topic must be a string of at most 200 characters.');
  });

  it('maps 429s: per-second with Retry-After seconds, and the per-user daily limit with its reset time', async () => {
    const zoom = client();
    sandbox.addFault({ status: 429, code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.', headers: { 'retry-after': '2', 'x-ratelimit-type': 'QPS' } });
    const perSecond = (await failure(zoom.createMeeting(host, { topic: 'x' }))) as ZoomRateLimitError;
    expect(perSecond).toBeInstanceOf(ZoomRateLimitError);
    expect(perSecond.retryAfterMs).toBe(2000);

    sandbox.addFault({
      status: 429,
      message: 'You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00.',
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
