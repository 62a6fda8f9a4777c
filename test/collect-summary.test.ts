import YAML from 'yaml';
import { IncidentEvent } from '../src/core/incident';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { SANDBOX_DEFAULT_SCOPES } from '../src/sandbox/server';
import { StoredMeeting } from '../src/sandbox/zoom-api';
import { meetingPathId } from '../src/zoom/client';
import { incidentWorkflowId } from '../workflows/contract';
import {
  eventually,
  sendNow,
  Stack,
  sandboxAdmin,
  stepEntry,
  uniqueIncidentId,
  useWebhookStack,
} from './support/stack';

/**
 * zoom.collectSummary end to end: a real worker on the dev server, the Zoom sandbox over HTTP
 * (its summary and past-meeting endpoints, the AI Companion switch, signed webhooks).
 */

/** A bridge with AI Companion on, ended once the incident is resolved, then its summary collected as `fields.case` says. */
const summaryRunbook = (name: string, collect: string): Runbook =>
  runbookSchema.parse(
    YAML.parse(`
name: ${name}
trigger: { on: [incident.created], when: { fields.case: ${name} } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "${name} {{Activity.id}}", settings: { summary: auto } } }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
  - { id: summary, action: zoom.collectSummary, with: { meeting: bridge, ${collect} }, continueOnError: true }
  - { id: after, action: timeline.post, with: { message: "Went on after the summary step" } }
`),
  );
// Webhook: the poll is far off, so only meeting.summary_completed can wake the step in time.
const byWebhook = summaryRunbook('by-webhook', 'deadline: 2h, pollEvery: 1h');
const byPolling = summaryRunbook('by-polling', 'deadline: 10m, pollEvery: 2s');
const shortDeadline = summaryRunbook('short-deadline', 'deadline: 3s, pollEvery: 1s');

const SECRET_TOKEN = 'webhook-secret-for-summary-tests';
const SUMMARY_SCOPE = 'meeting:read:summary:admin';

