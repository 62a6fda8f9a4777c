import YAML from 'yaml';
import { getTimeline } from '../src/temporal/client';
import { Runbook, runbookSchema } from '../src/core/runbook';
import { SANDBOX_DEFAULT_SCOPES } from '../src/sandbox/server';
import { meetingPathId } from '../src/zoom/client';
import { incidentWorkflowId } from '../workflows/contract';
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
 * zoom.collectTranscript end to end: a real worker on the dev server, the Zoom sandbox over HTTP
 * (its transcript endpoint, recordings with TRANSCRIPT files, the files' download URLs, signed
 * recording.completed and recording.transcript_completed webhooks).
 */

/** A bridge ended once the incident is resolved, its transcript collected as `with` says; the last step reads the output. */
const transcriptRunbook = (name: string, collect: string): Runbook =>
  runbookSchema.parse(
    YAML.parse(`
name: ${name}
trigger: { on: [incident.created], when: { fields.case: ${name} } }
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "${name} {{Activity.id}}" } }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
  - { id: transcript, action: zoom.collectTranscript, with: { meeting: bridge, ${collect} }, continueOnError: true }
  - { id: after, action: timeline.post, with: { message: "Went on after the transcript step" } }
  - { id: report, action: timeline.post, with: { message: "Transcript found: {{steps.transcript.found}}" } }
`),
  );
const RUNBOOKS = {
  // Webhook: the poll is far off, so only Zoom's webhook can wake the step in time.
  webhook: transcriptRunbook('tr-webhook', 'deadline: 2h, pollEvery: 1h, store: text'),
  link: transcriptRunbook('tr-link', 'deadline: 2h, pollEvery: 1h'),
  polling: transcriptRunbook('tr-polling', 'deadline: 10m, pollEvery: 2s'),
  companion: transcriptRunbook('tr-companion', 'deadline: 10m, pollEvery: 1s, store: text, maxChars: 40'),
  deadline: transcriptRunbook('tr-deadline', 'deadline: 3s, pollEvery: 1s'),
};

const SECRET_TOKEN = 'webhook-secret-for-transcript-tests';
const TRANSCRIPT_SCOPE = 'cloud_recording:read:meeting_transcript:admin';
const LINES = ['Ana Ruiz: The payments pool ran dry at 09:02.', 'Bo Chen: Rolling back release 42 now.'];

