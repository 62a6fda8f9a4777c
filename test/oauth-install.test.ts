import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import axios from 'axios';
import { WorkflowTokenOwner } from '../src/temporal/connectors';
import { RunningServe, startServe } from '../src/apps/serve';
import { CALLBACK_PATH, INSTALL_PATH, oauthInstallRoutes } from '../src/apps/serve/oauth-install';
import { zoomConnector } from '../src/apps/worker';
import { connectorStatusQuery, connectorWorkflowId } from '../workflows/contract';
import { sandboxUserConnector, Stack, startStack } from './support/stack';

// Connector workflows outlive a test run on the shared dev server: a fresh name starts a fresh owner.
const CONNECTOR = `install-${randomUUID().slice(0, 8)}`;

interface Answer {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}

describe('installing a user-OAuth Zoom app through /zoom/install', () => {
  let stack: Stack;
  const servers: RunningServe[] = [];
  /** Everything our routes said (bodies, headers, logs): checked for secrets at the end. */
  const said: string[] = [];
  /** Authorization codes the sandbox issued to our callback. */
  const codes: string[] = [];
  const logger = {
    info: (m: string) => said.push(m),
    warn: (m: string) => said.push(m),
    error: (m: string) => said.push(m),
  };

  beforeAll(async () => {
    stack = await startStack({
      sandbox: { rateLimits: false },
      connectors: (s) => [sandboxUserConnector(s, CONNECTOR)],
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await stack?.stop();
  });

  /** startServe with the install routes; the redirect URI must be known first, so pick the port first. */
  async function serveInstall(stateTtlMs?: number): Promise<string> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const routes = oauthInstallRoutes({
      client: stack.client,
      taskQueue: stack.temporal.taskQueue,
      secrets: stack.secrets,
      connector: sandboxUserConnector(stack.sandbox, CONNECTOR),
      redirectUri: `${base}${CALLBACK_PATH}`,
      stateTtlMs,
      logger,
    });
    servers.push(
      await startServe({
        client: stack.client,
        taskQueue: stack.temporal.taskQueue,
        auth: { token: randomBytes(24).toString('hex') },
        port,
        logger,
        routes,
      }),
    );
    return base;
  }

  async function get(url: string, cookie?: string): Promise<Answer> {
    const res = await axios.get(url, {
      maxRedirects: 0,
      validateStatus: () => true,
      responseType: 'text',
      headers: cookie ? { cookie } : {},
    });
    const answer = { status: res.status, text: String(res.data), headers: res.headers as Record<string, unknown> };
    // The sandbox's own redirects carry codes by design; only our answers are checked.
    if (!url.startsWith(stack.sandbox.url)) said.push(answer.text, JSON.stringify(answer.headers));
    return answer;
  }

  /** A browser starting an install: where Zoom's consent page is, and the cookie it was given. */
  async function startInstall(base: string) {
    const res = await get(`${base}${INSTALL_PATH}`);
    expect(res.status).toBe(302);
    const setCookie = (res.headers['set-cookie'] as string[])[0];
    return { authorize: new URL(res.headers.location as string), setCookie, cookie: setCookie.split(';')[0] };
  }

  /** The sandbox user approves at once; Zoom sends the browser back to our callback. */
  async function consent(authorize: URL): Promise<URL> {
    const res = await get(authorize.toString());
    expect(res.status).toBe(302);
    const callback = new URL(res.headers.location as string);
    codes.push(callback.searchParams.get('code')!);
    return callback;
  }

  const tokenRequests = () => stack.sandbox.state.tokenRequests;
  const status = () => stack.client.workflow.getHandle(connectorWorkflowId(CONNECTOR)).query(connectorStatusQuery);

  let base: string;
  beforeAll(async () => {
    base = await serveInstall();
  });

  it('sends the browser to Zoom with state and PKCE, exchanges the code on the callback, and the connector works', async () => {
    const { authorize, setCookie, cookie } = await startInstall(base);
    expect(authorize.origin + authorize.pathname).toBe(`${stack.sandbox.url}/oauth/authorize`);
    const q = authorize.searchParams;
    expect(Object.fromEntries(q)).toEqual({
      response_type: 'code',
      client_id: stack.sandbox.state.credentials.clientId,
      redirect_uri: `${base}${CALLBACK_PATH}`,
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), // 32 random bytes
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), // a SHA-256
      code_challenge_method: 'S256',
    });
    expect(setCookie).toMatch(new RegExp(`^zr_oauth_state=${q.get('state')};`));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/zoom');

    const callback = await consent(authorize);
    expect(callback.origin + callback.pathname).toBe(`${base}${CALLBACK_PATH}`);
    expect(callback.searchParams.get('state')).toBe(q.get('state'));
    const done = await get(callback.toString(), cookie);
    expect(done.status).toBe(200);
    expect(done.headers['content-type']).toMatch(/^text\/html/);
    expect(done.text).toContain(`Zoom connected: connector ${CONNECTOR}`);
    expect((done.headers['set-cookie'] as string[])[0]).toMatch(/^zr_oauth_state=;.*Max-Age=0/);

    expect(await status()).toMatchObject({ connector: CONNECTOR, authorised: true, refreshes: 0 });
    const zoom = zoomConnector(
      sandboxUserConnector(stack.sandbox, CONNECTOR),
      new WorkflowTokenOwner(stack.client, CONNECTOR, stack.secrets),
    );
    const me = await zoom.client.getUser('me');
    expect(me).toMatchObject({ id: stack.sandbox.state.users[0].id }); // "me" is the user who consented
    // By id: the sandbox resolves "me" only on GET /users/me (Zoom also takes it on /users/me/meetings).
    const meeting = await zoom.client.createMeeting(me.id, {
      topic: 'Installed through the browser',
      type: 2,
      duration: 30,
    });
    expect(stack.sandbox.state.meetings.get(meeting.id)).toBeDefined();

    // The same callback again (a reload, or a replay): the state is spent, nothing is exchanged.
    const before = tokenRequests();
    const again = await get(callback.toString(), cookie);
    expect(again.status).toBe(400);
    expect(again.text).toContain('already used');
    expect(tokenRequests()).toBe(before);
  });

  it('refuses a callback with no state or a state it never issued, without exchanging the code', async () => {
    const { authorize, cookie } = await startInstall(base);
    const callback = await consent(authorize);
    const code = callback.searchParams.get('code')!;
    const before = tokenRequests();

    const noState = await get(`${base}${CALLBACK_PATH}?code=${code}`, cookie);
    expect(noState.status).toBe(400);
    expect(noState.text).toContain('no state parameter');

    const forged = randomBytes(32).toString('base64url');
    const unknown = await get(`${base}${CALLBACK_PATH}?code=${code}&state=${forged}`, `zr_oauth_state=${forged}`);
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('Unknown install state');
    expect(tokenRequests()).toBe(before);
    expect(stack.sandbox.state.oauth.codes.has(code)).toBe(true); // the code was never spent
  });

  it('refuses a callback in a browser other than the one that started the install', async () => {
    const victim = await startInstall(base);
    const attacker = await startInstall(base);
    const callback = await consent(attacker.authorize);
    const before = tokenRequests();

    const mismatch = await get(callback.toString(), victim.cookie);
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('state cookie does not match');

    // Without a cookie at all, the same; the state was spent by the first try either way.
    const other = await startInstall(base);
    const noCookie = await get((await consent(other.authorize)).toString());
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toContain('state cookie does not match');
    expect(tokenRequests()).toBe(before);
  });

  it('refuses an expired state', async () => {
    const quick = await serveInstall(200);
    const { authorize, cookie } = await startInstall(quick);
    const callback = await consent(authorize);
    await new Promise((r) => setTimeout(r, 400));
    const before = tokenRequests();
    const late = await get(callback.toString(), cookie);
    expect(late.status).toBe(400);
    expect(late.text).toContain('expired');
    expect(tokenRequests()).toBe(before);
  });

  it('answers 502 when Zoom refuses the exchange (PKCE challenge tampered with), and the connector keeps its tokens', async () => {
    const before = await status();
    const { authorize, cookie } = await startInstall(base);
    // Someone on the way swaps the challenge: our verifier no longer matches what Zoom holds.
    authorize.searchParams.set('code_challenge', randomBytes(32).toString('base64url'));
    const callback = await consent(authorize);
    const res = await get(callback.toString(), cookie);
    expect(res.status).toBe(502);
    expect(res.text).toContain('Zoom refused to exchange the authorisation code');
    expect(res.text).toContain('Invalid code_verifier');
    expect(res.text).not.toContain(callback.searchParams.get('code')!);
    expect(await status()).toEqual(before);
  });

  it('answers 400 when the user declines on Zoom (error=access_denied)', async () => {
    const before = tokenRequests();
    const { authorize, cookie } = await startInstall(base);
    const denied = await get(
      `${base}${CALLBACK_PATH}?error=access_denied&state=${authorize.searchParams.get('state')}`,
      cookie,
    );
    expect(denied.status).toBe(400);
    expect(denied.text).toContain(
      `Zoom did not authorise connector ${CONNECTOR}: the Zoom user declined to authorise the app.`,
    );
    // Zoom's error text is not echoed into the page.
    const other = await startInstall(base);
    const odd = await get(
      `${base}${CALLBACK_PATH}?error=%3Cscript%3E&state=${other.authorize.searchParams.get('state')}`,
      other.cookie,
    );
    expect(odd.status).toBe(400);
    expect(odd.text).not.toContain('<script>');
    expect(tokenRequests()).toBe(before);
  });

  it('never puts a token, a code or the client secret in an answer or a log line', () => {
    const secrets = [
      stack.sandbox.state.credentials.clientSecret,
      ...stack.sandbox.state.tokens.keys(),
      ...stack.sandbox.state.oauth.grants.map((g) => g.refreshToken),
      ...codes,
    ];
    expect(secrets.length).toBeGreaterThan(3);
    expect(said.length).toBeGreaterThan(10);
    for (const text of said) for (const secret of secrets) expect(text).not.toContain(secret);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
