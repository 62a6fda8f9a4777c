import { join } from 'node:path';
import axios from 'axios';
import YAML from 'yaml';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { loadRunbooks } from '../src/core/runbook-loader';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { StoredMeeting } from '../src/sandbox/zoom-api';
import { idempotencyMarker } from '../activities';
import {
  incidentWorkflowId,
  meetingMailboxWorkflowId,
  TimelineEntry,
  zoomMeetingEventSignal,
} from '../workflows/contract';
import { eventually, receiveZoomWebhooks, Stack, startStack, uniqueIncidentId } from './support/stack';

/**
 * The disorder the world sends that only the whole stack shows (real worker, dev server, sandbox
 * over HTTP): webhooks that race the create through the meeting mailboxes, cancels and terminates
 * mid-create, Zoom's limits. How the workflows take clocks that disagree, events that tie, partial
 * updates, operators who retry and input that is not what it should be: test/workflows/.
 */

const examples = loadRunbooks(join(__dirname, '../runbooks')).map((r) => r.runbook);
const runbook = (yaml: string): Runbook => runbookSchema.parse(YAML.parse(yaml));
const SECRET_TOKEN = 'webhook-secret-for-disorder';

/** A bridge whose agenda is longer than Zoom takes. */
const verbose = runbook(`
name: verbose
trigger: { on: [incident.created], when: { fields.verbose: true } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "Verbose {{Activity.id}}", agenda: "Incident {{Activity.id}}: {{Activity.summary}}" } }
`);

/** A follow-up booked after a pause, so a reopening can reach the run before its booking step. */
const slowFollowUp = runbook(`
name: slow-follow-up
trigger: { on: [incident.resolved], when: { fields.flap: true } }
steps:
  - { id: pause, action: wait.duration, with: { for: 2s } }
  - id: review
    action: zoom.scheduleMeeting
    with: { topic: "Review {{Activity.id}}", agenda: "Review of {{Activity.id}}", start: { from: resolvedAt, offset: 2 days }, onReopen: replan }
`);

