/**
 * Records the replay fixtures of the current workflow code: one incident (INC-REPLAY-<version>) that goes
 * through every example runbook — recorded bridge with webhooks, attendance and recording, daily
 * sync, postmortem re-planned after a reopening — exported with `temporal workflow show -o json`.
 *
 *   npx tsx test/support/record-histories.ts
 *
 * Record only for new workflow code paths; a change that breaks an existing fixture needs patched().
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import globalSetup from '../global-setup';
import globalTeardown from '../global-teardown';
import { getTimeline, sendIncidentEvent } from '../../src/temporal/client';
import { IncidentEvent } from '../../src/core/incident';
import { loadRunbooks } from '../../src/core/runbook-loader';
import { zoomWebhookRoutes } from '../../src/apps/serve/zoom-webhook';
import { incidentHandle } from '../../src/temporal/handles';
import { incidentWorkflowId, TimelineEntry } from '../../workflows/contract';
import { eventually, startStack } from './stack';

/** The workflow code's generation: v2 added the meeting lifecycle, v3 the Zoom task queue, v4 the lifecycle state machine and meeting mailboxes. */
const VERSION = 'v4';
const ID = `INC-REPLAY-${VERSION}`;
const OUT = join(__dirname, '../fixtures/histories');

async function main(): Promise<void> {
  await globalSetup();
  const stack = await startStack({
    runbooks: loadRunbooks(join(__dirname, '../../runbooks')).map((r) => r.runbook),
    encrypt: false,
  });
  const [route] = zoomWebhookRoutes({
    client: stack.client,
    secretToken: 'record-histories',
    taskQueue: stack.temporal.taskQueue,
    connectors: [],
  });
  const receiver = createServer(
    (req, res) => void Promise.resolve(route.handle(req, res, {})).catch(() => res.writeHead(500).end()),
  );
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const sim = (path: string, body: object = {}) => axios.post(`${stack.sandbox.url}/_sandbox${path}`, body);
  await sim('/webhooks', {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/zoom/webhook`,
    secretToken: 'record-histories',
  });

  let n = 0;
  const send = (type: IncidentEvent['type'], incident: Partial<IncidentEvent['incident']> = {}) =>
    sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
      eventId: `replay-${VERSION}-${++n}`,
      type,
      occurredAt: new Date().toISOString(),
      incident: { id: ID, ...incident },
    });
  const until = (what: string, match: (e: TimelineEntry) => boolean) =>
    eventually(async () => ((await getTimeline(stack.client, ID)).some(match) ? true : undefined), what, 60_000);
  const runbook = (name: string) => incidentHandle(stack.client, ID).runbook(name);

  try {
    await send('incident.created', {
      title: 'Replay fixture',
      severity: 'SEV2',
      owner: { email: 'ana@example.com' },
      responders: [{ email: 'bo@example.com' }],
      fields: { record: true },
    });
    await until('the recorded bridge', (e) => e.source === 'recorded-bridge' && e.step === 'share');
    await until('the daily sync', (e) => e.source === 'incident-sync' && e.step === 'share');
    const bridge = (await runbook('recorded-bridge').bridge())!.id;
    await runbook('recorded-bridge').addParticipants({ emails: ['cy@example.com'] });
    await sim(`/meetings/${bridge}/start`);
    const ana = (await sim(`/meetings/${bridge}/participants`, { name: 'Ana', email: 'ana@example.com' })).data
      .participantId;

    await send('incident.resolved');
    await until('the postmortem', (e) => e.source === 'postmortem' && e.step === 'share');
    await sim(`/meetings/${bridge}/participants/${ana}/leave`);
    await until('attendance', (e) => e.step === 'attendance');
    await sim(`/meetings/${bridge}/recording`);
    await runbook('recorded-bridge').workflow.result();

    await send('incident.reopened');
    await until('the postmortem to be cancelled', (e) => e.source === 'postmortem' && e.summary.includes('cancelled'));
    await send('incident.resolved');
    await until('the postmortem to be re-planned', (e) => e.summary.startsWith('Re-planned:'));
    await send('incident.closed');
    await runbook('incident-sync').workflow.result();

    const cli = process.env.ZR_TEST_TEMPORAL_CLI!;
    const show = (workflowId: string, file: string) => {
      const json = execFileSync(
        cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--address',
          process.env.ZR_TEST_TEMPORAL_ADDRESS!,
          '-o',
          'json',
        ],
        { maxBuffer: 64 << 20 },
      );
      writeFileSync(join(OUT, file), json);
      console.log(`recorded ${workflowId} -> ${file}`);
    };
    // Beside the fixtures of earlier code (kept: running workflows of that code must replay too).
    show(incidentWorkflowId(ID), `incident-workflow-${VERSION}.json`);
    show(runbook('recorded-bridge').workflowId, `runbook-recorded-bridge-${VERSION}.json`);
    show(runbook('incident-sync').workflowId, `runbook-incident-sync-${VERSION}.json`);
    show(runbook('postmortem').workflowId, `runbook-postmortem-replan-${VERSION}.json`);
  } finally {
    receiver.close();
    await stack.stop();
    await globalTeardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
