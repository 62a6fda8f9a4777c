/**
 * The benchmark's worker, in a process of its own (as in production), so its memory and CPU are
 * measured apart from the load generator, the intake and the Zoom sandbox. Started by
 * worker-handle.ts with its spec in ZR_BENCH_WORKER; reports samples over IPC, and serves /readyz
 * on ZR_HEALTH_PORT as `zoom-runbooks worker` does (src/apps/dev-stack waits for it). SIGTERM
 * drains it (the Temporal runtime's default shutdown signals).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverter } from '../../src/temporal/connection';
import { TemporalConfig } from '../../src/platform/config';
import { loadRunbooks } from '../../src/core/runbook-loader';
import { createWorker, zoomConnector } from '../../src/apps/worker';
import { startHealthServer } from '../../src/platform/observability';
import { HostPool } from '../../src/zoom/host-pool';
import { createFloorWorker } from '../floor/worker';
import type { WorkerSpec, WorkerMessage, WorkerSample } from './worker-handle';

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.ZR_BENCH_WORKER ?? '') as WorkerSpec;
  const send = (m: WorkerMessage) => process.send?.(m);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: spec.address });
  const temporal: TemporalConfig = {
    address: spec.address,
    namespace: 'default',
    taskQueue: spec.taskQueue,
    payloadKeys: spec.payloadKey
      ? { current: { id: 'bench', key: Buffer.from(spec.payloadKey, 'base64') } }
      : undefined,
  };
  const runbooks = loadRunbooks(spec.runbooksDir).map((r) => r.runbook);
  const workflowBundle = { codePath: spec.bundlePath };
  // DIAGNOSTIC (hostPool 'unmetered'): the same worker, with the unmetered host pool below.
  const zoomConnectors =
    spec.hostPool === 'shipped'
      ? undefined
      : new Map([
          [
            spec.connector.name,
            {
              ...zoomConnector(spec.connector),
              hosts: unmeteredPool(spec.connector.hostUsers ?? [spec.connector.hostUser]),
            },
          ],
        ]);
  // As `zoom-runbooks worker` has it (src/apps/cli/servers.ts): meeting mailboxes and the connector gate run.
  const client = spec.client
    ? new Client({
        connection: await Connection.connect({ address: spec.address }),
        dataConverter: dataConverter(temporal),
      })
    : undefined;
  const worker = await createWorker({
    connection,
    client,
    temporal,
    connectors: [spec.connector],
    runbooks,
    workflowBundle,
    tuning: spec.preset.options,
    zoomConnectors,
  });
  // Temporal's floor beside the product, in the same process (bench/floor.ts): same CPU, same connection.
  const floor =
    spec.floor && (await createFloorWorker(connection, temporal, spec.connector, spec.floor, spec.preset.options));
  const running = () => worker.getState() === 'RUNNING' && (!floor || floor.getState() === 'RUNNING');
  const o = worker.workflows.options;
  send({
    type: 'ready',
    effective: {
      maxCachedWorkflows: o.maxCachedWorkflows,
      workflowTaskPollerBehavior: o.workflowTaskPollerBehavior,
      activityTaskPollerBehavior: o.activityTaskPollerBehavior,
      tuner: o.tuner,
      maxTaskQueueActivitiesPerSecond: worker.zoom.options.maxTaskQueueActivitiesPerSecond,
      maxActivitiesPerSecond: o.maxActivitiesPerSecond,
      heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
    },
  });

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const sample = (): WorkerSample => {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    const [status, zoomStatus] = [worker.workflows.getStatus(), worker.zoom.getStatus()];
    const s: WorkerSample = {
      t: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      cpuMs: (cpu.user + cpu.system) / 1000,
      cachedWorkflows: status.numCachedWorkflows,
      inFlightActivities: status.numInFlightActivities + zoomStatus.numInFlightActivities,
      eventLoopP99Ms: lag.percentile(99) / 1e6,
      eventLoopMaxMs: lag.max / 1e6,
    };
    lag.reset();
    return s;
  };
  const timer = setInterval(() => send({ type: 'sample', sample: sample() }), spec.sampleMs);

  process.on('message', (m: { type: string }) => {
    if (m?.type === 'gc' && global.gc) {
      global.gc();
      send({ type: 'sample', sample: sample() });
    }
  });
  process.on('disconnect', () => {
    worker.shutdown();
    floor?.shutdown();
  });

  const health = await startHealthServer({
    port: Number(process.env.ZR_HEALTH_PORT),
    host: process.env.ZR_HEALTH_HOST,
    ready: running,
  });
  try {
    // Either stopping (a SIGTERM drains both) ends the process.
    await Promise.all([worker.run(), floor?.run()]);
  } finally {
    clearInterval(timer);
    send({ type: 'sample', sample: sample() });
    await health.close();
    await client?.connection.close();
    await connection.close();
  }
}

/**
 * DIAGNOSTIC ONLY (never the default): a host pool that rotates hosts knowing nothing: no budget,
 * no idea who is live, no host-pool workflow (the shipped pool asks that workflow per bridge, and
 * Zoom when its knowledge is stale). Shows what the knowledge costs.
 */
function unmeteredPool(hosts: string[]): HostPool {
  let next = 0;
  return new HostPool(hosts, {
    lease: async () => ({ host: hosts[next++ % hosts.length] }),
    created: async () => undefined,
    spent: async () => undefined,
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    // Its last lines are in the error its starter reports.
    console.error(err);
    process.exit(1);
  },
);
