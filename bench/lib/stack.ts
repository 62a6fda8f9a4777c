import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TemporalConfig, ZoomConnectorConfig } from '../../src/platform/config';
import type { IncidentEvent } from '../../src/core/incident';
import { RunningServe, startServe } from '../../src/apps/serve';
import { SandboxOptions, ZoomSandbox } from '../../src/sandbox/server';
import type { SandboxUser } from '../../src/sandbox/zoom-api';
import { dataConverter } from '../../src/temporal/connection';
import { failureConverterPath } from '../../src/temporal/codec';
import type { ZoomPlan } from '../../src/zoom/rate-limiter';
import { DevServer } from '../../src/apps/dev-stack/dev-server';
import { writeWorkflowBundle } from '../../src/apps/workflow-bundle';
import { BenchWorker, startBenchWorker } from './worker-handle';
import { WorkerPreset } from './worker-tuning';
import { ownCpuSeconds, progress } from './report';

export const BENCH_RUNBOOKS = {
  bridge: join(__dirname, '..', 'runbooks', 'bridge'),
  followup: join(__dirname, '..', 'runbooks', 'followup'),
};

/**
 * Payloads as production has them (encrypted, and the encrypting failure converter bundled into
 * the workflow code), unless ZR_BENCH_PAYLOADS=plain: then no codec and a bundle without the
 * failure converter. A diagnostic, to show what encryption costs.
 */
export const PLAIN_PAYLOADS = process.env.ZR_BENCH_PAYLOADS === 'plain';

/**
 * How the workflow bundle is built:
 * - `shipped`: as the worker runs it (buildWorkflowBundle in src/apps/workflow-bundle.ts);
 * - `preload`: the same plus `preloadModules: ['@temporalio/proto']` (a diagnostic: evaluated once per V8 context).
 */
export type BundleVariant = 'shipped' | 'preload';
export const BUNDLE_VARIANTS: BundleVariant[] = ['shipped', 'preload'];

const bundles = new Map<string, Promise<string>>();

export function bundleVariant(value: string): BundleVariant {
  if (!(BUNDLE_VARIANTS as string[]).includes(value))
    throw new Error(`--bundle is one of ${BUNDLE_VARIANTS.join(', ')}; got "${value}"`);
  return value as BundleVariant;
}

/** The workflow bundle of a variant, built once per bench process. ZR_BENCH_WORKFLOW_BUNDLE reuses a prebuilt one. */
export function workflowBundle(variant: BundleVariant = 'shipped'): Promise<string> {
  if (process.env.ZR_BENCH_WORKFLOW_BUNDLE) return Promise.resolve(process.env.ZR_BENCH_WORKFLOW_BUNDLE);
  return bundleOnce(variant, (file) =>
    writeWorkflowBundle(file, {
      encryptFailures: !PLAIN_PAYLOADS,
      preloadModules: variant === 'preload' ? ['@temporalio/proto'] : undefined,
    }),
  );
}

/** Temporal's floor (bench/floor/workflows.ts), bundled apart: it never enters the product's bundle. */
export function floorWorkflowBundle(): Promise<string> {
  return bundleOnce('floor', async (file) => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../floor/workflows'),
      failureConverterPath: PLAIN_PAYLOADS ? undefined : failureConverterPath(),
      logger: quietBundler,
    });
    writeFileSync(file, code);
    return code.length;
  });
}

const quietBundler = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

