import { existsSync } from 'node:fs';
import { ConfigError, incidentPolicy, temporalConfig, workerTuning, zoomConnectorConfig } from '../../platform/config';
import { codecRoutes } from '../codec-server';
import { installRuntime, observabilityFromEnv, startHealthServer, zoomMetrics } from '../../platform/observability';
import { payloadKeysRequired, PayloadKeyError } from '../../temporal/codec';
import { loadRunbooks } from '../../core/runbook-loader';
import { ZoomSandbox } from '../../sandbox/server';
import {
  createServeApp,
  intakeAuthFromEnv,
  IntakeAuthenticator,
  Route,
  serveListenFromEnv,
  startServe,
} from '../serve';
import { zoomWebhookRoutes } from '../serve/zoom-webhook';
import { CALLBACK_PATH, oauthInstallRoutes } from '../serve/oauth-install';
import { SecretBox } from '../../platform/secrets';
import { connectClient, connectWorker, untilReachable } from '../../temporal/connection';
import { createWorker, RunbooksWorker } from '../worker';
import { zoomTaskQueue } from '../../../workflows/contract';
import { connect } from './runtime';
import { CliError, progress, runbooksDir, untilStopped } from './shared';

export async function runWorker(): Promise<void> {
  const temporal = temporalConfig();
  const zoom = zoomConnectorConfig();
  const runbooks = loadRunbooks(runbooksDir()).map((r) => r.runbook);
  // User-OAuth connectors get their tokens from the connector workflow, through a client.
  const secrets = zoom.auth === 'user' ? SecretBox.fromEnv() : undefined;
  const observability = observabilityFromEnv();
  const healthPort = process.env.ZR_HEALTH_PORT ? Number(process.env.ZR_HEALTH_PORT) : undefined;
  if (healthPort !== undefined && !(Number.isInteger(healthPort) && healthPort >= 0 && healthPort < 65536))
    throw new ConfigError(`ZR_HEALTH_PORT must be a port number; got "${process.env.ZR_HEALTH_PORT}".`);
  const tuning = workerTuning();
  // A bundle built ahead (`npm run bundle`): a restarted worker polls in a second instead of bundling again.
  const workflowBundle = process.env.ZR_WORKFLOW_BUNDLE ? { codePath: process.env.ZR_WORKFLOW_BUNDLE } : undefined;
  if (workflowBundle && !existsSync(workflowBundle.codePath))
    throw new ConfigError(
      `ZR_WORKFLOW_BUNDLE names a file that does not exist: ${workflowBundle.codePath}. Build it with: npm run bundle`,
    );
  const runtime = installRuntime(observability);
  progress(`connecting to Temporal at ${temporal.address} (namespace ${temporal.namespace})…`);
  // The client also tells the worker when a connector's Zoom app was uninstalled.
  const waitS = process.env.ZR_TEMPORAL_WAIT ? Number(process.env.ZR_TEMPORAL_WAIT) : 60;
  if (!(Number.isFinite(waitS) && waitS >= 0))
    throw new ConfigError(`ZR_TEMPORAL_WAIT must be a number of seconds; got "${process.env.ZR_TEMPORAL_WAIT}".`);
  const retrying = (reason: string) => progress(`${reason} Trying again for up to ${waitS} s…`);
  const client = await untilReachable(() => connectClient(temporal), waitS * 1000, retrying);
  const connection = await untilReachable(() => connectWorker(temporal), waitS * 1000, retrying);
  let worker: RunbooksWorker | undefined;
  // Alive from now on; ready while the pollers run (the worker is RUNNING), not while it bundles or drains.
  const health =
    healthPort === undefined
      ? undefined
      : await startHealthServer({
          port: healthPort,
          host: process.env.ZR_HEALTH_HOST,
          ready: () => worker?.getState() === 'RUNNING',
        });
  try {
    worker = await createWorker({
      connection,
      temporal,
      connectors: [zoom],
      client,
      secrets,
      runbooks,
      zoomObserver: zoomMetrics(runtime.metricMeter),
      tuning,
      workflowBundle,
      incidentPolicy: incidentPolicy(),
    });
    console.log(
      `Worker polling task queue "${temporal.taskQueue}" (Zoom calls on "${zoomTaskQueue(temporal.taskQueue)}") on ${temporal.address} (namespace ${temporal.namespace}); Zoom API ${zoom.apiUrl}; runbooks: ${runbooks.map((r) => r.name).join(', ')}` +
        (observability.metricsAddress ? `; metrics http://${observability.metricsAddress}/metrics` : '') +
        (health ? `; health ${health.url}/readyz` : ''),
    );
    await worker.run();
  } finally {
    await health?.close();
    await connection.close();
    await client.connection.close();
  }
}

