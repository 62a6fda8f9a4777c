import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities, ZoomConnector } from '../activities';
import { attemptSignal } from '../activities/attempt';
import type { RunbookDefinition } from '../workflows/definitions';
import { Client } from '@temporalio/client';
import { ConfigError, TemporalConfig, workerTuning, WorkerTuning, ZoomConnectorConfig } from './config';
import { ConnectorGate, WorkflowTokenOwner } from './connectors';
import { dataConverter } from './temporal';
import { SecretBox } from './secrets';
import { ServerToServerTokenProvider, TokenProvider } from './zoom/auth';
import { TokenOwner, UserOAuthTokenProvider } from './zoom/user-oauth';
import { ZoomClient } from './zoom/client';
import { AccountRateLimiter } from './zoom/rate-limiter';
import { HostPool } from './zoom/host-pool';
import type { ZoomCallObserver } from './observability';

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
}

/** A connector's Zoom client; user-OAuth connectors get their tokens from `owner`. */
export function zoomConnector(cfg: ZoomConnectorConfig, owner?: TokenOwner, observer?: ZoomCallObserver): ZoomConnector {
  let tokens: TokenProvider;
  if (cfg.auth === 'user') {
    if (!owner) throw new ConfigError(`Zoom connector ${cfg.name} uses user OAuth and needs its token owner (the connector workflow).`);
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
  return { name: cfg.name, hosts: new HostPool(cfg.hostUsers ?? [cfg.hostUser]), tokens, client: new ZoomClient({ apiUrl: cfg.apiUrl, tokens, pacer, observer, signal: attemptSignal }) };
}

export function createWorker(setup: WorkerSetup): Promise<Worker> {
  const userConnectors = setup.connectors.filter((c) => c.auth === 'user');
  if (userConnectors.length && (!setup.client || !setup.secrets)) throw new ConfigError('User-OAuth Zoom connectors need a Temporal client and ZR_SECRETS_KEY.');
  const owner = (name: string) => (setup.client && setup.secrets ? new WorkflowTokenOwner(setup.client, name, setup.secrets) : undefined);
  const activities = createActivities({
    connectors: new Map(setup.connectors.map((c) => [c.name, zoomConnector(c, owner(c.name), setup.zoomObserver)])),
    runbooks: setup.runbooks,
    oauthApps: new Map(userConnectors.map((c) => [c.name, { tokenUrl: c.tokenUrl, clientId: c.clientId, clientSecret: c.clientSecret }])),
    secrets: setup.secrets,
    gate: setup.client && new ConnectorGate(setup.client),
  });
  return Worker.create({
    connection: setup.connection,
    namespace: setup.temporal.namespace,
    taskQueue: setup.temporal.taskQueue,
    dataConverter: dataConverter(setup.temporal),
    activities,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    ...workerTuning({}),
    ...setup.tuning,
  });
}
