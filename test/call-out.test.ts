import YAML from 'yaml';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { getTimeline } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { loadRunbooks } from '../src/core/runbook-loader';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { SANDBOX_DEFAULT_SCOPES } from '../src/sandbox/server';
import { CallOut, StoredMeeting } from '../src/sandbox/zoom-api';
import { callOutUpdate, incidentWorkflowId } from '../workflows/contract';
import {
  bridgeMeeting,
  eventually,
  sendNow,
  Stack,
  sandboxAdmin,
  stepEntry,
  uniqueIncidentId,
  useWebhookStack,
} from './support/stack';

/**
 * zoom.callOut end to end: a real worker on the dev server (history encrypted, as shipped), the
 * Zoom sandbox over HTTP (its call-out control, account switch and faults). Numbers are made up
 * (555 01xx, the range set aside for fiction).
 */

const runbook = (yaml: string): Runbook => runbookSchema.parse(YAML.parse(yaml));
const escalation = loadRunbooks(join(__dirname, '../runbooks'))
  .map((r) => r.runbook)
  .find((r) => r.name === 'sev1-escalation')!;

const ONCALL = '+14155550123';
const LEAD = '+44 20 7946 0958';

/** Phones the on-call (a number from the incident) and a lead (written in the runbook, spaced). */
const phones = runbook(`
name: call-out-people
trigger: { on: [incident.created], when: { fields.case: people } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "Call-out {{Activity.id}}", agenda: "Call-out {{Activity.id}}" } }
  - id: call
    action: zoom.callOut
    with:
      meeting: bridge
      people:
        - { name: "On-call {{Activity.owner.name}}", phone: "{{Activity.fields.oncallPhone}}" }
        - { name: Lead, phone: "${LEAD}" }
      requirePressingOne: false
  - { id: after, action: timeline.post, with: { message: "Phoned {{steps.call.called.[0].phone}}" } }
`);
/** Phones the on-call unless the incident is acknowledged within `window`; goes on if refused. */
const unacknowledged = (window: string) =>
  runbook(`
name: call-out-within-${window}
trigger: { on: [incident.created], when: { fields.window: "${window}" } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "Ack {{Activity.id}}", agenda: "Ack {{Activity.id}}" } }
  - id: call
    action: zoom.callOut
    with:
      meeting: bridge
      people: [{ name: On-call, phone: "{{Activity.fields.oncallPhone}}" }]
      when: { notAcknowledgedWithin: ${window} }
    continueOnError: true
  - { id: after, action: timeline.post, with: { message: "Went on after the call-out" } }
`);

const SECRET_TOKEN = 'webhook-secret-for-call-out-tests';
const IN_MEETING_SCOPE = 'meeting:update:in_meeting_controls:admin';
/** The number's digits as any text could hold them, with or without the country code. */
const inClear = (phone: string) => new RegExp(phone.replace(/\D/g, '').slice(-7).split('').join('\\D{0,2}'));

