import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities, ZoomConnector } from '../activities';
import type { RunbookDefinition } from '../workflows/definitions';
import { TemporalConfig, ZoomConnectorConfig } from './config';
import { DEFAULT_RUNBOOK } from './runbook';
import { ServerToServerTokenProvider } from './zoom/auth';
import { ZoomClient } from './zoom/client';
import { AccountRateLimiter } from './zoom/rate-limiter';

export interface WorkerSetup {
  connection: NativeConnection;
  temporal: TemporalConfig;
  connectors: ZoomConnectorConfig[];
  runbooks?: RunbookDefinition[];
  /** A prebuilt bundle (tests, production); else workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export function zoomConnector(cfg: ZoomConnectorConfig): ZoomConnector {
  const tokens = new ServerToServerTokenProvider({ accountId: cfg.accountId, clientId: cfg.clientId, clientSecret: cfg.clientSecret, tokenUrl: cfg.tokenUrl });
  // One pacer per connector: Zoom's per-second limits are per account, shared by every call we make.
  const pacer = new AccountRateLimiter({ plan: cfg.plan });
  return { name: cfg.name, hostUser: cfg.hostUser, tokens, client: new ZoomClient({ apiUrl: cfg.apiUrl, tokens, pacer }) };
}

export function createWorker(setup: WorkerSetup): Promise<Worker> {
  const activities = createActivities({
    connectors: new Map(setup.connectors.map((c) => [c.name, zoomConnector(c)])),
    runbooks: setup.runbooks ?? [DEFAULT_RUNBOOK],
  });
  return Worker.create({
    connection: setup.connection,
    namespace: setup.temporal.namespace,
    taskQueue: setup.temporal.taskQueue,
    activities,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
  });
}
