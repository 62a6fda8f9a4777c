import { msToNumber } from '@temporalio/common/lib/time';
import type { Duration } from '@temporalio/common';
import { KeyRing, keyRingFromEnv } from '../temporal/codec';
import { DEFAULT_CLOCK_SKEW_TOLERANCE_MS } from '../core/incident';
import { DURATION_PATTERN } from '../core/runbook';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZOOM_API_URL, ZOOM_TOKEN_URL } from '../zoom/client';
import { RATE_PLANS, resolveRateLimits, ZoomPlan } from '../zoom/rate-limiter';
import type { WorkerOptions } from '@temporalio/worker';

/** A configuration problem the operator must fix; the CLI prints it without a stack trace. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  /** Payload encryption keys (ZR_PAYLOAD_KEYS): workflow inputs, results and failures are encrypted in history. */
  payloadKeys?: KeyRing;
}

export interface ZoomConnectorConfig {
  name: string;
  /** "account": Server-to-Server OAuth (the default). "user": a user-level OAuth app with a refresh token. */
  auth?: 'account' | 'user';
  apiUrl: string;
  tokenUrl: string;
  /** Server-to-Server apps only. */
  accountId?: string;
  clientId: string;
  clientSecret: string;
  /** Host of new bridges: a Zoom user id or email (Server-to-Server apps cannot use "me"). */
  hostUser: string;
  /** A host pool: new bridges go to a host that is free and has daily budget left (hostUser is the first). */
  hostUsers?: string[];
  /** The Zoom account's plan, which sets its per-second rate limits (Pro when unset). */
  plan?: ZoomPlan;
  /** Live meetings one host may hold at once (ZOOM_HOST_CONCURRENCY; Zoom: Basic and Pro 1, Business and above 2). */
  hostConcurrency?: number;
}

export const DEFAULT_TASK_QUEUE = 'zoom-runbooks';

export function temporalConfig(env: Env = process.env): TemporalConfig {
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (!!cert !== !!key)
    throw new ConfigError(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (paths to the client certificate and key).',
    );
  const ca = env.TEMPORAL_TLS_CA;
  const wantsTls = env.TEMPORAL_TLS === 'true' || !!cert || !!ca || !!env.TEMPORAL_API_KEY;
  return {
    address: env.TEMPORAL_ADDRESS || 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.ZR_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    apiKey: env.TEMPORAL_API_KEY || undefined,
    payloadKeys: payloadKeys(env),
    tls: wantsTls
      ? {
          serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
          serverRootCACertificate: ca ? readConfigFile(ca, 'TEMPORAL_TLS_CA') : undefined,
          clientCertPair:
            cert && key
              ? { crt: readConfigFile(cert, 'TEMPORAL_TLS_CERT'), key: readConfigFile(key, 'TEMPORAL_TLS_KEY') }
              : undefined,
        }
      : undefined,
  };
}

/**
 * Payload keys: ZR_PAYLOAD_KEYS, else the file ZR_PAYLOAD_KEYS_FILE names, else the dev key
 * temporal-dev.sh keeps in .temporal/payload-keys (so CLI commands in another terminal read the
 * dev stack's payloads). An empty ZR_PAYLOAD_KEYS_FILE turns the file lookup off.
 */
function payloadKeys(env: Env): KeyRing | undefined {
  if (env.ZR_PAYLOAD_KEYS) return keyRingFromEnv(env);
  const file = env.ZR_PAYLOAD_KEYS_FILE ?? join(__dirname, '..', '..', '.temporal', 'payload-keys');
  const fromFile = file && existsSync(file) ? readConfigFile(file, 'ZR_PAYLOAD_KEYS_FILE').toString('utf8').trim() : '';
  return keyRingFromEnv(fromFile ? { ...env, ZR_PAYLOAD_KEYS: fromFile } : env);
}