describe('zoom.callOut, end to end', () => {
  let stack: Stack;
  useWebhookStack(
    { runbooks: [escalation, phones, unacknowledged('1s'), unacknowledged('1h')] },
    SECRET_TOKEN,
    (started) => (stack = started),
  );
  const admin = () => sandboxAdmin(stack);
  const send = (id: string, type: IncidentEvent['type'], incident?: Partial<IncidentEvent['incident']>) =>
    sendNow(stack, id, type, incident);
  const entryOf = (id: string, step: string, source?: string) => stepEntry(stack, id, step, source);
  const meetingOf = (id: string, source: string) => bridgeMeeting(stack, id, source);
  /** Whom Zoom was asked to phone into the meeting, as the sandbox's admin API shows it. */
  const callOutsOf = async (meetingId: number): Promise<CallOut[]> => {
    const { meetings } = (await admin().get<{ meetings: (StoredMeeting & { callOuts: CallOut[] })[] }>('/meetings'))
      .data;
    return meetings.find((m) => m.id === meetingId)!.callOuts;
  };
  const controls = (meetingId: number) =>
    stack.sandbox.requests
      .filter((r) => r.path === `/v2/live_meetings/${meetingId}/events`)
      .map((r) => `${(r.body as { method: string }).method} -> ${r.status}`);
  /** A run that phones `oncallPhone` unless the incident is acknowledged within `window` (1s or 1h). */
  const unacknowledgedRun = async (fields: { oncallPhone: string; window: '1s' | '1h' }) => {
    const id = uniqueIncidentId();
    await send(id, 'incident.created', { title: 'Nobody on it', fields });
    return { id, meeting: await meetingOf(id, `call-out-within-${fields.window}`) };
  };

  it('phones each person into the bridge (not live yet), with the options; numbers show masked, history holds them encrypted', async () => {
    const id = uniqueIncidentId();
    await send(id, 'incident.created', {
      title: 'Phones',
      owner: { name: 'Ana', email: 'ana@example.com' },
      fields: { case: 'people', oncallPhone: '+1 (415) 555-0123' },
    });
    const meeting = await meetingOf(id, 'call-out-people');
    const result: { steps: Record<string, unknown> } = await stack.client.workflow
      .getHandle(`${incidentWorkflowId(id)}/call-out-people`)
      .result();

    expect(await callOutsOf(meeting.id)).toMatchObject([
      { name: 'On-call Ana', phone: ONCALL, requireGreeting: true, requirePressingOne: false },
      { name: 'Lead', phone: '+442079460958', requireGreeting: true, requirePressingOne: false },
    ]);
    expect(controls(meeting.id)).toEqual(['participant.invite.callout -> 202', 'participant.invite.callout -> 202']);
    expect((await entryOf(id, 'call')).summary).toBe(
      `Zoom is phoning On-call Ana (+••• ••• 0123), Lead (+••• ••• 0958) into meeting ${meeting.id}`,
    );
    expect(result.steps.call).toEqual({
      meetingId: String(meeting.id),
      called: [
        { name: 'On-call Ana', phone: '+••• ••• 0123' },
        { name: 'Lead', phone: '+••• ••• 0958' },
      ],
    });
    expect((await entryOf(id, 'after')).summary).toBe('Phoned +••• ••• 0123');

    // Nowhere in clear: the timeline, the search attributes, the histories (the codec encrypts every payload).
    const timeline = JSON.stringify(await getTimeline(stack.client, id));
    for (const workflowId of [incidentWorkflowId(id), `${incidentWorkflowId(id)}/call-out-people`]) {
      const handle = stack.client.workflow.getHandle(workflowId);
      const history = Buffer.from(temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish());
      const { searchAttributes } = await handle.describe();
      for (const phone of [ONCALL, LEAD]) {
        expect(history.toString('latin1')).not.toMatch(inClear(phone));
        expect(JSON.stringify(searchAttributes)).not.toMatch(inClear(phone));
        expect(timeline).not.toMatch(inClear(phone));
      }
    }
  });

  it('not acknowledged within the window: the on-call is phoned', async () => {
    const { id, meeting } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1s' });
    expect((await entryOf(id, 'call')).summary).toBe(
      `Zoom is phoning On-call (+••• ••• 0123) into meeting ${meeting.id}`,
    );
    expect(await callOutsOf(meeting.id)).toMatchObject([{ name: 'On-call', phone: ONCALL }]);
  });

  it('acknowledged within the window: nobody is phoned', async () => {
    const { id, meeting } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1h' });
    await send(id, 'incident.updated', { status: 'acknowledged' });
    expect((await entryOf(id, 'call')).summary).toBe(
      `Nobody phoned into Zoom meeting ${meeting.id}: the incident was acknowledged within 1h`,
    );
    await entryOf(id, 'after');
    expect(controls(meeting.id)).toEqual([]);
  });

  it('the callOut update: Zoom phones them into the bridge; a bad number is refused naming the field, never echoing it', async () => {
    const { id, meeting } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1h' });
    const handle = stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/call-out-within-1h`);
    expect(await handle.executeUpdate(callOutUpdate, { args: [{ name: 'Sam', phone: '+1 206 555 0100' }] })).toEqual({
      meetingId: String(meeting.id),
      name: 'Sam',
      phone: '+••• ••• 0100',
    });
    expect(await callOutsOf(meeting.id)).toMatchObject([{ name: 'Sam', phone: '+12065550100' }]);
    const entry = await eventually(
      async () => (await getTimeline(stack.client, id)).find((e) => e.summary.startsWith('Zoom is phoning Sam')),
      'the update on the timeline',
    );
    expect(entry.summary).toBe(
      `Zoom is phoning Sam (+••• ••• 0100) into meeting ${meeting.id}, at an operator's request`,
    );
    await expect(
      handle.executeUpdate(callOutUpdate, { args: [{ name: 'Sam', phone: '206 555 0199' }] }),
    ).rejects.toMatchObject({
      cause: { message: 'callOut: phone: must be a phone number with its country code (E.164, e.g. +12065550100)' },
    });
    await send(id, 'incident.updated', { status: 'acknowledged' }); // the step phones nobody and the run ends
    await handle.result();
    expect(await callOutsOf(meeting.id)).toHaveLength(1);
  });

  it('a number that is not one: refused before Zoom is asked, naming the field and not the value', async () => {
    const { id, meeting } = await unacknowledgedRun({ oncallPhone: '0415 555 0177', window: '1s' });
    const call = await entryOf(id, 'call');
    expect(call).toMatchObject({ status: 'failed' });
    expect(call.summary).toContain(
      'step "call": people[0].phone (On-call) is not a phone number with its country code (E.164, e.g. +12065550100)',
    );
    expect(call.summary).not.toMatch(inClear('0415 555 0177'));
    await entryOf(id, 'after');
    expect(controls(meeting.id)).toEqual([]);
  });

  it('call-out off on the account: the failure says what Zoom needs', async () => {
    await admin().patch('/account', { callOut: false });
    try {
      const { id, meeting } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1s' });
      const call = await entryOf(id, 'call');
      expect(call).toMatchObject({ status: 'failed' });
      expect(call.summary).toContain('This API is not available for this account');
      expect(call.summary).toContain('the account has the call-out feature');
      expect(controls(meeting.id)).toEqual(['participant.invite.callout -> 400']); // not retried
      expect(await callOutsOf(meeting.id)).toEqual([]);
    } finally {
      await admin().patch('/account', { callOut: true });
    }
  });

  it("Zoom's refusal that quotes the number: the failure shows it masked", async () => {
    stack.sandbox.addFault({
      method: 'PATCH',
      path: '^/v2/live_meetings/\\d+/events$',
      status: 400,
      code: 300,
      message: 'Invalid phone number: 1 415-555-0123 for callout',
    });
    const { id } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1s' });
    const call = await entryOf(id, 'call');
    expect(call.summary).toContain('Invalid phone number: +••• ••• 0123 for callout');
    expect(call.summary).not.toMatch(inClear(ONCALL));
  });

  it('the scope missing: the failure names the scopes to add', async () => {
    stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES.filter((s) => s !== IN_MEETING_SCOPE);
    await admin().post('/tokens/expire'); // the worker's next token carries the narrower scopes
    try {
      const { id, meeting } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1s' });
      expect((await entryOf(id, 'call')).summary).toContain(
        'add one of these scopes to the Zoom app: meeting:write, meeting:write:admin, meeting:update:in_meeting_controls, meeting:update:in_meeting_controls:admin',
      );
      expect(await callOutsOf(meeting.id)).toEqual([]);
    } finally {
      stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES;
      await admin().post('/tokens/expire');
    }
  });

  it("a meeting deleted in Zoom meanwhile (Zoom's 404/3001): the failure says it no longer exists", async () => {
    stack.sandbox.addFault({
      method: 'PATCH',
      path: '^/v2/live_meetings/\\d+/events$',
      status: 404,
      code: 3001,
      message: 'Meeting does not exist: the meeting is not found or has expired.',
    });
    const { id, meeting } = await unacknowledgedRun({ oncallPhone: ONCALL, window: '1s' });
    expect((await entryOf(id, 'call')).summary).toBe(
      `Step call failed: Zoom meeting ${meeting.id} no longer exists (deleted?): could not phone On-call in.`,
    );
    expect(controls(meeting.id)).toEqual(['participant.invite.callout -> 404']);
  });
});
