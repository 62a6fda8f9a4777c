import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { format, inspect, promisify } from 'node:util';
import axios from 'axios';
import YAML from 'yaml';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { getTimeline } from '../src/temporal/client';
import { installUserTokens } from '../src/temporal/connectors';
import { IncidentEvent } from '../src/core/incident';
import { loadRunbooks } from '../src/core/runbook-loader';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { RunningServe, startServe } from '../src/apps/serve';
import { zoomWebhookRoutes } from '../src/apps/serve/zoom-webhook';
import { ZoomSandbox } from '../src/sandbox/server';
import { requestTokens, ServerToServerTokenProvider, TokenProvider } from '../src/zoom/auth';
import { ZoomClient } from '../src/zoom/client';
import { ZoomAuthError, ZoomReauthorizationError, ZoomUnavailableError, ZoomValidationError } from '../src/zoom/errors';
import { authorizationUrl, exchangeCode, pkcePair, refreshTokens, UserOAuthApp } from '../src/zoom/user-oauth';
import { incidentWorkflowId, TimelineEntry } from '../workflows/contract';
import { failure } from './support/failure';
import { whereItStands } from './support/diagnose';
import {
  eventually,
  sandboxConnector,
  sandboxUserConnector,
  Stack,
  startStack,
  testTemporalAddress,
  uniqueIncidentId,
} from './support/stack';

/**
 * Secret hygiene, checked (issue 6): the example runbooks run end to end — webhooks, attendance,
 * recording, a user-OAuth connector that refreshes, a faulty Zoom — on plain (unencrypted)
 * history, then every history (exported with the real `temporal workflow show -o json`) and every
 * log line written meanwhile are searched for each secret the sandbox issued. And Zoom failures of
 * every kind come out of the client without the Authorization header, tokens or request secrets.
 */

// ---------------------------------------------------------------------------------------------
// Log capture: the worker's Runtime logger (every level), console, stdout and stderr.

interface CapturedLogs {
  lines: string[];
  bytes: number;
}
const logs: CapturedLogs = { lines: [], bytes: 0 };
const capture = (source: string, text: string) => {
  for (const line of text.split('\n')) {
    if (!line) continue;
    logs.lines.push(`${source}: ${line}`);
    logs.bytes += Buffer.byteLength(line);
  }
};

/**
 * test/support/stack.ts installs the Runtime once per test file with DefaultLogger('WARN');
 * production runs at INFO. Here the install is intercepted so the worker logs at TRACE into the
 * capture: everything the worker, its activities and its workflows could write, not only warnings.
 */
const realInstall = Runtime.install.bind(Runtime);
jest.spyOn(Runtime, 'install').mockImplementation((options) =>
  realInstall({
    ...options,
    logger: new DefaultLogger('TRACE', (entry) => {
      // Deeper than DefaultLogger prints: nested values count too.
      capture(
        `worker ${entry.level}`,
        `${entry.message}${entry.meta ? ` ${inspect(entry.meta, { depth: 12, breakLength: Infinity })}` : ''}`,
      );
    }),
  }),
);

const restores: (() => void)[] = [];
function startConsoleCapture(): void {
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const spy = jest
      .spyOn(console, method)
      .mockImplementation((...args: unknown[]) => capture(`console.${method}`, format(...args)));
    restores.push(() => spy.mockRestore());
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    const name = stream === process.stdout ? 'stdout' : 'stderr';
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      capture(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restores.push(() => (stream.write = write as typeof stream.write));
  }
}
function stopConsoleCapture(): void {
  while (restores.length) restores.pop()!();
}

// ---------------------------------------------------------------------------------------------
// Secrets and where to look for them.

interface Secret {
  kind: string;
  value: string;
}

/** Adds `value` under `kind`; values of 4 characters or fewer are too short to search for. */
function addSecret(into: Map<string, Secret>, kind: string, value: unknown): void {
  if (typeof value !== 'string' && typeof value !== 'number') return;
  const v = String(value);
  if (v.length < 5 || into.has(v)) return;
  into.set(v, { kind, value: v });
}

/** Keys whose values are secrets, in whatever the sandbox answered or stored. */
const SECRET_KEYS: Record<string, string> = {
  access_token: 'access token',
  refresh_token: 'refresh token',
  password: 'passcode (meeting or recording)',
  encrypted_password: 'encrypted meeting passcode',
  h323_password: 'H.323 passcode',
  pstn_password: 'PSTN passcode',
  start_url: 'host start_url',
  recording_play_passcode: 'recording play passcode',
  download_token: 'recording download token',
  downloadToken: 'recording download token',
  code_verifier: 'PKCE verifier',
};

