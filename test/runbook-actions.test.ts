import axios from 'axios';
import YAML from 'yaml';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { loadRunbooks } from '../src/core/runbook-loader';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { StoredMeeting } from '../src/sandbox/zoom-api';
import {
  addParticipantsUpdate,
  cancelRunbookSignal,
  hostPoolQuery,
  hostPoolWorkflowId,
  incidentWorkflowId,
  TimelineEntry,
  ZoomMeetingIdsAttr,
} from '../workflows/contract';
import {
  eventually,
  receiveZoomWebhooks,
  sandboxConnector,
  Stack,
  startStack,
  uniqueIncidentId,
} from './support/stack';
import { join } from 'node:path';

/** Every action and workflow behaviour beyond the basic bridge, end to end on the dev server and the sandbox. */

const examples = loadRunbooks(join(__dirname, '../runbooks')).map((r) => r.runbook);
const runbook = (yaml: string): Runbook => runbookSchema.parse(YAML.parse(yaml));

function event(
  id: string,
  type: IncidentEvent['type'],
  incident: Partial<IncidentEvent['incident']> = {},
  occurredAt = new Date().toISOString(),
): IncidentEvent {
  return { eventId: `${id}-${type}-${occurredAt}`, type, occurredAt, incident: { id, ...incident } };
}

/** Zoom's list-meetings calls so far: how the host pool asks Zoom who is live. */
function liveLists(stack: Stack): number {
  return stack.sandbox.requests.filter((r) => r.method === 'GET' && /\/users\/[^/]+\/meetings$/.test(r.path)).length;
}

async function timelineWith(
  stack: Stack,
  id: string,
  match: (e: TimelineEntry) => boolean,
  what: string,
): Promise<TimelineEntry[]> {
  return eventually(async () => {
    const t = await getTimeline(stack.client, id);
    return t.some(match) ? t : undefined;
  }, what);
}

const meetingsWhere = (stack: Stack, match: (m: StoredMeeting) => boolean) =>
  [...stack.sandbox.state.meetings.values()].filter(match);
const SECRET_TOKEN = 'webhook-secret-for-tests';