/** The default Zoom connector, from ZOOM_* variables. Every missing one is named at once. */
export function zoomConnectorConfig(env: Env = process.env): ZoomConnectorConfig {
  const auth = env.ZOOM_AUTH || 'account';
  if (auth !== 'account' && auth !== 'user')
    throw new ConfigError(
      `ZOOM_AUTH must be "account" (Server-to-Server OAuth) or "user" (user-level OAuth); got "${auth}".`,
    );
  const secret =
    env.ZOOM_CLIENT_SECRET ||
    (env.ZOOM_CLIENT_SECRET_FILE
      ? readConfigFile(env.ZOOM_CLIENT_SECRET_FILE, 'ZOOM_CLIENT_SECRET_FILE').toString('utf8').trim()
      : '');
  // User-level apps act as the authorising user, whom Zoom calls "me".
  // A comma-separated list is a host pool.
  const hostUsers = (env.ZOOM_HOST_USER ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const hostUser = hostUsers[0] || (auth === 'user' ? 'me' : '');
  const missing = [
    auth === 'account' && !env.ZOOM_ACCOUNT_ID && 'ZOOM_ACCOUNT_ID',
    !env.ZOOM_CLIENT_ID && 'ZOOM_CLIENT_ID',
    !secret && 'ZOOM_CLIENT_SECRET (or ZOOM_CLIENT_SECRET_FILE)',
    !hostUser && 'ZOOM_HOST_USER',
    auth === 'user' && !env.ZR_SECRETS_KEY && 'ZR_SECRETS_KEY',
  ].filter((m): m is string => !!m);
  if (missing.length) {
    throw new ConfigError(
      `Zoom credentials are missing: set ${missing.join(', ')}.\n` +
        'These come from a Server-to-Server OAuth app in the Zoom Marketplace (see README, "Connect a real Zoom account");\n' +
        'ZOOM_HOST_USER is the Zoom user (id or email) who hosts new bridges.\n' +
        'To try zoom-runbooks without a Zoom account, run ./temporal-dev.sh: it starts the Zoom sandbox and sets these for you.',
    );
  }
  const plan = env.ZOOM_PLAN || undefined;
  if (plan && !(plan in RATE_PLANS))
    throw new ConfigError(`ZOOM_PLAN must be one of ${Object.keys(RATE_PLANS).join(', ')}; got "${plan}".`);
  const concurrency = env.ZOOM_HOST_CONCURRENCY;
  if (concurrency !== undefined && concurrency !== '' && !/^[1-9]\d*$/.test(concurrency))
    throw new ConfigError(
      `ZOOM_HOST_CONCURRENCY is how many live meetings one host may hold (Zoom: 1 on Basic and Pro, 2 on Business and above); got "${concurrency}".`,
    );
  return {
    name: 'default',
    auth,
    plan: plan as ZoomPlan | undefined,
    apiUrl: env.ZOOM_API_URL || ZOOM_API_URL,
    tokenUrl: env.ZOOM_TOKEN_URL || ZOOM_TOKEN_URL,
    accountId: env.ZOOM_ACCOUNT_ID,
    clientId: env.ZOOM_CLIENT_ID!,
    clientSecret: secret,
    hostUser,
    ...(hostUsers.length > 1 ? { hostUsers } : {}),
    ...(concurrency ? { hostConcurrency: Number(concurrency) } : {}),
  };
}

/**
 * ZR_CLOCK_SKEW_TOLERANCE: how far ahead of this machine's clock an incident event's `occurredAt`
 * may be before the intake (and the CLI) refuses it, in milliseconds. A duration as runbooks
 * write them ("15m", "900s", "1h", "2 minutes"); default 15 minutes.
 */
export function clockSkewTolerance(env: Env = process.env): number {
  const raw = env.ZR_CLOCK_SKEW_TOLERANCE?.trim();
  if (!raw) return DEFAULT_CLOCK_SKEW_TOLERANCE_MS;
  if (!DURATION_PATTERN.test(raw))
    throw new ConfigError(`ZR_CLOCK_SKEW_TOLERANCE must be a duration such as "15m", "900s" or "1h"; got "${raw}".`);
  return msToNumber(raw as Duration);
}

/** How incidents behave, from the worker's settings (the incident workflow reads it through a local activity). */
export interface IncidentPolicy {
  /** A resolved incident from one of `autoCloseSources` closes by itself this long after its resolution (null: never). */
  closeAfterResolveMs: number | null;
  /** The `fields.source` values of sources that never send a close (`*`: every incident). */
  autoCloseSources: string[];
}

export const DEFAULT_INCIDENT_POLICY: IncidentPolicy = {
  closeAfterResolveMs: 24 * 3600_000,
  autoCloseSources: ['pagerduty'],
};

/**
 * ZR_CLOSE_AFTER_RESOLVE: a resolved incident that is neither reopened nor closed within this
 * duration closes by itself (its daily sync is deleted, meetings left open are ended), if its
 * source never sends a close: ZR_AUTO_CLOSE_SOURCES lists those by the incident's `fields.source`
 * (default `pagerduty`, as the PagerDuty intake sets it; `*` for every incident). "off" keeps
 * incidents open until closed; default 24h.
 */
export function incidentPolicy(env: Env = process.env): IncidentPolicy {
  const raw = env.ZR_CLOSE_AFTER_RESOLVE?.trim();
  const sources =
    env.ZR_AUTO_CLOSE_SOURCES?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? DEFAULT_INCIDENT_POLICY.autoCloseSources;
  if (!raw) return { ...DEFAULT_INCIDENT_POLICY, autoCloseSources: sources };
  if (raw === 'off') return { closeAfterResolveMs: null, autoCloseSources: sources };
  if (!DURATION_PATTERN.test(raw))
    throw new ConfigError(
      `ZR_CLOSE_AFTER_RESOLVE must be a duration such as "24h" or "3 days", or "off"; got "${raw}".`,
    );
  return { closeAfterResolveMs: msToNumber(raw as Duration), autoCloseSources: sources };
}

function readConfigFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(
      `${variable} points to ${path}, which cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/**
 * The worker's capacity, set explicitly rather than left to SDK defaults (README, "Worker tuning",
 * has the benchmark figures behind each default). Pollers are set through the poller behaviours:
 * SDK 1.24 ignores `maxConcurrent*TaskPolls`.
 */
export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'workflowTaskPollerBehavior'
  | 'activityTaskPollerBehavior'
  | 'maxCachedWorkflows'
  // Across every worker of the task queue (the server enforces it): Zoom's limits are per account.
  | 'maxTaskQueueActivitiesPerSecond'
  | 'workflowThreadPoolSize'
>;

export const WORKER_TUNING_DEFAULTS = { workflowSlots: 10, activitySlots: 25, pollers: 4, cachedWorkflows: 100 };

/**
 * The Zoom queue's cap when ZR_ACTIVITIES_PER_SECOND is unset: the plan's Medium limit less 10%
 * (Pro: 18). Zoom activities then wait on the server rather than in the worker's pacer, across
 * every worker process: a 200-incident burst finished in 27.2 s and 28.0 s with it, 32.6 s and
 * 29.6 s without, on less worker CPU (bench/README.md, tuning).
 */
function zoomQueueRate(plan: string | undefined): number {
  return Math.max(1, Math.floor(resolveRateLimits((plan || undefined) as ZoomPlan | undefined).Medium * 0.9));
}

/** From ZR_WORKFLOW_SLOTS, ZR_ACTIVITY_SLOTS, ZR_POLLERS, ZR_CACHED_WORKFLOWS, ZR_ACTIVITIES_PER_SECOND and ZOOM_PLAN. */
export function workerTuning(env: Env = process.env): WorkerTuning {
  const whole = (name: string, fallback: number | undefined, min: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new ConfigError(`${name} must be a whole number of at least ${min}; got "${raw}".`);
    return n;
  };
  const d = WORKER_TUNING_DEFAULTS;
  const pollers = whole('ZR_POLLERS', d.pollers, 2)!;
  const perSecond = env.ZR_ACTIVITIES_PER_SECOND;
  if (perSecond && perSecond !== 'off' && !(Number(perSecond) > 0))
    throw new ConfigError(`ZR_ACTIVITIES_PER_SECOND must be a positive number or "off"; got "${perSecond}".`);
  return {
    maxConcurrentWorkflowTaskExecutions: whole('ZR_WORKFLOW_SLOTS', d.workflowSlots, 2)!,
    maxConcurrentActivityTaskExecutions: whole('ZR_ACTIVITY_SLOTS', d.activitySlots, 1)!,
    maxConcurrentLocalActivityExecutions: 20,
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: pollers },
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum: pollers },
    maxCachedWorkflows: whole('ZR_CACHED_WORKFLOWS', d.cachedWorkflows, 0)!,
    ...(perSecond === 'off'
      ? {}
      : { maxTaskQueueActivitiesPerSecond: perSecond ? Number(perSecond) : zoomQueueRate(env.ZOOM_PLAN) }),
  };
}
