import { NativeConnection, State, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities, ZoomConnector } from '../../activities';
import { attemptSignal } from '../../activities/attempt';
import { RunbookDefinition, zoomTaskQueue } from '../../workflows/contract';
import { Client } from '@temporalio/client';
import {
  ConfigError,
  IncidentPolicy,
  TemporalConfig,
  workerTuning,
  WorkerTuning,
  ZoomConnectorConfig,
} from '../platform/config';
import { ConnectorGate, WorkflowTokenOwner } from '../temporal/connectors';
import { dataConverter } from '../temporal/connection';
import { SecretBox } from '../platform/secrets';
import { ServerToServerTokenProvider, TokenProvider } from '../zoom/auth';
import { TokenOwner, UserOAuthTokenProvider } from '../zoom/user-oauth';
import { ZoomClient } from '../zoom/client';
import { claimMeetingMailbox, releaseMeetingMailbox } from '../temporal/zoom-events';
import { AccountRateLimiter } from '../zoom/rate-limiter';
import { HostPool, HostPoolOwner } from '../zoom/host-pool';
import { WorkflowHostPoolOwner } from '../temporal/host-pool';
import type { ZoomCallObserver } from '../platform/observability';

export interface WorkerSetup {
  connection: NativeConnection;
  temporal: TemporalConfig;
  connectors: ZoomConnectorConfig[];
  runbooks: RunbookDefinition[];
  /** Needed by user-OAuth connectors: they ask the connector workflow for tokens. */
  client?: Client;
  secrets?: SecretBox;
  /** Told about every Zoom call and token request (metrics). */
  zoomObserver?: ZoomCallObserver;
  /** A prebuilt bundle (tests, production); else workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Slots, pollers, cache; the defaults of `workerTuning()` unless given. */
  tuning?: WorkerTuning;
  /** When resolved incidents close by themselves (ZR_CLOSE_AFTER_RESOLVE); default 24 hours. */
  incidentPolicy?: IncidentPolicy;
  /** Zoom clients built by the caller instead of from `connectors` (benchmark diagnostics). */
  zoomConnectors?: Map<string, ZoomConnector>;
}

/**
 * A connector's Zoom client; user-OAuth connectors get their tokens from `owner`. Its host pool's
 * knowledge is kept by `hostOwner` (in a worker: the connector's host-pool workflow), else in this process.
 */
export function zoomConnector(
  cfg: ZoomConnectorConfig,
  owner?: TokenOwner,
  observer?: ZoomCallObserver,
  hostOwner?: HostPoolOwner,
): ZoomConnector {
  let tokens: TokenProvider;
  if (cfg.auth === 'user') {
    if (!owner)
      throw new ConfigError(
        `Zoom connector ${cfg.name} uses user OAuth and needs its token owner (the connector workflow).`,
      );
    tokens = new UserOAuthTokenProvider(owner);
  } else {
    tokens = new ServerToServerTokenProvider({
      accountId: cfg.accountId ?? '',
      clientId: cfg.clientId,
      clientSecret: cfg.clientSecret,
      tokenUrl: cfg.tokenUrl,
      onTokenRequest: () => observer?.tokenRequest('client_credentials'),
    });
  }
  // One pacer per connector: Zoom's per-second limits are per account, shared by every call we make.
  const pacer = new AccountRateLimiter({ plan: cfg.plan });
  return {
    name: cfg.name,
    hosts: new HostPool(cfg.hostUsers ?? [cfg.hostUser], hostOwner, cfg.hostConcurrency),
    tokens,
    client: new ZoomClient({ apiUrl: cfg.apiUrl, tokens, pacer, observer, signal: attemptSignal }),
  };
}

/**
 * The worker of one process: workflows (and their local activities) on the task queue, Zoom
 * activities on the queue beside it (`zoomTaskQueue`). Apart, a burst of Zoom calls never holds
 * the slots workflow tasks need, and `maxTaskQueueActivitiesPerSecond` caps Zoom calls for every
 * worker process at once. They run and stop together.
 */
export class RunbooksWorker {
  constructor(
    readonly workflows: Worker,
    readonly zoom: Worker,
  ) {}

  /** Until shutdown; if either stops or fails, the other is shut down too, and the first failure is thrown. */
  async run(): Promise<void> {
    const results = await Promise.allSettled(
      [this.workflows, this.zoom].map((w) => w.run().finally(() => this.shutdown())),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  shutdown(): void {
    for (const w of [this.workflows, this.zoom]) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** RUNNING while both poll; else the state of the one that is not. */
  getState(): State {
    return [this.workflows, this.zoom].map((w) => w.getState()).find((s) => s !== 'RUNNING') ?? 'RUNNING';
  }
}

export async function createWorker(setup: WorkerSetup): Promise<RunbooksWorker> {
  const userConnectors = setup.connectors.filter((c) => c.auth === 'user');
  if (userConnectors.length && (!setup.client || !setup.secrets))
    throw new ConfigError('User-OAuth Zoom connectors need a Temporal client and ZR_SECRETS_KEY.');
  const client = setup.client;
  const owner = (name: string) =>
    setup.client && setup.secrets ? new WorkflowTokenOwner(setup.client, name, setup.secrets) : undefined;
  const activities = createActivities({
    connectors:
      setup.zoomConnectors ??
      new Map(
        setup.connectors.map((c) => [
          c.name,
          zoomConnector(
            c,
            owner(c.name),
            setup.zoomObserver,
            client && new WorkflowHostPoolOwner(client, c.name, setup.temporal.taskQueue),
          ),
        ]),
      ),
    runbooks: setup.runbooks,
    oauthApps: new Map(
      userConnectors.map((c) => [c.name, { tokenUrl: c.tokenUrl, clientId: c.clientId, clientSecret: c.clientSecret }]),
    ),
    secrets: setup.secrets,
    gate: setup.client && new ConnectorGate(setup.client),
    incidentPolicy: setup.incidentPolicy,
    client,
    claimMeeting: client && ((claim) => claimMeetingMailbox(client, setup.temporal.taskQueue, claim)),
    releaseMeeting: client && ((release) => releaseMeetingMailbox(client, setup.temporal.taskQueue, release)),
  });
  const tuning = { ...workerTuning({}), ...setup.tuning };
  const common = {
    connection: setup.connection,
    namespace: setup.temporal.namespace,
    dataConverter: dataConverter(setup.temporal),
    activities,
  };
  const workflowCode = setup.workflowBundle
    ? { workflowBundle: setup.workflowBundle }
    : { workflowsPath: require.resolve('../../workflows') };
  // Every activity on both queues: runs started before the Zoom queue call Zoom through their own.
  const workflows = await Worker.create({
    ...common,
    taskQueue: setup.temporal.taskQueue,
    ...workflowCode,
    ...tuning,
  });
  // The host-pool workflows run on the Zoom queue: a create's host lease must not queue behind a
  // burst of incident and runbook workflow tasks (one pool serves every create of its connector).
  const zoom = await Worker.create({
    ...common,
    taskQueue: zoomTaskQueue(setup.temporal.taskQueue),
    ...workflowCode,
    maxConcurrentWorkflowTaskExecutions: 2,
    maxCachedWorkflows: 10,
    maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions,
    activityTaskPollerBehavior: tuning.activityTaskPollerBehavior,
    maxTaskQueueActivitiesPerSecond: tuning.maxTaskQueueActivitiesPerSecond,
  });
  return new RunbooksWorker(workflows, zoom);
}