/** Builds a bundle into a temp file once per bench process; `write` resolves with its size in bytes. */
function bundleOnce(name: string, write: (file: string) => Promise<number>): Promise<string> {
  let path = bundles.get(name);
  if (!path) {
    path = (async () => {
      const started = Date.now();
      const dir = mkdtempSync(join(tmpdir(), 'zr-bench-bundle-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'workflow-bundle.js');
      const size = await write(file);
      progress(
        `workflow bundle "${name}" built in ${((Date.now() - started) / 1000).toFixed(1)} s (${(size / 2 ** 20).toFixed(1)} MiB${PLAIN_PAYLOADS ? ', plain payloads' : ''})`,
      );
      return file;
    })();
    bundles.set(name, path);
  }
  return path;
}

/** Zoom users that host bridges (the connector's pool), plus one kept for the bare-call measurements. */
export function benchUsers(hosts: number): { pool: SandboxUser[]; bare: SandboxUser } {
  const user = (id: string, n: number): SandboxUser => ({
    id,
    email: `${id.toLowerCase()}@sandbox.zoom.test`,
    first_name: 'Bench',
    last_name: `Host ${n}`,
  });
  return {
    pool: Array.from({ length: hosts }, (_, i) => user(`benchHost${String(i + 1).padStart(3, '0')}`, i + 1)),
    bare: user('benchBareCaller', 0),
  };
}

export interface BenchStackOptions {
  runbooksDir: string;
  /** Zoom host users in the connector's pool (1: ZOOM_HOST_USER alone, the default deployment). */
  hosts: number;
  /** Zoom plan: the sandbox enforces it and the connector paces for it. Default pro. */
  plan?: ZoomPlan;
  preset: WorkerPreset;
  hostPool?: 'shipped' | 'unmetered';
  /** Encrypt payloads (default true, as production does). */
  encrypt?: boolean;
  /** Reuse a running dev server (it is then not stopped with the stack). */
  server?: DevServer;
  sandbox?: Partial<SandboxOptions>;
  /** Start the worker process (default true). */
  worker?: boolean;
  /** Workflow bundle variant (default shipped). */
  bundle?: BundleVariant;
  /** The worker process also runs Temporal's floor (bench/floor/), on a task queue of its own. */
  floor?: boolean;
  /** The worker has a Temporal client, as shipped (meeting mailboxes, connector gate); see WorkerSpec.client. */
  workerClient?: boolean;
}

export interface BenchStack {
  server: DevServer;
  sandbox: ZoomSandbox;
  client: Client;
  temporal: TemporalConfig;
  intake: RunningServe;
  intakeToken: string;
  worker?: BenchWorker;
  connector: ZoomConnectorConfig;
  bareUser: SandboxUser;
  /** POST /v1/events through the intake, with the bearer token. */
  postEvent(event: IncidentEvent): Promise<PostResult>;
  startWorker(): Promise<BenchWorker>;
  /** CPU seconds used so far by the benchmark's processes: this one, the worker and the dev server. */
  ourCpuSeconds(): number;
  stop(): Promise<void>;
}

export interface PostResult {
  status: number;
  sentAt: number;
  answeredAt: number;
  /** 503s (Temporal did not confirm in time) sent again with the same eventId before the final answer. */
  retries: number;
  error?: string;
}

const quietLogger = { info() {}, warn() {}, error: (m: string) => console.error(m) };

export async function startBenchStack(o: BenchStackOptions): Promise<BenchStack> {
  const server = o.server ?? (await DevServer.start());
  const users = benchUsers(o.hosts);
  const sandbox = new ZoomSandbox({
    users: [...users.pool, users.bare],
    rateLimits: { plan: o.plan ?? 'pro' },
    ...o.sandbox,
  });
  await sandbox.start();
  const creds = sandbox.state.credentials;
  const connector: ZoomConnectorConfig = {
    name: 'default',
    apiUrl: `${sandbox.url}/v2`,
    tokenUrl: `${sandbox.url}/oauth/token`,
    accountId: creds.accountId,
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
    hostUser: users.pool[0].email,
    hostUsers: o.hosts > 1 ? users.pool.map((u) => u.email) : undefined,
    plan: o.plan ?? 'pro',
  };
  const payloadKey = o.encrypt === false || PLAIN_PAYLOADS ? undefined : randomBytes(32);
  const temporal: TemporalConfig = {
    address: server.address,
    namespace: 'default',
    taskQueue: `bench-${randomUUID().slice(0, 8)}`,
    payloadKeys: payloadKey ? { current: { id: 'bench', key: payloadKey } } : undefined,
  };
  const client = new Client({
    connection: await Connection.connect({ address: server.address }),
    dataConverter: dataConverter(temporal),
  });
  const intakeToken = randomBytes(24).toString('hex');
  const intake = await startServe({
    client,
    taskQueue: temporal.taskQueue,
    auth: { token: intakeToken },
    port: 0,
    logger: quietLogger,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const bundle = await workflowBundle(o.bundle ?? 'shipped');
  const floor = o.floor ? { bundlePath: await floorWorkflowBundle(), host: users.bare.email } : undefined;

  const stack: BenchStack = {
    server,
    sandbox,
    client,
    temporal,
    intake,
    intakeToken,
    connector,
    bareUser: users.bare,
    postEvent: (event) => postEvent(intake.url, intakeToken, agent, event),
    ourCpuSeconds: () => ownCpuSeconds() + (stack.worker?.process.cpuSeconds() ?? 0) + (server.cpuSeconds() ?? 0),
    async startWorker() {
      stack.worker = await startBenchWorker({
        address: server.address,
        taskQueue: temporal.taskQueue,
        payloadKey: payloadKey?.toString('base64'),
        bundlePath: bundle,
        runbooksDir: o.runbooksDir,
        connector,
        preset: o.preset,
        hostPool: o.hostPool ?? 'shipped',
        sampleMs: 500,
        floor,
        client: o.workerClient,
      });
      return stack.worker;
    },
    async stop() {
      await stack.worker?.stop();
      agent.destroy();
      await intake.close();
      await client.connection.close();
      await sandbox.stop();
      if (!o.server) await server.close();
    },
  };
  if (o.worker !== false) await stack.startWorker();
  return stack;
}

/** One POST /v1/events; a 503 (Temporal did not confirm) is sent again, as a webhook sender would. */
async function postEvent(base: string, token: string, agent: Agent, event: IncidentEvent): Promise<PostResult> {
  const body = JSON.stringify(event);
  const sentAt = Date.now();
  let retries = 0;
  for (;;) {
    const answer = await new Promise<{ status: number; error?: string }>((resolve) => {
      const req = request(
        `${base}/v1/events`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      req.on('error', (err) => resolve({ status: 0, error: err.message }));
      req.end(body);
    });
    if ((answer.status === 503 || answer.status === 0) && retries < 10) {
      retries++;
      await new Promise((r) => setTimeout(r, 500 * retries));
      continue;
    }
    return { ...answer, sentAt, answeredAt: Date.now(), retries };
  }
}

export function createdEvent(id: string, title: string, occurredAt = new Date()): IncidentEvent {
  return {
    eventId: `${id}-created`,
    type: 'incident.created',
    occurredAt: occurredAt.toISOString(),
    incident: {
      id,
      title,
      severity: 'SEV2',
      status: 'investigating',
      owner: { name: 'Bench Owner', email: 'owner@example.com' },
    },
  };
}

export function resolvedEvent(id: string, occurredAt = new Date()): IncidentEvent {
  return {
    eventId: `${id}-resolved`,
    type: 'incident.resolved',
    occurredAt: occurredAt.toISOString(),
    incident: { id },
  };
}

/** Zoom meetings the sandbox created, per incident id (the runbooks put "Incident <id>" / "Postmortem for <id>" in the agenda). */
export function meetingsByIncident(
  sandbox: ZoomSandbox,
  pattern: RegExp,
): Map<string, { id: number; createdAt: number }[]> {
  const out = new Map<string, { id: number; createdAt: number }[]>();
  for (const r of sandbox.requests) {
    if (r.method !== 'POST' || r.status !== 201 || !/^\/v2\/users\/[^/]+\/meetings$/.test(r.path)) continue;
    const agenda = String((r.body as { agenda?: string } | undefined)?.agenda ?? '');
    const m = pattern.exec(agenda);
    if (!m) continue;
    const list = out.get(m[1]) ?? [];
    list.push({ id: (r.response as { id: number }).id, createdAt: Date.parse(r.at) });
    out.set(m[1], list);
  }
  return out;
}

/** The sandbox's request log, counted: 429s by category, calls by kind. */
export function zoomCallCounts(sandbox: ZoomSandbox, since = 0) {
  let creates = 0;
  let lists = 0;
  let other = 0;
  let tooMany = 0;
  let tooManyDaily = 0;
  let errors = 0;
  for (const r of sandbox.requests) {
    if (Date.parse(r.at) < since) continue;
    const isCreate = r.method === 'POST' && /^\/v2\/users\/[^/]+\/meetings$/.test(r.path);
    const isList = r.method === 'GET' && /^\/v2\/users\/[^/]+\/meetings$/.test(r.path);
    if (isCreate) creates++;
    else if (isList) lists++;
    else if (r.path.startsWith('/v2/')) other++;
    if (r.status === 429) {
      if (String((r.response as { message?: string })?.message ?? '').includes('daily')) tooManyDaily++;
      else tooMany++;
    } else if (r.status >= 400) errors++;
  }
  return { creates, lists, other, tooMany, tooManyDaily, errors };
}
