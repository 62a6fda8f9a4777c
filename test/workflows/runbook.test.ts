import { ApplicationFailure, WorkflowFailedError, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  addParticipantsUpdate,
  incidentBridgeQuery,
  cancelRunbookSignal,
  runbookEndBridgeSignal,
  FAILURE_TYPE,
  incidentWorkflowId,
  TimelineEntry,
  ZoomMeetingEvent,
  zoomMeetingEventSignal,
} from '../../workflows/contract';
import { eventually, uniqueIncidentId } from '../support/stack';
import { runbook, signalsHandled, startWorkflowEnv, WorkflowEnv } from '../support/workflow-env';

/**
 * The runbook workflow's logic (workflows/runbook.ts), on the time-skipping test server with Zoom
 * stubbed (test/support/workflow-env.ts): hours of waiting take milliseconds, and every Zoom call
 * the run makes is on record. Each runbook here is triggered by its own `fields.case`.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const bridge = `{ id: bridge, action: zoom.createMeeting, with: { topic: "Bridge {{Activity.id}}" } }`;
const resolved = `{ id: resolved, action: wait.forIncident, with: { status: [resolved, closed] } }`;
const on = (name: string) => `name: ${name}\ntrigger: { on: [incident.created], when: { fields.case: ${name} } }`;

const runbooks = [
  runbook(`${on('grace')}
steps: [${bridge}, ${resolved}, { id: end, action: zoom.endMeeting, with: { meeting: bridge, graceMinutes: 10 } }]`),
  runbook(`${on('when-empty')}
steps: [${bridge}, ${resolved}, { id: end, action: zoom.endMeeting, with: { meeting: bridge, whenEmpty: 15m } }]`),
  runbook(`${on('recording')}
steps:
  - ${bridge}
  - { id: recording, action: zoom.collectRecordings, with: { meeting: bridge, deadline: 6h, pollEvery: 1h } }`),
  runbook(`${on('summary')}
steps:
  - ${bridge}
  - { id: summary, action: zoom.collectSummary, with: { meeting: bridge, deadline: 3h, pollEvery: 1h } }`),
  runbook(`${on('transcript')}
steps:
  - ${bridge}
  - { id: transcript, action: zoom.collectTranscript, with: { meeting: bridge, deadline: 3h, pollEvery: 1h, store: text, maxChars: 500 } }`),
  runbook(`${on('attendance')}
steps:
  - ${bridge}
  - { id: attendance, action: zoom.collectAttendance, with: { meeting: bridge, waitForEnd: 1h } }`),
  runbook(`${on('record-live')}
steps:
  - ${bridge}
  - { id: record, action: zoom.recordingControl, with: { meeting: bridge, action: start, whenLive: 30m } }`),
  runbook(`${on('call-out')}
steps:
  - ${bridge}
  - id: call
    action: zoom.callOut
    with: { meeting: bridge, people: [{ name: On-call, phone: "+1 206 555 0100" }], when: { notAcknowledgedWithin: 10m } }`),
  runbook(`${on('timeout')}
steps:
  - { id: resolved, action: wait.forIncident, with: { status: [resolved, closed], timeout: 2h } }
  - { id: after, action: timeline.post, with: { message: "Waited for {{Activity.id}}" } }`),
  runbook(`${on('fragile')}
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "Fragile" }, continueOnError: true }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
  - { id: never, action: timeline.post, with: { message: "not reached" } }`),
  runbook(`${on('cleanup')}
steps:
  - ${bridge}
  - id: sync
    action: zoom.recurringMeeting
    with: { topic: "Sync {{Activity.id}}", recurrence: { every: day, at: { from: now, offset: 1 day } } }
  - ${resolved}`),
  runbook(`${on('follow')}
steps:
  - { id: bridge, action: zoom.createMeeting, with: { topic: "{{Activity.title}} - Bridge", followIncident: true } }
  - ${resolved}`),
  runbook(`
name: postmortem
trigger: { on: [incident.resolved], when: { fields.case: postmortem } }
steps:
  - id: postmortem
    action: zoom.scheduleMeeting
    with: { topic: "Postmortem {{Activity.id}}", start: { from: resolvedAt, offset: 3 days }, onReopen: cancel }
  - { id: prep, action: wait.until, with: { at: { from: resolvedAt, offset: 2 days } } }
  - { id: remind, action: timeline.post, if: { status: resolved }, with: { message: "Postmortem tomorrow" } }`),
];
/** On resolve: a pause, then a booking that is re-planned when the incident reopens. */
const replan = runbook(`
name: replan
trigger: { on: [incident.resolved], when: { fields.case: replan } }
steps:
  - { id: pause, action: wait.duration, with: { for: 1h } }
  - id: review
    action: zoom.scheduleMeeting
    with: { topic: "Review {{Activity.id}}", start: { from: resolvedAt, offset: 2 days }, onReopen: replan }
`);