function walkSecrets(into: Map<string, Secret>, value: unknown, depth = 0): void {
  if (depth > 20 || value === null || value === undefined) return;
  if (typeof value === 'string') {
    // Form bodies (the token endpoint's) are strings.
    if (/(^|&)(refresh_token|code|code_verifier)=/.test(value)) {
      const form = new URLSearchParams(value);
      addSecret(into, 'refresh token', form.get('refresh_token'));
      addSecret(into, 'authorization code', form.get('code'));
      addSecret(into, 'PKCE verifier', form.get('code_verifier'));
    }
    return;
  }
  if (typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const kind = SECRET_KEYS[key];
    if (kind) addSecret(into, kind, v);
    if (key === 'start_url' && typeof v === 'string')
      addSecret(into, 'host zak token', new URL(v).searchParams.get('zak'));
    if ((key === 'download_url' || key === 'play_url') && typeof v === 'string')
      addSecret(into, 'recording file token', v.split('/').pop());
    walkSecrets(into, v, depth + 1);
  }
}

/** Every secret the sandbox issued or was given during the run. */
function issuedSecrets(sandbox: ZoomSandbox, extra: Secret[]): Secret[] {
  const found = new Map<string, Secret>();
  const { credentials } = sandbox.state;
  addSecret(found, 'client secret', credentials.clientSecret);
  addSecret(
    found,
    'client credentials (Basic)',
    Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64'),
  );
  for (const token of sandbox.state.tokens.keys()) addSecret(found, 'access token', token);
  for (const grant of sandbox.state.oauth.grants) addSecret(found, 'refresh token', grant.refreshToken);
  addSecret(found, 'webhook secret token', sandbox.state.webhook?.secretToken);
  // What Zoom answered (tokens, meetings, recordings) and was sent (refresh grants), meetings since deleted included.
  for (const r of sandbox.requests) {
    walkSecrets(found, r.response);
    walkSecrets(found, r.body);
  }
  walkSecrets(found, [...sandbox.state.meetings.values()]);
  walkSecrets(found, sandbox.state.instances);
  walkSecrets(found, sandbox.webhooks.deliveries);
  for (const s of extra) addSecret(found, s.kind, s.value);
  return [...found.values()];
}

/** Short values must stand alone (not be part of a longer word or number) to count as found. */
function occurs(text: string, value: string): boolean {
  if (value.length >= 12) return text.includes(value);
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`).test(text);
}

/** Go's JSON escapes <, > and & as \u003c…; read them back so a value containing one is found. */
const unescapeJson = (text: string) =>
  text.replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** Every payload's data, decoded (history payloads are base64 JSON). */
function decodedPayloads(historyJson: string): string {
  return [...historyJson.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)]
    .map((m) => Buffer.from(m[1], 'base64').toString('utf8'))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// 1. The example runbooks, end to end, on plain history.

// Generous: a step may wait out a retry backoff (up to a minute) after the token expiry and the faults.
const SEARCH_TIMEOUT_MS = 120_000;
const examples = loadRunbooks(join(__dirname, '../runbooks')).map((r) => r.runbook);
const USER_CONNECTOR = `uo-${randomBytes(3).toString('hex')}`;
const userBridge: Runbook = runbookSchema.parse(
  YAML.parse(`
name: user-bridge
connector: ${USER_CONNECTOR}
trigger: { on: [incident.created], when: { fields.userOauth: true } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}} (user OAuth)", agenda: "User bridge {{Activity.id}}" } }
  - { id: share, action: timeline.post, with: { message: "User bridge: {{steps.bridge.joinUrl}}" } }
  - { id: resolved, action: wait.forIncident, with: { status: [resolved, closed] } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
`),
);

/** Phones the on-call into a bridge twice: Zoom refuses the first quoting the number (a fault), takes the second. */
const phoneIn: Runbook = runbookSchema.parse(
  YAML.parse(`
name: phone-in
trigger: { on: [incident.created], when: { fields.oncallPhone: { exists: true } } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}} (phone)", agenda: "Phone bridge {{Activity.id}}" } }
  - id: refused
    action: zoom.callOut
    with: { meeting: bridge, people: [{ name: On-call, phone: "{{Activity.fields.oncallPhone}}" }] }
    continueOnError: true
  - { id: call, action: zoom.callOut, with: { meeting: bridge, people: [{ name: On-call, phone: "{{Activity.fields.oncallPhone}}" }] } }
