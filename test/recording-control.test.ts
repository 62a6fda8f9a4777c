import YAML from 'yaml';
import { join } from 'node:path';
import { getTimeline } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { loadRunbooks } from '../src/core/runbook-loader';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { SANDBOX_DEFAULT_SCOPES } from '../src/sandbox/server';
import { CloudRecordingState, SANDBOX_DIAL_IN_NUMBERS, StoredMeeting } from '../src/sandbox/zoom-api';
import { incidentWorkflowId } from '../workflows/contract';
import {
  bridgeMeeting,
  sendNow,
  Stack,
  sandboxAdmin,
  stepEntry,
  uniqueIncidentId,
  useWebhookStack,
} from './support/stack';

/**
 * zoom.recordingControl and the bridge's dial-in numbers, end to end: a real worker on the dev
 * server, the Zoom sandbox over HTTP (its in-meeting controls, account switch and webhooks).
 */

const runbook = (yaml: string): Runbook => runbookSchema.parse(YAML.parse(yaml));
const escalation = loadRunbooks(join(__dirname, '../runbooks'))
  .map((r) => r.runbook)
  .find((r) => r.name === 'sev1-escalation')!;
const bridge = (name: string) =>
  `{ id: bridge, action: zoom.createMeeting, with: { topic: "${name} {{Activity.id}}", agenda: "${name} {{Activity.id}}" } }`;

/** Start, pause, and once the incident is resolved resume and stop. */
const steps = runbook(`
name: recording-steps
trigger: { on: [incident.created], when: { fields.case: steps } }
steps:
  - ${bridge('Steps')}
  - { id: start, action: zoom.recordingControl, with: { meeting: bridge, action: start, whenLive: 5m } }
  - { id: pause, action: zoom.recordingControl, with: { meeting: bridge, action: pause } }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: resume, action: zoom.recordingControl, with: { meeting: bridge, action: resume } }
  - { id: stop, action: zoom.recordingControl, with: { meeting: bridge, action: stop } }
`);
/** Asks Zoom to start recording once the incident is resolved, whatever became of the meeting; goes on if refused. */
const checks = runbook(`
name: recording-checks
trigger: { on: [incident.created], when: { fields.case: checks } }
steps:
  - ${bridge('Checks')}
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: record, action: zoom.recordingControl, with: { meeting: bridge, action: start }, continueOnError: true }
  - { id: after, action: timeline.post, with: { message: "Went on after the recording step" } }
`);

const SECRET_TOKEN = 'webhook-secret-for-recording-tests';
const IN_MEETING_SCOPE = 'meeting:update:in_meeting_controls:admin';