describe('the runbook workflow, Zoom stubbed, on the time-skipping test server', () => {
  let w: WorkflowEnv;
  beforeAll(async () => (w = await startWorkflowEnv({ runbooks: [...runbooks, replan] })));
  afterAll(async () => w?.stop());
  afterEach(() => w.zoom.reset());

  /** A new incident of case `name`, created now (workflow time), and the run of that runbook. */
  async function open(name: string, incident: Record<string, unknown> = {}) {
    const id = uniqueIncidentId();
    await w.send(id, 'incident.created', { title: `Case ${name}`, ...incident, fields: { case: name } });
    const run = w.runbook(id, name);
    await eventually(() => run.describe(), `the ${name} run to start`);
    return { id, run };
  }
  const timelineWith = (id: string, match: (e: TimelineEntry) => boolean, what: string) =>
    eventually(async () => {
      const t = await w.timeline(id);
      return t.some(match) ? t : undefined;
    }, what);
  const stepEntry = async (id: string, step: string) =>
    (await timelineWith(id, (e) => e.step === step, `step ${step}`)).find((e) => e.step === step)!;
  /** The meeting a step created, by the id its timeline entry names. */
  const meetingOf = async (id: string, step: string) => /\((\d+)\)$/.exec((await stepEntry(id, step)).summary)![1];
  const zoomEvent = (
    meetingId: string,
    type: ZoomMeetingEvent['type'],
    at: number,
    participant?: ZoomMeetingEvent['participant'],
  ): ZoomMeetingEvent => ({ type, meetingId, at: new Date(at).toISOString(), participant });

  describe('zoom.endMeeting', () => {
    it('graceMinutes: ends the meeting that many minutes after the incident is resolved', async () => {
      const { id, run } = await open('grace');
      const meetingId = await meetingOf(id, 'bridge');
      await w.send(id, 'incident.resolved');
      const resolvedAt = await w.now();
      await run.result();
      const [end] = w.zoom.callsTo('endMeeting', meetingId);
      expect(end.at - resolvedAt).toBeGreaterThanOrEqual(10 * 60_000);
      expect(end.at - resolvedAt).toBeLessThan(11 * 60_000);
      expect((await stepEntry(id, 'end')).summary).toBe(`Zoom meeting ${meetingId} ended`);
    });

    it('whenEmpty: waits for the last participant to leave, and ends a room nobody leaves when the wait is over', async () => {
      const left = await open('when-empty');
      const full = await open('when-empty');
      const [leftId, fullId] = [await meetingOf(left.id, 'bridge'), await meetingOf(full.id, 'bridge')];
      const start = await w.now();
      await left.run.signal(
        zoomMeetingEventSignal,
        zoomEvent(leftId, 'meeting.participant_joined', start, { id: 'p1' }),
      );
      await full.run.signal(
        zoomMeetingEventSignal,
        zoomEvent(fullId, 'meeting.participant_joined', start, { id: 'p2' }),
      );
      await w.send(left.id, 'incident.resolved');
      await w.send(full.id, 'incident.resolved');
      await w.env.sleep('330 seconds');
      expect([...w.zoom.callsTo('endMeeting', leftId), ...w.zoom.callsTo('endMeeting', fullId)]).toEqual([]);
      await left.run.signal(zoomMeetingEventSignal, zoomEvent(leftId, 'meeting.participant_left', start, { id: 'p1' }));
      await left.run.result();
      expect(w.zoom.callsTo('endMeeting', leftId)).toHaveLength(1);
      expect(w.zoom.callsTo('endMeeting', fullId)).toEqual([]);

      await full.run.result(); // 15 minutes after the resolve, someone still inside
      const [end] = w.zoom.callsTo('endMeeting', fullId);
      expect(end.at - start).toBeGreaterThanOrEqual(15 * 60_000);
    });
  });

  describe('zoom.collectRecordings', () => {
    it('asks Zoom every pollEvery while no webhook comes, and gives up at the deadline', async () => {
      const { id, run } = await open('recording');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await run.result();
      const polls = w.zoom.callsTo('getRecording', meetingId).map((c) => Math.round((c.at - start) / HOUR));
      expect(polls).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await stepEntry(id, 'recording')).summary).toBe(`No recording of Zoom meeting ${meetingId} within 6h`);
    });

    it('takes the recording a poll finds', async () => {
      let polls = 0;
      w.zoom.answer.getRecording = async () =>
        ++polls < 3
          ? { ready: false, files: [] }
          : { ready: true, shareUrl: 'https://zoom.test/rec/1', files: [{ type: 'MP4' }] };
      const { id, run } = await open('recording');
      const meetingId = await meetingOf(id, 'bridge');
      expect(await run.result()).toMatchObject({
        steps: { recording: { meetingId, found: true, shareUrl: 'https://zoom.test/rec/1' } },
      });
      expect(polls).toBe(3);
      expect(await stepEntry(id, 'recording')).toMatchObject({
        summary: `Recording of Zoom meeting ${meetingId} is ready (MP4)`,
        links: [{ label: 'Recording', url: 'https://zoom.test/rec/1' }],
      });
    });

    it("takes Zoom's recording.completed webhook without asking Zoom", async () => {
      const { id, run } = await open('recording');
      const meetingId = await meetingOf(id, 'bridge');
      await w.env.sleep('30 minutes'); // between two polls (see test/time-skipping.test.ts)
      await run.signal(zoomMeetingEventSignal, {
        ...zoomEvent(meetingId, 'recording.completed', await w.now()),
        recording: { shareUrl: 'https://zoom.test/rec/2', files: [{ type: 'M4A' }] },
      });
      await run.result();
      expect(w.zoom.callsTo('getRecording', meetingId)).toEqual([]);
      expect((await stepEntry(id, 'recording')).links).toEqual([
        { label: 'Recording', url: 'https://zoom.test/rec/2' },
      ]);
    });
  });

  describe('zoom.collectTranscript', () => {
    const HALF_HOUR = HOUR / 2;

    it("a webhook Zoom's API does not agree with yet wakes one look, not a loop; then the polls, and the deadline with Zoom's reason", async () => {
      w.zoom.answer.getTranscript = async () => ({ state: 'pending', reason: 'NOT_READY' });
      const { id, run } = await open('transcript');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await w.env.sleep('30 minutes');
      await run.signal(zoomMeetingEventSignal, {
        ...zoomEvent(meetingId, 'recording.transcript_completed', await w.now()),
        uuid: 'inst-3',
      });
      await run.result();
      const looks = w.zoom.callsTo('getTranscript', meetingId);
      expect(looks.map((c) => Math.round((c.at - start) / HALF_HOUR))).toEqual([1, 3, 5, 6]);
      expect(looks.map((c) => [c.input.uuid, c.input.textChars])).toEqual(Array(4).fill(['inst-3', 500]));
      expect(await stepEntry(id, 'transcript')).toMatchObject({
        status: 'info',
        summary: `No transcript of Zoom meeting ${meetingId}: none within 3h (Zoom: NOT_READY)`,
      });
    });

    it('a recording.completed listing a TRANSCRIPT file wakes the step; a recording without one does not', async () => {
      const text = `Ana: ${'words '.repeat(100)}`;
      w.zoom.answer.getTranscript = async ({ uuid }) => ({
        state: 'ready',
        transcript: { source: 'cloudRecording', uuid, link: 'https://zoom.test/rec/share/9', text, complete: true },
      });
      const { id, run } = await open('transcript');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      const recording = (files: string[]): ZoomMeetingEvent => ({
        ...zoomEvent(meetingId, 'recording.completed', start),
        uuid: 'inst-4',
        recording: { shareUrl: 'https://zoom.test/rec/share/9', files: files.map((type) => ({ type })) },
      });
      await run.signal(zoomMeetingEventSignal, recording(['MP4', 'M4A']));
      await w.env.sleep('10 minutes');
      expect(w.zoom.callsTo('getTranscript', meetingId)).toEqual([]);
      await run.signal(zoomMeetingEventSignal, recording(['MP4', 'TRANSCRIPT']));
      expect(await run.result()).toMatchObject({
        steps: { transcript: { found: true, source: 'cloudRecording', uuid: 'inst-4', text } },
      });
      const [look, ...more] = w.zoom.callsTo('getTranscript', meetingId);
      expect(more).toEqual([]);
      expect(look.at - start).toBeLessThan(HOUR);
      expect(await stepEntry(id, 'transcript')).toMatchObject({
        status: 'ok',
        summary: `Transcript of Zoom meeting ${meetingId} is ready (cloud recording): "${text.trim().slice(0, 279)}…"`,
        links: [{ label: 'Recording and transcript', url: 'https://zoom.test/rec/share/9' }],
      });
    });
  });

  describe('zoom.collectSummary', () => {
    it('asks Zoom every pollEvery, by the UUID meeting.ended gave, and gives up at the deadline with an answer', async () => {
      const { id, run } = await open('summary');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await run.signal(zoomMeetingEventSignal, { ...zoomEvent(meetingId, 'meeting.ended', start), uuid: 'inst/1==' });
      await run.result();
      const polls = w.zoom.callsTo('getMeetingSummary', meetingId);
      expect(polls.map((c) => Math.round((c.at - start) / HOUR))).toEqual([1, 2, 3]);
      expect(polls.map((c) => c.input.uuid)).toEqual(['inst/1==', 'inst/1==', 'inst/1==']);
      expect(await stepEntry(id, 'summary')).toMatchObject({
        status: 'info',
        summary: `No summary of Zoom meeting ${meetingId}: none within 3h`,
      });
    });

    it("a summary webhook Zoom's API does not agree with yet wakes one look, not a loop; then the polls", async () => {
      const { id, run } = await open('summary');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await w.env.sleep('30 minutes'); // between two polls
      await run.signal(zoomMeetingEventSignal, {
        ...zoomEvent(meetingId, 'meeting.summary_completed', await w.now()),
        uuid: 'inst-5',
      });
      await run.result();
      const looks = w.zoom.callsTo('getMeetingSummary', meetingId);
      expect(looks.map((c) => Math.round((2 * (c.at - start)) / HOUR))).toEqual([1, 3, 5, 6]);
      expect(looks.map((c) => c.input.uuid)).toEqual(Array(4).fill('inst-5'));
    });

    it('meeting.summary_completed wakes the step: the instance it names is fetched at once; the timeline gets a short form', async () => {
      const nextSteps = Array.from({ length: 7 }, (_, i) => `Step ${i + 1}`);
      const overview = 'x'.repeat(2000);
      w.zoom.answer.getMeetingSummary = async ({ uuid }) => ({
        state: 'ready',
        summary: { uuid: uuid!, overview, details: [], nextSteps },
      });
      const { id, run } = await open('summary');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await w.env.sleep('30 minutes'); // between two polls
      await run.signal(zoomMeetingEventSignal, {
        ...zoomEvent(meetingId, 'meeting.summary_completed', await w.now()),
        uuid: 'inst-2',
      });
      expect(await run.result()).toMatchObject({ steps: { summary: { found: true, uuid: 'inst-2', overview } } });
      const [call, ...more] = w.zoom.callsTo('getMeetingSummary', meetingId);
      expect(more).toEqual([]);
      expect(call.input.uuid).toBe('inst-2');
      expect(call.at - start).toBeLessThan(HOUR);
      const { summary } = await stepEntry(id, 'summary');
      expect(summary).toBe(
        `Summary of Zoom meeting ${meetingId}: ${'x'.repeat(599)}… Next steps: Step 1; Step 2; Step 3; Step 4; Step 5 (+2 more)`,
      );
    });

    it("Zoom's refusal (AI Companion off) is the answer at the first poll", async () => {
      w.zoom.answer.getMeetingSummary = async () => ({ state: 'refused', reason: 'HTTP 400 code 300: not enabled' });
      const { id, run } = await open('summary');
      const meetingId = await meetingOf(id, 'bridge');
      await run.result();
      expect(w.zoom.callsTo('getMeetingSummary', meetingId)).toHaveLength(1);
      expect((await stepEntry(id, 'summary')).summary).toBe(
        `No summary of Zoom meeting ${meetingId}: HTTP 400 code 300: not enabled`,
      );
    });
  });

  describe('zoom.collectAttendance', () => {
    const ended = (run: WorkflowHandle, meetingId: string, at: number) =>
      run.signal(zoomMeetingEventSignal, zoomEvent(meetingId, 'meeting.ended', at));

    it("uses Zoom's report, people who rejoined counted once", async () => {
      w.zoom.answer.getAttendance = async () => [
        { name: 'Ana', joinedAt: '2026-01-01T10:00:00Z', seconds: 600 },
        { name: 'Bo', joinedAt: '2026-01-01T10:01:00Z', seconds: 300 },
        { name: 'ana', joinedAt: '2026-01-01T10:20:00Z', seconds: 600 },
      ];
      const { id, run } = await open('attendance');
      const meetingId = await meetingOf(id, 'bridge');
      await ended(run, meetingId, await w.now());
      await run.result();
      expect((await stepEntry(id, 'attendance')).summary).toBe(
        `Attendance of Zoom meeting ${meetingId} (Zoom report): 2 people (Ana 20 min, Bo 5 min)`,
      );
    });

    it("falls back to the webhooks' joins when Zoom's report is empty", async () => {
      const { id, run } = await open('attendance');
      const meetingId = await meetingOf(id, 'bridge');
      const t0 = await w.now();
      const ed = { id: 'p-ed', name: 'Ed' };
      await run.signal(zoomMeetingEventSignal, zoomEvent(meetingId, 'meeting.participant_joined', t0, ed));
      await run.signal(zoomMeetingEventSignal, zoomEvent(meetingId, 'meeting.participant_left', t0 + 7 * 60_000, ed));
      await ended(run, meetingId, t0 + 8 * 60_000);
      await run.result();
      expect((await stepEntry(id, 'attendance')).summary).toBe(
        `Attendance of Zoom meeting ${meetingId} (live webhooks): 1 people (Ed 7 min)`,
      );
      expect(w.zoom.callsTo('getAttendance', meetingId)).toHaveLength(1);
    });

    it("a live meeting whose end Zoom has not confirmed: waits for Zoom's meeting.ended and asks Zoom again", async () => {
      let asked = 0;
      w.zoom.answer.getAttendance = async () =>
        ++asked === 1 ? [] : [{ name: 'Fay', joinedAt: '2026-01-01T10:00:00Z', seconds: 1200 }];
      const { id, run } = await open('attendance');
      const meetingId = await meetingOf(id, 'bridge');
      // Live, then ended by the run's own clock (waitForEnd 1h) without Zoom's meeting.ended.
      await run.signal(zoomMeetingEventSignal, zoomEvent(meetingId, 'meeting.started', await w.now()));
      await signalsHandled(run);
      await w.env.sleep('61 minutes');
      await eventually(() => (asked === 1 ? true : undefined), 'the first, empty, report');
      await ended(run, meetingId, await w.now());
      await run.result();
      expect(asked).toBe(2);
      expect((await stepEntry(id, 'attendance')).summary).toBe(
        `Attendance of Zoom meeting ${meetingId} (Zoom report): 1 people (Fay 20 min)`,
      );
    });

    it('says nobody attended when neither Zoom nor the webhooks saw anyone', async () => {
      const { id, run } = await open('attendance');
      const meetingId = await meetingOf(id, 'bridge');
      await run.result(); // waitForEnd: 1h, then the (empty) report
      expect((await stepEntry(id, 'attendance')).summary).toBe(`Nobody attended Zoom meeting ${meetingId}`);
    });
  });

  describe('zoom.recordingControl', () => {
    it("whenLive: starts the recording once Zoom's webhooks say the meeting is live", async () => {
      const { id, run } = await open('record-live');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await w.env.sleep('10 minutes');
      expect(w.zoom.callsTo('controlRecording', meetingId)).toEqual([]);
      await run.signal(zoomMeetingEventSignal, zoomEvent(meetingId, 'meeting.started', await w.now()));
      expect(await run.result()).toMatchObject({
        steps: { record: { meetingId, action: 'start', recording: 'recording' } },
      });
      const [call] = w.zoom.callsTo('controlRecording', meetingId);
      expect(call.input).toMatchObject({ meetingId, action: 'start' });
      expect(call.at - start).toBeGreaterThanOrEqual(10 * 60_000);
      expect(call.at - start).toBeLessThan(30 * 60_000);
      expect((await stepEntry(id, 'record')).summary).toBe(`Cloud recording of Zoom meeting ${meetingId} started`);
    });

    it('whenLive: without a webhook, asks Zoom when the wait is over, and a refusal fails the step', async () => {
      w.zoom.answer.controlRecording = async () => {
        throw ApplicationFailure.nonRetryable('Zoom meeting 1 is not live', 'ZoomMeetingNotLiveError');
      };
      const { id, run } = await open('record-live');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      await expect(run.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const [call] = w.zoom.callsTo('controlRecording', meetingId);
      expect(Math.round((call.at - start) / 60_000)).toBe(30); // the wait began just before `start` was read
      expect((await stepEntry(id, 'record')).summary).toBe('Step record failed: Zoom meeting 1 is not live');
    });
  });

  describe('zoom.callOut', () => {
    it('not acknowledged within 10 minutes: Zoom phones the on-call then, and the number shows masked', async () => {
      const { id, run } = await open('call-out');
      const meetingId = await meetingOf(id, 'bridge');
      const start = await w.now();
      expect(await run.result()).toMatchObject({
        steps: { call: { meetingId, called: [{ name: 'On-call', phone: '+••• ••• 0100' }], acknowledged: false } },
      });
      const [call] = w.zoom.callsTo('callOut', meetingId);
      expect(call.input).toMatchObject({ meetingId, name: 'On-call', phone: '+12065550100' });
      expect(Math.round((call.at - start) / 60_000)).toBe(10);
      expect((await stepEntry(id, 'call')).summary).toBe(
        `Zoom is phoning On-call (+••• ••• 0100) into meeting ${meetingId}`,
      );
    });

    it("acknowledged in time (the source's status word): nobody is phoned", async () => {
      const { id, run } = await open('call-out');
      const meetingId = await meetingOf(id, 'bridge');
      await w.send(id, 'incident.updated', { status: 'Acknowledged' });
      expect(await run.result()).toMatchObject({ steps: { call: { meetingId, called: [], acknowledged: true } } });
      expect(w.zoom.callsTo('callOut', meetingId)).toEqual([]);
      expect((await stepEntry(id, 'call')).summary).toBe(
        `Nobody phoned into Zoom meeting ${meetingId}: the incident was acknowledged within 10m`,
      );
    });
  });

  it("a bridge's timeline entry: the join link and the first three dial-in numbers as one-tap links; the output has them all", async () => {
    const dialIn = [
      { country: 'US', number: '+1 555 010 0100', city: 'New York', type: 'toll' },
      { country: 'US', number: '+1 800 555 0100', type: 'tollfree' },
      { country: 'GB', number: '+44 20 7946 0100', city: 'London', type: 'toll' },
      { country: 'DE', number: '+49 69 9999 0100', city: 'Frankfurt', type: 'toll' },
    ];
    const create = w.zoom.answer.createMeeting;
    w.zoom.answer.createMeeting = async (input) => ({ ...(await create(input)), dialIn });
    const { id, run } = await open('record-live');
    const meetingId = await meetingOf(id, 'bridge');
    expect((await stepEntry(id, 'bridge')).links).toEqual([
      { label: 'Join', url: `https://zoom.test/j/${meetingId}` },
      { label: 'Dial-in US New York +1 555 010 0100', url: `tel:+15550100100,,${meetingId}#` },
      { label: 'Dial-in US toll-free +1 800 555 0100', url: `tel:+18005550100,,${meetingId}#` },
      { label: 'Dial-in GB London +44 20 7946 0100', url: `tel:+442079460100,,${meetingId}#` },
    ]);
    await run.signal(zoomMeetingEventSignal, zoomEvent(meetingId, 'meeting.started', await w.now()));
    expect(await run.result()).toMatchObject({ steps: { bridge: { id: meetingId, dialIn } } });
  });

  it('wait.forIncident with a timeout: stops waiting and goes on', async () => {
    const start = await w.now();
    const { id, run } = await open('timeout');
    await run.result();
    const timeline = await w.timeline(id);
    const waited = timeline.find((e) => e.step === 'resolved')!;
    expect(waited.summary).toBe('Stopped waiting for status resolved or closed after 2h');
    expect(Date.parse(waited.at) - start).toBeGreaterThanOrEqual(2 * HOUR);
    expect(timeline.find((e) => e.step === 'after')!.summary).toBe(`Waited for ${id}`);
  });

  describe('a failing step', () => {
    it('with continueOnError the run goes on; a step naming the meeting it never made fails the run, saying which', async () => {
      w.zoom.answer.createMeeting = async () => {
        throw ApplicationFailure.nonRetryable('Invalid field.', 'ZoomApiError');
      };
      const { id, run } = await open('fragile');
      const failure = await run.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toMatchObject({
        type: FAILURE_TYPE.runbookStepFailed,
        message:
          'Runbook fragile, step end failed: step "bridge" has no Zoom meeting (it failed, was skipped or has not run)',
      });
      const timeline = await w.timeline(id);
      expect(
        timeline.filter((e) => e.source === 'fragile' && e.step).map((e) => [e.step, e.status, e.summary]),
      ).toEqual([
        ['bridge', 'failed', 'Step bridge failed: Invalid field.'],
        ['end', 'failed', 'Step end failed: step "bridge" has no Zoom meeting (it failed, was skipped or has not run)'],
      ]);
    });
  });

  describe('operators', () => {
    it('cancelRunbook ends the bridge and deletes the recurring meetings, and the run says why it stopped', async () => {
      const { id, run } = await open('cleanup');
      const [bridgeId, syncId] = [
        await meetingOf(id, 'bridge'),
        /\((\d+)\);/.exec((await stepEntry(id, 'sync')).summary)![1],
      ];
      await run.signal(cancelRunbookSignal, { reason: 'duplicate incident' });
      expect(await run.result()).toMatchObject({ runbook: 'cleanup', cancelled: 'duplicate incident' });
      expect(w.zoom.callsTo('endMeeting', bridgeId)).toHaveLength(1);
      expect(w.zoom.callsTo('deleteMeeting', syncId)).toHaveLength(1);
      const summaries = (await w.timeline(id)).map((e) => e.summary);
      expect(summaries).toEqual(
        expect.arrayContaining([
          `Zoom meeting ${bridgeId} ended: runbook cancelled`,
          `Recurring Zoom meeting ${syncId} deleted: runbook cancelled`,
          'Runbook cleanup cancelled',
        ]),
      );
      // The incident knows both are gone: it has no bridge left.
      expect(await w.client.workflow.getHandle(incidentWorkflowId(id)).query(incidentBridgeQuery)).toBeNull();
    });

    it('cancelRunbook with cleanup false leaves every meeting as it is; the incident still names the bridge', async () => {
      const { id, run } = await open('cleanup');
      const bridgeId = await meetingOf(id, 'bridge');
      const syncId = /\((\d+)\);/.exec((await stepEntry(id, 'sync')).summary)![1];
      await run.signal(cancelRunbookSignal, { cleanup: false, reason: 'handled by phone' });
      expect(await run.result()).toMatchObject({ cancelled: 'handled by phone' });
      const removals = [bridgeId, syncId].flatMap((m) => [
        ...w.zoom.callsTo('endMeeting', m),
        ...w.zoom.callsTo('deleteMeeting', m),
      ]);
      expect(removals).toEqual([]);
      expect((await w.timeline(id)).map((e) => e.summary)).toContain(
        'Runbook cleanup cancelled (its meetings were left as they are)',
      );
      expect(await w.client.workflow.getHandle(incidentWorkflowId(id)).query(incidentBridgeQuery)).toMatchObject({
        id: bridgeId,
      });
    });

    it('a workflow cancel (temporal workflow cancel) ends the bridge too, and the run ends cancelled', async () => {
      const { id, run } = await open('cleanup');
      const bridgeId = await meetingOf(id, 'bridge');
      await stepEntry(id, 'sync');
      await run.cancel();
      await expect(run.result()).rejects.toThrow(WorkflowFailedError);
      expect((await run.describe()).status.name).toBe('CANCELLED');
      expect(w.zoom.callsTo('endMeeting', bridgeId)).toHaveLength(1);
      expect((await w.timeline(id)).map((e) => e.summary)).toContain(
        `Zoom meeting ${bridgeId} ended: runbook cancelled`,
      );
    });

    it('endBridge ends the bridge once, however often it is sent, and the run goes on waiting', async () => {
      const { id, run } = await open('cleanup');
      const bridgeId = await meetingOf(id, 'bridge');
      await run.signal(runbookEndBridgeSignal);
      await run.signal(runbookEndBridgeSignal);
      await timelineWith(id, (e) => e.summary.endsWith('ended by an operator'), 'the bridge ended');
      expect(w.zoom.callsTo('endMeeting', bridgeId)).toHaveLength(1);
      expect((await run.describe()).status.name).toBe('RUNNING');
      // Closed: the sync is deleted and the run finishes; the bridge is not ended again.
      await w.send(id, 'incident.closed');
      await run.result();
      expect(w.zoom.callsTo('endMeeting', bridgeId)).toHaveLength(1);
    });

    it('addParticipants refuses input of the wrong type, naming the field', async () => {
      const { id, run } = await open('cleanup');
      await meetingOf(id, 'bridge');
      const refused = run.executeUpdate(addParticipantsUpdate, { args: [{ emails: 42 } as never] });
      await expect(refused).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(refused.catch((e: WorkflowUpdateFailedError) => Promise.reject(e.cause))).rejects.toThrow(
        'emails: must be a list of email addresses, not 42',
      );
      expect(w.zoom.callsTo('manageParticipants')).toEqual([]);
    });
  });

  it('a recurring meeting lasts while the incident is open: resolved keeps it, closed deletes it', async () => {
    const { id, run } = await open('cleanup');
    const syncId = /\((\d+)\);/.exec((await stepEntry(id, 'sync')).summary)![1];
    await w.send(id, 'incident.resolved');
    await w.env.sleep('3 days');
    expect(w.zoom.callsTo('deleteMeeting', syncId)).toEqual([]);
    await w.send(id, 'incident.closed');
    await run.result();
    expect(w.zoom.callsTo('deleteMeeting', syncId)).toHaveLength(1);
    expect((await w.timeline(id)).map((e) => e.summary)).toContain(
      `Recurring Zoom meeting ${syncId} deleted: the incident is closed`,
    );
  });

  describe('followIncident', () => {
    it('renames the bridge when the title changes; a rename Zoom refuses goes on the timeline and the run goes on', async () => {
      const { id, run } = await open('follow', { title: 'Slow checkout' });
      const meetingId = await meetingOf(id, 'bridge');
      await w.send(id, 'incident.updated', { title: 'Checkout down' });
      await timelineWith(id, (e) => e.summary.includes('renamed'), 'the rename');
      expect(w.zoom.callsTo('updateMeeting', meetingId).map((c) => c.input)).toEqual([
        { meetingId, topic: 'Checkout down - Bridge' },
      ]);

      w.zoom.answer.updateMeeting = async () => {
        throw ApplicationFailure.nonRetryable('Invalid topic.', 'ZoomApiError');
      };
      await w.send(id, 'incident.updated', { title: 'Renamed' });
      const failed = (await timelineWith(id, (e) => e.status === 'failed', 'the failure')).find(
        (e) => e.status === 'failed',
      );
      expect(failed).toMatchObject({
        step: 'bridge',
        summary: `Following the incident for meeting ${meetingId} failed: Invalid topic.`,
      });
      await w.send(id, 'incident.resolved');
      expect(await run.result()).toMatchObject({ runbook: 'follow' });
    });
  });

  describe('zoom.scheduleMeeting', () => {
    it('onReopen cancel: the meeting is cancelled when the incident reopens before it starts, and later steps see it', async () => {
      const id = uniqueIncidentId();
      const resolvedAt = await w.now();
      await w.send(
        id,
        'incident.created',
        { fields: { case: 'postmortem' } },
        new Date(resolvedAt - HOUR).toISOString(),
      );
      await w.send(id, 'incident.resolved', {}, new Date(resolvedAt).toISOString());
      const meetingId = await eventually(async () => {
        const e = (await w.timeline(id)).find((x) => x.step === 'postmortem');
        return e && /\((\d+)\)$/.exec(e.summary)?.[1];
      }, 'the booking');
      expect(w.zoom.createsFor(id)[0].input).toMatchObject({
        startTime: new Date(resolvedAt + 3 * DAY).toISOString(),
      });
      await w.env.sleep('1 day');
      await w.send(id, 'incident.reopened');
      await w.runbook(id, 'postmortem').result();
      expect(w.zoom.callsTo('deleteMeeting', meetingId)).toHaveLength(1);
      const summaries = (await w.timeline(id)).map((e) => e.summary);
      expect(summaries).toContain(`Zoom meeting ${meetingId} cancelled: the incident was reopened`);
      expect(summaries).toContain('Step remind skipped: its condition does not hold');
    });

    it('onReopen replan: cancelled on reopen, booked again from the next resolution, once', async () => {
      const id = uniqueIncidentId();
      await w.send(id, 'incident.created', { fields: { case: 'replan' } });
      await w.send(id, 'incident.resolved');
      const run = w.runbook(id, 'replan');
      await eventually(() => run.describe(), 'the run to start');
      await w.env.sleep('61 minutes'); // past the pause
      const first = await eventually(async () => {
        const e = (await w.timeline(id)).find((x) => x.step === 'review' && x.status === 'ok');
        return e && /\((\d+)\)$/.exec(e.summary)?.[1];
      }, 'the first booking');
      await w.send(id, 'incident.reopened');
      await timelineWith(id, (e) => e.summary.startsWith(`Zoom meeting ${first} cancelled`), 'the cancellation');
      expect(w.zoom.callsTo('deleteMeeting', first)).toHaveLength(1);
      await w.env.sleep('5 hours');
      const resolvedAgain = await w.now();
      await w.send(id, 'incident.resolved', {}, new Date(resolvedAgain).toISOString());
      const timeline = await timelineWith(id, (e) => e.summary.startsWith('Re-planned:'), 'the new booking');
      const creates = w.zoom
        .callsTo('createMeeting')
        .filter((c) => 'topic' in c.input && c.input.topic === `Review ${id}`);
      expect(creates).toHaveLength(2);
      expect(creates[1].input).toMatchObject({ startTime: new Date(resolvedAgain + 2 * DAY).toISOString() });
      const second = /\((\d+)\)$/.exec(timeline.find((e) => e.summary.startsWith('Re-planned:'))!.summary)![1];
      expect(second).not.toBe(first);
      await w.env.sleep('3 days'); // the new meeting starts: nothing left to follow
      await run.result();
      expect(w.zoom.callsTo('deleteMeeting', second)).toEqual([]);
    });
  });
});