describe('the example runbooks', () => {
  let stack: Stack;
  let stopReceiver: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    stack = await startStack({ runbooks: examples });
    stopReceiver = await receiveZoomWebhooks(stack, SECRET_TOKEN);
  });
  afterAll(async () => {
    await stopReceiver?.();
    await stack?.stop();
  });
  const sim = (path: string, body: object = {}) => axios.post(`${stack.sandbox.url}/_sandbox${path}`, body);

  it('recorded-bridge: invites, ends once the room is empty, collects attendance and the recording from webhooks', async () => {
    const id = uniqueIncidentId();
    await sendIncidentEvent(
      stack.client,
      stack.temporal.taskQueue,
      event(id, 'incident.created', {
        title: 'Payments down',
        severity: 'SEV3',
        owner: { email: 'ana@example.com' },
        responders: [{ email: 'bo@example.com' }],
        fields: { record: true },
      }),
    );
    await timelineWith(stack, id, (e) => e.source === 'recorded-bridge' && e.step === 'share', 'the recorded bridge');
    const [meeting] = meetingsWhere(stack, (m) => String(m.agenda).includes(`Incident ${id}`));
    expect(meeting.settings).toMatchObject({
      auto_recording: 'cloud',
      meeting_invitees: [{ email: 'ana@example.com' }, { email: 'bo@example.com' }],
      breakout_room: { enable: true, rooms: [{ name: 'Mitigation' }, { name: 'Communications' }] },
    });
    // Only the recorded bridge: the plain bridge runbook stays out of it.
    expect(meetingsWhere(stack, (m) => String(m.agenda).includes(`Incident ${id}`))).toHaveLength(1);
    const runbookHandle = stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/recorded-bridge`);
    expect((await runbookHandle.describe()).typedSearchAttributes.get(ZoomMeetingIdsAttr)).toEqual([
      String(meeting.id),
    ]);

    await sim(`/meetings/${meeting.id}/start`);
    const ana = (await sim(`/meetings/${meeting.id}/participants`, { name: 'Ana', email: 'ana@example.com' })).data;
    const bo = (await sim(`/meetings/${meeting.id}/participants`, { name: 'Bo', email: 'bo@example.com' })).data;
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, event(id, 'incident.resolved'));
    await timelineWith(stack, id, (e) => e.summary === 'Incident is resolved', 'the resolution');
    // People are still talking: the bridge stays up until the room is empty.
    await new Promise((r) => setTimeout(r, 1500));
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('started');
    await sim(`/meetings/${meeting.id}/participants/${ana.participantId}/leave`);
    await sim(`/meetings/${meeting.id}/participants/${bo.participantId}/leave`);
    const afterEnd = await timelineWith(stack, id, (e) => e.step === 'attendance', 'attendance');
    expect(afterEnd.find((e) => e.step === 'end')!.summary).toBe(`Zoom meeting ${meeting.id} ended`);
    expect(afterEnd.find((e) => e.step === 'attendance')!.summary).toMatch(
      new RegExp(
        `^Attendance of Zoom meeting ${meeting.id} \\(Zoom report\\): 2 people \\((Ana|Bo) \\d+ min, (Ana|Bo) \\d+ min\\)$`,
      ),
    );

    await sim(`/meetings/${meeting.id}/recording`);
    const timeline = await timelineWith(stack, id, (e) => e.step === 'recording-access', 'the recording');
    const recording = timeline.find((e) => e.step === 'recording')!;
    const stored = stack.sandbox.state.instances.find((i) => i.meetingId === meeting.id)!.recording!;
    expect(recording.links).toEqual([{ label: 'Recording', url: stored.share_url }]);
    expect(recording.summary).toMatch(/^Recording of Zoom meeting \d+ is ready \(.*MP4.*\)$/);
    expect(stored.settings).toMatchObject({ share_recording: 'internally', viewer_download: false });
    // The recording's passcode never reaches the timeline.
    expect(JSON.stringify(timeline)).not.toContain(String(stored.password));
    await runbookHandle.result();
  });

  it('recorded-bridge: invitations Zoom refuses (the host started the bridge first) go on the timeline, and the bridge is still ended and its attendance taken', async () => {
    const id = uniqueIncidentId();
    stack.sandbox.addFault({
      method: 'PATCH',
      path: '^/v2/meetings/\\d+$',
      status: 400,
      code: 3000,
      message: 'You cannot update or delete meetings that have started using this method.',
    });
    await sendIncidentEvent(
      stack.client,
      stack.temporal.taskQueue,
      event(id, 'incident.created', {
        title: 'Started early',
        owner: { email: 'ana@example.com' },
        fields: { record: true },
      }),
    );
    const shared = await timelineWith(
      stack,
      id,
      (e) => e.source === 'recorded-bridge' && e.step === 'share',
      'the recorded bridge',
    );
    expect(shared.find((e) => e.step === 'invite')).toMatchObject({
      status: 'failed',
      summary: expect.stringContaining('code 3000: You cannot update or delete meetings that have started'),
    });
    const [meeting] = meetingsWhere(stack, (m) => String(m.agenda).includes(`Incident ${id}`));
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, event(id, 'incident.resolved'));
    const timeline = await timelineWith(
      stack,
      id,
      (e) => e.source === 'recorded-bridge' && e.step === 'attendance',
      'attendance',
    );
    expect(timeline.find((e) => e.step === 'end')!.summary).toBe(`Zoom meeting ${meeting.id} ended`);
    const endCall = stack.sandbox.requests.find(
      (r) => r.method === 'PUT' && r.path === `/v2/meetings/${meeting.id}/status`,
    );
    expect(endCall).toMatchObject({ status: 204, body: { action: 'end' } });
    await stack.client.workflow
      .getHandle(`${incidentWorkflowId(id)}/recorded-bridge`)
      .signal(cancelRunbookSignal, { reason: 'test over' });
  });

  it('incident-sync: a daily recurring meeting while the incident is open, deleted when it closes', async () => {
    const id = uniqueIncidentId();
    await sendIncidentEvent(
      stack.client,
      stack.temporal.taskQueue,
      event(id, 'incident.created', { title: 'Disk pressure', severity: 'SEV2', owner: { email: 'ana@example.com' } }),
    );
    await timelineWith(stack, id, (e) => e.source === 'incident-sync' && e.step === 'share', 'the sync link');
    const [sync] = meetingsWhere(stack, (m) => String(m.agenda).includes(`Status of incident ${id}`));
    expect(sync).toMatchObject({
      type: 8,
      recurrence: { type: 1, repeat_interval: 1 },
      timezone: 'Europe/Berlin',
      duration: 30,
    });
    // 09:30 in Berlin is 08:30 UTC in winter.
    expect(sync.start_time).toMatch(/T08:30:00Z$/);
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, event(id, 'incident.resolved'));
    await new Promise((r) => setTimeout(r, 500));
    expect(stack.sandbox.state.meetings.get(sync.id)!.status).not.toBe('deleted');
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, event(id, 'incident.closed'));
    await stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/incident-sync`).result();
    expect(stack.sandbox.state.meetings.get(sync.id)?.status ?? 'deleted').toBe('deleted');
    const timeline = await getTimeline(stack.client, id);
    expect(timeline.map((e) => e.summary)).toContain(
      `Recurring Zoom meeting ${sync.id} deleted: the incident is closed`,
    );
  });
});

