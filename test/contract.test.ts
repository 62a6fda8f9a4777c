import { existsSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { zoomConnector } from '../src/apps/worker';
import { ZoomNotFoundError, ZoomValidationError } from '../src/zoom/errors';
import { meetingPathId } from '../src/zoom/client';
import { CreateMeetingRequest } from '../src/zoom/types';
import { RecordedRequest, ZoomSandbox } from '../src/sandbox/server';
import { SANDBOX_DIAL_IN_NUMBERS } from '../src/sandbox/zoom-api';
import { OpenApiSpecs } from './support/openapi';
import { sandboxConnector } from './support/stack';

/**
 * Contract test: what our client sends and what the sandbox answers must match Zoom's published
 * OpenAPI documents, so the sandbox cannot drift into a Zoom of its own making.
 */
const SPEC_DIR = path.join(__dirname, '../../shared/zoom-openapi');
const SPEC_FILES = ['ZoomMeetingAPISpec.json', 'ZoomUsersAPISpec.json'].map((f) => path.join(SPEC_DIR, f));
const missing = SPEC_FILES.filter((f) => !existsSync(f));
if (missing.length) {
  console.warn(
    `Skipping the Zoom OpenAPI contract test: ${missing.join(', ')} not found (the specs live in ${SPEC_DIR}, outside this repository).`,
  );
}
const describeWithSpecs = missing.length ? describe.skip : describe;

/** Everything the client can set on a meeting that our runbooks use. */
const RICH_MEETING: CreateMeetingRequest = {
  topic: 'INC-4711 checkout latency bridge',
  type: 2,
  start_time: '2026-11-22T09:14:03Z',
  duration: 45,
  timezone: 'Europe/Berlin',
  agenda: 'Checkout p99 above 2s since 09:02 UTC.\n\nzr-idem:abc123',
  password: 'Br1dge-7',
  settings: {
    join_before_host: true,
    waiting_room: false,
    auto_recording: 'cloud',
    meeting_invitees: [{ email: 'sre-oncall@example.com' }, { email: 'payments-lead@example.com' }],
    alternative_hosts: 'incident-commander@example.com',
  },
};

const op200 = (r: RecordedRequest) => r.status >= 200 && r.status < 300;

/**
 * Operations Zoom added after the 2023 OpenAPI copy: the sandbox follows the shapes Zoom documents
 * for them (checked below, by field, since no schema of ours could be the contract).
 */
const ABSENT_FROM_2023_SPEC = {
  // AI Companion (2023-11): GET /meetings/{meetingUUID}/meeting_summary, by the instance's UUID.
  meetingSummary: /^\/v2\/meetings\/[^/]+\/meeting_summary$/,
  // 2025: GET /meetings/{meetingId}/transcript, AI Companion's transcript (a meeting id or an instance's UUID).
  meetingTranscript: /^\/v2\/meetings\/[^/]+\/transcript$/,
};
/** Zoom's documented transcript object (download_restriction_reason instead of download_url when it cannot be read). */
const MEETING_TRANSCRIPT_FIELDS = {
  meeting_id: 'string',
  account_id: 'string',
  meeting_topic: 'string',
  host_id: 'string',
  transcript_created_time: 'string',
  can_download: 'boolean',
  auto_delete: 'boolean',
  download_url: 'string',
};
/** A file's download_url: Zoom's file host, not the REST API the documents describe. */
const FILE_DOWNLOAD = /^\/rec\/download\//;
/** Zoom's documented meeting_summary object (its meeting.summary_completed webhook carries the same fields). */
const MEETING_SUMMARY_FIELDS = {
  meeting_host_id: 'string',
  meeting_host_email: 'string',
  meeting_uuid: 'string',
  meeting_id: 'number',
  meeting_topic: 'string',
  meeting_start_time: 'string',
  meeting_end_time: 'string',
  summary_start_time: 'string',
  summary_end_time: 'string',
  summary_created_time: 'string',
  summary_last_modified_time: 'string',
  summary_title: 'string',
  summary_overview: 'string',
  summary_details: 'object',
  next_steps: 'object',
};

/** The OAuth endpoint and file downloads are not part of the REST API documents; nor are the operations Zoom added since. */
const NOT_API = (r: RecordedRequest) => r.path === '/oauth/token' || FILE_DOWNLOAD.test(r.path);
const NOT_IN_SPEC = (r: RecordedRequest) =>
  NOT_API(r) || Object.values(ABSENT_FROM_2023_SPEC).some((p) => p.test(r.path));

describeWithSpecs('Zoom OpenAPI contract: client requests and sandbox responses', () => {
  let specs: OpenApiSpecs;
  let sandbox: ZoomSandbox;
  /** The REST calls the real ZoomClient made, as the sandbox recorded them. */
  let calls: RecordedRequest[];
  /** Those to operations absent from the 2023 copy. */
  let absent: RecordedRequest[];

  beforeAll(async () => {
    specs = new OpenApiSpecs(SPEC_FILES);
    sandbox = new ZoomSandbox();
    await sandbox.start();
    const {
      client: zoom,
      hosts: {
        hosts: [host],
      },
    } = zoomConnector(sandboxConnector(sandbox));

    const admin = axios.create({ baseURL: `${sandbox.url}/_sandbox` }); // not Zoom's API: not recorded
    const created = await zoom.createMeeting(host, RICH_MEETING);
    await zoom.getMeeting(created.id);
    await zoom.listMeetings(host, { type: 'scheduled', page_size: 30 });
    await zoom.updateMeeting(created.id, {
      topic: 'INC-4711 [SEV1] checkout latency bridge',
      settings: { waiting_room: true },
    });
    const recurring = await zoom.createMeeting(host, {
      topic: 'INC-4711 daily sync',
      type: 8,
      start_time: '2026-11-23T08:00:00Z',
      timezone: 'Europe/Berlin',
      recurrence: { type: 1, repeat_interval: 1, end_times: 7 },
    });
    const postmortem = await zoom.createMeeting(host, { topic: 'Postmortem INC-4711', settings: { approval_type: 0 } });
    await zoom.addRegistrant(postmortem.id, { email: 'ana@example.com', first_name: 'Ana', last_name: 'Ruiz' });

    await expectRefused(zoom.inMeetingControl(created.id, { method: 'recording.start' })); // not live yet
    // A call-out works before the meeting is live.
    await zoom.inMeetingControl(created.id, {
      method: 'participant.invite.callout',
      params: {
        invitee_name: 'On Call',
        phone_number: '+12065550100',
        invite_options: { require_greeting: false, require_pressing_one: true },
      },
    });
    await admin.post(`/meetings/${created.id}/start`);
    await zoom.inMeetingControl(created.id, { method: 'recording.start' });
    await zoom.inMeetingControl(created.id, { method: 'recording.pause' });
    await admin.post(`/meetings/${created.id}/participants`, { name: 'Ana Ruiz', email: 'ana@example.com' });
    await admin.post(`/meetings/${created.id}/participants`, { name: 'On Call', email: 'oncall@example.com' });
    await zoom.endMeeting(created.id);
    await zoom.listPastParticipants(created.id);
    const { uuid } = await zoom.getPastMeeting(created.id);
    await expectNotFound(zoom.getMeetingSummary(uuid)); // AI Companion has not written it yet
    await admin.post(`/meetings/${created.id}/summary`, { overview: 'Rolled back', nextSteps: ['Postmortem'] });
    await zoom.getMeetingSummary(uuid);
    await admin.post(`/meetings/${created.id}/recording`);
    const recording = await zoom.getRecordings(created.id);
    // The recording's TRANSCRIPT file is not AI Companion's: Zoom's transcript endpoint has none.
    await expectNotFound(zoom.getMeetingTranscript(created.id));
    const file = recording.recording_files.find((f) => f.file_type === 'TRANSCRIPT')!;
    await zoom.transcriptText(file.download_url!, 1000);
    await admin.post(`/meetings/${created.id}/transcript`, { source: 'aiCompanion', lines: ['Ana: Rolled back'] });
    await zoom.getMeetingTranscript(uuid);
    await zoom.updateRecordingSettings(created.id, { share_recording: 'internally', viewer_download: false });
    await zoom.getUser(host);
    await zoom.deleteMeeting(recurring.id);
    await expectNotFound(zoom.getMeeting(12345678901));
    await expectNotFound(zoom.createMeeting('nobody@example.com', { topic: 'x' }));
    await expectNotFound(zoom.getRecordings(postmortem.id));

    calls = sandbox.requests.filter((r) => !NOT_IN_SPEC(r));
    absent = sandbox.requests.filter((r) => !NOT_API(r) && NOT_IN_SPEC(r));
  });
  afterAll(async () => sandbox?.stop());

  it('covers the operations we rely on, successes and failures', () => {
    expect(calls.map((r) => `${specs.operation(r.method, r.path).label} -> ${r.status}`)).toEqual([
      'POST /users/{userId}/meetings (meetingCreate) -> 201',
      'GET /meetings/{meetingId} (meeting) -> 200',
      'GET /users/{userId}/meetings (meetings) -> 200',
      'PATCH /meetings/{meetingId} (meetingUpdate) -> 204',
      'POST /users/{userId}/meetings (meetingCreate) -> 201',
      'POST /users/{userId}/meetings (meetingCreate) -> 201',
      'POST /meetings/{meetingId}/registrants (meetingRegistrantCreate) -> 201',
      'PATCH /live_meetings/{meetingId}/events (inMeetingControl) -> 400',
      'PATCH /live_meetings/{meetingId}/events (inMeetingControl) -> 202',
      'PATCH /live_meetings/{meetingId}/events (inMeetingControl) -> 202',
      'PATCH /live_meetings/{meetingId}/events (inMeetingControl) -> 202',
      'PUT /meetings/{meetingId}/status (meetingStatus) -> 204',
      'GET /past_meetings/{meetingId}/participants (pastMeetingParticipants) -> 200',
      'GET /past_meetings/{meetingId} (pastMeetingDetails) -> 200',
      'GET /meetings/{meetingId}/recordings (recordingGet) -> 200',
      'PATCH /meetings/{meetingId}/recordings/settings (recordingSettingsUpdate) -> 204',
      'GET /users/{userId} (user) -> 200',
      'DELETE /meetings/{meetingId} (meetingDelete) -> 204',
      'GET /meetings/{meetingId} (meeting) -> 404',
      'POST /users/{userId}/meetings (meetingCreate) -> 404',
      'GET /meetings/{meetingId}/recordings (recordingGet) -> 404',
    ]);
  });

  it('every request body the client sent matches the spec', () => {
    const problems = calls.flatMap((r) => {
      const op = specs.operation(r.method, r.path);
      const validate = op.request();
      if (r.body === undefined) return [];
      if (!validate) return [`${op.label}: the spec defines no JSON request body, but the client sent one`];
      return validate(r.body);
    });
    expect(problems).toEqual([]);
    // Not vacuous: every create, update, registrant, in-meeting control, status and settings call carried a body and was checked.
    expect(calls.filter((r) => r.body !== undefined)).toHaveLength(12);
  });

  it('every response body the sandbox returned matches the spec (errors: {code, message})', () => {
    const problems: string[] = [];
    for (const r of calls) {
      const op = specs.operation(r.method, r.path);
      if (!op.documents(r.status)) problems.push(`${op.label}: status ${r.status} is not documented`);
      const validate = op.response(r.status);
      if (validate) {
        problems.push(...validate(r.response));
      } else if (r.status === 204 || r.status === 202) {
        // Zoom documents both without a body (202: in-meeting controls).
        if (r.response !== undefined) problems.push(`${op.label}: ${r.status} with a body`);
      } else if (r.status >= 200 && r.status < 300) {
        problems.push(`${op.label}: the spec has no JSON schema for ${r.status}`);
      } else {
        // Zoom documents error codes only in prose; its error body is {code, message}.
        expect(r.response).toEqual(expect.objectContaining({ code: expect.any(Number), message: expect.any(String) }));
      }
    }
    expect(problems).toEqual([]);
    expect(calls.filter((r) => op200(r) && r.response !== undefined).length).toBeGreaterThanOrEqual(9);
  });

  it('lists the operations absent from the 2023 copy explicitly; the sandbox answers them in the documented shapes', () => {
    expect(Object.keys(ABSENT_FROM_2023_SPEC)).toEqual(['meetingSummary', 'meetingTranscript']);
    for (const r of absent) expect(() => specs.operation(r.method, r.path)).toThrow('has no operation');
    expect(absent.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 404', 'GET 200', 'GET 404', 'GET 200']);
    const [notYet, found, noTranscript, transcript] = absent;
    // The UUID names the instance; one with "/" or "//" is double-encoded (Zoom's rule).
    const uuid = (found.response as { meeting_uuid: string }).meeting_uuid;
    expect(found.path).toBe(`/v2/meetings/${meetingPathId(uuid)}/meeting_summary`);
    expect(notYet.response).toEqual({ code: 3001, message: 'Meeting summary does not exist.' });
    const fields = Object.entries(found.response as Record<string, unknown>).map(([k, v]) => [k, typeof v]);
    expect(Object.fromEntries(fields)).toEqual(MEETING_SUMMARY_FIELDS);
    expect(found.response).toMatchObject({
      summary_overview: 'Rolled back',
      summary_details: [{ label: expect.any(String), summary: expect.any(String) }],
      next_steps: ['Postmortem'],
    });
    // The transcript: by meeting id, 404/3322 while AI Companion has written none; by UUID, the documented object.
    expect(noTranscript.path).toMatch(/^\/v2\/meetings\/\d+\/transcript$/);
    expect(noTranscript.response).toEqual({ code: 3322, message: 'This meeting transcript does not exist.' });
    expect(transcript.path).toBe(`/v2/meetings/${meetingPathId(uuid)}/transcript`);
    const transcriptFields = Object.entries(transcript.response as Record<string, unknown>).map(([k, v]) => [
      k,
      typeof v,
    ]);
    expect(Object.fromEntries(transcriptFields)).toEqual(MEETING_TRANSCRIPT_FIELDS);
    expect(transcript.response).toMatchObject({ meeting_id: uuid, can_download: true });
  });

  it("the create answer lists the account's dial-in numbers, as Zoom's does (settings.global_dial_in_numbers)", () => {
    const create = calls.find((r) => r.method === 'POST' && r.status === 201 && r.path.endsWith('/meetings'))!;
    expect(create.response).toMatchObject({ settings: { global_dial_in_numbers: SANDBOX_DIAL_IN_NUMBERS } });
  });

  describe('the validator itself (so a green run means something)', () => {
    it('rejects a create-meeting request with wrong types, naming operation, JSON path and problem', () => {
      const validate = specs.operation('POST', '/v2/users/someone%40example.com/meetings').request()!;
      expect(validate(RICH_MEETING)).toEqual([]);
      expect(validate({ topic: 123 })).toEqual([
        'POST /users/{userId}/meetings (meetingCreate) request body: /topic must be string (got 123)',
      ]);
      expect(
        validate({
          topic: 'x',
          type: 5,
          settings: { auto_recording: 'sometimes', meeting_invitees: [{ email: 'not-an-email' }] },
        }),
      ).toEqual([
        'POST /users/{userId}/meetings (meetingCreate) request body: /settings/auto_recording must be equal to one of the allowed values: ["local","cloud","none"] (got "sometimes")',
        'POST /users/{userId}/meetings (meetingCreate) request body: /settings/meeting_invitees/0/email must match format "email" (got "not-an-email")',
        'POST /users/{userId}/meetings (meetingCreate) request body: /type must be equal to one of the allowed values: [1,2,3,8] (got 5)',
      ]);
    });

    it('rejects a get-meeting response with join_url of the wrong type', () => {
      const validate = specs.operation('GET', '/v2/meetings/85746065432').response(200)!;
      const meeting = {
        id: 85746065432,
        topic: 'x',
        type: 2,
        status: 'waiting',
        join_url: 'https://zoom.us/j/85746065432',
      };
      expect(validate(meeting)).toEqual([]);
      expect(validate({ ...meeting, join_url: 123, id: '85746065432' })).toEqual([
        'GET /meetings/{meetingId} (meeting) response 200: /id must be integer (got "85746065432")',
        'GET /meetings/{meetingId} (meeting) response 200: /join_url must be string (got 123)',
      ]);
    });

    it('matches concrete paths to templates and refuses paths the spec lacks', () => {
      expect(specs.operation('GET', '/v2/users/me/meetings').template).toBe('/users/{userId}/meetings');
      expect(specs.operation('GET', '/users/sbxHostUser001').template).toBe('/users/{userId}'); // from the Users document
      expect(() => specs.operation('GET', '/v2/no/such/thing')).toThrow(
        'The Zoom OpenAPI spec has no operation for GET /v2/no/such/thing',
      );
    });
  });
});

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ZoomNotFoundError);
}

async function expectRefused(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ZoomValidationError);
}
