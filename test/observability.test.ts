import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import axios from 'axios';
import { Client, Connection } from '@temporalio/client';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { ZoomSandbox } from '../src/sandbox/server';
import { dataConverter } from '../src/temporal/connection';
import { eventually, testTemporalAddress, uniqueIncidentId } from './support/stack';
import { freePort } from '../src/apps/dev-stack/ports';

/**
 * The worker as operators run it (`zoom-runbooks worker`, its own process): Prometheus metrics
 * with Temporal's and ours, health endpoints, and JSON log lines that name incident, runbook and step.
 */
describe('worker metrics, health and logs', () => {
  let sandbox: ZoomSandbox;
  let worker: ChildProcess;
  let client: Client;
  let output = '';
  let stdout = '';
  let metricsUrl: string;
  let healthUrl: string;
  const taskQueue = `observability-${randomUUID()}`;
  const keys = `obs:${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    healthUrl = `http://127.0.0.1:${healthPort}`;
    const c = sandbox.state.credentials;
    worker = spawn(join(__dirname, '../bin/zoom-runbooks'), ['worker'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: testTemporalAddress(),
        ZR_TASK_QUEUE: taskQueue,
        ZR_PAYLOAD_KEYS: keys,
        ZOOM_API_URL: `${sandbox.url}/v2`,
        ZOOM_TOKEN_URL: `${sandbox.url}/oauth/token`,
        ZOOM_ACCOUNT_ID: c.accountId,
        ZOOM_CLIENT_ID: c.clientId,
        ZOOM_CLIENT_SECRET: c.clientSecret,
        ZOOM_HOST_USER: sandbox.state.users[0].email,
        ZR_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
        ZR_HEALTH_PORT: String(healthPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      stdout += d.toString();
    });
    worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const config = {
      address: testTemporalAddress(),
      namespace: 'default',
      taskQueue,
      payloadKeys: { current: { id: 'obs', key: Buffer.from(keys.split(':')[1], 'base64') } },
    };
    client = new Client({
      connection: await Connection.connect({ address: config.address }),
      dataConverter: dataConverter(config),
    });
  }, 60_000);
  afterAll(async () => {
    worker?.kill('SIGTERM');
    await new Promise((r) => (worker?.exitCode !== null ? r(undefined) : worker.once('exit', r)));
    await client?.connection.close();
    await sandbox?.stop();
  });

  it('is ready once polling, then reports Zoom calls, bridges and Temporal metrics, and logs JSON lines with incident, runbook and step', async () => {
    expect(await eventually(async () => (await axios.get(`${healthUrl}/healthz`)).data, 'liveness')).toEqual({
      ok: true,
    });
    await eventually(
      async () => ((await axios.get(`${healthUrl}/readyz`)).status === 200 ? true : undefined),
      'readiness',
      60_000,
    );

    const id = uniqueIncidentId();
    await sendIncidentEvent(client, taskQueue, {
      eventId: `${id}-1`,
      type: 'incident.created',
      occurredAt: new Date().toISOString(),
      incident: { id, title: 'Metrics', severity: 'SEV3' },
    });
    await eventually(async () => (await getTimeline(client, id)).find((e) => e.step === 'share'), 'the bridge', 60_000);

    const metrics = await eventually(async () => {
      const text = (await axios.get(metricsUrl)).data as string;
      return /zoom_runbooks_bridges_opened_total\{[^}]*\} 1/.test(text) ? text : undefined;
    }, 'the bridge metric');
    expect(metrics).toMatch(/zoom_runbooks_zoom_calls_total\{[^}]*operation="createMeeting"[^}]*outcome="ok"[^}]*\} 1/);
    expect(metrics).toMatch(/zoom_runbooks_zoom_call_latency_bucket\{[^}]*operation="createMeeting"/);
    expect(metrics).toMatch(/zoom_runbooks_zoom_token_requests_total\{[^}]*kind="client_credentials"[^}]*\} 1/);
    expect(metrics).toMatch(/zoom_runbooks_time_to_bridge_bucket\{/);
    expect(metrics).toMatch(
      /^temporal_workflow_completed_total|^temporal_activity_execution_latency|^temporal_worker_task_slots_available/m,
    );

    // Complete lines of stdout only: a chunk may end mid-line, and stderr has the CLI's progress.
    const jsonLines = () =>
      stdout
        .split('\n')
        .slice(0, -1)
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const step = await eventually(
      async () => jsonLines().find((l) => l.msg === 'Step bridge done'),
      "the step's log line",
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the worker wrote:\n${output.slice(-4000)}`);
    });
    const lines = jsonLines();
    expect(step).toMatchObject({
      level: 'INFO',
      incidentId: id,
      runbook: 'incident-bridge',
      step: 'bridge',
      action: 'zoom.createMeeting',
      status: 'ok',
    });
    expect(typeof step!.time).toBe('string');
    // Activity lines carry the workflow id, which names the incident and runbook.
    expect(lines.some((l) => l.activityType === 'createMeeting' && String(l.workflowId).includes(id))).toBe(
      lines.some((l) => l.activityType === 'createMeeting'),
    );
    // No secret of the sandbox in the output.
    expect(output).not.toContain(sandbox.state.credentials.clientSecret);
    // The Zoom queue's worker has no workflows by design; the SDK's warning about it stays below INFO.
    expect(output).not.toContain('No workflows registered');
    for (const token of sandbox.state.tokens.keys()) expect(output).not.toContain(token);
  });
});
