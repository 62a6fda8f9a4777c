import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import axios from 'axios';
import { zoomWebhookRoutes } from '../../src/apps/serve/zoom-webhook';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { RunbookDefinition } from '../../workflows/contract';
import type { IncidentPolicy } from '../../src/platform/config';
import { TemporalConfig, ZoomConnectorConfig } from '../../src/platform/config';
import { SandboxOptions, ZoomSandbox } from '../../src/sandbox/server';
import { createWorker, RunbooksWorker } from '../../src/apps/worker';
import { loadRunbooks } from '../../src/core/runbook-loader';
import { join } from 'node:path';
import { SecretBox } from '../../src/platform/secrets';
import { dataConverter } from '../../src/temporal/connection';
import { getTimeline, sendIncidentEvent } from '../../src/temporal/client';
import type { IncidentEvent } from '../../src/core/incident';
import type { TimelineEntry } from '../../workflows/contract';
import type { StoredMeeting } from '../../src/sandbox/zoom-api';

/** The real parts a test runs against: the Zoom sandbox over HTTP, the dev server, a real worker. */
export interface Stack {
  sandbox: ZoomSandbox;
  client: Client;
  /** Seals user-OAuth tokens, with `secretsKey` (random per stack). */
  secrets: SecretBox;
  secretsKey: string;
  temporal: TemporalConfig;
  worker: RunbooksWorker;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export function testTemporalAddress(): string {
  const address = process.env.ZR_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'ZR_TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (test/global-setup.ts starts the dev server).',
    );
  return address;
}

export function sandboxConnector(sandbox: ZoomSandbox, name = 'default'): ZoomConnectorConfig {
  const c = sandbox.state.credentials;
  return {
    name,
    apiUrl: `${sandbox.url}/v2`,
    tokenUrl: `${sandbox.url}/oauth/token`,
    accountId: c.accountId,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    hostUser: sandbox.state.users[0].email,
  };
}

export function sandboxUserConnector(sandbox: ZoomSandbox, name = 'default'): ZoomConnectorConfig {
  return { ...sandboxConnector(sandbox, name), auth: 'user', accountId: undefined, hostUser: 'me' };
}

export interface StackOptions {
  runbooks?: RunbookDefinition[];
  sandbox?: SandboxOptions;
  connectors?: (sandbox: ZoomSandbox) => ZoomConnectorConfig[];
  /** Encrypt payloads with a random key (the default, as in production); false keeps history plain JSON. */
  encrypt?: boolean;
  incidentPolicy?: IncidentPolicy;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    Runtime.install({ logger: new DefaultLogger('WARN') });
  }
  const address = testTemporalAddress();
  const sandbox = new ZoomSandbox(options.sandbox);
  await sandbox.start();
  const payloadKeys = options.encrypt === false ? undefined : { current: { id: 'test', key: randomBytes(32) } };
  const temporal: TemporalConfig = { address, namespace: 'default', taskQueue: `test-${randomUUID()}`, payloadKeys };
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({
    connection: await Connection.connect({ address }),
    dataConverter: dataConverter(temporal),
  });
  const secretsKey = randomBytes(32).toString('base64');
  const secrets = SecretBox.fromKey(secretsKey);
  const worker = await createWorker({
    connection: nativeConnection,
    temporal,
    connectors: options.connectors?.(sandbox) ?? [sandboxConnector(sandbox)],
    client,
    secrets,
    runbooks: options.runbooks ?? loadRunbooks(join(__dirname, '../../runbooks')).map((r) => r.runbook),
    workflowBundle: { codePath: process.env.ZR_TEST_WORKFLOW_BUNDLE! },
    incidentPolicy: options.incidentPolicy,
  });
  const running = worker.run();
  return {
    sandbox,
    client,
    secrets,
    secretsKey,
    temporal,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await client.connection.close();
      await sandbox.stop();
    },
  };
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An incident event sent now, as a source would (its id unique per incident, type and time). */
export function sendNow(
  stack: Stack,
  id: string,
  type: IncidentEvent['type'],
  incident: Partial<IncidentEvent['incident']> = {},
) {
  const occurredAt = new Date().toISOString();
  return sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
    eventId: `${id}-${type}-${occurredAt}`,
    type,
    occurredAt,
    incident: { id, ...incident },
  });
}

/** A step's timeline entry (of one runbook, when named), once it is there. */
export function stepEntry(stack: Stack, id: string, step: string, source?: string): Promise<TimelineEntry> {
  const match = (e: TimelineEntry) => e.step === step && (!source || e.source === source);
  return eventually(async () => (await getTimeline(stack.client, id)).find(match), `step ${step} of ${id}`);
}

/** The meeting a runbook's `bridge` step created, as the sandbox stores it (its entry ends with the meeting id). */
export async function bridgeMeeting(stack: Stack, id: string, source?: string): Promise<StoredMeeting> {
  const entry = await stepEntry(stack, id, 'bridge', source);
  return stack.sandbox.state.meetings.get(Number(/\((\d+)\)$/.exec(entry.summary)![1]))!;
}

export function uniqueIncidentId(prefix = 'INC'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Zoom's webhooks from the stack's sandbox reach its workflows through the real `/zoom/webhook`
 * route, served on a port of its own; returns how to stop it.
 */
export async function receiveZoomWebhooks(
  stack: Stack,
  secretToken: string,
  connector = 'default',
): Promise<() => Promise<void>> {
  const [route] = zoomWebhookRoutes({
    client: stack.client,
    secretToken,
    taskQueue: stack.temporal.taskQueue,
    connectors: [sandboxConnector(stack.sandbox, connector)],
  });
  const receiver = createServer(
    (req, res) => void Promise.resolve(route.handle(req, res, {})).catch(() => res.writeHead(500).end()),
  );
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/zoom/webhook`;
  await axios.post(`${stack.sandbox.url}/_sandbox/webhooks`, { url, secretToken, validate: true });
  return () => new Promise<void>((resolve) => receiver.close(() => resolve()));
}

/**
 * For one e2e file: a stack started before its tests, with the sandbox's signed webhooks delivered
 * through serve's route (`secretToken`), handed to `started`; both stopped after its tests.
 */
export function useWebhookStack(options: StackOptions, secretToken: string, started: (stack: Stack) => void): void {
  let stack: Stack | undefined;
  let stopReceiver: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    stack = await startStack(options);
    started(stack);
    stopReceiver = await receiveZoomWebhooks(stack, secretToken);
  });
  afterAll(async () => {
    await stopReceiver?.();
    await stack?.stop();
  });
}

/** The sandbox's admin API (`/_sandbox/...`) of a stack. */
export function sandboxAdmin(stack: Stack) {
  return axios.create({ baseURL: `${stack.sandbox.url}/_sandbox` });
}