describe('under disorder', () => {
  let stack: Stack;
  let stopReceiver: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    stack = await startStack({ runbooks: [...examples, verbose, slowFollowUp] });
    stopReceiver = await receiveZoomWebhooks(stack, SECRET_TOKEN);
  });
  afterAll(async () => {
    await stopReceiver?.();
    await stack?.stop();
  });

  const sim = (path: string, body: object = {}) => axios.post(`${stack.sandbox.url}/_sandbox${path}`, body);
  const send = (event: IncidentEvent) => sendIncidentEvent(stack.client, stack.temporal.taskQueue, event);
  let counter = 0;
  const event = (
    id: string,
    type: IncidentEvent['type'],
    incident: Partial<IncidentEvent['incident']> = {},
    occurredAt = new Date().toISOString(),
  ): IncidentEvent => ({
    eventId: `${id}-${type}-${++counter}`,
    type,
    occurredAt,
    incident: { id, ...incident },
  });
  const timelineWith = (id: string, match: (e: TimelineEntry) => boolean, what: string, timeoutMs?: number) =>
    eventually(
      async () => {
        const t = await getTimeline(stack.client, id);
        return t.some(match) ? t : undefined;
      },
      what,
      timeoutMs,
    );
  /** The claims and releases a meeting's mailbox received, in order. */
  const mailboxSignals = async (mailbox: {
    fetchHistory(): Promise<{
      events?: { workflowExecutionSignaledEventAttributes?: { signalName?: string | null } | null }[] | null;
    }>;
  }) =>
    ((await mailbox.fetchHistory()).events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName)
      .filter((n) => n === 'claimMeeting' || n === 'releaseMeeting');
  const meetingsWhere = (match: (m: StoredMeeting) => boolean) =>
    [...stack.sandbox.state.meetings.values()].filter(match);
  const bridgeOf = (id: string) => meetingsWhere((m) => String(m.agenda).includes(`Incident ${id}`));
  const statusOf = (meetingId: string | number) =>
    meetingsWhere((m) => String(m.id) === String(meetingId))[0]?.status ?? 'deleted';

  // Kept end to end: on the time-skipping server this case strands the run now and then (the pause's
  // timer against the reopening's signal, temporalio/sdk-java#3088).
  describe('lifecycle', () => {
    it('a reopening that reaches a follow-up run before its booking step: nothing is booked until the next resolve, then once', async () => {
      const id = uniqueIncidentId();
      await send(event(id, 'incident.created', { title: 'Flap', severity: 'SEV4', fields: { flap: true } }));
      await send(event(id, 'incident.resolved'));
      await timelineWith(id, (e) => e.summary === 'Runbook slow-follow-up started', 'the follow-up run');
      await send(event(id, 'incident.reopened'));
      await timelineWith(
        id,
        (e) => e.source === 'slow-follow-up' && e.summary.startsWith('Not booked yet: the incident was reopened'),
        'the booking held back',
      );
      const reviews = () => meetingsWhere((m) => String(m.agenda).includes(`Review of ${id}`));
      expect(reviews()).toEqual([]);
      const resolvedAgain = new Date().toISOString();
      await send(event(id, 'incident.resolved', {}, resolvedAgain));
      await timelineWith(
        id,
        (e) => e.source === 'slow-follow-up' && e.step === 'review' && e.status === 'ok',
        'the follow-up booked',
      );
      expect(reviews().map((m) => Date.parse(String(m.start_time)))).toEqual([
        Date.parse(resolvedAgain.replace(/\.\d{3}Z$/, 'Z')) + 2 * 86_400_000,
      ]);
    });
  });

  describe('webhooks', () => {
    it('events Zoom sends before the create has answered reach the run: the bridge is not ended with someone inside', async () => {
      const id = uniqueIncidentId();
      // Zoom creates the meeting at once but its answer takes 3 s to reach the worker.
      await sim('/faults', { method: 'POST', path: '/v2/users/[^/]+/meetings$', holdResponseMs: 3000 });
      await send(event(id, 'incident.created', { title: 'Race', severity: 'SEV3', fields: { record: true } }));
      const [meeting] = await eventually(() => (bridgeOf(id).length ? bridgeOf(id) : undefined), 'the meeting in Zoom');
      await sim(`/meetings/${meeting.id}/start`);
      const ana = (await sim(`/meetings/${meeting.id}/participants`, { name: 'Ana', email: 'ana@example.com' })).data;
      // The run has not seen the create's answer yet: the events wait in the meeting's mailbox.
      expect(
        (await getTimeline(stack.client, id)).some((e) => e.source === 'recorded-bridge' && e.step === 'bridge'),
      ).toBe(false);
      expect(
        (await stack.client.workflow.getHandle(meetingMailboxWorkflowId(String(meeting.id))).describe()).status.name,
      ).toBe('RUNNING');
      await timelineWith(id, (e) => e.source === 'recorded-bridge' && e.step === 'share', 'the bridge shared');
      await send(event(id, 'incident.resolved'));
      await timelineWith(id, (e) => e.summary === 'Incident is resolved', 'the resolution');
      await new Promise((r) => setTimeout(r, 1500));
      expect(statusOf(meeting.id)).toBe('started'); // Ana is still in the room
      await sim(`/meetings/${meeting.id}/participants/${ana.participantId}/leave`);
      const timeline = await timelineWith(
        id,
        (e) => e.source === 'recorded-bridge' && e.step === 'attendance',
        'attendance',
      );
      expect(timeline.find((e) => e.step === 'attendance')!.summary).toMatch(/Ana \d+ min/);
    });

    it('an event that reaches the run before the create has answered it is kept for the meeting, not dropped', async () => {
      const id = uniqueIncidentId();
      await sim('/faults', { method: 'POST', path: '/v2/users/[^/]+/meetings$', holdResponseMs: 3000 });
      await send(event(id, 'incident.created', { title: 'Early event', severity: 'SEV3', fields: { record: true } }));
      const [meeting] = await eventually(() => (bridgeOf(id).length ? bridgeOf(id) : undefined), 'the meeting in Zoom');
      await sim(`/meetings/${meeting.id}/start`);
      // As the mailbox does when it forwards in the same workflow task as the create's answer.
      const run = stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/recorded-bridge`);
      const joined = {
        type: 'meeting.participant_joined',
        meetingId: String(meeting.id),
        at: new Date().toISOString(),
        participant: { id: 'early-1', name: 'Early Ed' },
      } as const;
      await run.signal(zoomMeetingEventSignal, joined);
      expect(
        (await getTimeline(stack.client, id)).some((e) => e.source === 'recorded-bridge' && e.step === 'bridge'),
      ).toBe(false);
      await timelineWith(id, (e) => e.source === 'recorded-bridge' && e.step === 'share', 'the bridge shared');
      await send(event(id, 'incident.resolved'));
      await timelineWith(id, (e) => e.summary === 'Incident is resolved', 'the resolution');
      await new Promise((r) => setTimeout(r, 1500));
      expect(statusOf(meeting.id)).toBe('started'); // Ed is in the room, as far as the run knows
      expect(
        (await getTimeline(stack.client, id)).some((e) => e.source === 'recorded-bridge' && e.step === 'end'),
      ).toBe(false);
      await run.signal(zoomMeetingEventSignal, {
        ...joined,
        type: 'meeting.participant_left',
        at: new Date(Date.now() + 60_000).toISOString(),
      });
      const timeline = await timelineWith(
        id,
        (e) => e.source === 'recorded-bridge' && e.step === 'attendance',
        'attendance',
      );
      expect(timeline.find((e) => e.step === 'attendance')!.summary).toMatch(/live webhooks.*Early Ed 1 min/);
    });
  });

  describe('nothing left behind', () => {
    it('a cancel while the create is in flight removes the meeting Zoom made', async () => {
      const id = uniqueIncidentId();
      await sim('/faults', { method: 'POST', path: '/v2/users/[^/]+/meetings$', holdResponseMs: 5000 });
      await send(event(id, 'incident.created', { title: 'Cancel mid-create', severity: 'SEV3' }));
      const [meeting] = await eventually(() => (bridgeOf(id).length ? bridgeOf(id) : undefined), 'the meeting in Zoom');
      const run = stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/incident-bridge`);
      await run.cancel();
      await eventually(() => (statusOf(meeting.id) === 'deleted' ? true : undefined), 'the meeting removed');
      const { runId } = await run.describe();
      expect(
        meetingsWhere((m) => String(m.agenda).includes(idempotencyMarker(`${run.workflowId}/${runId}/bridge`))),
      ).toEqual([]);
      await timelineWith(
        id,
        (e) => e.summary === `Removed Zoom meeting ${meeting.id}: created by a step the cancel cut short`,
        'the removal on the timeline',
      );
      // The create answers after the removal and claims the mailbox late: the release it finds there wins.
      const mailbox = stack.client.workflow.getHandle(meetingMailboxWorkflowId(String(meeting.id)));
      await eventually(
        async () => ((await mailboxSignals(mailbox)).includes('claimMeeting') ? true : undefined),
        'the late claim',
      );
      expect(await mailboxSignals(mailbox)).toEqual(['releaseMeeting', 'claimMeeting']);
      await run.terminate('test over: the late pass is not awaited here');
    });

    /** A bridge runbook terminated while Zoom holds its create's answer (or after Zoom lost it). */
    const terminatedMidCreate = async (title: string, answer: { holdResponseMs: number } | { dropResponse: true }) => {
      const id = uniqueIncidentId();
      await sim('/faults', { method: 'POST', path: '/v2/users/[^/]+/meetings$', ...answer });
      await send(event(id, 'incident.created', { title, severity: 'SEV3' }));
      const [meeting] = await eventually(() => (bridgeOf(id).length ? bridgeOf(id) : undefined), 'the meeting in Zoom');
      await stack.client.workflow
        .getHandle(`${incidentWorkflowId(id)}/incident-bridge`)
        .terminate('operator, mid-create');
      const mailbox = stack.client.workflow.getHandle(meetingMailboxWorkflowId(String(meeting.id)));
      return { id, meeting, mailbox };
    };
    /** The close ended the bridge, once. */
    const endedOnClose = async ({ id, meeting }: Awaited<ReturnType<typeof terminatedMidCreate>>) => {
      await timelineWith(
        id,
        (e) => e.summary === `Zoom meeting ${meeting.id} ended on close: its runbook incident-bridge no longer runs`,
        'the bridge ended on close',
      );
      const ended = stack.sandbox.requests.filter(
        (r) => r.method === 'PUT' && r.path === `/v2/meetings/${meeting.id}/status` && r.status === 204,
      );
      expect(ended.map((r) => (r.body as { action?: string }).action)).toEqual(['end']);
    };

    it('a runbook terminated while its create is in flight: the incident learns the meeting from the create, and closing ends it', async () => {
      const run = await terminatedMidCreate('Terminate mid-create', { holdResponseMs: 3000 });
      await eventually(
        async () => ((await mailboxSignals(run.mailbox)).includes('claimMeeting') ? true : undefined),
        'the create answered (and claimed)',
        10_000,
      );
      await send(event(run.id, 'incident.closed'));
      await endedOnClose(run);
      // Nobody follows the meeting any more (no webhook came to find that out): the close released its mailbox.
      await eventually(
        async () => ((await run.mailbox.describe()).status.name === 'COMPLETED' ? true : undefined),
        'the mailbox ended',
      );
    });

    it('a runbook terminated mid-create and the incident closed before the create answers: the close finds the meeting by its marker, and the late claim is ignored', async () => {
      const run = await terminatedMidCreate('Closed mid-create', { holdResponseMs: 4000 });
      await send(event(run.id, 'incident.closed'));
      await endedOnClose(run);
      // Ended before the create answered; its mailbox released for the dead run before the create's claim came.
      const signals = await eventually(
        async () => {
          const names = await mailboxSignals(run.mailbox);
          return names.includes('claimMeeting') ? names : undefined;
        },
        'the late claim',
        10_000,
      );
      expect(signals.slice(0, signals.indexOf('claimMeeting'))).toContain('releaseMeeting');
    });

    it('a runbook terminated mid-create whose create never answers (its worker died): the close finds the meeting by its marker and ends it', async () => {
      const run = await terminatedMidCreate('Never answered', { dropResponse: true });
      await send(event(run.id, 'incident.closed'));
      await endedOnClose(run);
    });
  });

  describe('limits and operator input', () => {
    it('an agenda longer than Zoom takes is cut to fit, the exactly-once marker kept, and the cut noted', async () => {
      const id = uniqueIncidentId();
      await send(
        event(id, 'incident.created', {
          title: 'Verbose',
          severity: 'SEV4',
          summary: 'x'.repeat(2500),
          fields: { verbose: true },
        }),
      );
      const timeline = await timelineWith(
        id,
        (e) => e.source === 'verbose' && e.step === 'bridge' && e.status === 'ok',
        'the verbose bridge',
      );
      const [meeting] = meetingsWhere((m) => String(m.topic) === `Verbose ${id}`);
      expect(String(meeting.agenda).length).toBeLessThanOrEqual(2000);
      expect(String(meeting.agenda)).toMatch(/\[zoom-runbooks:[0-9a-f]{20}\]$/);
      expect(timeline.map((e) => e.summary)).toContainEqual(
        expect.stringMatching(/^Cut to fit Zoom's limits for meeting \d+: agenda \(2\d{3} → \d{4} characters\)$/),
      );
    });
  });
});