describe('zoom.collectTranscript, end to end', () => {
  let stack: Stack;
  useWebhookStack({ runbooks: Object.values(RUNBOOKS) }, SECRET_TOKEN, (started) => (stack = started));
  const admin = () => sandboxAdmin(stack);

  /** Opens an incident for `runbook`, holds its bridge with one person in it, resolves it, and waits for the run's end of it. */
  async function bridgeHeld(runbook: Runbook) {
    const id = uniqueIncidentId();
    await sendNow(stack, id, 'incident.created', { title: 'Transcript', fields: { case: runbook.name } });
    const meeting = await bridgeMeeting(stack, id);
    await admin().post(`/meetings/${meeting.id}/start`);
    await admin().post(`/meetings/${meeting.id}/participants`, { name: 'Ana Ruiz', email: 'ana@example.com' });
    await sendNow(stack, id, 'incident.resolved');
    await stepEntry(stack, id, 'end');
    await eventually(
      () => stack.sandbox.state.instances.find((i) => i.meetingId === meeting.id && i.endTime),
      `the ended instance of ${meeting.id}`,
    );
    return { id, meeting };
  }

  /** The transcript, recordings and file calls Zoom was sent for the meeting, with their answers, in order. */
  function transcriptCalls(meetingId: number): string[] {
    const instances = stack.sandbox.state.instances.filter((i) => i.meetingId === meetingId);
    const refs = [String(meetingId), ...instances.map((i) => meetingPathId(i.uuid))];
    const urls = instances.flatMap((i) => [
      ...((i.recording?.recording_files as { download_url: string }[] | undefined) ?? []).map((f) => f.download_url),
      String(i.companionTranscript?.download_url ?? ''),
    ]);
    return stack.sandbox.requests.flatMap((r) => {
      if (urls.some((u) => u.endsWith(r.path))) return [`download -> ${r.status}`];
      const call = refs
        .flatMap((ref) => ['transcript', 'recordings'].filter((what) => r.path === `/v2/meetings/${ref}/${what}`))
        .pop();
      return call ? [`${call} -> ${r.status}`] : [];
    });
  }

  const result = async (id: string, runbook: Runbook) =>
    (
      (await stack.client.workflow.getHandle(`${incidentWorkflowId(id)}/${runbook.name}`).result()) as {
        steps: Record<string, Record<string, unknown>>;
      }
    ).steps;

  it("recording.transcript_completed wakes the step: the recording's share link and the text's excerpt on the timeline, the text in the output", async () => {
    const { id, meeting } = await bridgeHeld(RUNBOOKS.webhook);
    // The recording comes first without its transcript: recording.completed alone finds nothing to read.
    const recorded = await admin().post(`/meetings/${meeting.id}/recording`, { transcript: false });
    const shareUrl = recorded.data.recording.share_url as string;
    const written = await admin().post(`/meetings/${meeting.id}/transcript`, { lines: LINES });
    const downloadToken = written.data.downloadToken as string;
    expect(downloadToken).toEqual(expect.any(String));

    const entry = await stepEntry(stack, id, 'transcript');
    expect(entry).toMatchObject({
      status: 'ok',
      summary: `Transcript of Zoom meeting ${meeting.id} is ready (cloud recording): "${LINES.join(' ')}"`,
      links: [{ label: 'Recording and transcript', url: shareUrl }],
    });
    const steps = await result(id, RUNBOOKS.webhook);
    expect(steps.transcript).toEqual({
      meetingId: String(meeting.id),
      found: true,
      source: 'cloudRecording',
      uuid: meeting.uuid,
      link: shareUrl,
      text: LINES.join('\n'),
      complete: true,
    });
    expect(steps.report).toMatchObject({ message: 'Transcript found: true' });
    // One look, once the webhook came: AI Companion's endpoint first, then the recording's file, read with the access token.
    expect(transcriptCalls(meeting.id)).toEqual(['transcript -> 404', 'recordings -> 200', 'download -> 200']);
    const deliveries = await admin().get<{ deliveries: { event: string; status?: number }[] }>('/webhooks/deliveries');
    expect(deliveries.data.deliveries).toContainEqual(
      expect.objectContaining({ event: 'recording.transcript_completed', status: 200 }),
    );
    // Neither the webhook's download token nor any file URL reaches the timeline or the output.
    const shown = JSON.stringify([await getTimeline(stack.client, id), steps]);
    expect(shown).not.toContain(downloadToken);
    expect(shown).not.toContain('/rec/download/');
    expect(stack.sandbox.requests.some((r) => JSON.stringify(r.query).includes(downloadToken))).toBe(false);
  });

  it('found by polling when the webhook never comes', async () => {
    const { id, meeting } = await bridgeHeld(RUNBOOKS.polling);
    const announced = () =>
      stack.sandbox.webhooks.deliveries.filter((d) => d.event === 'recording.transcript_completed').length;
    const before = announced();
    await admin().post(`/meetings/${meeting.id}/recording`, { transcript: false });
    // A poll finds the recording without its transcript before Zoom writes it.
    await eventually(
      () => (transcriptCalls(meeting.id).includes('recordings -> 200') ? true : undefined),
      'a poll of the recording',
    );
    await admin().post(`/meetings/${meeting.id}/transcript`, { webhook: false });
    const entry = await stepEntry(stack, id, 'transcript');
    expect(entry).toMatchObject({
      status: 'ok',
      summary: `Transcript of Zoom meeting ${meeting.id} is ready (cloud recording)`,
    });
    expect(announced()).toBe(before);
    // Asked every poll (both sources, in order) until the recording listed its transcript; link only: no download.
    const calls = transcriptCalls(meeting.id);
    expect(calls.slice(-2)).toEqual(['transcript -> 404', 'recordings -> 200']);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(calls.filter((c) => c.startsWith('transcript')).every((c) => c === 'transcript -> 404')).toBe(true);
    expect((await result(id, RUNBOOKS.polling)).transcript).toMatchObject({ found: true, source: 'cloudRecording' });
  });

  it("AI Companion's endpoint answers 404 while the recording holds a TRANSCRIPT file (listed in recording.completed): the file is the answer", async () => {
    const { id, meeting } = await bridgeHeld(RUNBOOKS.link);
    const recorded = await admin().post(`/meetings/${meeting.id}/recording`); // with its transcript
    const files = recorded.data.recording.recording_files as { file_type: string }[];
    expect(files.map((f) => f.file_type)).toContain('TRANSCRIPT');
    const entry = await stepEntry(stack, id, 'transcript');
    expect(entry).toMatchObject({
      status: 'ok',
      links: [{ label: 'Recording and transcript', url: recorded.data.recording.share_url }],
    });
    expect(transcriptCalls(meeting.id)).toEqual(['transcript -> 404', 'recordings -> 200']);
    const steps = await result(id, RUNBOOKS.link);
    expect(steps.transcript).toMatchObject({ found: true, source: 'cloudRecording' });
    expect(steps.transcript.text).toBeUndefined(); // store: link (the default) reads no text
  });

  it("AI Companion's transcript (no cloud recording, no webhook): found by polling, its text cut to maxChars", async () => {
    const { id, meeting } = await bridgeHeld(RUNBOOKS.companion);
    await admin().post(`/meetings/${meeting.id}/transcript`, { source: 'aiCompanion', lines: LINES });
    const entry = await stepEntry(stack, id, 'transcript');
    const kept = LINES[0].slice(0, 40);
    expect(entry).toMatchObject({
      status: 'ok',
      summary: `Transcript of Zoom meeting ${meeting.id} is ready (AI Companion): "${kept}"`,
    });
    expect(entry.links).toBeUndefined(); // no recording, so no share page to link
    expect((await result(id, RUNBOOKS.companion)).transcript).toMatchObject({
      found: true,
      source: 'aiCompanion',
      text: kept,
      complete: false,
    });
    const calls = transcriptCalls(meeting.id);
    expect(calls.slice(-3)).toEqual(['transcript -> 200', 'recordings -> 404', 'download -> 200']);
  });

  it('no transcript by the deadline: the timeline says so, and the runbook goes on', async () => {
    const { id, meeting } = await bridgeHeld(RUNBOOKS.deadline);
    const entry = await stepEntry(stack, id, 'transcript');
    expect(entry).toMatchObject({
      status: 'info',
      summary: `No transcript of Zoom meeting ${meeting.id}: none within 3s`,
    });
    const steps = await result(id, RUNBOOKS.deadline);
    expect(steps.transcript).toEqual({ meetingId: String(meeting.id), found: false, reason: 'none within 3s' });
    expect(steps.report).toMatchObject({ message: 'Transcript found: false' });
  });

  it('the scope missing: the step fails naming the scopes to add, and the runbook goes on', async () => {
    stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES.filter((s) => s !== TRANSCRIPT_SCOPE);
    await admin().post('/tokens/expire'); // the worker's next token carries the narrower scopes
    try {
      const { id, meeting } = await bridgeHeld(RUNBOOKS.polling);
      await admin().post(`/meetings/${meeting.id}/recording`);
      const entry = await stepEntry(stack, id, 'transcript');
      expect(entry.status).toBe('failed');
      expect(entry.summary).toContain(
        'add one of these scopes to the Zoom app: recording:read, recording:read:admin, cloud_recording:read:meeting_transcript, cloud_recording:read:meeting_transcript:admin',
      );
      expect((await stepEntry(stack, id, 'after')).status).not.toBe('failed');
    } finally {
      stack.sandbox.state.scopes = SANDBOX_DEFAULT_SCOPES;
      await admin().post('/tokens/expire');
    }
  });
});
