import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Incident } from '../../src/core/incident';
import { sendIncidentEvent } from '../../src/temporal/client';
import {
  incidentBridgeQuery,
  incidentEndBridgeSignal,
  incidentQuery,
  incidentWorkflowId,
  runRunbookUpdate,
  TimelineEntry,
} from '../../workflows/contract';
import { eventually, uniqueIncidentId } from '../support/stack';
import { runbook, startWorkflowEnv, WorkflowEnv } from '../support/workflow-env';

/**
 * The incident workflow's logic (workflows/incident.ts): events in any order, duplicates, the
 * lifecycle, runbooks started once, operators' calls, what a close leaves behind. On the
 * time-skipping test server with Zoom stubbed (test/support/workflow-env.ts).
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const runbooks = [
  runbook(`
name: bridge
trigger: { on: [incident.created] }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}} - Bridge" } }
  - { id: resolved, action: wait.forIncident, with: { status: [resolved, closed] } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
`),
  runbook(`
name: sync
trigger: { on: [incident.created], when: { severity: { in: [SEV1, SEV2] } } }
steps:
  - id: sync
    action: zoom.recurringMeeting
    with: { topic: "Sync {{Activity.title}}", recurrence: { every: day, at: { from: now, offset: 1 day } } }
`),
  runbook(`
name: postmortem
trigger: { on: [incident.resolved], when: { severity: { in: [SEV1, SEV2] } } }
steps:
  - id: postmortem
    action: zoom.scheduleMeeting
    with: { topic: "Postmortem: {{Activity.title}}", start: { from: resolvedAt, offset: 2 days }, onReopen: cancel }
`),
  runbook(`
name: note
trigger: { on: [incident.reopened], when: { fields.never: true } }
steps:
  - { id: say, action: timeline.post, with: { message: "Checklist for {{Activity.id}}: {{Activity.title}}" } }
`),
];

describe('the incident workflow, Zoom stubbed, on the time-skipping test server', () => {
  let w: WorkflowEnv;
  beforeAll(
    async () =>
      (w = await startWorkflowEnv({
        runbooks,
        incidentPolicy: { closeAfterResolveMs: DAY, autoCloseSources: ['pagerduty'] },
      })),
  );
  afterAll(async () => w?.stop());

  const iso = (ms: number) => new Date(ms).toISOString();
  const incidentOf = (id: string) => w.client.workflow.getHandle(incidentWorkflowId(id)).query(incidentQuery);
  const timelineWith = (id: string, match: (e: TimelineEntry) => boolean, what: string) =>
    eventually(async () => {
      const t = await w.timeline(id);
      return t.some(match) ? t : undefined;
    }, what);
  /** The meeting a runbook's step created, by the id its timeline entry names. */
  const meetingOf = async (id: string, source: string, step: string) => {
    const isIt = (e: TimelineEntry) => e.source === source && e.step === step && e.status === 'ok';
    return /\((\d+)\)/.exec((await timelineWith(id, isIt, `${source}/${step}`)).find(isIt)!.summary)![1];
  };

  describe('events in any order', () => {
    it('the same event twice, or a second create: one incident, one run, one meeting', async () => {
      const id = uniqueIncidentId();
      const event = {
        eventId: `e-${id}`,
        type: 'incident.created' as const,
        occurredAt: iso(await w.now()),
        incident: { id, title: `Twice ${id}` },
      };
      await Promise.all([1, 2].map(() => sendIncidentEvent(w.client, w.taskQueue, event)));
      await w.send(id, 'incident.created', { title: `Twice ${id}` });
      await meetingOf(id, 'bridge', 'bridge');
      await w.send(id, 'incident.resolved');
      await w.runbook(id, 'bridge').result();
      const timeline = await w.timeline(id);
      expect(w.zoom.createsFor(id)).toHaveLength(1);
      expect(timeline.filter((e) => e.source === 'incident')).toHaveLength(3);
      expect(timeline.filter((e) => e.summary === 'Runbook bridge started')).toHaveLength(1);
    });

    it('a resolve and a create with the same timestamp (a flapping alert): it stays resolved, and no bridge is opened', async () => {
      const id = uniqueIncidentId();
      const at = iso(Math.floor((await w.now()) / 1000) * 1000);
      await w.send(id, 'incident.resolved', { title: `Flapping ${id}`, severity: 'SEV3' }, at);
      await w.send(id, 'incident.created', { title: `Flapping ${id}`, severity: 'SEV3' }, at);
      await timelineWith(
        id,
        (e) => e.summary.includes('created') && e.summary.includes('already resolved'),
        'the create noted as not changing the status',
      );
      expect(await incidentOf(id)).toMatchObject({ status: 'resolved', resolvedAt: at, createdAt: at });
      await w.env.sleep('2 minutes'); // past the wait for a create
      expect((await w.timeline(id)).filter((e) => e.source === 'bridge')).toEqual([]);
      expect(w.zoom.createsFor(id)).toEqual([]);
    });

    it('a create stamped 10 minutes ahead (a fast clock) does not make the real resolve late: the bridge ends', async () => {
      const id = uniqueIncidentId();
      const now = await w.now();
      await w.send(id, 'incident.created', { title: 'Fast clock', severity: 'SEV3' }, iso(now + 10 * 60_000));
      const meetingId = await meetingOf(id, 'bridge', 'bridge');
      const resolvedAt = iso(await w.now());
      await w.send(id, 'incident.resolved', {}, resolvedAt);
      await w.runbook(id, 'bridge').result();
      expect(await incidentOf(id)).toMatchObject({ status: 'resolved', resolvedAt });
      expect(w.zoom.callsTo('endMeeting', meetingId)).toHaveLength(1);
    });

    it('a resolve before the create: runbooks wait for the create and match as of the latest state', async () => {
      const id = uniqueIncidentId();
      const now = await w.now();
      const [createdAt, resolvedAt] = [iso(now - 2 * HOUR), iso(now - HOUR)];
      // The resolve already says SEV1 (the postmortem's trigger), but the title comes with the create.
      await w.send(id, 'incident.resolved', { severity: 'SEV1' }, resolvedAt);
      await w.send(id, 'incident.created', { title: `Late create ${id}`, severity: 'SEV1' }, createdAt);
      const timeline = await timelineWith(id, (e) => e.source === 'postmortem' && e.status === 'ok', 'the postmortem');
      expect(await incidentOf(id)).toMatchObject({ status: 'resolved', severity: 'SEV1', createdAt, resolvedAt });
      expect(timeline.map((e) => e.summary)).toContain(
        `Incident ${id} created: Late create ${id} (SEV1) (arrived after a later event; its details were merged)`,
      );
      // The postmortem waited for the create, so its topic has the title.
      expect(w.zoom.createsFor(id).map((c) => c.input.topic)).toEqual([`Postmortem: Late create ${id}`]);
      // Already resolved: no bridge and no daily sync are opened for it.
      expect(timeline.filter((e) => e.source === 'bridge' || e.source === 'sync')).toEqual([]);
    });

    it('a create that never comes: the runbooks run a minute after the first event, with what is known', async () => {
      const id = uniqueIncidentId();
      await w.send(id, 'incident.resolved', { title: `Only resolved ${id}`, severity: 'SEV2' });
      const postmortem = w.runbook(id, 'postmortem');
      await w.env.sleep('30 seconds');
      await expect(postmortem.describe()).rejects.toThrow(); // still waiting for the create
      await w.env.sleep('45 seconds');
      await eventually(() => postmortem.describe(), 'the postmortem to start');
    });

    it('a partial update merges custom fields and the owner; null removes', async () => {
      const id = uniqueIncidentId();
      await w.send(id, 'incident.created', {
        title: 'Partial',
        owner: { name: 'Ana', email: 'ana@example.com' },
        fields: { service: 'checkout', region: 'eu-west-1', tier: 1 },
      });
      await w.send(id, 'incident.updated', {
        fields: { region: 'us-east-1', tier: null },
        owner: { name: 'Ana Ruiz' },
      });
      const incident = await eventually(async () => {
        const i: Incident = await incidentOf(id);
        return i.fields?.region === 'us-east-1' ? i : undefined;
      }, 'the update');
      expect(incident.fields).toEqual({ service: 'checkout', region: 'us-east-1' });
      expect(incident.owner).toEqual({ name: 'Ana Ruiz', email: 'ana@example.com' });
    });
  });

  describe('the lifecycle', () => {
    it("PagerDuty's reopen (status: triggered) reopens: the postmortem is cancelled; the source's word is kept beside", async () => {
      const id = uniqueIncidentId('PD');
      const now = await w.now();
      await w.send(
        id,
        'incident.created',
        { title: 'PD reopen', severity: 'SEV2', status: 'triggered' },
        iso(now - 2 * HOUR),
      );
      await w.send(id, 'incident.resolved', { status: 'resolved' }, iso(now - HOUR));
      const postmortem = await meetingOf(id, 'postmortem', 'postmortem');
      await w.send(id, 'incident.reopened', { status: 'triggered' });
      await timelineWith(
        id,
        (e) => e.summary === `Zoom meeting ${postmortem} cancelled: the incident was reopened`,
        'the postmortem cancelled',
      );
      expect(await incidentOf(id)).toMatchObject({ status: 'reopened', sourceStatus: 'triggered' });
      expect(w.zoom.callsTo('deleteMeeting', postmortem)).toHaveLength(1);
    });

    it('an incident whose source never closes (PagerDuty) closes a day after its resolve, and its daily sync is deleted; others stay resolved', async () => {
      const id = uniqueIncidentId('PD');
      const other = uniqueIncidentId();
      await w.send(id, 'incident.created', {
        title: 'Never closed',
        severity: 'SEV1',
        fields: { source: 'pagerduty' },
      });
      await w.send(other, 'incident.created', { title: 'Closes itself', severity: 'SEV1' });
      const [sync, otherSync] = [await meetingOf(id, 'sync', 'sync'), await meetingOf(other, 'sync', 'sync')];
      await w.send(id, 'incident.resolved');
      await w.send(other, 'incident.resolved');
      const resolvedAt = await w.now();
      await w.runbook(id, 'sync').result(); // the clock skips to the close
      expect(await incidentOf(id)).toMatchObject({ status: 'closed' });
      const timeline = await w.timeline(id);
      const closed = timeline.find((e) => e.summary.startsWith('Closed automatically'))!;
      expect(closed.summary).toMatch(/^Closed automatically: resolved at .* \(ZR_CLOSE_AFTER_RESOLVE\)$/);
      expect(Date.parse(closed.at) - resolvedAt).toBeGreaterThanOrEqual(DAY);
      expect(w.zoom.callsTo('deleteMeeting', sync)).toHaveLength(1);
      // The reason comes before what the close sets off.
      const summaries = timeline.map((e) => e.summary);
      expect(summaries.indexOf(closed.summary)).toBeLessThan(
        summaries.indexOf(`Recurring Zoom meeting ${sync} deleted: the incident is closed`),
      );
      await w.env.sleep('1 day');
      expect(await incidentOf(other)).toMatchObject({ status: 'resolved' });
      expect(w.zoom.callsTo('deleteMeeting', otherSync)).toEqual([]);
    });
  });

  describe('operators and runbooks that no longer run', () => {
    it('a terminated runbook: endBridge goes through the incident, and the close ends or deletes what it left open', async () => {
      const id = uniqueIncidentId();
      await w.send(id, 'incident.created', { title: 'Terminated', severity: 'SEV1' });
      const [bridge, sync] = [await meetingOf(id, 'bridge', 'bridge'), await meetingOf(id, 'sync', 'sync')];
      const incident = w.client.workflow.getHandle(incidentWorkflowId(id));
      expect(await incident.query(incidentBridgeQuery)).toMatchObject({ id: bridge });
      await w.runbook(id, 'bridge').terminate('operator');
      await w.runbook(id, 'sync').terminate('operator');

      await incident.signal(incidentEndBridgeSignal, { meetingId: bridge });
      await timelineWith(
        id,
        (e) => e.source === 'incident' && e.summary === `Zoom meeting ${bridge} ended by an operator`,
        'the bridge ended through the incident',
      );
      expect(w.zoom.callsTo('endMeeting', bridge)).toHaveLength(1);
      expect(await incident.query(incidentBridgeQuery)).toBeNull();

      await w.send(id, 'incident.closed');
      await timelineWith(
        id,
        (e) => e.summary === `Zoom meeting ${sync} deleted on close: its runbook sync no longer runs`,
        'the sync deleted on close',
      );
      expect(w.zoom.callsTo('deleteMeeting', sync)).toHaveLength(1);
      // The bridge was ended already: not again.
      expect(w.zoom.callsTo('endMeeting', bridge)).toHaveLength(1);
    });

    it('runRunbook runs a runbook on demand, once per request id, and names an unknown one', async () => {
      const id = uniqueIncidentId();
      await w.send(id, 'incident.created', { title: `On demand ${id}` });
      await meetingOf(id, 'bridge', 'bridge');
      const incident = w.client.workflow.getHandle(incidentWorkflowId(id));
      const first = await incident.executeUpdate(runRunbookUpdate, { args: [{ runbook: 'note', requestId: 'req-1' }] });
      expect(first).toEqual({ workflowId: `${incidentWorkflowId(id)}/note/on-demand-1` });
      await w.client.workflow.getHandle(first.workflowId).result();
      expect((await w.timeline(id)).map((e) => e.summary)).toContain(`Checklist for ${id}: On demand ${id}`);
      const retry = await incident.executeUpdate(runRunbookUpdate, { args: [{ runbook: 'note', requestId: 'req-1' }] });
      expect(retry).toEqual({ workflowId: first.workflowId, alreadyStarted: true });
      // The same update id (the `temporal` CLI's --update-id) is the request id when none is given.
      const byUpdateId = await incident.executeUpdate(runRunbookUpdate, {
        args: [{ runbook: 'note' }],
        updateId: 'op-7',
      });
      expect(
        await incident.executeUpdate(runRunbookUpdate, { args: [{ runbook: 'note' }], updateId: 'op-7' }),
      ).toMatchObject({ workflowId: byUpdateId.workflowId });
      expect(byUpdateId.workflowId).toBe(`${incidentWorkflowId(id)}/note/on-demand-2`);

      const unknown = incident.executeUpdate(runRunbookUpdate, { args: [{ runbook: 'nope' }] });
      await expect(unknown).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(unknown).rejects.toMatchObject({
        cause: { message: 'No runbook named "nope" is loaded on the worker.' },
      });
    });
  });
});