export async function runSandbox(opts: { port: number; host: string }): Promise<void> {
  const sandbox = new ZoomSandbox({ port: opts.port, host: opts.host });
  const url = await sandbox.start();
  const c = sandbox.state.credentials;
  console.log(`Zoom sandbox on ${url}
  ZOOM_API_URL=${url}/v2 ZOOM_TOKEN_URL=${url}/oauth/token
  ZOOM_ACCOUNT_ID=${c.accountId} ZOOM_CLIENT_ID=${c.clientId} ZOOM_CLIENT_SECRET=<the sandbox's> ZOOM_HOST_USER=${sandbox.state.users[0].email}
  Inspect: ${url}/_sandbox/meetings  ${url}/_sandbox/requests`);
  await untilStopped();
  await sandbox.stop();
}

export async function runServe(opts: { port?: number; host?: string }): Promise<void> {
  const env = process.env;
  const listen = serveListenFromEnv();
  // Read every setting before connecting, so a misconfiguration fails fast.
  const auth = new IntakeAuthenticator(intakeAuthFromEnv());
  const { client, temporal } = await connect();
  const routes: Route[] = [];
  if (env.ZOOM_WEBHOOK_SECRET_TOKEN) {
    // An app_deauthorized names the app by client id; serve needs no other Zoom credentials.
    const connectors = env.ZOOM_CLIENT_ID ? [{ name: 'default', clientId: env.ZOOM_CLIENT_ID }] : [];
    routes.push(
      ...zoomWebhookRoutes({
        client,
        secretToken: env.ZOOM_WEBHOOK_SECRET_TOKEN,
        taskQueue: temporal.taskQueue,
        connectors,
      }),
    );
  }
  // The browser install flow of a user-OAuth app, when serve has a public address for its callback.
  if (env.ZR_PUBLIC_URL && env.ZOOM_AUTH === 'user') {
    routes.push(
      ...oauthInstallRoutes({
        client,
        taskQueue: temporal.taskQueue,
        secrets: SecretBox.fromEnv(),
        connector: zoomConnectorConfig(),
        redirectUri: new URL(CALLBACK_PATH, env.ZR_PUBLIC_URL).toString(),
        authorizeUrl: env.ZOOM_AUTHORIZE_URL || undefined,
      }),
    );
  }
  const ring = temporal.payloadKeys;
  if (ring) {
    // As src/apps/codec-server.ts: in production the codec must not become an open decryption service.
    if (payloadKeysRequired(env) && !env.ZR_CODEC_TOKEN)
      throw new PayloadKeyError('ZR_CODEC_TOKEN is required with NODE_ENV=production.');
    const origins = env.ZR_CODEC_ORIGINS?.split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    routes.push(
      ...codecRoutes({ ring, token: env.ZR_CODEC_TOKEN || undefined, origins: origins?.length ? origins : undefined }),
    );
  }
  // serve's own metrics (answers by route and status) on ZR_METRICS_ADDRESS, through a Temporal runtime.
  const observability = observabilityFromEnv();
  const meter = observability.metricsAddress ? installRuntime(observability).metricMeter : undefined;
  const options = { client, taskQueue: temporal.taskQueue, auth, routes, meter };
  const port = opts.port ?? listen.port;
  const host = opts.host ?? listen.host;
  const server = await startServe({ ...options, port, host }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE'
      ? new CliError(`Cannot listen on ${host}:${port}: the port is in use (--port or ZR_SERVE_PORT).`)
      : err;
  });
  console.log(`Serving on ${server.url} (task queue "${temporal.taskQueue}")`);
  // The same routes the server built; listing them costs one more router, never used.
  for (const r of createServeApp(options).routes)
    console.log(`  ${r.method.padEnd(7)} ${server.url}${typeof r.path === 'string' ? r.path : String(r.path)}`);
  if (!env.ZOOM_WEBHOOK_SECRET_TOKEN) console.log('  (Zoom webhooks off: set ZOOM_WEBHOOK_SECRET_TOKEN)');
  if (!ring) console.log('  (codec off: set ZR_PAYLOAD_KEYS)');
  const signal = await untilStopped();
  progress(`${signal}: stopping…`);
  await server.close();
  await client.connection.close();
}
