import { execFile } from 'node:child_process';
import { join } from 'node:path';
import axios from 'axios';
import { installUserTokens, WorkflowTokenOwner } from '../src/temporal/connectors';
import { ZoomSandbox } from '../src/sandbox/server';
import { zoomConnector } from '../src/apps/worker';
import { ZoomAuthError, ZoomReauthorizationError } from '../src/zoom/errors';
import { authorizationUrl, exchangeCode, pkcePair, refreshTokens, UserOAuthApp } from '../src/zoom/user-oauth';
import { connectorStatusQuery, connectorWorkflowId } from '../workflows/contract';
import { failure } from './support/failure';
import { sandboxUserConnector, Stack, startStack, testTemporalAddress } from './support/stack';

function oauthApp(sandbox: ZoomSandbox): UserOAuthApp {
  const c = sandbox.state.credentials;
  return {
    tokenUrl: `${sandbox.url}/oauth/token`,
    authorizeUrl: `${sandbox.url}/oauth/authorize`,
    redirectUri: 'http://127.0.0.1:1/zoom/callback',
    clientId: c.clientId,
    clientSecret: c.clientSecret,
  };
}

/** The user's browser: follow the consent page to the redirect and read the code off it. */
async function consent(app: UserOAuthApp, state = 'csrf-123') {
  const { verifier, challenge } = pkcePair();
  const res = await axios.get(authorizationUrl(app, state, challenge), { maxRedirects: 0, validateStatus: () => true });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.location as string);
  expect(back.origin + back.pathname).toBe(app.redirectUri);
  return { code: back.searchParams.get('code')!, state: back.searchParams.get('state'), verifier };
}

describe('user OAuth against the sandbox', () => {
  let sandbox: ZoomSandbox;
  beforeEach(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
  });
  afterEach(async () => sandbox.stop());

  it('authorises with PKCE, exchanges the code once, and rotates the refresh token on every refresh', async () => {
    const app = oauthApp(sandbox);
    const { code, state, verifier } = await consent(app);
    expect(state).toBe('csrf-123');
    const first = await exchangeCode(app, code, verifier);
    expect(first).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresInMs: 3_600_000,
    });
    expect(await failure(exchangeCode(app, code, verifier))).toBeInstanceOf(ZoomReauthorizationError); // codes are single-use

    const second = await refreshTokens(app, first.refreshToken!);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const stale = await failure(refreshTokens(app, first.refreshToken!));
    expect(stale).toBeInstanceOf(ZoomReauthorizationError);
    expect(stale.message).toContain('invalid_grant');
    expect(stale.message).toContain('re-authorise the Zoom app');
    expect(stale.message).not.toContain(first.refreshToken!);
    await refreshTokens(app, second.refreshToken!); // the newest one still works
  });

  it('rejects a wrong PKCE verifier and a mismatched redirect URI', async () => {
    const app = oauthApp(sandbox);
    const a = await consent(app);
    expect(await failure(exchangeCode(app, a.code, 'not-the-verifier'))).toBeInstanceOf(ZoomReauthorizationError);
    const b = await consent(app);
    expect(
      await failure(exchangeCode({ ...app, redirectUri: 'http://127.0.0.1:1/elsewhere' }, b.code, b.verifier)),
    ).toBeInstanceOf(ZoomReauthorizationError);
  });

  it('revoking voids the access token and the refresh token', async () => {
    const app = oauthApp(sandbox);
    const { code, verifier } = await consent(app);
    const tokens = await exchangeCode(app, code, verifier);
    const revoke = await axios.post(`${sandbox.url}/oauth/revoke?token=${tokens.accessToken}`, '', {
      auth: { username: app.clientId, password: app.clientSecret },
    });
    expect(revoke.data).toEqual({ status: 'success' });
    expect(await failure(refreshTokens(app, tokens.refreshToken!))).toBeInstanceOf(ZoomReauthorizationError);
    const me = await axios.get(`${sandbox.url}/v2/users/me`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
      validateStatus: () => true,
    });
    expect(me.data).toMatchObject({ code: 124 });
  });
});

