/** The steps that gather what a meeting left: its cloud recording, AI Companion's summary, its transcript and who attended. */
import { condition, patched } from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time';
import type {
  CollectedSummary,
  CollectedTranscript,
  RecordingSummary,
  SummaryLookup,
  TranscriptLookup,
} from '../../activities';
import type { StepInputs, StepOf } from '../../src/core/step-inputs';
import { nowMs } from '../clock';
import { attendanceByPerson, joinsSeen } from './room';
import { RUNBOOK_PATCHES } from '../contract/runbook';
import { RunbookRun, StepResult } from './run';

/**
 * How long attendance waits for Zoom's meeting.ended after ending the meeting itself when Zoom's
 * report is still empty: the webhooks come through the meeting's mailbox, which can lag seconds
 * behind (a worker killed while holding its workflow task).
 */
const ATTENDANCE_SETTLE = '2 minutes';

/** zoom.collectRecordings: waits for Zoom's recording.completed webhook, asking Zoom every `pollEvery` in case it never comes. */
export async function collectRecordings(
  run: RunbookRun,
  step: StepOf<'zoom.collectRecordings'>,
  inputs: StepInputs['zoom.collectRecordings'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  const { deadline = '24h', pollEvery = '30m' } = inputs;
  const room = run.room(meetingId);
  const giveUpAt = nowMs() + msToNumber(deadline);
  let recording: RecordingSummary | undefined;
  while (!recording) {
    const wait = Math.min(msToNumber(pollEvery), giveUpAt - nowMs());
    if (wait > 0 && (await condition(() => !!room.recording, wait))) {
      recording = { ready: true, ...room.recording! };
      break;
    }
    const polled = await run.zoom.getRecording.executeWithOptions(
      { summary: `Look for the recording of Zoom meeting ${meetingId}` },
      [{ connector: run.connector, meetingId }],
    );
    if (polled.ready) recording = polled;
    else if (nowMs() >= giveUpAt) {
      return {
        output: { meetingId, found: false },
        entry: { status: 'info', summary: `No recording of Zoom meeting ${meetingId} within ${deadline}` },
      };
    }
  }
  const links = recording.shareUrl ? [{ label: 'Recording', url: recording.shareUrl }] : undefined;
  const files = recording.files.map((f) => f.type).join(', ');
  return {
    output: { meetingId, found: true, ...recording },
    entry: { status: 'ok', summary: `Recording of Zoom meeting ${meetingId} is ready (${files})`, links },
  };
}

/** How much of the summary the timeline shows; the step's output keeps all of it. */
const OVERVIEW_SHOWN = 600;
const NEXT_STEPS_SHOWN = 5;
const NEXT_STEP_SHOWN = 160;

/**
 * zoom.collectSummary: waits for Zoom's meeting.summary_completed webhook, asking Zoom every
 * `pollEvery` in case it never comes, then puts the overview and next steps on the timeline. No
 * summary (AI Companion off, none within the deadline) is an answer there, not a failure.
 */
export async function collectSummary(
  run: RunbookRun,
  step: StepOf<'zoom.collectSummary'>,
  inputs: StepInputs['zoom.collectSummary'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  const { deadline = '2h', pollEvery = '10m' } = inputs;
  const room = run.room(meetingId);
  const giveUpAt = nowMs() + msToNumber(deadline);
  const none = (why: string): StepResult => ({
    output: { meetingId, found: false, reason: why },
    entry: { status: 'info', summary: `No summary of Zoom meeting ${meetingId}: ${why}` },
  });
  // The summary webhook last looked up: Zoom's API may lag it, and only a new one is worth asking again at once.
  const oncePerWebhook = patched(RUNBOOK_PATCHES.summaryOncePerWebhook);
  let lookedUp: string | undefined;
  for (;;) {
    const wait = Math.min(msToNumber(pollEvery), giveUpAt - nowMs());
    if (wait > 0) await condition(() => !!room.summaryUuid && room.summaryUuid !== lookedUp, wait);
    if (oncePerWebhook) lookedUp = room.summaryUuid;
    // The webhook names the instance; without it, the instance the webhooks saw, else Zoom's latest ended one.
    const lookup: SummaryLookup = await run.zoom.getMeetingSummary.executeWithOptions(
      { summary: `Look for the AI Companion summary of Zoom meeting ${meetingId}` },
      [{ connector: run.connector, meetingId, uuid: room.summaryUuid ?? (room.ended ? room.uuid : undefined) }],
    );
    if (lookup.state === 'ready') {
      return {
        output: { meetingId, found: true, ...lookup.summary },
        entry: { status: 'ok', summary: summaryLine(meetingId, lookup.summary) },
      };
    }
    if (lookup.state === 'refused') return none(lookup.reason);
    if (nowMs() >= giveUpAt) return none(`none within ${deadline}`);
  }
}

/** How much of a transcript's text the timeline shows; the step's output keeps what was read. */
const EXCERPT_SHOWN = 280;
const TRANSCRIPT_SOURCE = { aiCompanion: 'AI Companion', cloudRecording: 'cloud recording' } as const;

/**
 * zoom.collectTranscript: waits for Zoom to say a transcript is ready (recording.transcript_completed,
 * or a recording.completed listing a TRANSCRIPT file), asking Zoom every `pollEvery` in case no
 * webhook comes, then puts it on the timeline: the recording's share link, and with `store: text`
 * an excerpt of its text (the step's output keeps up to `maxChars`). No transcript within the
 * deadline is an answer there, not a failure.
 */
export async function collectTranscript(
  run: RunbookRun,
  step: StepOf<'zoom.collectTranscript'>,
  inputs: StepInputs['zoom.collectTranscript'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  const { deadline = '24h', pollEvery = '30m', store = 'link', maxChars = 20_000 } = inputs;
  const room = run.room(meetingId);
  const giveUpAt = nowMs() + msToNumber(deadline);
  let heard = 0;
  for (;;) {
    const wait = Math.min(msToNumber(pollEvery), giveUpAt - nowMs());
    // Woken only by news since the last look: a webhook Zoom's API does not agree with yet is not asked about again at once.
    if (wait > 0) await condition(() => (room.transcriptsAnnounced ?? 0) > heard, wait);
    heard = room.transcriptsAnnounced ?? 0;
    const lookup: TranscriptLookup = await run.zoom.getTranscript.executeWithOptions(
      { summary: `Look for the transcript of Zoom meeting ${meetingId}` },
      [
        {
          connector: run.connector,
          meetingId,
          uuid: room.transcriptUuid ?? (room.ended ? room.uuid : undefined),
          textChars: store === 'text' ? maxChars : undefined,
        },
      ],
    );
    if (lookup.state === 'ready') {
      return {
        output: { meetingId, found: true, ...lookup.transcript },
        entry: {
          status: 'ok',
          summary: transcriptLine(meetingId, lookup.transcript),
          links: lookup.transcript.link
            ? [{ label: 'Recording and transcript', url: lookup.transcript.link }]
            : undefined,
        },
      };
    }
    if (nowMs() >= giveUpAt) {
      const reason = `none within ${deadline}${lookup.reason ? ` (Zoom: ${lookup.reason})` : ''}`;
      return {
        output: { meetingId, found: false, reason },
        entry: { status: 'info', summary: `No transcript of Zoom meeting ${meetingId}: ${reason}` },
      };
    }
  }
}

function transcriptLine(meetingId: string, t: CollectedTranscript): string {
  const ready = `Transcript of Zoom meeting ${meetingId} is ready (${TRANSCRIPT_SOURCE[t.source]})`;
  if (t.text) return `${ready}: "${cut(t.text, EXCERPT_SHOWN)}"`;
  return t.link ? ready : `${ready}: open it in Zoom's web portal (Recordings & Transcripts)`;
}

/** The overview and the first next steps, each cut short: a timeline line, not the summary. */
function summaryLine(meetingId: string, s: CollectedSummary): string {
  const steps = s.nextSteps.slice(0, NEXT_STEPS_SHOWN).map((n) => cut(n, NEXT_STEP_SHOWN));
  const more = s.nextSteps.length - steps.length;
  return [
    `Summary of Zoom meeting ${meetingId}: ${cut(s.overview ?? s.title ?? '(Zoom gave no overview)', OVERVIEW_SHOWN)}`,
    steps.length ? `Next steps: ${steps.join('; ')}${more > 0 ? ` (+${more} more)` : ''}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

const cut = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** zoom.collectAttendance: once the meeting ends, who attended and for how long, from Zoom's past-participants API. */
export async function collectAttendance(
  run: RunbookRun,
  step: StepOf<'zoom.collectAttendance'>,
  inputs: StepInputs['zoom.collectAttendance'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  const room = run.room(meetingId);
  await condition(() => room.ended, inputs.waitForEnd ?? '12h');
  const askZoom = () =>
    run.zoom.getAttendance.executeWithOptions({ summary: `Attendance of Zoom meeting ${meetingId}` }, [
      { connector: run.connector, meetingId },
    ]);
  let reported = await askZoom();
  // Zoom's report lags the end; the joins then come from the webhooks, which may still be on their
  // way when the run ended a live meeting itself (a meeting nobody started sends no meeting.ended).
  if (!reported.length && room.seenLive && !room.endedInZoom && patched(RUNBOOK_PATCHES.attendanceSettles)) {
    if (await condition(() => !!room.endedInZoom, ATTENDANCE_SETTLE)) reported = await askZoom();
  }
  // Zoom's report is the record; the webhooks' joins stand in when it has none (e.g. not yet processed).
  const source = reported.length ? 'Zoom report' : 'live webhooks';
  const people = attendanceByPerson(reported.length ? reported : joinsSeen(room));
  const summary = people.length
    ? `Attendance of Zoom meeting ${meetingId} (${source}): ${people.length} people (${people.map((p) => `${p.name} ${Math.round(p.seconds / 60)} min`).join(', ')})`
    : `Nobody attended Zoom meeting ${meetingId}`;
  return { output: { meetingId, source, people }, entry: { status: 'ok', summary } };
}
