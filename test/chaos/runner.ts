import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDataConverter, EncryptionCodec, KeyRing } from '../../src/temporal/codec';
import { installUserTokens, WorkflowTokenOwner } from '../../src/temporal/connectors';
import { loadRunbooks } from '../../src/core/runbook-loader';
import { ZoomSandbox } from '../../src/sandbox/server';
import type { SandboxUser } from '../../src/sandbox/zoom-api';
import type { StartSpec } from '../../src/core/schedule';
import { SecretBox } from '../../src/platform/secrets';
import { startServe } from '../../src/apps/serve';
import { zoomWebhookRoutes } from '../../src/apps/serve/zoom-webhook';
import { writeWorkflowBundle } from '../../src/apps/workflow-bundle';
import { authorizationUrl, exchangeCode, pkcePair, UserOAuthApp } from '../../src/zoom/user-oauth';
import { DevServer } from '../../src/apps/dev-stack/dev-server';
import { WorkerExit, WorkerProcess } from '../../src/apps/dev-stack/worker-process';
import { connectorHandle } from '../../src/temporal/handles';
import { Problem, Row, unsettled, verify } from './checks';
import { Driver, IncidentRun } from './driver';
import { HistoryReader } from './history';
import { IncidentPlan, makePlan, PlanOptions } from './plan';
import { Random } from './random';
import { ZoomWebhookRetrier } from './webhooks';
import { DEFAULT_FAULT_RATES, FAULT_LABELS, FaultKind, FaultRates, ZoomFaultProxy } from './zoom-faults';

/**
 * One chaos run: its own Temporal dev server (a SQLite file in a temp dir, search attributes
 * registered), the Zoom sandbox at Pro rate limits behind a fault-injecting proxy, the intake
 * (startServe with a bearer token) and worker child processes (`zoom-runbooks worker`, see src/apps/dev-stack), all
 * in this process except the server and the workers. Incidents go through the intake while
 * workers are SIGKILLed and restarted, the server is restarted once, Zoom fails in every way the
 * proxy can arm and access tokens expire mid-burst; then everything is checked (checks.ts).
 */

export interface ChaosOptions extends PlanOptions {
  seed: number;
  /** Worker processes (two make the refresh-token race real: both report the expired token). */
  workers: number;
  /** Zoom connector auth: "user" (rotating refresh tokens, owned by the connector workflow) or "account" (Server-to-Server). */
  auth: 'user' | 'account';
  /**
   * Zoom users in the connector's host pool (each may create 100 meetings a day, Zoom's limit);
   * 0: as many as the plan's meetings need with 30% to spare, at least 2 (so the pool is exercised).
   */
  hosts: number;
  /** Worker SIGKILLs during the drive. */
  kills: number;
  /** Access-token expiries during the drive. */
  tokenExpiries: number;
  /** Stop and restart the dev server once, mid-drive. */
  serverRestart: boolean;
  faultRates: FaultRates;
  /** Each fault kind is injected at least once (so a short run still exercises every kind). */
  everyFaultKind: boolean;
  settleTimeoutS: number;
  /** Settling stops early once Zoom has seen no call for this long (nothing is retrying any more). */
  quietS: number;
  /** How long a responder waits for the bridge link before resolving without joining. */
  bridgeWaitS: number;
  /** Keep the run directory (logs, databases) even when every check passed. */
  keepDir: boolean;
  log: (line: string) => void;
}

export function chaosOptions(incidents: number, overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  return {
    incidents,
    seed: Math.floor(Math.random() * 2 ** 31),
    // One incident every 2 s: faster, the dev server's SQLite store falls behind on a 2-core machine
    // (persistence timeouts in temporal.log) and the run measures the dev server, not the engine.
    arrivalWindowS: Math.max(20, incidents * 2),
    dwellS: [3, 15],
    duplicateRate: 0.25,
    reorderRate: 0.12,
    recordRate: 0.05,
    backdatedRate: 0.3,
    permanentFaults: Math.max(1, Math.round(incidents / 100)),
    equalStampRate: 0.5,
    skewRate: 0.08,
    updateRate: 0.15,
    webhookRaceRate: 0.08,
    interruptRate: 0.03,
    pagerdutyRate: 0.05,
    pdReopenRate: 0.5,
    workers: 2,
    auth: 'user',
    hosts: 0,
    kills: Math.max(2, Math.round(incidents / 60)),
    tokenExpiries: Math.max(2, Math.min(3, Math.round(incidents / 100))),
    serverRestart: true,
    faultRates: DEFAULT_FAULT_RATES,
    everyFaultKind: true,
    settleTimeoutS: 240 + 3 * incidents,
    quietS: 150,
    bridgeWaitS: 120,
    keepDir: false,
    log: (line) => console.log(line),
    ...overrides,
  };
}

export interface ChaosEvent {
  at: string;
  /** Seconds since the drive started. */
  t: number;
  what: string;
}