describe('zoom.collectSummary, end to end', () => {
  let stack: Stack;
  useWebhookStack({ runbooks: [byWebhook, byPolling, shortDeadline] }, SECRET_TOKEN, (started) => (stack = started));
  const admin = () => sandboxAdmin(stack);
  const send = (id: string, type: IncidentEvent['type'], incident?: Partial<IncidentEvent['incident']>) =>
    sendNow(stack, id, type, incident);
  const entryOf = (id: string, step: string) => stepEntry(stack, id, step);
  /** The summary and past-meeting calls Zoom was sent for the meeting, and its answers, in order. */
  const summaryCalls = (meeting: StoredMeeting) => {
    const summaryPaths = stack.sandbox.state.instances
      .filter((i) => i.meetingId === meeting.id)
      .map((i) => `/v2/meetings/${meetingPathId(i.uuid)}/meeting_summary`);
    return stack.sandbox.requests
      .filter((r) => summaryPaths.includes(r.path) || r.path === `/v2/past_meetings/${meeting.id}`)
      .map((r) => `${r.path.endsWith('/meeting_summary') ? 'summary' : 'past meeting'} -> ${r.status}`);
  };

  /** Opens an incident for `runbook`, holds its bridge, resolves it and waits until the run has ended the bridge. */
  async function heldAndEnded(runbook: string) {
    const id = uniqueIncidentId();
    await send(id, 'incident.created', { title: 'Summary', fields: { case: runbook } });
    const bridge = await entryOf(id, 'bridge');
    const meeting = stack.sandbox.state.meetings.get(Number(/\((\d+)\)$/.exec(bridge.summary)![1]))!;
    await admin().post(`/meetings/${meeting.id}/start`);
    await admin().post(`/meetings/${meeting.id}/participants`, { name: 'Ana Ruiz', email: 'ana@example.com' });
    await send(id, 'incident.resolved');
    await entryOf(id, 'end');
    const instance = await eventually(
      () => stack.sandbox.state.instances.find((i) => i.meetingId === meeting.id && i.endTime),
      `the ended instance of ${meeting.id}`,
    );
    return { id, meeting, instance };
  }
  const result = (id: string, runbook: string) =>
    stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/${runbook}`).result() as Promise<{
      steps: Record<string, Record<string, unknown>>;
    }>;

  it("found by Zoom's meeting.summary_completed webhook: overview and next steps on the timeline, the whole summary in the output", async () => {
    const { id, meeting, instance } = await heldAndEnded('by-webhook');
    // summary: auto asked Zoom to start AI Companion's summary with the meeting.
    expect(meeting.settings).toMatchObject({ auto_start_meeting_summary: true });
    const long = `Checkout latency traced to the payments pool; ${'details '.repeat(200)}`;
    const nextSteps = ['Ana: raise the pool size', 'Bo: add an alert on p99', 'Cy: write the postmortem'];
    await admin().post(`/meetings/${meeting.id}/summary`, { overview: long, nextSteps });

    const entry = await entryOf(id, 'summary');
    expect(entry.status).toBe('ok');
    expect(entry.summary).toMatch(
      new RegExp(`^Summary of Zoom meeting ${meeting.id}: Checkout latency traced to the payments pool; details .*…`),
    );
    expect(entry.summary).toContain(`Next steps: ${nextSteps.join('; ')}`);
    expect(entry.summary.length).toBeLessThan(1200); // the overview is cut; the output keeps it whole
    const { steps } = await result(id, 'by-webhook');
    expect(steps.summary).toMatchObject({
      meetingId: String(meeting.id),
      found: true,
      uuid: instance.uuid,
      overview: long,
      nextSteps,
      details: [{ label: 'Discussion', summary: long }],
    });
    // The webhook named the instance: one summary call, no past-meeting lookup.
    expect(summaryCalls(meeting)).toEqual(['summary -> 200']);
    // Zoom's webhook was delivered, signed, and accepted.
    const delivery = await admin().get<{ deliveries: { event: string; status?: number }[] }>('/webhooks/deliveries');
    expect(delivery.data.deliveries).toContainEqual(
      expect.objectContaining({ event: 'meeting.summary_completed', status: 200 }),
    );
  });

  it('found by polling when the webhook never comes', async () => {
    const { id, meeting } = await heldAndEnded('by-polling');
    await admin().post(`/meetings/${meeting.id}/summary`, { overview: 'Rolled back release 42.', webhook: false });
    const entry = await entryOf(id, 'summary');
    expect(entry).toMatchObject({
      status: 'ok',
      summary: `Summary of Zoom meeting ${meeting.id}: Rolled back release 42.`,
    });
    // Polled by the UUID meeting.ended gave: 404 until AI Companion had written it, then the summary.
    const calls = summaryCalls(meeting);
    expect(calls[calls.length - 1]).toBe('summary -> 200');
    expect(calls.slice(0, -1).every((c) => c === 'summary -> 404')).toBe(true);
  });

  it('the deadline passes without a summary: the timeline says so, and the runbook goes on', async () => {
    const { id, meeting } = await heldAndEnded('short-deadline');
    const entry = await entryOf(id, 'summary');
    expect(entry).toMatchObject({
      status: 'info',
      summary: `No summary of Zoom meeting ${meeting.id}: none within 3s`,
    });
    await entryOf(id, 'after');
    expect((await result(id, 'short-deadline')).steps.summary).toMatchObject({
      found: false,
      reason: 'none within 3s',
    });
  });

  it("AI Companion off on the account: Zoom's refusal is the answer at the first poll, not a failure", async () => {
    await admin().patch('/account', { aiCompanion: false });
    try {
      const { id, meeting } = await heldAndEnded('by-polling');
      const entry = await entryOf(id, 'summary');
      expect(entry).toMatchObject({
        status: 'info',
        summary: `No summary of Zoom meeting ${meeting.id}: Zoom get meeting summary failed: HTTP 400 code 300: Meeting summary with AI Companion is not enabled for this account.`,
      });
      await entryOf(id, 'after');
      expect(summaryCalls(meeting)).toEqual(['summary -> 400']); // asked once: waiting would not change it
    } finally {
      await admin().patch('/account', { aiCompanion: true });
    }
  });

  it('the scope missing: the step fails naming the scopes to add, and the runbook goes on', async () => {
    stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES.filter((s) => s !== SUMMARY_SCOPE);
    await admin().post('/tokens/expire'); // the worker's next token carries the narrower scopes
    try {
      const { id } = await heldAndEnded('by-polling');
      const entry = await entryOf(id, 'summary');
      expect(entry.status).toBe('failed');
      expect(entry.summary).toContain(
        'add one of these scopes to the Zoom app: meeting_summary:read, meeting_summary:read:admin, meeting:read:summary, meeting:read:summary:admin',
      );
      await entryOf(id, 'after');
    } finally {
      stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES;
      await admin().post('/tokens/expire');
    }
  });
});
