import { existsSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { zoomConnector } from '../src/worker';
import { ZoomNotFoundError } from '../src/zoom/errors';
import { CreateMeetingRequest } from '../src/zoom/types';
import { RecordedRequest, ZoomSandbox } from '../src/sandbox/server';
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
  console.warn(`Skipping the Zoom OpenAPI contract test: ${missing.join(', ')} not found (the specs live in ${SPEC_DIR}, outside this repository).`);
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

/** The OAuth endpoint is not part of the REST API documents. */
const NOT_IN_SPEC = (r: RecordedRequest) => r.path === '/oauth/token';

describeWithSpecs('Zoom OpenAPI contract: client requests and sandbox responses', () => {
  let specs: OpenApiSpecs;
  let sandbox: ZoomSandbox;
  /** The REST calls the real ZoomClient made, as the sandbox recorded them. */
  let calls: RecordedRequest[];

  beforeAll(async () => {
    specs = new OpenApiSpecs(SPEC_FILES);
    sandbox = new ZoomSandbox();
    await sandbox.start();
    const { client: zoom, hostUser: host } = zoomConnector(sandboxConnector(sandbox));

    const created = await zoom.createMeeting(host, RICH_MEETING);
    await zoom.getMeeting(created.id);
    await zoom.listMeetings(host, { type: 'scheduled', page_size: 30 });
    await expectNotFound(zoom.getMeeting(12345678901));
    await expectNotFound(zoom.createMeeting('nobody@example.com', { topic: 'x' }));

    calls = sandbox.requests.filter((r) => !NOT_IN_SPEC(r));
  });
  afterAll(async () => sandbox?.stop());

  it('covers the operations we rely on, successes and failures', () => {
    expect(calls.map((r) => `${specs.operation(r.method, r.path).label} -> ${r.status}`)).toEqual([
      'POST /users/{userId}/meetings (meetingCreate) -> 201',
      'GET /meetings/{meetingId} (meeting) -> 200',
      'GET /users/{userId}/meetings (meetings) -> 200',
      'GET /meetings/{meetingId} (meeting) -> 404',
      'POST /users/{userId}/meetings (meetingCreate) -> 404',
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
    // Not vacuous: both creates carried a body and were checked.
    expect(calls.filter((r) => r.body !== undefined)).toHaveLength(2);
  });

  it('every response body the sandbox returned matches the spec (errors: {code, message})', async () => {
    // The request log has no response bodies, so send each recorded call again and read the answer.
    const token = await zoomConnector(sandboxConnector(sandbox)).tokens.getToken();
    const problems: string[] = [];
    for (const r of calls) {
      const op = specs.operation(r.method, r.path);
      const res = await axios.request({
        method: r.method,
        url: `${sandbox.url}${r.path}`,
        params: r.query,
        data: r.body,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        validateStatus: () => true,
      });
      expect(`${op.label} -> ${res.status}`).toBe(`${op.label} -> ${r.status}`); // the replay is faithful
      if (!op.documents(res.status)) problems.push(`${op.label}: status ${res.status} is not documented`);
      const validate = op.response(res.status);
      if (validate) {
        problems.push(...validate(res.data));
      } else if (res.status >= 200 && res.status < 300) {
        problems.push(`${op.label}: the spec has no JSON schema for ${res.status}`);
      } else {
        // Zoom documents error codes only in prose; its error body is {code, message}.
        expect(res.data).toEqual(expect.objectContaining({ code: expect.any(Number), message: expect.any(String) }));
      }
    }
    expect(problems).toEqual([]);
  });

  describe('the validator itself (so a green run means something)', () => {
    it('rejects a create-meeting request with wrong types, naming operation, JSON path and problem', () => {
      const validate = specs.operation('POST', '/v2/users/someone%40example.com/meetings').request()!;
      expect(validate(RICH_MEETING)).toEqual([]);
      expect(validate({ topic: 123 })).toEqual([
        'POST /users/{userId}/meetings (meetingCreate) request body: /topic must be string (got 123)',
      ]);
      expect(validate({ topic: 'x', type: 5, settings: { auto_recording: 'sometimes', meeting_invitees: [{ email: 'not-an-email' }] } })).toEqual([
        'POST /users/{userId}/meetings (meetingCreate) request body: /settings/auto_recording must be equal to one of the allowed values: ["local","cloud","none"] (got "sometimes")',
        'POST /users/{userId}/meetings (meetingCreate) request body: /settings/meeting_invitees/0/email must match format "email" (got "not-an-email")',
        'POST /users/{userId}/meetings (meetingCreate) request body: /type must be equal to one of the allowed values: [1,2,3,8] (got 5)',
      ]);
    });

    it('rejects a get-meeting response with join_url of the wrong type', () => {
      const validate = specs.operation('GET', '/v2/meetings/85746065432').response(200)!;
      const meeting = { id: 85746065432, topic: 'x', type: 2, status: 'waiting', join_url: 'https://zoom.us/j/85746065432' };
      expect(validate(meeting)).toEqual([]);
      expect(validate({ ...meeting, join_url: 123, id: '85746065432' })).toEqual([
        'GET /meetings/{meetingId} (meeting) response 200: /id must be integer (got "85746065432")',
        'GET /meetings/{meetingId} (meeting) response 200: /join_url must be string (got 123)',
      ]);
    });

    it('matches concrete paths to templates and refuses paths the spec lacks', () => {
      expect(specs.operation('GET', '/v2/users/me/meetings').template).toBe('/users/{userId}/meetings');
      expect(specs.operation('GET', '/users/sbxHostUser001').template).toBe('/users/{userId}'); // from the Users document
      expect(() => specs.operation('GET', '/v2/no/such/thing')).toThrow('The Zoom OpenAPI spec has no operation for GET /v2/no/such/thing');
    });
  });
});

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ZoomNotFoundError);
}