export interface TokenExpiry {
  at: string;
  /** Refresh-token grants Zoom answered (rotations) until the next expiry or the end. */
  rotations: number;
  /** Calls Zoom refused with 401 (expired token) in the same span: the stale-token reports that raced. */
  refused401: number;
  /** The runner reported the expired token too, at the same moment (a third party in the race). */
  runnerRace: string;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  startedAt: string;
  durationS: number;
  runDir?: string;
  options: Pick<
    ChaosOptions,
    | 'incidents'
    | 'workers'
    | 'auth'
    | 'hosts'
    | 'kills'
    | 'tokenExpiries'
    | 'serverRestart'
    | 'faultRates'
    | 'arrivalWindowS'
  >;
  /** What was done to the system, by kind. */
  injected: { label: string; count: number; detail?: string }[];
  incidents: Record<string, number>;
  rows: Row[];
  problems: Problem[];
  figures: Record<string, unknown>;
  chaosLog: ChaosEvent[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `p`, or a rejection after `ms`. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const PROJECT = join(__dirname, '..', '..');

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const startedAt = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'zr-chaos-'));
  const logFile = createWriteStream(join(dir, 'runner.log'));
  const say = (line: string) => {
    o.log(line);
    logFile.write(`${new Date().toISOString()} ${line}\n`);
  };
  const note = (line: string) => logFile.write(`${new Date().toISOString()} ${line}\n`);
  const rng = new Random(o.seed);
  const cleanups: (() => Promise<void>)[] = [];
  const chaosLog: ChaosEvent[] = [];
  let driveStart = Date.now();
  const chaos = (what: string) => {
    chaosLog.push({ at: new Date().toISOString(), t: Math.round((Date.now() - driveStart) / 100) / 10, what });
    say(`  chaos +${((Date.now() - driveStart) / 1000).toFixed(1)}s: ${what}`);
  };
  let ok = false;
  say(
    `chaos run: ${o.incidents} incidents, seed ${o.seed}, ${o.workers} worker process(es), ${o.auth === 'user' ? 'user OAuth' : 'Server-to-Server'} connector; logs in ${dir}`,
  );
  // The machine may be shared: its load is part of the figures.
  const load = { max: loadavg()[0], samples: [loadavg()[0]] };
  const loadTimer = setInterval(() => {
    const l = loadavg()[0];
    load.samples.push(l);
    load.max = Math.max(load.max, l);
  }, 10_000);
  cleanups.push(async () => clearInterval(loadTimer));

  try {
    // --- Temporal dev server, its own port and SQLite file.
    const server = await DevServer.start({ dbFile: join(dir, 'temporal.sqlite'), logFile: join(dir, 'temporal.log') });
    cleanups.push(() => server.close());
    const taskQueue = `chaos-${o.seed}`;
    const payloadKey = randomBytes(32);
    // A throwaway key, kept with the run's SQLite file so its histories can be decoded (and replayed) afterwards.
    writeFileSync(join(dir, 'payload-keys'), `chaos:${payloadKey.toString('base64')}\n`);
    const ring: KeyRing = { current: { id: 'chaos', key: payloadKey } };
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: 'default', dataConverter: createDataConverter(ring) });
    cleanups.push(() => connection.close());

    // --- Zoom: the sandbox at Pro limits, a host pool, and the fault proxy in front of it.
    const plan = makePlan(rng.fork('plan'), o);
    const hostCount = o.hosts || Math.max(2, Math.ceil((expectedCreates(plan) * 1.3) / 100));
    const users: SandboxUser[] = Array.from({ length: hostCount }, (_, i) => ({
      id: `sbxChaosHost${String(i + 1).padStart(2, '0')}`,
      email: `chaos-host-${i + 1}@sandbox.zoom.test`,
      first_name: 'Chaos',
      last_name: `Host ${i + 1}`,
    }));
    const sandbox = new ZoomSandbox({ users, rateLimits: { plan: 'pro' } });
    await sandbox.start();
    cleanups.push(() => sandbox.stop());
    const proxy = new ZoomFaultProxy(
      sandbox,
      rng.fork('faults'),
      o.faultRates,
      plan.filter((p) => p.permanentFault).map((p) => p.id),
    );
    proxy.enabled = false;
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const creds = sandbox.state.credentials;

    // --- The connector: a user-OAuth app authorised once (its refresh token then rotates), or S2S.
    const secretsKey = randomBytes(32).toString('base64');
    const box = SecretBox.fromKey(secretsKey);
    const owner = new WorkflowTokenOwner(client, 'default', box);
    if (o.auth === 'user') {
      const app: UserOAuthApp = {
        tokenUrl: `${sandbox.url}/oauth/token`,
        authorizeUrl: `${sandbox.url}/oauth/authorize`,
        redirectUri: 'http://127.0.0.1:1/zoom/callback',
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
      };
      const { verifier, challenge } = pkcePair();
      const consent = await fetch(authorizationUrl(app, 'chaos', challenge), { redirect: 'manual' });
      const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
      await installUserTokens(client, taskQueue, 'default', box, await exchangeCode(app, code, verifier));
    }

    // --- The intake, in this process: our events with a bearer token, PagerDuty's webhooks with its
    // signature, and Zoom's webhooks (the sandbox's subscription) into each meeting's mailbox.
    const token = randomBytes(24).toString('hex');
    const pagerdutySecret = randomBytes(24).toString('hex');
    const webhookSecret = randomBytes(24).toString('hex');
    const intakeLog = createWriteStream(join(dir, 'intake.log'));
    const logger = {
      info: (m: string) => intakeLog.write(`I ${m}\n`),
      warn: (m: string) => intakeLog.write(`W ${m}\n`),
      error: (m: string) => intakeLog.write(`E ${m}\n`),
    };
    const webhookRoutes = zoomWebhookRoutes({
      client,
      secretToken: webhookSecret,
      taskQueue,
      connectors: [{ name: 'default', clientId: creds.clientId }],
      logger,
    });
    const intake = await startServe({
      client,
      taskQueue,
      auth: { token, pagerdutySecret },
      port: 0,
      logger,
      routes: webhookRoutes,
    });
    cleanups.push(async () => {
      await intake.close();
      intakeLog.end();
    });
    const subscribed = await fetch(`${sandbox.url}/_sandbox/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${intake.url}/zoom/webhook`, secretToken: webhookSecret }),
    });
    if (subscribed.status !== 200)
      throw new Error(
        `Zoom sandbox webhook subscription refused: HTTP ${subscribed.status} ${await subscribed.text()}`,
      );
    const retrier = new ZoomWebhookRetrier(sandbox, webhookSecret);
    retrier.start();
    cleanups.push(() => retrier.stop());

    // --- Worker processes, with a workflow bundle built ahead as production runs them: a restarted worker polls at once.
    const bundlePath = join(dir, 'workflow-bundle.js');
    await writeWorkflowBundle(bundlePath);
    const env: Record<string, string> = {
      ZR_WORKFLOW_BUNDLE: bundlePath,
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      ZR_TASK_QUEUE: taskQueue,
      ZR_PAYLOAD_KEYS: `chaos:${payloadKey.toString('base64')}`,
      ZR_RUNBOOKS_DIR: join(PROJECT, 'runbooks'),
      ZOOM_AUTH: o.auth,
      ZOOM_API_URL: `${proxy.url}/v2`,
      ZOOM_TOKEN_URL: `${proxy.url}/oauth/token`,
      ZOOM_CLIENT_ID: creds.clientId,
      ZOOM_CLIENT_SECRET: creds.clientSecret,
      ZOOM_HOST_USER: users.map((u) => u.email).join(','),
      ZOOM_PLAN: 'pro',
      ...(o.auth === 'user' ? { ZR_SECRETS_KEY: secretsKey } : { ZOOM_ACCOUNT_ID: creds.accountId }),
    };
    let shuttingDown = false;
    const exits: WorkerExit[] = [];
    const workers: WorkerProcess[] = [];
    const startWorker = async (w: WorkerProcess) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await w.start();
          return;
        } catch (err) {
          if (shuttingDown || attempt >= 10) throw err;
          note(`worker ${w.name} failed to start (${(err as Error).message}); retrying`);
          await sleep(2000);
        }
      }
    };
    const onExit = (exit: WorkerExit) => {
      exits.push(exit);
      if (exit.killed || shuttingDown || !exit.wasReady) return;
      chaos(`worker ${exit.worker} EXITED on its own (code ${exit.code}, signal ${exit.signal}); restarting it`);
      const w = workers.find((x) => x.name === exit.worker)!;
      void sleep(1000).then(() =>
        startWorker(w).catch((err: unknown) =>
          say(`worker ${w.name} could not be restarted: ${(err as Error).message}`),
        ),
      );
    };
    for (let i = 0; i < o.workers; i++)
      workers.push(new WorkerProcess({ name: `w${i + 1}`, env, logFile: join(dir, `worker-${i + 1}.log`), onExit }));
    cleanups.push(async () => {
      shuttingDown = true;
      await Promise.all(workers.map((w) => w.stop()));
    });
    const t0 = Date.now();
    await Promise.all(workers.map(startWorker));
    say(
      `  stack ready in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)} s (workers polling after ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );

    // --- Drive: incidents, and the chaos schedule alongside.
    const driver = new Driver({
      intakeUrl: intake.url,
      token,
      sandbox,
      client,
      rng: rng.fork('driver'),
      deliveryDeadlineMs: 300_000,
      bridgeWaitMs: o.bridgeWaitS * 1000,
      proxy,
      pagerdutySecret,
      log: note,
    });
    driveStart = Date.now() + 500;
    proxy.enabled = true;
    if (o.everyFaultKind) proxy.requireEachKind(rng.fork('each'));
    const windowMs = o.arrivalWindowS * 1000;
    const at = (fraction: number) => sleep(Math.max(0, driveStart + fraction * windowMs - Date.now()));
    const chaosRng = rng.fork('chaos');
    const expiries: (TokenExpiry & { requestIndex: number })[] = [];
    let serverDowntimeMs = 0;
    const schedule: Promise<void>[] = [];
    /** Waits (up to `ms`) until `n` workers poll; false if they do not in time. */
    const workersPolling = async (n: number, ms: number) => {
      const deadline = Date.now() + ms;
      while (workers.filter((w) => w.ready).length < n) {
        if (Date.now() > deadline) return false;
        await sleep(250);
      }
      return true;
    };
    // Kills spread over the drive, which lasts longer than the arrival window (incidents are resolved later).
    for (const f of spread(chaosRng, o.kills, 0.05, 1.6)) {
      schedule.push(
        at(f).then(async () => {
          // A crash takes one replica down at a time: with several workers, another one is polling when it happens.
          if (o.workers > 1 && !(await workersPolling(2, 90_000)))
            return chaos('worker kill skipped: no second worker polling within 90 s');
          const candidates = workers.filter((w) => w.ready);
          if (!candidates.length) return chaos('worker kill skipped: no worker polling');
          const w = chaosRng.pick(candidates);
          await w.kill();
          chaos(`SIGKILL worker ${w.name}`);
          await sleep(chaosRng.between(500, 3000));
          await startWorker(w);
          chaos(`worker ${w.name} restarted (polling after ${((w.startupMs.at(-1) ?? 0) / 1000).toFixed(1)} s)`);
        }),
      );
    }
    if (o.serverRestart) {
      schedule.push(
        at(chaosRng.between(0.4, 0.6)).then(async () => {
          chaos('Temporal dev server: stop (SIGTERM)');
          serverDowntimeMs = await server.restart();
          chaos(
            `Temporal dev server: up again on the same SQLite file after ${(serverDowntimeMs / 1000).toFixed(1)} s`,
          );
        }),
      );
    }
    // Expiries one after another, so each one's rotations can be told apart.
    const expiryTimes = spread(chaosRng, o.tokenExpiries, 0.15, 0.9);
    schedule.push(
      (async () => {
        for (const f of expiryTimes) {
          await at(f);
          // Mid-burst means while the workers are up and calling Zoom.
          await workersPolling(o.workers, 90_000);
          let current: string | undefined;
          if (o.auth === 'user')
            current = await within(15_000, owner.accessToken()).then(
              (t) => t.token,
              () => undefined,
            );
          const requestIndex = sandbox.requests.length;
          await fetch(`${sandbox.url}/_sandbox/tokens/expire`, { method: 'POST' });
          // The runner reports the expired token too, racing the workers' reports of their refused calls.
          let runnerRace = 'n/a (Server-to-Server: no refresh token)';
          if (o.auth === 'user')
            runnerRace = current
              ? await within(30_000, owner.accessToken(current)).then(
                  () => 'got the rotated token',
                  (err: Error) => `failed: ${err.message}`,
                )
              : 'skipped (no worker answered for the current token)';
          expiries.push({ at: new Date().toISOString(), rotations: 0, refused401: 0, runnerRace, requestIndex });
          chaos(`access tokens expired mid-burst (runner's concurrent stale-token report: ${runnerRace})`);
        }
      })(),
    );
    const progress = setInterval(() => {
      const done = [...driver.runs.values()].filter((r) => r.events.length > 0).length;
      say(
        `  drive +${((Date.now() - driveStart) / 1000).toFixed(0)}s: ${done}/${o.incidents} incidents started, ${sandbox.state.meetings.size} meetings in Zoom, ${proxy.calls} Zoom calls`,
      );
    }, 15_000);
    let runs: IncidentRun[];
    try {
      runs = await Promise.all(plan.map((p) => driver.runIncident(p, driveStart)));
      await Promise.all(schedule);
      await driver.drain();
    } finally {
      clearInterval(progress);
    }
    const driveS = (Date.now() - driveStart) / 1000;
    say(`  drive done in ${driveS.toFixed(0)} s; settling (up to ${o.settleTimeoutS} s)`);

    // --- Settle: until Zoom's state and the runbooks agree with what was sent, or the deadline.
    const checkCtx = {
      runs,
      sandbox,
      client,
      taskQueue,
      postmortemStart: postmortemStart(),
      creates: proxy.creates,
      webhooks: retrier,
    };
    const settleDeadline = Date.now() + o.settleTimeoutS * 1000;
    let lastReport = 0;
    let lastCalls = { n: -1, at: Date.now() };
    for (;;) {
      const u = await unsettled(checkCtx).catch((err: Error) => ({ count: -1, what: [err.message] }));
      if (u.count === 0) break;
      const calls = sandbox.requests.length;
      if (calls !== lastCalls.n) lastCalls = { n: calls, at: Date.now() };
      if (Date.now() - lastCalls.at > o.quietS * 1000) {
        say(
          `  not settled, but Zoom has seen no call for ${o.quietS} s (nothing retrying): ${u.what.slice(0, 5).join('; ')}`,
        );
        break;
      }
      if (Date.now() > settleDeadline) {
        say(`  not settled after ${o.settleTimeoutS} s: ${u.what.slice(0, 5).join('; ')}`);
        break;
      }
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        say(`  settling: ${u.count} outstanding (${u.what.slice(0, 3).join('; ')})`);
      }
      await sleep(2000);
    }
    const settleS = (Date.now() - driveStart) / 1000 - driveS;

    // --- Token expiries: rotations and refused calls per expiry.
    const requestSpans = expiries.map(
      (e, i) => [e.requestIndex, expiries[i + 1]?.requestIndex ?? sandbox.requests.length] as const,
    );
    expiries.forEach((e, i) => {
      const span = sandbox.requests.slice(...requestSpans[i]);
      e.rotations = span.filter(
        (r) => r.path === '/oauth/token' && r.status === 200 && String(r.body).includes('grant_type=refresh_token'),
      ).length;
      e.refused401 = span.filter((r) => r.status === 401).length;
    });

    // Zoom's retries of webhooks still owed are part of what is checked: they stop here.
    await retrier.stop();
    say('  checking…');
    const verification = await verify({ ...checkCtx, reader: new HistoryReader(new EncryptionCodec(ring)) });
    const rows = verification.rows;
    const problems = verification.problems;

    // --- Refresh token: still valid, never used twice (checked without faults).
    proxy.enabled = false;
    // The dev server's own trouble: persistence operations that timed out (SQLite falling behind).
    const persistenceTimeouts = countLines(
      join(dir, 'temporal.log'),
      /store-operation=.*(deadline exceeded|context canceled)/,
    );
    const invalidGrants = sandbox.requests.filter(
      (r) =>
        r.path === '/oauth/token' &&
        r.status === 400 &&
        (r.response as { error?: string } | undefined)?.error === 'invalid_grant',
    ).length;
    if (o.auth === 'user') {
      let valid = false;
      let detail = '';
      try {
        const current = await owner.accessToken();
        const rotated = await owner.accessToken(current.token);
        const me = await fetch(`${sandbox.url}/v2/users/me`, { headers: { authorization: `Bearer ${rotated.token}` } });
        const status = await connectorHandle(client, 'default').status();
        valid =
          me.status === 200 && rotated.token !== current.token && status.authorised && !status.needsReauthorization;
        detail = `rotated once more at the end: ${rotated.token !== current.token ? 'new token' : 'same token'}, GET /users/me ${me.status}, connector authorised ${status.authorised}, refreshes ${status.refreshes}${status.needsReauthorization ? `, needs re-authorisation: ${status.needsReauthorization}` : ''}`;
      } catch (err) {
        detail = (err as Error).message;
      }
      rows.push({
        check: 'Refresh token still valid after the run (one more rotation works)',
        expected: 'yes',
        actual: valid ? 'yes' : 'no',
        ok: valid,
      });
      if (!valid) problems.push({ check: 'refresh token', detail });
      const rotations = expiries.map((e) => e.rotations);
      rows.push({
        check: 'Refresh-token rotations per mid-burst expiry, workers and runner racing (at most 1 each)',
        expected: expiries.map(() => '<=1').join(', ') || '-',
        actual: rotations.join(', ') || '-',
        ok: rotations.every((r) => r <= 1) && rotations.some((r) => r === 1),
      });
      rows.push({
        check: 'Refresh token used twice (invalid_grant from Zoom)',
        expected: '0',
        actual: String(invalidGrants),
        ok: invalidGrants === 0,
      });
      note(`refresh token check: ${detail}`);
    }

    // --- Delivery and process figures.
    const undelivered = runs.flatMap((r) => r.undelivered);
    rows.push({
      check: 'Events never acknowledged by the intake (sender gave up)',
      expected: '0',
      actual: String(undelivered.length),
      ok: undelivered.length === 0,
    });
    const unexpectedExits = exits.filter((e) => !e.killed && !shuttingDown);
    for (const e of unexpectedExits)
      problems.push({
        check: 'worker processes',
        detail: `worker ${e.worker} exited on its own at ${e.at} (code ${e.code}, signal ${e.signal})`,
        evidence: e.tail?.split('\n'),
      });
    rows.push({
      check: 'Worker processes that died on their own',
      expected: '0',
      actual: String(unexpectedExits.length),
      ok: unexpectedExits.length === 0,
    });

    const equalStamps = runs.filter((r) => r.plan.equalStamps && r.events.some((e) => e.ackAt)).length;
    const skewAhead = runs.filter((r) => r.plan.skew === 'createAhead').length;
    const skewBehind = runs.filter(
      (r) => r.plan.skew === 'resolveBehind' && r.events.some((e) => e.key === 'resolved'),
    ).length;
    const sentUpdates = runs.flatMap((r) => r.events.filter((e) => !e.duplicate && e.type === 'incident.updated'));
    const fieldUpdates = sentUpdates.filter((e) => e.event.incident.fields).length;
    const ownerUpdates = sentUpdates.filter((e) => e.event.incident.owner).length;
    const raceJoins = runs.flatMap((r) =>
      r.plan.webhookRace
        ? r.participants
            .filter((p) => p.duringHold)
            .map((p) => ({ ...p, recorded: r.plan.record, incident: r.plan.id }))
        : [],
    );
    // The join's webhook was answered (the sandbox's join call returns after it) before the create's answer left Zoom.
    const racedFirst = raceJoins.filter((p) => {
      const create = proxy.heldBridgeCreate(p.incident);
      return !!create?.answeredAt && Date.parse(p.joinReturnedAt) < Date.parse(create.answeredAt);
    }).length;
    const interrupts = runs.filter((r) => r.interrupt);
    const cancelsDuringCreate = interrupts.filter(
      (r) => r.interrupt!.kind === 'cancel' && r.interrupt!.duringCreate,
    ).length;
    const terminatesDuringCreate = interrupts.filter(
      (r) => r.interrupt!.kind === 'terminate' && r.interrupt!.duringCreate,
    ).length;
    const pdWordReopens = runs.filter(
      (r) =>
        r.plan.source === 'events' &&
        r.events.some((e) => e.key === 'reopened' && e.event.incident.status === 'triggered'),
    ).length;
    const pdIncidents = runs.filter((r) => r.plan.source === 'pagerduty');
    const non202: Record<string, number> = {};
    for (const r of runs) for (const [s, n] of Object.entries(r.non202)) non202[s] = (non202[s] ?? 0) + n;
    const sentEvents = runs.reduce((n, r) => n + r.events.length, 0);
    const kills = workers.reduce((n, w) => n + w.kills, 0);
    const injected: ChaosReport['injected'] = [
      {
        label: 'Worker processes SIGKILLed (and restarted)',
        count: kills,
        detail: `${o.workers} workers; restart to polling p50 ${
          percentile(
            workers.flatMap((w) => w.startupMs.slice(1)),
            50,
          ) / 1000
        } s`,
      },
      {
        label: 'Temporal dev server stopped and restarted (same SQLite file)',
        count: server.starts - 1,
        detail: `down ${(serverDowntimeMs / 1000).toFixed(1)} s`,
      },
      ...(Object.keys(FAULT_LABELS) as FaultKind[]).map((k) => ({
        label: FAULT_LABELS[k],
        count: proxy.counts[k],
        detail:
          k === 'dropAfterCreate'
            ? `${pct(proxy.counts[k], proxy.creates.length)} of ${proxy.creates.length} creates`
            : k === 'clientTimeout'
              ? `${proxy.clientTimeoutCreates} on creates; ${pct(proxy.counts[k], proxy.calls)} of calls`
              : k === 'permanent'
                ? `refusals, on the bridges of ${new Set(proxy.creates.filter((c) => c.fault === 'permanent').map((c) => c.agenda)).size} incidents`
                : `${pct(proxy.counts[k], proxy.calls + proxy.tokenCalls)} of ${proxy.calls + proxy.tokenCalls} Zoom calls`,
      })),
      {
        label: 'Zoom 429s from its own rate limits (Pro)',
        count: sandbox.requests.filter((r) => r.status === 429).length - proxy.counts.rateLimited,
      },
      {
        label: 'Access tokens expired mid-burst (sandbox admin)',
        count: expiries.length,
        detail: `${expiries.reduce((n, e) => n + e.refused401, 0)} calls refused with 401 afterwards`,
      },
      ...(o.auth === 'user'
        ? [
            {
              label: 'Refresh-token rotations raced (workers + runner report the expired token at once)',
              count: expiries.length,
              detail: `rotations per expiry: ${expiries.map((e) => e.rotations).join(', ')}`,
            },
          ]
        : []),
      { label: 'Incident events sent (deliveries)', count: sentEvents },
      {
        label: 'Duplicate deliveries (same eventId)',
        count: runs.reduce((n, r) => n + r.events.filter((e) => e.duplicate).length, 0),
        detail: 'half at once, half 1-15 s later',
      },
      { label: 'Reordered deliveries (resolve before create)', count: runs.filter((r) => r.plan.resolveFirst).length },
      {
        label:
          'Equal timestamps: resolve and create stamped the same second, resolve delivered first (a flapping alert)',
        count: equalStamps,
      },
      { label: 'Skewed clocks: create stamped 10 min ahead of true time', count: skewAhead },
      { label: 'Skewed clocks: resolves stamped 10 min behind true time', count: skewBehind },
      {
        label: 'Partial updates: incident.updated with one custom field only',
        count: fieldUpdates,
        detail: `on ${runs.filter((r) => r.plan.updates.some((u) => u !== 'ownerName')).length} incidents`,
      },
      {
        label: "Partial updates: incident.updated with only the owner's name",
        count: ownerUpdates,
        detail: `on ${runs.filter((r) => r.plan.updates.includes('ownerName')).length} incidents`,
      },
      {
        label:
          'Bridge creates held after Zoom made the meeting (sandbox fault holdResponseMs: 4-7 s for webhook races, 8-10 s for cancels/terminates)',
        count: proxy.held,
        detail: `for webhook races and for cancels/terminates mid-create`,
      },
      {
        label: 'Webhooks racing the create: started and joined while the create was held',
        count: raceJoins.length,
        detail: `${runs.filter((r) => r.raceStartDuringHold).length} of ${runs.filter((r) => r.plan.webhookRace).length} race bridges started during the hold; ${raceJoins.filter((p) => p.recorded).length} joins on recorded bridges; ${racedFirst} joins acknowledged by the intake before the create's answer left Zoom`,
      },
      {
        label: 'Bridge runbooks cancelled while their create was held',
        count: cancelsDuringCreate,
        detail: `${interrupts.filter((r) => r.interrupt?.kind === 'cancel').length} cancels sent`,
      },
      {
        label: 'Bridge runbooks terminated while their create was held (incident then closed)',
        count: terminatesDuringCreate,
        detail: `${interrupts.filter((r) => r.interrupt?.kind === 'terminate').length} terminates sent`,
      },
      { label: 'Reopens saying status "triggered" (PagerDuty\'s word) through /v1/events', count: pdWordReopens },
      {
        label: 'Incidents sent as PagerDuty V3 webhooks (POST /v1/pagerduty, signed)',
        count: pdIncidents.length,
        detail: `${pdIncidents.reduce((n, r) => n + r.events.length, 0)} deliveries; ${pdIncidents.filter((r) => r.plan.flow.startsWith('reopen')).length} reopened (incident.reopened, status triggered)`,
      },
      {
        label: "Zoom webhooks sent to the intake (the sandbox's subscription)",
        count: sandbox.webhooks.deliveries.length,
        detail: webhookCounts(sandbox),
      },
      {
        label: 'Zoom webhook deliveries not answered 2xx, retried as Zoom does (minutes compressed to seconds)',
        count: retrier.redeliveries.size,
        detail: `${[...retrier.redeliveries.values()].filter((r) => r.ackAt).length} acknowledged on a retry`,
      },
      {
        label: 'Intake answers other than 202 (sender retried)',
        count: Object.values(non202).reduce((a, b) => a + b, 0),
        detail:
          Object.entries(non202)
            .map(([s, n]) => `${s}: ${n}`)
            .join(', ') || undefined,
      },
    ];
    // Chaos that did not happen would make every other figure meaningless.
    const mustHappen: [string, number][] = [
      ['worker kills', kills],
      ...(o.serverRestart ? [['dev server restart', server.starts - 1] as [string, number]] : []),
      ['token expiries', expiries.length],
      ...(o.everyFaultKind
        ? (Object.keys(FAULT_LABELS) as FaultKind[]).map((k) => [FAULT_LABELS[k], proxy.counts[k]] as [string, number])
        : []),
      ['duplicate deliveries', runs.reduce((n, r) => n + r.events.filter((e) => e.duplicate).length, 0)],
      ['reordered deliveries', runs.filter((r) => r.plan.resolveFirst).length],
      ['equal timestamps (resolve first)', equalStamps],
      ['create stamped 10 min ahead', skewAhead],
      ['resolve stamped 10 min behind', skewBehind],
      ['partial update of one custom field', fieldUpdates],
      ["partial update of the owner's name", ownerUpdates],
      ['bridge started and joined during its held create (webhook race)', raceJoins.length],
      ['recorded bridge started and joined during its held create', raceJoins.filter((p) => p.recorded).length],
      ['cancel during a create', cancelsDuringCreate],
      ['terminate during a create', terminatesDuringCreate],
      ['reopen with status "triggered" through /v1/events', pdWordReopens],
      [
        'PagerDuty webhooks with a reopen',
        pdIncidents.filter(
          (r) => r.plan.flow.startsWith('reopen') && r.events.some((e) => e.key === 'reopened' && e.ackAt),
        ).length,
      ],
    ];
    const missingChaos = mustHappen.filter(([, n]) => n === 0).map(([what]) => what);
    rows.unshift({
      check: 'Chaos applied (every kind at least once)',
      expected: 'all',
      actual: missingChaos.length ? `missing: ${missingChaos.join(', ')}` : 'all',
      ok: missingChaos.length === 0,
    });

    const count = (f: (r: IncidentRun) => boolean) => runs.filter(f).length;
    const incidents = {
      total: runs.length,
      SEV1: count((r) => r.plan.severity === 'SEV1'),
      SEV2: count((r) => r.plan.severity === 'SEV2'),
      SEV3: count((r) => r.plan.severity === 'SEV3'),
      SEV4: count((r) => r.plan.severity === 'SEV4'),
      open: count((r) => r.plan.flow === 'open'),
      resolved: count((r) => r.plan.flow === 'resolved'),
      resolvedThenClosed: count((r) => r.plan.flow === 'closed'),
      reopenedAtOnceLeftOpen: count((r) => r.plan.flow === 'reopenQuick'),
      reopenedThenResolvedAgain: count((r) => r.plan.flow === 'reopenResolved'),
      resolveDeliveredFirst: count((r) => r.plan.resolveFirst),
      recordedBridge: count((r) => r.plan.record),
      backdatedEvents: count((r) => r.plan.backdated),
      permanentFaultTargets: count((r) => r.plan.permanentFault),
      viaPagerDuty: count((r) => r.plan.source === 'pagerduty'),
      equalTimestamps: count((r) => r.plan.equalStamps),
      skewedClocks: count((r) => !!r.plan.skew),
      partialUpdates: count((r) => r.plan.updates.length > 0),
      webhookRaces: count((r) => r.plan.webhookRace),
      cancelledMidCreate: count((r) => r.plan.interrupt === 'cancel'),
      terminatedMidCreate: count((r) => r.plan.interrupt === 'terminate'),
      reopenSaysTriggered: count((r) => r.plan.pdReopen),
    };
    const ttb = runs.map((r) => r.timeToBridgeMs).filter((x): x is number => x !== undefined);
    ok = rows.every((r) => r.ok);
    const report: ChaosReport = {
      ok,
      seed: o.seed,
      startedAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
      options: {
        incidents: o.incidents,
        workers: o.workers,
        auth: o.auth,
        hosts: hostCount,
        kills: o.kills,
        tokenExpiries: o.tokenExpiries,
        serverRestart: o.serverRestart,
        faultRates: o.faultRates,
        arrivalWindowS: o.arrivalWindowS,
      },
      injected,
      incidents,
      rows,
      problems,
      figures: {
        ...verification.figures,
        driveS: Math.round(driveS),
        settleS: Math.round(settleS),
        zoomCalls: proxy.calls,
        tokenCalls: proxy.tokenCalls,
        meetingsInZoom: sandbox.state.meetings.size,
        timeToBridgeMs: { n: ttb.length, p50: percentile(ttb, 50), p95: percentile(ttb, 95), max: Math.max(0, ...ttb) },
        tokenExpiries: expiries.map(({ requestIndex: _i, ...e }) => e),
        invalidGrants,
        zoomCallsPerCreate: callsPerCreate(sandbox),
        workerStarts: Object.fromEntries(workers.map((w) => [w.name, w.starts])),
        machine: {
          cores: availableParallelism(),
          load1mMax: round1(load.max),
          load1mMean: round1(load.samples.reduce((a, b) => a + b, 0) / load.samples.length),
        },
        devServerPersistenceTimeouts: persistenceTimeouts,
      },
      chaosLog,
    };
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2));
    writeFileSync(join(dir, 'zoom-requests.json'), JSON.stringify(redactRequests(sandbox.requests)));
    writeFileSync(join(dir, 'zoom-creates.json'), JSON.stringify(proxy.creates, null, 1));
    if (!ok || o.keepDir) report.runDir = dir;
    return report;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => note(`cleanup: ${err.message}`));
    await new Promise<void>((r) => logFile.end(() => r()));
    if (ok && !o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The postmortem runbook's start rule, read from the runbook file the workers load. */
function postmortemStart(): StartSpec {
  const runbook = loadRunbooks(join(PROJECT, 'runbooks')).find((r) => r.runbook.name === 'postmortem')?.runbook;
  const step = runbook?.steps.find((s) => s.action === 'zoom.scheduleMeeting');
  if (!step || step.action !== 'zoom.scheduleMeeting')
    throw new Error('runbooks/postmortem.yaml has no zoom.scheduleMeeting step');
  return step.with.start;
}

/** `n` points spread over [from, to] of the window, each jittered within its slot, in order. */
function spread(rng: Random, n: number, from: number, to: number): number[] {
  const slot = (to - from) / Math.max(1, n);
  return Array.from({ length: n }, (_, i) => from + slot * (i + rng.between(0.15, 0.85)));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function countLines(file: string, pattern: RegExp): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => pattern.test(l)).length;
  } catch {
    return 0;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Meetings the plan should lead to: bridges, daily syncs, postmortems (twice when re-planned). */
function expectedCreates(plan: IncidentPlan[]): number {
  let n = 0;
  for (const p of plan) {
    const followUp = p.severity === 'SEV1' || p.severity === 'SEV2';
    if (!p.resolveFirst) n += followUp ? 2 : 1;
    if (followUp && p.flow !== 'open') n += p.flow === 'reopenResolved' ? 2 : 1;
  }
  return n;
}

function pct(n: number, of: number): string {
  return of ? `${((100 * n) / of).toFixed(1)}%` : '-';
}

/** Meeting-list calls per create call: what one create attempt costs (host pool scan, marker lookup). */
function callsPerCreate(sandbox: ZoomSandbox): { creates: number; lists: number; listsPerCreate: number } {
  const creates = sandbox.requests.filter(
    (r) => r.method === 'POST' && /^\/v2\/users\/[^/]+\/meetings$/.test(r.path),
  ).length;
  const lists = sandbox.requests.filter(
    (r) => r.method === 'GET' && /^\/v2\/users\/[^/]+\/meetings$/.test(r.path),
  ).length;
  return { creates, lists, listsPerCreate: creates ? Math.round((10 * lists) / creates) / 10 : 0 };
}

/** Webhooks the sandbox sent, by event. */
function webhookCounts(sandbox: ZoomSandbox): string {
  const counts: Record<string, number> = {};
  for (const d of sandbox.webhooks.deliveries) counts[d.event] = (counts[d.event] ?? 0) + 1;
  return Object.entries(counts)
    .map(([e, n]) => `${e} ${n}`)
    .join(', ');
}

/** Zoom's request log without tokens (token endpoint bodies) or passcodes/start URLs (answers). */
function redactRequests(requests: ZoomSandbox['requests']): unknown[] {
  return requests.map((r) => ({
    at: r.at,
    method: r.method,
    path: r.path,
    status: r.status,
    ...(r.path === '/oauth/token'
      ? {}
      : { agenda: String((r.body as { agenda?: string } | undefined)?.agenda ?? '').split('\n')[0] || undefined }),
    message: (r.response as { message?: string } | undefined)?.message,
  }));
}