describe('a user-OAuth connector owned by its connector workflow', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Rate limits off: two processes each pace on their own, and this test is about tokens.
    // Plain history (no payload codec), so the test sees that tokens are sealed even without it.
    stack = await startStack({
      encrypt: false,
      sandbox: { rateLimits: false },
      connectors: (sandbox) => [sandboxUserConnector(sandbox)],
    });
  });
  afterAll(async () => stack?.stop());

  const app = () => oauthApp(stack.sandbox);
  const connectorHandle = () => stack.client.workflow.getHandle(connectorWorkflowId('default'));
  const userConnector = () =>
    zoomConnector(sandboxUserConnector(stack.sandbox), new WorkflowTokenOwner(stack.client, 'default', stack.secrets));

  async function authorise() {
    const { code, verifier } = await consent(app());
    await installUserTokens(
      stack.client,
      stack.temporal.taskQueue,
      'default',
      stack.secrets,
      await exchangeCode(app(), code, verifier),
    );
  }

  /** Runs test/support/token-caller.ts: another process using the same connector. */
  function otherProcess(calls: number, startAt: number): Promise<{ ok: number; failures: string[] }> {
    return new Promise((resolve, reject) => {
      execFile(
        join(__dirname, '../node_modules/.bin/tsx'),
        [join(__dirname, 'support/token-caller.ts')],
        {
          env: {
            PATH: process.env.PATH,
            TEMPORAL_ADDRESS: testTemporalAddress(),
            CONNECTOR: 'default',
            ZR_SECRETS_KEY: stack.secretsKey,
            ZOOM_API_URL: `${stack.sandbox.url}/v2`,
            CALLS: String(calls),
            START_AT: String(startAt),
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
      );
    });
  }

  it('fails clearly before anyone has authorised it', async () => {
    const err = await failure(userConnector().client.getUser());
    expect(err).toBeInstanceOf(ZoomAuthError);
    expect(err.message).toBe('Zoom connector default is not authorised yet: install the Zoom app for it.');
  });

  it('refreshes once for 50 concurrent calls from two processes after the token expired, and keeps a valid refresh token', async () => {
    await authorise();
    const zoom = userConnector();
    expect(await zoom.client.getUser()).toMatchObject({ id: stack.sandbox.state.users[0].id }); // "me" is the authorising user

    await axios.post(`${stack.sandbox.url}/_sandbox/tokens/expire`);
    const refreshesBefore = stack.sandbox.state.oauth.refreshRequests;
    const startAt = Date.now() + 4000; // after the other process has started
    const [here, there] = await Promise.all([
      new Promise((r) => setTimeout(r, startAt - Date.now())).then(() =>
        Promise.allSettled(Array.from({ length: 25 }, () => zoom.client.getUser())),
      ),
      otherProcess(25, startAt),
    ]);
    expect(here.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(there).toEqual({ ok: 25, failures: [] });
    expect(stack.sandbox.state.oauth.refreshRequests - refreshesBefore).toBe(1);

    // The refresh token the workflow kept is the live one: the next refresh works too.
    await axios.post(`${stack.sandbox.url}/_sandbox/tokens/expire`);
    await zoom.client.getUser();
    expect(stack.sandbox.state.oauth.refreshRequests - refreshesBefore).toBe(2);
    expect(await connectorHandle().query(connectorStatusQuery)).toMatchObject({ authorised: true, refreshes: 2 });
  });

  it('never writes a token to workflow history', async () => {
    const history = JSON.stringify(await connectorHandle().fetchHistory());
    const issued = [
      ...stack.sandbox.state.tokens.keys(),
      ...stack.sandbox.state.oauth.grants.map((g) => g.refreshToken),
    ];
    expect(issued.length).toBeGreaterThan(2);
    // History payloads are base64 JSON; look for the tokens both raw and inside decoded payloads.
    const decoded = [...history.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)]
      .map((m) => Buffer.from(m[1], 'base64').toString('utf8'))
      .join('\n');
    expect(decoded).toContain('sealedRefreshToken'); // the payloads were read
    for (const token of issued) {
      expect(history).not.toContain(token);
      expect(decoded).not.toContain(token);
    }
  });

  it('says the connector needs re-authorising when its grant is revoked, and recovers when authorised again', async () => {
    const grant = stack.sandbox.state.oauth.grants[0];
    await axios.post(`${stack.sandbox.url}/oauth/revoke?token=${grant.refreshToken}`, '', {
      auth: { username: app().clientId, password: app().clientSecret },
    });
    const zoom = userConnector();
    const err = await failure(zoom.client.getUser());
    expect(err).toBeInstanceOf(ZoomReauthorizationError);
    expect(err.message).toContain('Zoom connector default needs re-authorising');
    expect(await connectorHandle().query(connectorStatusQuery)).toMatchObject({
      authorised: false,
      needsReauthorization: expect.stringContaining('invalid_grant'),
    });

    await authorise();
    expect(await userConnector().client.getUser()).toMatchObject({ email: stack.sandbox.state.users[0].email });
    expect(await connectorHandle().query(connectorStatusQuery)).toMatchObject({ authorised: true });
  });
});