describe('zoom.recordingControl and dial-in numbers, end to end', () => {
  let stack: Stack;
  useWebhookStack({ runbooks: [escalation, steps, checks] }, SECRET_TOKEN, (started) => (stack = started));
  const admin = () => sandboxAdmin(stack);
  const send = (id: string, type: IncidentEvent['type'], incident?: Partial<IncidentEvent['incident']>) =>
    sendNow(stack, id, type, incident);
  const entryOf = (id: string, step: string, source?: string) => stepEntry(stack, id, step, source);
  /** The incident's bridge, as the sandbox stores it (the agenda names the incident). */
  const meetingOf = (id: string, source: string) => bridgeMeeting(stack, id, source);
  /** Where the meeting's cloud recording stands, as the sandbox's admin API shows it. */
  const recordingOf = async (meetingId: number): Promise<CloudRecordingState> => {
    const { meetings } = (
      await admin().get<{ meetings: (StoredMeeting & { cloudRecording: CloudRecordingState })[] }>('/meetings')
    ).data;
    return meetings.find((m) => m.id === meetingId)!.cloudRecording;
  };
  /** The recording controls Zoom was sent for the meeting: method and answer, in order. */
  const controls = (meetingId: number) =>
    stack.sandbox.requests
      .filter((r) => r.path === `/v2/live_meetings/${meetingId}/events`)
      .map((r) => `${(r.body as { method: string }).method} -> ${r.status}`);

  it('sev1-escalation: the bridge entry has the join link and dial-in numbers, never a passcode; recording starts once the host opens the bridge and stops at resolution', async () => {
    const id = uniqueIncidentId();
    await send(id, 'incident.created', { title: 'Checkout down', severity: 'SEV1', fields: { escalate: true } });
    const meeting = await meetingOf(id, 'sev1-escalation');
    const entry = await entryOf(id, 'bridge', 'sev1-escalation');
    // The first three of the account's numbers, one tap each; the meeting id is dialled, the phone passcode is not.
    expect(entry.links).toEqual([
      { label: 'Join', url: meeting.join_url },
      { label: 'Dial-in US New York +1 555 010 0100', url: `tel:+15550100100,,${meeting.id}#` },
      { label: 'Dial-in US toll-free +1 800 555 0100', url: `tel:+18005550100,,${meeting.id}#` },
      { label: 'Dial-in GB London +44 20 7946 0100', url: `tel:+442079460100,,${meeting.id}#` },
    ]);
    expect(meeting.settings).toMatchObject({ global_dial_in_numbers: SANDBOX_DIAL_IN_NUMBERS });
    // Not live yet: nothing asked of Zoom until its meeting.started webhook comes.
    expect(controls(meeting.id)).toEqual([]);

    await admin().post(`/meetings/${meeting.id}/start`);
    expect((await entryOf(id, 'record')).summary).toBe(`Cloud recording of Zoom meeting ${meeting.id} started`);
    expect(await recordingOf(meeting.id)).toBe('recording');

    await send(id, 'incident.resolved');
    // Once the bridge has ended, AI Companion's summary (summary: auto), then the recording's transcript, end the run.
    await entryOf(id, 'end', 'sev1-escalation');
    await admin().post(`/meetings/${meeting.id}/summary`, { overview: 'Checkout restored.' });
    await admin().post(`/meetings/${meeting.id}/recording`); // with its TRANSCRIPT file
    expect(meeting.settings).toMatchObject({ auto_start_meeting_summary: true });
    const result: { steps: Record<string, { dialIn?: unknown[] }> } = await stack.client.workflow
      .getHandle(`${incidentWorkflowId(id)}/sev1-escalation`)
      .result();
    expect(controls(meeting.id)).toEqual(['recording.start -> 202', 'recording.stop -> 202']);
    expect((await entryOf(id, 'stop-recording')).summary).toBe(`Cloud recording of Zoom meeting ${meeting.id} stopped`);
    // The step's output has every number, as the runbook's templates see them.
    expect(result.steps.bridge.dialIn).toEqual(SANDBOX_DIAL_IN_NUMBERS.map(({ country_name: _name, ...n }) => n));
    // The join link carries the encrypted passcode by design; the passcodes themselves never show.
    const timeline = JSON.stringify(await getTimeline(stack.client, id));
    for (const secret of ['password', 'h323_password', 'pstn_password', 'start_url'])
      expect(timeline).not.toContain(String(meeting[secret]));
  });

  it('pause, resume and stop: the sandbox follows each, and the timeline says each', async () => {
    const id = uniqueIncidentId();
    await send(id, 'incident.created', { title: 'Steps', fields: { case: 'steps' } });
    const meeting = await meetingOf(id, 'recording-steps');
    await admin().post(`/meetings/${meeting.id}/start`);
    expect((await entryOf(id, 'pause')).summary).toBe(`Cloud recording of Zoom meeting ${meeting.id} paused`);
    expect(await recordingOf(meeting.id)).toBe('paused');

    await send(id, 'incident.resolved');
    await stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/recording-steps`).result();
    expect((await entryOf(id, 'resume')).summary).toBe(`Cloud recording of Zoom meeting ${meeting.id} resumed`);
    expect(await recordingOf(meeting.id)).toBe('stopped');
    expect(controls(meeting.id)).toEqual([
      'recording.start -> 202',
      'recording.pause -> 202',
      'recording.resume -> 202',
      'recording.stop -> 202',
    ]);
  });

  /** A checks run: its bridge, made ready by `prepare`, then the recording step's entry once resolved. */
  async function recordingStep(prepare: (meeting: StoredMeeting) => Promise<void>) {
    const id = uniqueIncidentId();
    await send(id, 'incident.created', { title: 'Checks', fields: { case: 'checks' } });
    const meeting = await meetingOf(id, 'recording-checks');
    await prepare(meeting);
    await send(id, 'incident.resolved');
    const record = await entryOf(id, 'record');
    // continueOnError: the run goes on.
    await entryOf(id, 'after');
    return { meeting, record };
  }

  it("a meeting that is not live: the step fails at once with Zoom's answer, and the runbook goes on", async () => {
    const { meeting, record } = await recordingStep(async () => undefined);
    expect(record).toMatchObject({ status: 'failed' });
    expect(record.summary).toContain(
      `Step record failed: Zoom meeting ${meeting.id} is not live: could not start its cloud recording`,
    );
    expect(record.summary).toContain('HTTP 400 code 300: Meeting does not exist.');
    expect(controls(meeting.id)).toEqual(['recording.start -> 400']); // not retried
    expect(await recordingOf(meeting.id)).toBe('stopped');
  });

  it('cloud recording off on the account: the failure names it', async () => {
    await admin().patch('/account', { cloudRecording: false });
    try {
      const { meeting, record } = await recordingStep(async (m) => {
        await admin().post(`/meetings/${m.id}/start`);
      });
      expect(record).toMatchObject({ status: 'failed' });
      expect(record.summary).toContain('This API is not available for this account');
      expect(record.summary).toContain('cloud recording is enabled on the account');
      expect(controls(meeting.id)).toEqual(['recording.start -> 400']);
      expect(await recordingOf(meeting.id)).toBe('stopped');
    } finally {
      await admin().patch('/account', { cloudRecording: true });
    }
  });

  it('the scope missing: the failure names the scopes to add', async () => {
    stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES.filter((s) => s !== IN_MEETING_SCOPE);
    await admin().post('/tokens/expire'); // the worker's next token carries the narrower scopes
    try {
      const { meeting, record } = await recordingStep(async (m) => {
        await admin().post(`/meetings/${m.id}/start`);
      });
      expect(record.summary).toContain(
        'add one of these scopes to the Zoom app: meeting:write, meeting:write:admin, meeting:update:in_meeting_controls, meeting:update:in_meeting_controls:admin',
      );
      expect(controls(meeting.id)).toEqual(['recording.start -> 400']);
    } finally {
      stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES;
      await admin().post('/tokens/expire');
    }
  });

  it('a meeting deleted in Zoom meanwhile: the failure says it no longer exists', async () => {
    const { meeting, record } = await recordingStep(async (m) => {
      stack.sandbox.state.meetings.delete(m.id);
    });
    expect(record.summary).toBe(
      `Step record failed: Zoom meeting ${meeting.id} no longer exists (deleted?): could not start its cloud recording.`,
    );
    expect(controls(meeting.id)).toEqual(['recording.start -> 404']);
  });
});