`),
);
/** Reads a bridge's transcript, text and all: the webhook's download token must stay out of everything. */
const transcribed: Runbook = runbookSchema.parse(
  YAML.parse(`
name: transcribed
trigger: { on: [incident.created], when: { fields.transcribe: true } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}} (transcribed)" } }
  - { id: resolved, action: wait.forIncident, with: { status: [resolved, closed] } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
  - { id: transcript, action: zoom.collectTranscript, with: { meeting: bridge, store: text, pollEvery: 1h } }
`),
);
/** A made-up number (555 01xx), and its digits as any text could hold them, with or without the country code. */
const ONCALL_PHONE = '+1 415 555 0142';
const PHONE_IN_CLEAR = /5\D{0,2}5\D{0,2}5\D{0,2}0\D{0,2}1\D{0,2}4\D{0,2}2/;

describe('secret hygiene: the example runbooks on plain history', () => {
  const WEBHOOK_SECRET = `whsec-${randomBytes(18).toString('base64url')}`;
  const INTAKE_TOKEN = `zr-intake-${randomBytes(18).toString('hex')}`;
  const extraSecrets: Secret[] = [
    { kind: 'webhook secret token', value: WEBHOOK_SECRET },
    { kind: 'intake bearer token', value: INTAKE_TOKEN },
  ];
  let stack: Stack;
  let serve: RunningServe;

  beforeAll(async () => {
    startConsoleCapture();
    stack = await startStack({
      encrypt: false,
      runbooks: [...examples, userBridge, phoneIn, transcribed],
      sandbox: { credentials: { clientSecret: `sbx-secret-${randomBytes(18).toString('base64url')}` } },
      connectors: (sandbox) => [sandboxConnector(sandbox), sandboxUserConnector(sandbox, USER_CONNECTOR)],
    });
    extraSecrets.push({ kind: 'payload/secrets key', value: stack.secretsKey });
    serve = await startServe({
      client: stack.client,
      taskQueue: stack.temporal.taskQueue,
      auth: { token: INTAKE_TOKEN },
      port: 0,
      routes: zoomWebhookRoutes({
        client: stack.client,
        secretToken: WEBHOOK_SECRET,
        taskQueue: stack.temporal.taskQueue,
        connectors: [sandboxConnector(stack.sandbox)],
      }),
    });
    await sim('/webhooks', { url: `${serve.url}/zoom/webhook`, secretToken: WEBHOOK_SECRET, validate: true });
  }, 60_000);

  afterAll(async () => {
    await serve?.close();
    await stack?.stop();
    stopConsoleCapture();
  });

  const sim = (path: string, body: object = {}) => axios.post(`${stack.sandbox.url}/_sandbox${path}`, body);
  let n = 0;
  async function send(
    id: string,
    type: IncidentEvent['type'],
    incident: Partial<IncidentEvent['incident']> = {},
  ): Promise<void> {
    const event: IncidentEvent = {
      eventId: `hyg-${id}-${++n}`,
      type,
      occurredAt: new Date().toISOString(),
      incident: { id, ...incident },
    };
    const res = await axios.post(`${serve.url}/v1/events`, event, {
      headers: { authorization: `Bearer ${INTAKE_TOKEN}` },
      validateStatus: () => true,
    });
    expect(res.status).toBe(202);
  }
  const until = (id: string, what: string, match: (e: TimelineEntry) => boolean) =>
    eventually(
      async () => {
        const t = await getTimeline(stack.client, id);
        return t.some(match) ? t : undefined;
      },
      `${id}: ${what}`,
      SEARCH_TIMEOUT_MS,
    ).catch(async (err: Error) => {
      const deliveries = stack.sandbox.webhooks.deliveries.map(
        (d) => `  ${d.sentAt} ${d.event} ${d.status ?? '-'} ${d.error ?? ''}`,
      );
      throw new Error(
        `${err.message}\n${await whereItStands(stack.client, id)}\nwebhook deliveries:\n${deliveries.join('\n')}`,
      );
    });
  const meetingOf = async (id: string, source: string, step = 'bridge') => {
    const entry = (await until(id, `${source}/${step}`, (e) => e.source === source && e.step === step)).find(
      (e) => e.source === source && e.step === step,
    )!;
    expect(entry.status).toBe('ok');
    return Number(/\((\d+)\)$/.exec(entry.summary)![1]);
  };
  const runbookResult = (id: string, runbook: string) =>
    stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/${runbook}`).result();

  it('finds no token, client secret, refresh token, passcode, start_url or download token (recording or transcript) in any history, timeline or log line, nor a phone number in clear', async () => {
    const { sandbox } = stack;
    const app: UserOAuthApp = {
      tokenUrl: `${sandbox.url}/oauth/token`,
      authorizeUrl: `${sandbox.url}/oauth/authorize`,
      redirectUri: 'http://127.0.0.1:1/zoom/callback',
      clientId: sandbox.state.credentials.clientId,
      clientSecret: sandbox.state.credentials.clientSecret,
    };
    // The user-OAuth connector is authorised as after "Allow" on Zoom's consent page.
    const { verifier, challenge } = pkcePair();
    const consent = await axios.get(authorizationUrl(app, 'csrf-hygiene', challenge), {
      maxRedirects: 0,
      validateStatus: () => true,
    });
    const code = new URL(consent.headers.location as string).searchParams.get('code')!;
    extraSecrets.push({ kind: 'authorization code', value: code }, { kind: 'PKCE verifier', value: verifier });
    await installUserTokens(
      stack.client,
      stack.temporal.taskQueue,
      USER_CONNECTOR,
      stack.secrets,
      await exchangeCode(app, code, verifier),
    );

    // A: recorded bridge (webhooks, attendance, recording), daily sync, postmortem.
    const a = uniqueIncidentId('HYG-A');
    await send(a, 'incident.created', {
      title: 'Payments down',
      severity: 'SEV2',
      owner: { name: 'Ana', email: 'ana@example.com' },
      responders: [{ email: 'bo@example.com' }],
      fields: { record: true },
    });
    // B: plain bridge on the Server-to-Server connector, and one on the user-OAuth connector.
    const b = uniqueIncidentId('HYG-B');
    // The on-call's number: Zoom's refusal of the first call-out quotes it.
    sandbox.addFault({
      method: 'PATCH',
      path: '^/v2/live_meetings/\\d+/events$',
      status: 400,
      code: 300,
      message: `Cannot call out to ${ONCALL_PHONE.slice(1)}`,
    });
    await send(b, 'incident.created', {
      title: 'Search slow',
      severity: 'SEV3',
      fields: { userOauth: true, oncallPhone: ONCALL_PHONE, transcribe: true },
    });
    const bridgeA = await meetingOf(a, 'recorded-bridge');
    // Started once its link is shared, as people would: the invitations go out before that.
    await until(a, 'the recorded bridge link', (e) => e.source === 'recorded-bridge' && e.step === 'share');
    await until(a, 'the daily sync', (e) => e.source === 'incident-sync' && e.step === 'share');
    await meetingOf(b, 'incident-bridge');
    await until(b, 'the call-out', (e) => e.source === 'phone-in' && e.step === 'call');
    const userMeeting = await meetingOf(b, 'user-bridge');
    const transcribedBridge = await meetingOf(b, 'transcribed');
    await sim(`/meetings/${transcribedBridge}/start`);
    expect(sandbox.state.meetings.get(userMeeting)!.host_id).toBe(sandbox.state.users[0].id); // "me" is the authorising user

    await sim(`/meetings/${bridgeA}/start`);
    const ana = (await sim(`/meetings/${bridgeA}/participants`, { name: 'Ana', email: 'ana@example.com' })).data as {
      participantId: string;
    };

    // Every token expires: the next calls get Zoom's 124, S2S fetches a new token, the user
    // connector's owner workflow spends its refresh token for a new pair.
    await sim('/tokens/expire');
    const refreshesBefore = sandbox.state.oauth.refreshRequests;

    // C: Zoom misbehaves. Its token endpoint fails once echoing the client credentials; a create
    // fails once with a 500 echoing an Authorization header; the end fails for good with a 401.
    const c = uniqueIncidentId('HYG-C');
    const { clientId, clientSecret } = sandbox.state.credentials;
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const staleToken = [...sandbox.state.tokens.keys()].pop()!;
    sandbox.addFault({
      method: 'POST',
      path: '^/oauth/token$',
      status: 500,
      message: `upstream echo: Authorization: Basic ${basic}; body: grant_type=account_credentials&client_secret=${clientSecret}`,
    });
    sandbox.addFault({
      method: 'POST',
      path: '^/v2/users/[^/]+/meetings$',
      status: 500,
      message: `proxy error for POST with {"authorization":"Bearer ${staleToken}"}`,
    });
    await send(c, 'incident.created', { title: 'Flaky Zoom', severity: 'SEV4' });
    const bridgeC = await meetingOf(c, 'incident-bridge');

    await send(b, 'incident.resolved');
    await runbookResult(b, 'incident-bridge');
    await runbookResult(b, 'user-bridge');
    // The transcript comes after the recording, with a download token of its own.
    await until(b, 'the transcribed bridge ended', (e) => e.source === 'transcribed' && e.step === 'end');
    for (const [path, body] of [
      ['recording', { transcript: false }],
      ['transcript', {}],
    ] as const) {
      const { downloadToken } = (await sim(`/meetings/${transcribedBridge}/${path}`, body)).data as {
        downloadToken: string;
      };
      extraSecrets.push({ kind: 'recording download token', value: downloadToken });
    }
    await runbookResult(b, 'transcribed');
    expect(sandbox.state.oauth.refreshRequests).toBeGreaterThan(refreshesBefore);

    await send(a, 'incident.resolved');
    await until(a, 'the postmortem', (e) => e.source === 'postmortem' && e.step === 'share');
    await sim(`/meetings/${bridgeA}/participants/${ana.participantId}/leave`);
    await until(a, 'attendance', (e) => e.step === 'attendance');
    const recording = (await sim(`/meetings/${bridgeA}/recording`)).data as { downloadToken?: string };
    if (recording.downloadToken)
      extraSecrets.push({ kind: 'recording download token', value: recording.downloadToken });
    await runbookResult(a, 'recorded-bridge');
    await send(a, 'incident.closed');
    await runbookResult(a, 'incident-sync');

    // The Server-to-Server token the end call will carry: Zoom's 401 repeats it.
    const liveToken = sandbox.requests
      .filter((r) => r.path === '/oauth/token' && String(r.body).includes('account_credentials'))
      .map((r) => (r.response as { access_token?: string } | undefined)?.access_token)
      .filter(Boolean)
      .pop()!;
    sandbox.addFault({
      method: 'PUT',
      path: `^/v2/meetings/${bridgeC}/status$`,
      status: 401,
      message: `Unauthorized: authorization: Bearer ${liveToken} body {"action":"end"}`,
    });
    await send(c, 'incident.resolved');
    const failed = (await until(c, 'the failed end', (e) => e.step === 'end')).find((e) => e.step === 'end')!;
    expect(failed).toMatchObject({
      status: 'failed',
      summary: expect.stringContaining('Zoom end meeting failed: HTTP 401'),
    });
    expect(failed.summary).toContain('[redacted]');
    await expect(runbookResult(c, 'incident-bridge')).rejects.toMatchObject({
      cause: { message: expect.stringContaining('step end failed') },
    });

    // ---- Export every history with the real CLI ----
    const executions: { workflowId: string; runId: string }[] = [];
    for await (const run of stack.client.workflow.list({ query: `TaskQueue = '${stack.temporal.taskQueue}'` }))
      executions.push({ workflowId: run.workflowId, runId: run.runId });
    const expected = [a, b, c]
      .map(incidentWorkflowId)
      .concat([
        `zoom-connector-${USER_CONNECTOR}`,
        `${incidentWorkflowId(a)}/recorded-bridge`,
        `${incidentWorkflowId(b)}/user-bridge`,
      ]);
    await eventually(async () => {
      executions.length = 0;
      for await (const run of stack.client.workflow.list({ query: `TaskQueue = '${stack.temporal.taskQueue}'` }))
        executions.push({ workflowId: run.workflowId, runId: run.runId });
      return expected.every((id) => executions.some((e) => e.workflowId === id)) ? true : undefined;
    }, 'every workflow of the run in visibility');
    const cli = process.env.ZR_TEST_TEMPORAL_CLI!;
    const show = promisify(execFile);
    const histories: { workflowId: string; text: string }[] = [];
    for (const e of executions) {
      const { stdout } = await show(
        cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          e.workflowId,
          '--run-id',
          e.runId,
          '--address',
          testTemporalAddress(),
          '--namespace',
          'default',
          '-o',
          'json',
        ],
        {
          maxBuffer: 256 << 20,
        },
      );
      histories.push({ workflowId: e.workflowId, text: stdout });
    }

    // ---- What to look for ----
    const secrets = issuedSecrets(sandbox, extraSecrets);
    const count = (kind: string) => secrets.filter((s) => s.kind === kind).length;
    expect(count('access token')).toBeGreaterThanOrEqual(4); // S2S twice, user OAuth twice
    expect(count('refresh token')).toBeGreaterThanOrEqual(2); // the first grant and its rotation
    expect(count('host start_url')).toBeGreaterThanOrEqual(5);
    expect(count('host zak token')).toBeGreaterThanOrEqual(5);
    expect(
      count('H.323 passcode') + count('PSTN passcode') + count('passcode (meeting or recording)'),
    ).toBeGreaterThanOrEqual(10);
    // The phone passcodes each create answered (dial-in callers need them; the timeline must not show them).
    expect(count('PSTN passcode')).toBeGreaterThanOrEqual(5);
    expect(count('H.323 passcode')).toBeGreaterThanOrEqual(5);
    expect(count('encrypted meeting passcode')).toBeGreaterThanOrEqual(5);
    expect(count('recording play passcode')).toBeGreaterThanOrEqual(1);
    expect(count('client secret')).toBe(1);

    // Join links carry the encrypted passcode (`?pwd=`) by design: sharing them is the product's
    // job (timeline, bridge query). The encrypted passcode must appear nowhere else.
    const joinUrls = new Set<string>();
    for (const r of sandbox.requests) walkJoinUrls(r.response, joinUrls);
    const withoutJoinLinks = (text: string) => [...joinUrls].reduce((t, url) => t.split(url).join('<join link>'), text);

    const leaks: string[] = [];
    let historyBytes = 0;
    const scan = (where: string, text: string) => {
      const plain = withoutJoinLinks(text);
      for (const s of secrets) {
        if (occurs(s.kind === 'encrypted meeting passcode' ? plain : text, s.value))
          leaks.push(`${s.kind} in ${where}`);
      }
    };
    let decodedAll = '';
    for (const h of histories) {
      historyBytes += Buffer.byteLength(h.text);
      const decoded = decodedPayloads(h.text);
      decodedAll += decoded;
      scan(`history of ${h.workflowId}`, `${h.text}\n${unescapeJson(h.text)}\n${decoded}`);
    }
    const logText = logs.lines.join('\n');
    scan('the logs', logText);
    // The timelines as operators read them: the bridges' dial-in numbers are there, their phone passcodes not.
    const timelines: string[] = [];
    for (const id of [a, b, c]) {
      const timeline = JSON.stringify(await getTimeline(stack.client, id));
      timelines.push(timeline);
      scan(`the timeline of ${id}`, timeline);
    }
    expect(timelines.join('\n')).toMatch(/"label":"Dial-in [^"]+","url":"tel:\+\d+,,\d+#"/);
    // The on-call's number: masked on the timelines (Zoom's refusal quoting it too), in no log line
    // and no search attribute. This history is plain by design (the rendered inputs and the
    // call-out's input hold it); test/call-out.test.ts checks that encrypted history hides it.
    const phoneTimeline = timelines.join('\n');
    expect(phoneTimeline).toContain('Zoom is phoning On-call (+••• ••• 0142)');
    expect(phoneTimeline).toContain('Cannot call out to +••• ••• 0142');
    // The transcript was read (its text on the timeline), with the download tokens of both recordings in the search.
    expect(phoneTimeline).toContain(`Transcript of Zoom meeting ${transcribedBridge} is ready (cloud recording): `);
    expect(count('recording download token')).toBeGreaterThanOrEqual(3);
    const searchAttributes = await Promise.all(
      executions.map(async (e) =>
        JSON.stringify((await stack.client.workflow.getHandle(e.workflowId, e.runId).describe()).searchAttributes),
      ),
    );
    for (const [where, text] of [
      ['the timelines', phoneTimeline],
      ['the logs', logText],
      ['the search attributes', searchAttributes.join('\n')],
    ] as const)
      if (PHONE_IN_CLEAR.test(text)) leaks.push(`phone number in ${where}`);
    // Nothing that looks like a credential, whatever its value.
    for (const [where, text] of [
      ['histories', histories.map((h) => unescapeJson(h.text)).join('\n') + decodedAll],
      ['the logs', logText],
    ] as const) {
      for (const m of text.matchAll(/\b(Bearer|Basic)\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/g))
        leaks.push(`"${m[1]} <credential>" in ${where}`);
    }

    // The scan reads what it should: payloads decoded, join links present, the fault paths taken.
    expect(decodedAll).toContain('sealedRefreshToken');
    expect(decodedAll).toMatch(/\/j\/\d+\?pwd=/);
    expect(decodedAll).toContain('"dialIn":[{"country":"US"');
    expect(logText).toMatch(/Activity failed/);
    // The token endpoint's echo was met (a lookup's quick re-read may absorb it before any log line).
    expect(stack.sandbox.requests.some((r) => r.path === '/oauth/token' && r.status === 500)).toBe(true);

    // Restore the console so the figures reach the reporter.
    stopConsoleCapture();
    console.log(
      `secret hygiene: ${histories.length} histories (${historyBytes} bytes) and ${logs.lines.length} log lines (${logs.bytes} bytes) ` +
        `scanned for ${secrets.length} secret values (${summariseKinds(secrets)}); found ${leaks.length}`,
    );
    expect([...new Set(leaks)]).toEqual([]);
  }, 240_000);
});

