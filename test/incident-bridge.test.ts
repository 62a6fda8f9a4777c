import { join } from 'node:path';
import axios from 'axios';
import { loadRunbooks } from '../src/core/runbook-loader';
import { SANDBOX_DIAL_IN_NUMBERS } from '../src/sandbox/zoom-api';
import { sendIncidentEvent, getTimeline } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { runbookBridgeQuery, IncidentIdAttr, incidentWorkflowId, TimelineEntry } from '../workflows/contract';
import { eventually, Stack, startStack, uniqueIncidentId } from './support/stack';
import { hoursFromNow, latestWeekdayAt, wallClock } from './support/times';

/** End to end: intake client -> Temporal dev server -> real worker -> Zoom sandbox over HTTP. */
describe('an incident opens a Zoom bridge', () => {
  let stack: Stack;
  // The bridge and the postmortem only: faults aimed at "the next create" must hit the bridge's.
  const runbooks = loadRunbooks(join(__dirname, '../runbooks'))
    .map((r) => r.runbook)
    .filter((r) => r.name === 'incident-bridge' || r.name === 'postmortem');
  beforeAll(async () => (stack = await startStack({ runbooks })));
  afterAll(async () => stack?.stop());

  function created(id: string, eventId = `evt-${id}`): IncidentEvent {
    return {
      eventId,
      type: 'incident.created',
      occurredAt: new Date().toISOString(),
      incident: { id, title: 'Checkout latency > 5s in eu-west', severity: 'SEV1', summary: 'p99 breached' },
    };
  }

  function resolved(id: string): IncidentEvent {
    return {
      eventId: `evt-${id}-resolved`,
      type: 'incident.resolved',
      occurredAt: new Date().toISOString(),
      incident: { id },
    };
  }

  /** A new incident whose bridge exists and has started in Zoom, with its runbook's handle. */
  async function openLiveBridge() {
    const id = uniqueIncidentId();
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, created(id));
    await eventually(async () => bridgeEntry(await getTimeline(stack.client, id)), 'the bridge');
    const [meeting] = meetingsFor(id);
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/start`);
    return { id, meeting, runbook: stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/incident-bridge`) };
  }

  const bridgeEntry = (timeline: TimelineEntry[]) => timeline.find((e) => e.step === 'bridge' && e.status === 'ok');
  const meetingsFor = (id: string) =>
    [...stack.sandbox.state.meetings.values()].filter((m) => String(m.agenda).includes(`Incident ${id}`));

  it('creates exactly one meeting with the rendered topic and puts its join URL on the timeline', async () => {
    const id = uniqueIncidentId();
    const { workflowId } = await sendIncidentEvent(stack.client, stack.temporal.taskQueue, created(id));
    expect(workflowId).toBe(incidentWorkflowId(id));

    const timeline = await eventually(async () => {
      const t = await getTimeline(stack.client, id);
      return t.some((e) => e.step === 'share') ? t : undefined;
    }, 'the bridge link on the timeline');

    const meetings = meetingsFor(id);
    expect(meetings).toHaveLength(1);
    const [meeting] = meetings;
    expect(meeting.topic).toBe('Checkout latency > 5s in eu-west - Incident Bridge');
    expect(meeting.settings).toMatchObject({ join_before_host: true, waiting_room: false });

    const entry = bridgeEntry(timeline)!;
    // The join link, then the account's first dial-in numbers as one-tap links (the phone passcode never).
    expect(entry.links!.map((l) => l.url)).toEqual([
      meeting.join_url,
      ...SANDBOX_DIAL_IN_NUMBERS.slice(0, 3).map((n) => `tel:${n.number.replace(/[^\d+]/g, '')},,${meeting.id}#`),
    ]);
    expect(timeline.find((e) => e.step === 'share')!.summary).toBe(`Join the bridge: ${meeting.join_url}`);
    // The host's start URL and the passcode are credentials: never on the timeline.
    expect(JSON.stringify(timeline)).not.toContain(String(meeting.start_url));
    expect(JSON.stringify(timeline)).not.toContain(`${meeting.password}`);
    expect(JSON.stringify(timeline)).not.toContain(`${meeting.pstn_password}`);
    expect(JSON.stringify(timeline)).not.toContain(`${meeting.h323_password}`);

    const runbook = stack.client.workflow.getHandle(`${workflowId}/incident-bridge`);
    expect(await runbook.query(runbookBridgeQuery)).toMatchObject({
      id: String(meeting.id),
      joinUrl: meeting.join_url,
      created: true,
    });
    const description = await runbook.describe();
    expect(description.typedSearchAttributes.get(IncidentIdAttr)).toBe(id);
  });

  it('renames the bridge when the incident gets a new title', async () => {
    const id = uniqueIncidentId();
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, created(id));
    await eventually(async () => bridgeEntry(await getTimeline(stack.client, id)), 'the bridge');
    const [meeting] = meetingsFor(id);
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
      eventId: `evt-${id}-title`,
      type: 'incident.updated',
      occurredAt: new Date().toISOString(),
      incident: { id, title: 'Checkout down in eu-west' },
    });
    await eventually(
      async () =>
        (await getTimeline(stack.client, id)).find(
          (e) => e.summary === `Zoom meeting ${meeting.id} renamed: Checkout down in eu-west - Incident Bridge`,
        ),
      'the rename',
    );
    expect(stack.sandbox.state.meetings.get(meeting.id)!.topic).toBe('Checkout down in eu-west - Incident Bridge');
    // The agenda keeps its exactly-once marker.
    expect(String(stack.sandbox.state.meetings.get(meeting.id)!.agenda)).toMatch(/\[zoom-runbooks:[0-9a-f]{20}\]/);
  });

  it('ends the live bridge for everyone when the incident is resolved', async () => {
    const { id, meeting, runbook } = await openLiveBridge();
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/participants`, {
      name: 'Ana',
      email: 'ana@example.com',
    });
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('started');

    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, resolved(id));
    await runbook.result();
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('waiting');
    const instance = stack.sandbox.state.instances.find((i) => i.meetingId === meeting.id)!;
    expect(instance.endTime).toEqual(expect.any(String));
    expect(instance.participants[0].leave_time).toEqual(expect.any(String));
    const timeline = await getTimeline(stack.client, id);
    expect(timeline.map((e) => e.summary)).toEqual(
      expect.arrayContaining([
        `Incident ${id} resolved: Checkout latency > 5s in eu-west (SEV1)`,
        'Incident is resolved',
        `Zoom meeting ${meeting.id} ended`,
      ]),
    );
  });

  it('books the postmortem for the next business day at 10:00 Berlin, inviting owner and responders', async () => {
    const id = uniqueIncidentId();
    // Opened and resolved on the latest Friday (whatever today is): the postmortem is on the Monday after.
    const friday = latestWeekdayAt(5, 15);
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
      ...created(id),
      occurredAt: hoursFromNow(-7, friday.getTime()),
      incident: {
        ...created(id).incident,
        owner: { email: 'ana@example.com' },
        responders: [{ email: 'oncall@example.com' }, { email: 'ana@example.com' }],
      },
    });
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
      ...resolved(id),
      occurredAt: friday.toISOString(),
    });
    const postmortem = stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/postmortem`);
    await eventually(() => postmortem.describe(), 'the postmortem runbook to start');
    // The runbook stays to follow its meeting (a reopening cancels it), so wait for the timeline.
    await eventually(
      async () => (await getTimeline(stack.client, id)).find((e) => e.source === 'postmortem' && e.step === 'share'),
      'the postmortem link',
    );

    const postmortems = [...stack.sandbox.state.meetings.values()].filter((m) =>
      String(m.agenda).startsWith(`Postmortem for ${id} (SEV1)`),
    );
    expect(postmortems).toHaveLength(1);
    const [meeting] = postmortems;
    expect(meeting).toMatchObject({
      topic: 'Postmortem: Checkout latency > 5s in eu-west',
      type: 2,
      timezone: 'Europe/Berlin',
      duration: 45,
    });
    expect(wallClock(String(meeting.start_time), 'Europe/Berlin')).toBe('Monday 10:00');
    const daysAfter = (Date.parse(String(meeting.start_time)) - friday.getTime()) / 86_400_000;
    expect(daysAfter).toBeGreaterThan(2);
    expect(daysAfter).toBeLessThan(3);
    expect(meeting.settings).toMatchObject({
      meeting_invitees: [{ email: 'ana@example.com' }, { email: 'oncall@example.com' }],
    });
    const timeline = await getTimeline(stack.client, id);
    expect(timeline.find((e) => e.source === 'postmortem' && e.step === 'share')!.summary).toBe(
      `Postmortem booked: ${meeting.join_url}`,
    );
  });

  it('creates one meeting when Zoom created it but the response was lost', async () => {
    const id = uniqueIncidentId();
    stack.sandbox.addFault({ method: 'POST', path: '/meetings$', dropResponse: true });
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, created(id));

    const entry = await eventually(async () => bridgeEntry(await getTimeline(stack.client, id)), 'the bridge');
    const meetings = meetingsFor(id);
    expect(meetings).toHaveLength(1);
    expect(entry.links![0].url).toBe(meetings[0].join_url);
    // The meeting found by its marker (list, then get: the list lacks them) still reports the dial-in numbers.
    expect(entry.links!.slice(1).map((l) => l.label)).toEqual([
      'Dial-in US New York +1 555 010 0100',
      'Dial-in US toll-free +1 800 555 0100',
      'Dial-in GB London +44 20 7946 0100',
    ]);
    const runbook = stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/incident-bridge`);
    expect(await runbook.query(runbookBridgeQuery)).toMatchObject({
      created: false,
      dialIn: SANDBOX_DIAL_IN_NUMBERS.map(({ country_name: _name, ...n }) => n),
    });
    const creates = stack.sandbox.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/meetings'));
    expect(creates.filter((r) => JSON.stringify(r.body).includes(`Incident ${id}`))).toHaveLength(1);
  });

  it("waits as long as Zoom's Retry-After asks before trying again, then creates one meeting", async () => {
    const id = uniqueIncidentId();
    stack.sandbox.addFault({
      method: 'POST',
      path: '/meetings$',
      status: 429,
      code: 429,
      message: 'You have reached the maximum per-second rate limit for this API. Try again later.',
      headers: { 'retry-after': '3', 'x-ratelimit-type': 'QPS', 'x-ratelimit-category': 'Medium' },
    });
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, created(id));
    await eventually(async () => bridgeEntry(await getTimeline(stack.client, id)), 'the bridge');

    expect(meetingsFor(id)).toHaveLength(1);
    const attempts = stack.sandbox.requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/meetings') && JSON.stringify(r.body).includes(`Incident ${id}`),
    );
    expect(attempts.map((r) => r.status)).toEqual([429, 201]);
    // The retry policy alone would retry after 1 s; Zoom asked for 3.
    expect(Date.parse(attempts[1].at) - Date.parse(attempts[0].at)).toBeGreaterThanOrEqual(2900);
  });
});
