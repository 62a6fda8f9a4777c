/**
 * Records the replay fixtures of the current workflow code: one incident (INC-REPLAY-<version>) that goes
 * through the example runbooks — recorded bridge with webhooks, attendance and recording, daily
 * sync, postmortem re-planned after a reopening — and a SEV1 escalation (someone in the waiting
 * room, the on-call phoned in, recording started and stopped, summary and transcript), exported
 * with `temporal workflow show -o json`; with them the connector's host pool and a meeting mailbox.
 *
 *   npx tsx test/support/record-histories.ts
 *
 * Record only for new workflow code paths; a change that breaks an existing fixture needs patched().
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import YAML from 'yaml';
import globalSetup from '../global-setup';
import globalTeardown from '../global-teardown';
import { getTimeline, sendIncidentEvent } from '../../src/temporal/client';
import { IncidentEvent } from '../../src/core/incident';
import { loadRunbooks } from '../../src/core/runbook-loader';
import { zoomWebhookRoutes } from '../../src/apps/serve/zoom-webhook';
import { incidentHandle } from '../../src/temporal/handles';
import {
  hostPoolWorkflowId,
  incidentWorkflowId,
  meetingMailboxWorkflowId,
  TimelineEntry,
} from '../../workflows/contract';
import { Runbook, runbookSchema } from '../../src/core/runbook';
import { eventually, startStack } from './stack';

/**
 * The workflow code's generation: v2 added the meeting lifecycle, v3 the Zoom task queue, v4 the
 * lifecycle state machine and meeting mailboxes, v5 the actions beyond peers (sev1-escalation:
 * lobby alerts, call-out, recording control, summary, transcript) and the host-pool workflow.
 */
const VERSION = 'v5';
const ID = `INC-REPLAY-${VERSION}`;
const ESCALATION_ID = `INC-REPLAY-${VERSION}-SEV1`;

/** sev1-escalation with its waits in seconds: the on-call is phoned 3 s after nobody acknowledged, a 2 s wait alerts. */
function quicker(runbook: Runbook): Runbook {
  if (runbook.name !== 'sev1-escalation') return runbook;
  let text = readFileSync(join(__dirname, '../../runbooks/sev1-escalation.yaml'), 'utf8');
  for (const [from, to] of [
    ['notAcknowledgedWithin: 5m', 'notAcknowledgedWithin: 3s'],
    ['lobbyAlertAfter: 1m', 'lobbyAlertAfter: 2s'],
  ]) {
    if (!text.includes(from)) throw new Error(`runbooks/sev1-escalation.yaml no longer says "${from}"`);
    text = text.replace(from, to);
  }
  return runbookSchema.parse(YAML.parse(text));
}
const OUT = join(__dirname, '../fixtures/histories');

async function main(): Promise<void> {
  await globalSetup();
  const stack = await startStack({
    runbooks: loadRunbooks(join(__dirname, '../../runbooks')).map((r) => quicker(r.runbook)),
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

    // The SEV1 escalation, its waits shortened (the code paths are the same).
    const sendEscalation = (type: IncidentEvent['type'], incident: Partial<IncidentEvent['incident']> = {}) =>
      sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
        eventId: `replay-${VERSION}-${++n}`,
        type,
        occurredAt: new Date().toISOString(),
        incident: { id: ESCALATION_ID, ...incident },
      });
    const escalationHas = (what: string, match: (e: TimelineEntry) => boolean) =>
      eventually(
        async () => ((await getTimeline(stack.client, ESCALATION_ID)).some(match) ? true : undefined),
        what,
        60_000,
      );
    const escalation = incidentHandle(stack.client, ESCALATION_ID).runbook('sev1-escalation');
    await sendEscalation('incident.created', {
      title: 'Replay escalation',
      severity: 'SEV1',
      owner: { email: 'ana@example.com' },
      fields: { escalate: true, oncallPhone: '+1 206 555 0100' },
    });
    await escalationHas('the escalation bridge', (e) => e.source === 'sev1-escalation' && e.step === 'share');
    const sev1Bridge = (await escalation.bridge())!.id;
    await sim(`/meetings/${sev1Bridge}/start`); // the host opens it: those waiting are admitted from inside
    const dana = (await sim(`/meetings/${sev1Bridge}/waiting-room`, { name: 'Dana Lee', email: 'dana@example.com' }))
      .data.participantId;
    await escalationHas('the lobby alert', (e) => e.summary.startsWith('Dana Lee has been waiting'));
    await sim(`/meetings/${sev1Bridge}/waiting/${dana}/admit`);
    await escalationHas('the lobby alert cleared', (e) => e.summary.startsWith('Dana Lee no longer waits'));
    await escalationHas('the call-out', (e) => e.step === 'call-oncall');
    await escalationHas('the recording', (e) => e.step === 'record');
    await sendEscalation('incident.resolved');
    await escalationHas('the bridge ended', (e) => e.source === 'sev1-escalation' && e.step === 'end');
    await sim(`/meetings/${sev1Bridge}/summary`, { overview: 'Checkout restored.' });
    await sim(`/meetings/${sev1Bridge}/recording`); // with its TRANSCRIPT file
    await escalation.workflow.result();
    await sendEscalation('incident.closed');

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
    show(escalation.workflowId, `runbook-sev1-escalation-${VERSION}.json`);
    show(meetingMailboxWorkflowId(String(sev1Bridge)), `meeting-mailbox-${VERSION}.json`);
    show(hostPoolWorkflowId('default', stack.temporal.taskQueue), `host-pool-${VERSION}.json`);
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