describe('operator calls and connector behaviour', () => {
  let stack: Stack;
  const bridgeOnly = runbook(`
name: bridge-only
trigger: { on: [incident.created] }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}}", agenda: "Incident {{Activity.id}}" } }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
`);
  // Giving up at the deadline, and polls on schedule, are proven in test/workflows/runbook.test.ts.
  const recordingPoll = runbook(`
name: recording-poll
trigger: { on: [incident.created], when: { fields.poll: true } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}}", agenda: "Poll {{Activity.id}}" } }
  - { id: recording, action: zoom.collectRecordings, with: { meeting: bridge, pollEvery: 1s, deadline: 1m } }
`);
  beforeAll(async () => {
    stack = await startStack({ runbooks: [bridgeOnly, recordingPoll] });
  });
  afterAll(async () => stack?.stop());

  async function bridgeFor(id: string, fields?: Record<string, unknown>, on = stack) {
    await sendIncidentEvent(
      on.client,
      on.temporal.taskQueue,
      event(id, 'incident.created', { title: `Bridge ${id}`, fields }),
    );
    const runbookName = fields?.poll ? 'recording-poll' : 'bridge-only';
    const handle = on.client.workflow.getHandle(`${incidentWorkflowId(id)}/${runbookName}`);
    const isBridge = (e: TimelineEntry) => e.source === runbookName && e.step === 'bridge';
    const bridge = (await timelineWith(on, id, isBridge, 'the bridge')).find(isBridge)!;
    const meetingId = bridge.summary.match(/\((\d+)\)$/)![1];
    return { handle, meeting: on.sandbox.state.meetings.get(Number(meetingId))! };
  }

  describe('with a host pool of two and a daily budget of 2 meetings per host', () => {
    let pooled: Stack;
    beforeAll(async () => {
      pooled = await startStack({
        runbooks: [bridgeOnly],
        sandbox: { rateLimits: { hostDailyLimit: 2 } },
        connectors: (sandbox) => [
          { ...sandboxConnector(sandbox), hostUsers: [sandbox.state.users[0].email, sandbox.state.users[1].email] },
        ],
      });
    });
    afterAll(async () => pooled?.stop());

    it('host pool: a new bridge goes to a host without a live meeting and with daily budget left', async () => {
      const [h1, h2] = pooled.sandbox.state.users;
      const stopReceiver = await receiveZoomWebhooks(pooled, 'host-pool-webhooks');
      const a = await bridgeFor(uniqueIncidentId(), undefined, pooled);
      const b = await bridgeFor(uniqueIncidentId(), undefined, pooled);
      expect([a.meeting.host_id, b.meeting.host_id]).toEqual([h1.id, h2.id]);
      const listsBefore = liveLists(pooled);
      await axios.post(`${pooled.sandbox.url}/_sandbox/meetings/${a.meeting.id}/start`);
      // h1 is on a call (Zoom's meeting.started says so): the next bridge goes to h2 though it is h1's turn,
      // and nobody asks Zoom who is live.
      const hostPool = pooled.client.workflow.getHandle(hostPoolWorkflowId('default', pooled.temporal.taskQueue));
      await eventually(
        async () =>
          (await hostPool.query(hostPoolQuery)).hosts[h1.email].live[String(a.meeting.id)] ? true : undefined,
        'the host pool told of the start',
      );
      const c = await bridgeFor(uniqueIncidentId(), undefined, pooled);
      expect(c.meeting.host_id).toBe(h2.id);
      expect(liveLists(pooled)).toBe(listsBefore);
      await stopReceiver();
      // h1 is live, h2 only holds bridges: h2 is asked, but has spent its budget (2 a day here): Zoom says
      // so, and the bridge goes to h1 after all.
      const d = await bridgeFor(uniqueIncidentId(), undefined, pooled);
      expect(d.meeting.host_id).toBe(h1.id);
      const bridges = [a, b, c, d].map((x) => x.meeting.id);
      expect(new Set(bridges).size).toBe(4);
      // Zoom says each host has spent its budget (2 a day here): the step fails at once with what to do,
      // instead of retrying until midnight.
      // (Within 15 minutes of midnight UTC it waits for the budget's reset instead, by design.)
      const toMidnightMs = 86_400_000 - (Date.now() % 86_400_000);
      if (toMidnightMs > 16 * 60_000) {
        const e = uniqueIncidentId();
        await sendIncidentEvent(
          pooled.client,
          pooled.temporal.taskQueue,
          event(e, 'incident.created', { title: 'Fifth' }),
        );
        const failed = await timelineWith(pooled, e, (x) => x.step === 'bridge', 'the failure');
        expect(failed.find((x) => x.step === 'bridge')!.summary).toMatch(
          /^Step bridge failed: Every host of this connector \(2\) is out of Zoom's daily meeting create\/update budget\. Hint: add hosts to ZOOM_HOST_USER/,
        );
      }
    });
  });

  it('addParticipants update invites people to the bridge; bad addresses are refused with a clear error', async () => {
    const id = uniqueIncidentId();
    const { handle, meeting } = await bridgeFor(id);
    const result = await handle.executeUpdate(addParticipantsUpdate, {
      args: [{ emails: ['cy@example.com', 'dee@example.com'] }],
    });
    expect(result).toEqual({
      meetingId: String(meeting.id),
      invitees: ['cy@example.com', 'dee@example.com'],
      alternativeHosts: [],
    });
    expect(stack.sandbox.state.meetings.get(meeting.id)!.settings).toMatchObject({
      meeting_invitees: [{ email: 'cy@example.com' }, { email: 'dee@example.com' }],
    });
    await expect(
      handle.executeUpdate(addParticipantsUpdate, { args: [{ emails: ['not-an-email'] }] }),
    ).rejects.toMatchObject({
      cause: { message: 'addParticipants: emails: not email addresses: "not-an-email"' },
    });
    const timeline = await timelineWith(
      stack,
      id,
      (e) => e.summary.startsWith('Added to Zoom meeting'),
      'the timeline entry',
    );
    expect(timeline.filter((e) => e.summary.startsWith('Added to Zoom meeting'))).toHaveLength(1);
  });

  it('collectRecordings polls Zoom when no webhook comes, and takes the recording Zoom has', async () => {
    const found = uniqueIncidentId();
    const { handle, meeting } = await bridgeFor(found, { poll: true });
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/start`);
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/end`);
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/recording`);
    await handle.result();
    const entry = (await getTimeline(stack.client, found)).find((e) => e.step === 'recording')!;
    expect(entry.summary).toMatch(/is ready/);
    expect(entry.links![0].url).toBe(
      stack.sandbox.state.instances.find((i) => i.meetingId === meeting.id)!.recording!.share_url,
    );
  });
});

describe('an uninstalled Zoom app (app_deauthorized)', () => {
  let stack: Stack;
  let stopReceiver: (() => Promise<void>) | undefined;
  // A connector of its own: disabling it must not touch other tests on the shared dev server.
  const name = `deauth-${Math.random().toString(36).slice(2, 8)}`;
  const bridge = runbook(`
name: bridge-${name}
connector: ${name}
trigger: { on: [incident.created] }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}}" } }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
`);
  beforeAll(async () => {
    stack = await startStack({ runbooks: [bridge], connectors: (sandbox) => [sandboxConnector(sandbox, name)] });
    stopReceiver = await receiveZoomWebhooks(stack, SECRET_TOKEN, name);
  });
  afterAll(async () => {
    await stopReceiver?.();
    await stack?.stop();
  });
  const open = (id: string) =>
    sendIncidentEvent(stack.client, stack.temporal.taskQueue, event(id, 'incident.created', { title: `Outage ${id}` }));
  const stepEntry = (id: string, step: string) =>
    timelineWith(stack, id, (e) => e.step === step, `step ${step}`).then((t) => t.find((e) => e.step === step)!);
  const disabledMessage = `Zoom connector ${name} is disabled (app uninstalled)`;

  it('disables the connector at once: running runbooks and new runs fail their Zoom steps saying so; enabling restores it', async () => {
    const running = uniqueIncidentId();
    await open(running);
    expect((await stepEntry(running, 'bridge')).status).toBe('ok');

    await axios.post(`${stack.sandbox.url}/_sandbox/deauthorize`);
    const connector = stack.client.workflow.getHandle(`zoom-connector-${name}`);
    expect(await connector.query<{ disabled?: string; authorised: boolean }>('connectorStatus')).toMatchObject({
      authorised: false,
      disabled: expect.stringMatching(/^app uninstalled at /),
    });
    await new Promise((r) => setTimeout(r, 2100)); // workers re-read the connector's state every 2 s

    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, event(running, 'incident.resolved'));
    expect((await stepEntry(running, 'end')).summary).toContain(`Step end failed: ${disabledMessage}`);
    const fresh = uniqueIncidentId();
    await open(fresh);
    const failed = await stepEntry(fresh, 'bridge');
    expect(failed).toMatchObject({ status: 'failed', summary: expect.stringContaining(disabledMessage) });
    expect(meetingsWhere(stack, (m) => m.topic === `Outage ${fresh}`)).toHaveLength(0);

    await connector.signal('enable');
    await new Promise((r) => setTimeout(r, 2100));
    const restored = uniqueIncidentId();
    await open(restored);
    expect((await stepEntry(restored, 'bridge')).status).toBe('ok');
  });
});