function walkJoinUrls(value: unknown, into: Set<string>, depth = 0): void {
  if (!value || typeof value !== 'object' || depth > 20) return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'join_url' && typeof v === 'string') into.add(v);
    else walkJoinUrls(v, into, depth + 1);
  }
}

function summariseKinds(secrets: Secret[]): string {
  const byKind = new Map<string, number>();
  for (const s of secrets) byKind.set(s.kind, (byKind.get(s.kind) ?? 0) + 1);
  return [...byKind].map(([k, v]) => `${v} ${k}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// 2. Zoom failures of every kind, thrown and serialised without secrets.

/** A stand-in for Zoom (or a proxy in front of it) that echoes the request back in its errors. */
interface EchoRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type EchoHandler = (req: EchoRequest, res: ServerResponse) => void;

describe('Zoom errors are sanitised before they are thrown or logged', () => {
  let server: Server;
  let url: string;
  let handler: EchoHandler = (_req, res) => res.writeHead(500).end();
  const TOKEN = `sbx.${randomBytes(24).toString('base64url')}`;
  const FRESH_TOKEN = `sbx.${randomBytes(24).toString('base64url')}`;
  const CLIENT_ID = 'echo-client-id';
  const CLIENT_SECRET = `echo-secret-${randomBytes(12).toString('hex')}`;
  const REFRESH = `sbxr.${randomBytes(32).toString('base64url')}`;
  const PASSCODE = 'Pz9x7Q';
  const BASIC = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
  const FORBIDDEN = [TOKEN, FRESH_TOKEN, CLIENT_SECRET, BASIC, REFRESH, PASSCODE];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        handler(
          { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') },
          res,
        ),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const echoLine = (r: EchoRequest) =>
    `${r.method} ${r.url} authorization=${r.headers.authorization ?? ''} body=${r.body}`;

  /** A token provider that hands out TOKEN, then FRESH_TOKEN once TOKEN was invalidated. */
  function tokens(): TokenProvider & { invalidated: string[] } {
    const invalidated: string[] = [];
    return {
      invalidated,
      getToken: async () => (invalidated.includes(TOKEN) ? FRESH_TOKEN : TOKEN),
      invalidate: (t) => void invalidated.push(t),
      grantedScopes: async () => [],
    };
  }

  /** The error `call` fails with, and what was logged meanwhile; asserts neither carries a secret. */
  async function sanitised(call: () => Promise<unknown>): Promise<Error> {
    const logged: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void logged.push(format(...args))),
    );
    let err: Error;
    try {
      err = await failure(call());
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    const views = {
      message: err.message,
      string: String(err),
      stack: err.stack ?? '',
      json: JSON.stringify(err),
      inspect: inspect(err, { depth: 20, showHidden: true }),
      logged: logged.join('\n'),
    };
    for (const [view, text] of Object.entries(views)) {
      for (const secret of FORBIDDEN) expect(`${view}: ${text}`).not.toContain(secret);
      expect(`${view}: ${text}`).not.toMatch(/\b(Bearer|Basic)\s+(?!\[redacted\])\S/);
    }
    // Nothing of the request travels on the error: no axios config, request or response objects.
    expect(Object.keys(err)).not.toEqual(expect.arrayContaining(['config']));
    for (const key of ['config', 'request', 'response', 'cause'])
      expect((err as unknown as Record<string, unknown>)[key]).toBeUndefined();
    return err;
  }

  const zoom = (opts: { apiUrl?: string; timeoutMs?: number } = {}) =>
    new ZoomClient({ apiUrl: opts.apiUrl ?? `${url}/v2`, tokens: tokens(), timeoutMs: opts.timeoutMs });
  const create = (client: ZoomClient) => client.createMeeting('me', { topic: 'Bridge', type: 2, password: PASSCODE });

  it('network failures: refused, reset, timed out', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await sanitised(() => create(zoom({ apiUrl: `http://127.0.0.1:${port}/v2` })));
    expect(refused).toBeInstanceOf(ZoomUnavailableError);
    expect(refused.message).toMatch(/^Zoom create meeting failed: ECONNREFUSED/);

    handler = (_req, res) => res.socket?.destroy();
    expect(await sanitised(() => create(zoom()))).toBeInstanceOf(ZoomUnavailableError);

    handler = () => undefined; // never answers
    const timedOut = await sanitised(() => create(zoom({ timeoutMs: 200 })));
    expect(timedOut.message).toMatch(/ECONNABORTED|timeout/);
  });

  it('5xx and 4xx answers that echo the request: headers, body, passcode', async () => {
    handler = (r, res) =>
      json(res, 500, {
        code: 500,
        message: `Internal error for ${echoLine(r)}`,
        request: { headers: r.headers, body: r.body },
      });
    const echoed = await sanitised(() => create(zoom()));
    expect(echoed).toBeInstanceOf(ZoomUnavailableError);
    expect(echoed.message).toMatch(
      /^Zoom create meeting failed: HTTP 500 code 500: Internal error for POST \/v2\/users\/me\/meetings authorization=Bearer \[redacted\]/,
    );

    handler = (r, res) =>
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`bad gateway: ${r.headers.authorization} ${PASSCODE}`);
    expect((await sanitised(() => create(zoom()))).message).toMatch(/HTTP 502: bad gateway/);

    handler = (r, res) =>
      json(res, 400, {
        code: 300,
        message: `Validation Failed. Request headers: ${JSON.stringify(r.headers)}`,
        errors: [
          { field: 'password', message: `"${PASSCODE}" is not allowed` },
          { field: 'authorization', message: String(r.headers.authorization) },
        ],
      });
    expect(await sanitised(() => create(zoom()))).toBeInstanceOf(ZoomValidationError);

    handler = (r, res) => json(res, 503, { reason: `upstream said: ${r.body} with token ${TOKEN}` });
    expect((await sanitised(() => create(zoom()))).message).toContain('upstream said');
  });

  it('401s: an expired token is refreshed once, then the refusal is thrown without either token', async () => {
    const provider = tokens();
    handler = (r, res) => json(res, 401, { code: 124, message: `Invalid access token: ${r.headers.authorization}` });
    const err = await sanitised(() => new ZoomClient({ apiUrl: `${url}/v2`, tokens: provider }).getUser());
    // The fresh token refused too is a race with whoever revoked it: retryable, not an auth failure.
    expect(err).toBeInstanceOf(ZoomUnavailableError);
    expect(err.message).toBe(
      'Zoom get user refused a freshly issued access token too (code 124); the call is tried again later',
    );
    expect(provider.invalidated).toEqual([TOKEN]);
    handler = (r, res) => json(res, 401, { message: `Unauthorized ${r.headers.authorization}` });
    expect(await sanitised(() => create(zoom()))).toBeInstanceOf(ZoomAuthError);
  });

  it('the token endpoint: failures never carry the client secret, refresh token, code or verifier', async () => {
    const app = { tokenUrl: `${url}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
    const s2s = () => new ServerToServerTokenProvider({ ...app, accountId: 'acct' }).getToken();
    handler = (r, res) => json(res, 500, { reason: `echo ${echoLine(r)}`, error: 'server_error' });
    expect(await sanitised(s2s)).toBeInstanceOf(ZoomUnavailableError);
    expect(await sanitised(() => refreshTokens(app, REFRESH))).toBeInstanceOf(ZoomUnavailableError);

    handler = (r, res) =>
      json(res, 401, {
        reason: `Invalid client: ${r.headers.authorization} client_secret=${CLIENT_SECRET}`,
        error: 'invalid_client',
      });
    expect(await sanitised(s2s)).toBeInstanceOf(ZoomAuthError);

    handler = (r, res) => json(res, 400, { reason: `Invalid Token! ${r.body}`, error: 'invalid_grant' });
    const stale = await sanitised(() => refreshTokens(app, REFRESH));
    expect(stale).toBeInstanceOf(ZoomReauthorizationError);
    const verifier = `verifier-${randomBytes(16).toString('hex')}`;
    const codeErr = await failure(
      exchangeCode(
        { ...app, authorizeUrl: `${url}/oauth/authorize`, redirectUri: 'http://127.0.0.1:1/cb' },
        'the-one-time-code-123',
        verifier,
      ),
    );
    expect(codeErr.message).not.toContain(verifier);
    expect(codeErr.message).not.toContain('the-one-time-code-123');

    handler = (_req, res) => res.socket?.destroy();
    expect(
      await sanitised(() =>
        requestTokens(axios.create(), app, { grant_type: 'refresh_token', refresh_token: REFRESH }, 'refused'),
      ),
    ).toBeInstanceOf(ZoomUnavailableError);
  });
});
