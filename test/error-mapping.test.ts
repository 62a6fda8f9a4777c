import { zoomErrorFromResponse } from '../src/zoom/error-mapping';

/** Every Zoom failure maps to one typed error, with the hint an operator acts on. */
describe('Zoom error mapping', () => {
  const now = new Date('2026-11-23T22:00:00Z');
  const map = (status: number, body: unknown, headers: Record<string, string> = {}, scopes?: string[]) =>
    zoomErrorFromResponse({
      status,
      body,
      headers: { 'x-zm-trackingid': 'trk-1', ...headers },
      operation: 'end meeting',
      scopes,
      now,
    });

  it.each([
    [401, { code: 124, message: 'Invalid access token.' }, {}, 'ZoomAuthError', 'check the connector credentials'],
    [400, { code: 124, message: 'Access token is expired.' }, {}, 'ZoomAuthError', 'check the connector credentials'],
    [
      400,
      {
        code: 4711,
        message: 'Invalid access token, does not contain scopes:[meeting:update:status, meeting:update:status:admin].',
      },
      {},
      'ZoomScopeError',
      'add one of these scopes to the Zoom app: meeting:update:status, meeting:update:status:admin',
    ],
    [
      403,
      { message: 'authenticated user has not permitted access to the targeted resource' },
      {},
      'ZoomScopeError',
      'has not permitted this access',
    ],
    [
      404,
      { code: 1001, message: 'User x not exist or not belong to this account.' },
      {},
      'ZoomNotFoundError',
      'ZOOM_HOST_USER, and that the app has user:read',
    ],
    [
      404,
      { code: 3001, message: 'Meeting 1 is not found or has expired.' },
      {},
      'ZoomNotFoundError',
      'no longer exists in Zoom',
    ],
    [400, { code: 3003, message: "You're not the meeting host." }, {}, 'ZoomValidationError', undefined],
    [
      400,
      { code: 300, message: 'Validation Failed.', errors: [{ field: 'topic', message: 'Invalid field.' }] },
      {},
      'ZoomValidationError',
      undefined,
    ],
    [
      429,
      { code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' },
      { 'retry-after': '1' },
      'ZoomRateLimitError',
      'Zoom is pacing this account',
    ],
    [
      429,
      { code: 429, message: 'You have reached the maximum daily rate limit for this API.' },
      { 'x-ratelimit-type': 'Daily-limit', 'retry-after': '2026-11-24T00:00:00Z' },
      'ZoomDailyLimitError',
      'the daily limit resets at 2026-11-24T00:00:00.000Z',
    ],
    [503, 'upstream unavailable', {}, 'ZoomUnavailableError', undefined],
  ])('HTTP %i %j -> %s', (status, body, headers, type, hint) => {
    const err = map(status, body, headers);
    expect(err.name).toBe(type);
    expect(err.trackingId).toBe('trk-1');
    expect(err.status).toBe(status);
    expect(err.message).toMatch(/^Zoom end meeting failed: HTTP \d+/);
    const [, hintText] = err.message.split(' Hint: ');
    if (hint) expect(hintText).toContain(hint);
    else expect(hintText).toBeUndefined();
  });

  it('carries the wait Zoom asked for', () => {
    expect(map(429, { code: 429, message: 'per-second' }, { 'retry-after': '2' }).retryAfterMs).toBe(2000);
    expect(
      map(
        429,
        { code: 429, message: 'x' },
        { 'x-ratelimit-type': 'Daily-limit', 'retry-after': '2026-11-24T00:00:00Z' },
      ).retryAfterMs,
    ).toBe(2 * 3600_000);
    // The per-user 100/day limit sometimes comes without headers: wait until 00:00 UTC.
    expect(
      map(429, {
        message:
          'You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user.',
      }).retryAfterMs,
    ).toBe(2 * 3600_000);
  });

  it('names the scopes of the operation when Zoom does not list them', () => {
    const err = map(
      400,
      { code: 4700, message: 'Invalid access token, does not contain scopes. The user is not authorized' },
      {},
      ['meeting:write:admin', 'meeting:update:status:admin'],
    );
    expect(err.message).toContain(
      'add one of these scopes to the Zoom app: meeting:write:admin, meeting:update:status:admin',
    );
  });

  it('reads OAuth error bodies, which say what to do in `error`', () => {
    expect(map(400, { reason: 'Invalid Token!', error: 'invalid_grant' }).message).toContain(
      'Invalid Token! (invalid_grant)',
    );
  });
});
