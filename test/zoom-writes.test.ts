import { ApplicationFailure } from '@temporalio/common';
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CreatedMeeting, createActivities, idempotencyMarker } from '../activities';
import type { Participant } from '../src/zoom/types';
import { ZoomSandbox } from '../src/sandbox/server';
import { zoomConnector } from '../src/apps/worker';
import { ZoomValidationError } from '../src/zoom/errors';
import { ZOOM_LIMITS } from '../src/zoom/limits';
import { collectPages, MAX_PAGES } from '../src/zoom/paging';
import { failure } from './support/failure';
import { sandboxConnector } from './support/stack';

/**
 * Zoom writes that a retry may repeat (a worker killed right after Zoom answered), paging that a
 * misbehaving server cannot keep going forever, and fields fitted to Zoom's limits: the activities
 * against the sandbox over HTTP.
 */
describe('retry-safe Zoom writes', () => {
  let sandbox: ZoomSandbox;
  const hosts = ['bridge-host@sandbox.zoom.test', 'bridge-host-2@sandbox.zoom.test'];
  let warnings: { message: string; meta?: LogMetadata }[];

  beforeAll(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
  });
  afterAll(async () => sandbox.stop());
  beforeEach(() => {
    sandbox.reset();
    warnings = [];
  });

  /** Keeps the warnings activities log, so a test can check what they said. */
  const logger: Logger = {
    log: (level: LogLevel, message: string, meta?: LogMetadata) =>
      void (level === 'WARN' && warnings.push({ message, meta })),
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string, meta?: LogMetadata) => void warnings.push({ message, meta }),
    error: () => undefined,
  };
  const attempt = (n = 1) =>
    new MockActivityEnvironment(
      {
        attempt: n,
        scheduledTimestampMs: Date.now(),
        startToCloseTimeoutMs: 30_000,
        scheduleToCloseTimeoutMs: 900_000,
      },
      { logger },
    );

  function activities() {
    const connector = zoomConnector({ ...sandboxConnector(sandbox), hostUsers: hosts });
    return createActivities({ connectors: new Map([['default', connector]]), runbooks: [] });
  }
  const client = () => zoomConnector(sandboxConnector(sandbox)).client;

  async function meeting(topic = 'INC-9 bridge', settings: Record<string, unknown> = {}): Promise<string> {
    return String((await client().createMeeting(hosts[0], { topic, type: 2, settings })).id);
  }

  async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await failure(p);
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  const statusesOf = (method: string, path: RegExp) =>
    sandbox.requests.filter((r) => r.method === method && path.test(r.path)).map((r) => r.status);

  describe('end and delete', () => {
    it('deletes a meeting; the retried delete gets 404/3001 and succeeds as alreadyGone', async () => {
      const a = activities();
      const id = await meeting();
      expect(await attempt(1).run(a.deleteMeeting, { meetingId: id })).toEqual({});
      expect(await attempt(2).run(a.deleteMeeting, { meetingId: id })).toEqual({ alreadyGone: true });
      expect(statusesOf('DELETE', /^\/v2\/meetings\/\d+$/)).toEqual([204, 404]);
      expect(sandbox.requests.at(-1)?.response).toMatchObject({ code: 3001 });
      expect(sandbox.state.meetings.has(Number(id))).toBe(false);
    });

    it('ends a deleted meeting as alreadyGone, and a meeting not in progress as a no-op', async () => {
      const a = activities();
      const waiting = await meeting('not started');
      expect(await attempt().run(a.endMeeting, { meetingId: waiting })).toEqual({});
      const deleted = await meeting('deleted');
      await client().deleteMeeting(deleted);
      expect(await attempt().run(a.endMeeting, { meetingId: deleted })).toEqual({ alreadyGone: true });
      expect(statusesOf('PUT', /\/status$/)).toEqual([204, 404]);
    });

    it('still fails a delete for other reasons: a meeting in progress (3002)', async () => {
      const a = activities();
      const id = await meeting();
      await fetch(`${sandbox.url}/_sandbox/meetings/${id}/start`, { method: 'POST' });
      const err = await rejection(attempt().run(a.deleteMeeting, { meetingId: id }));
      expect(err).toMatchObject({ type: 'ZoomValidationError', nonRetryable: true });
      expect(err.message).toContain('code 3002');
    });
  });

  describe('updates', () => {
    it('fails an update of a deleted meeting for good, naming the meeting', async () => {
      const a = activities();
      const id = await meeting();
      await client().deleteMeeting(id);
      const update = await rejection(attempt().run(a.updateMeeting, { meetingId: id, topic: 'renamed' }));
      expect(update).toMatchObject({
        type: 'ZoomMeetingGoneError',
        nonRetryable: true,
        message: `Zoom meeting ${id} no longer exists (deleted?): could not update it.`,
      });
      expect(update.details).toEqual([expect.objectContaining({ status: 404, code: 3001 })]);

      const participants = await rejection(
        attempt().run(a.manageParticipants, { meetingId: id, addInvitees: ['a@example.com'] }),
      );
      expect(participants).toMatchObject({
        type: 'ZoomMeetingGoneError',
        nonRetryable: true,
        message: `Zoom meeting ${id} no longer exists (deleted?): could not change its participants.`,
      });
      const recording = await rejection(
        attempt().run(a.updateRecordingSettings, { meetingId: id, share: 'internally' as const }),
      );
      expect(recording).toMatchObject({
        type: 'ZoomMeetingGoneError',
        message: `Zoom meeting ${id} no longer exists (deleted?): could not update its recording settings.`,
      });
    });

    it('keeps Zoom\'s "no recording" (404/3301) apart from a deleted meeting', async () => {
      const a = activities();
      const id = await meeting();
      const err = await rejection(
        attempt().run(a.updateRecordingSettings, { meetingId: id, share: 'internally' as const }),
      );
      expect(err).toMatchObject({ type: 'ZoomNotFoundError', nonRetryable: true });
      expect(err.message).toContain('code 3301');
    });

    it('repeats an update and a participant change without changing anything more', async () => {
      const a = activities();
      const id = await meeting('INC-9 bridge', { approval_type: 0 });
      const change = {
        meetingId: id,
        addInvitees: ['ana@example.com'],
        registrants: [{ email: 'bo@example.com', firstName: 'Bo' }],
      };
      const first = await attempt(1).run(a.manageParticipants, change);
      const second = await attempt(2).run(a.manageParticipants, change);
      expect(first).toEqual({ invitees: ['ana@example.com'], alternativeHosts: [], registered: 1 });
      expect(second).toEqual(first);
      const stored = sandbox.state.meetings.get(Number(id))!;
      expect(stored.registrants).toEqual([expect.objectContaining({ email: 'bo@example.com' })]);
      expect(statusesOf('POST', /\/registrants$/)).toEqual([201, 201]);

      expect(await attempt(1).run(a.updateMeeting, { meetingId: id, topic: 'INC-9 bridge (SEV1)' })).toEqual({});
      expect(await attempt(2).run(a.updateMeeting, { meetingId: id, topic: 'INC-9 bridge (SEV1)' })).toEqual({});
      expect(stored.topic).toBe('INC-9 bridge (SEV1)');
    });

    it('keeps the marker when an update replaces the agenda, and cuts an agenda and topic that are too long', async () => {
      const a = activities();
      const key = 'incident-INC-9/incident-bridge/run-1/bridge';
      const marker = idempotencyMarker(key);
      const created = (await attempt().run(a.createMeeting, {
        idempotencyKey: key,
        topic: 'INC-9 bridge',
        agenda: 'first',
      })) as CreatedMeeting;
      const result = await attempt().run(a.updateMeeting, {
        meetingId: created.id,
        agenda: 'y'.repeat(3000),
        topic: 't'.repeat(201),
      });
      const room = ZOOM_LIMITS.agenda - marker.length - 2;
      expect(result).toEqual({ cut: ['topic (201 → 200 characters)', `agenda (3000 → ${room} characters)`] });
      const stored = sandbox.state.meetings.get(Number(created.id))!;
      expect(stored.agenda).toBe(`${'y'.repeat(room - 1)}…\n\n${marker}`);
      expect((stored.agenda as string).length).toBe(2000);
      expect(stored.topic).toBe(`${'t'.repeat(199)}…`);
    });
  });

  describe('fields fitted to Zoom limits', () => {
    it('creates a meeting with a long agenda: cut to fit, marker intact at the end, the cut reported', async () => {
      const a = activities();
      const key = 'incident-INC-10/incident-bridge/run-1/bridge';
      const marker = idempotencyMarker(key);
      const input = { idempotencyKey: key, topic: `INC-10 ${'x'.repeat(243)}`, agenda: 'a'.repeat(2500) };
      const created = (await attempt(1).run(a.createMeeting, input)) as CreatedMeeting;
      const room = ZOOM_LIMITS.agenda - marker.length - 2;
      expect(created).toMatchObject({
        created: true,
        cut: ['topic (250 → 200 characters)', `agenda (2500 → ${room} characters)`],
      });

      const stored = sandbox.state.meetings.get(Number(created.id))!;
      const agenda = stored.agenda as string;
      expect(agenda.length).toBeLessThanOrEqual(2000);
      expect(agenda.endsWith(`…\n\n${marker}`)).toBe(true);
      expect(agenda.startsWith('a'.repeat(room - 1))).toBe(true);
      expect((stored.topic as string).length).toBe(200);

      // The retry finds that meeting by its marker, and says the same about the cut.
      const retried = await attempt(2).run(a.createMeeting, input);
      expect(retried).toMatchObject({ id: created.id, created: false, cut: created.cut });
      expect(sandbox.state.meetings.size).toBe(1);
    });

    it('does not report a cut when nothing was cut', async () => {
      const created = (await attempt().run(activities().createMeeting, {
        idempotencyKey: 'short',
        topic: 'INC-11',
        agenda: 'short',
      })) as CreatedMeeting;
      expect(created.cut).toBeUndefined();
      expect(sandbox.state.meetings.get(Number(created.id))!.agenda).toBe(`short\n\n${idempotencyMarker('short')}`);
    });

    it('refuses a passcode longer than 10 characters for good, without sending it or repeating it', async () => {
      const passcode = 'correct-horse1';
      const err = await rejection(
        attempt().run(activities().createMeeting, { idempotencyKey: 'pass', topic: 'INC-12', passcode }),
      );
      expect(err).toMatchObject({ type: 'ZoomFieldLimitError', nonRetryable: true });
      expect(err.message).toContain('The meeting passcode is 14 characters long; Zoom takes 1 to 10.');
      expect(err.message).not.toContain(passcode);
      expect(sandbox.requests.filter((r) => r.path.startsWith('/v2/'))).toEqual([]);
    });

    it('the sandbox refuses what Zoom refuses: agenda over 2,000 and topic over 200, with code 300', async () => {
      const agenda = (await failure(
        client().createMeeting(hosts[0], { topic: 'x', agenda: 'a'.repeat(2001) }),
      )) as ZoomValidationError;
      expect(agenda).toMatchObject({ status: 400, code: 300 });
      expect(agenda.message).toContain('agenda: Agenda must be a string of at most 2000 characters.');
      const topic = (await failure(
        client().createMeeting(hosts[0], { topic: 'x'.repeat(201) }),
      )) as ZoomValidationError;
      expect(topic).toMatchObject({ status: 400, code: 300 });
    });
  });

  describe('paging', () => {
    /** Meetings on the host, beyond the ones created through the API (cheaper than 700 creates). */
    function fill(hostIndex: number, n: number): void {
      const host = sandbox.state.users[hostIndex];
      for (let i = 0; i < n; i++) {
        const id = 70_000_000_000 + hostIndex * 1_000_000 + i;
        sandbox.state.meetings.set(id, {
          id,
          uuid: `filler-${id}`,
          host_id: host.id,
          topic: `filler ${i}`,
          type: 2,
          status: 'waiting',
          agenda: '',
          join_url: `${sandbox.url}/j/${id}`,
        });
      }
    }
    const listRequests = () =>
      sandbox.requests.filter((r) => r.method === 'GET' && /^\/v2\/users\/[^/]+\/meetings$/.test(r.path));

    it('stops when Zoom repeats a page token, and still removes the marked meeting it read', async () => {
      const a = activities();
      const key = 'incident-INC-13/incident-bridge/run-1/bridge';
      const marked = (
        await client().createMeeting(hosts[0], { topic: 'INC-13 bridge', type: 2, agenda: idempotencyMarker(key) })
      ).id;
      fill(0, 699); // 700 meetings: 3 pages of 300
      sandbox.addFault({ method: 'GET', path: '^/v2/users/[^/]+/meetings$', repeatPageToken: true, times: 10_000 });

      const removed = await attempt().run(a.removeByMarker, { idempotencyKey: key });
      expect(removed).toEqual([String(marked)]);
      // Host 1: the first page, then page "300" which offers "300" again; host 2: one page.
      expect(listRequests().map((r) => r.query.next_page_token ?? '')).toEqual(['', '300', '']);
      expect(warnings).toEqual([
        expect.objectContaining({
          message: `Zoom list meetings of host ${hosts[0]}: stopped after 2 page(s) and 600 record(s): Zoom offered a page token it had already answered`,
          meta: expect.objectContaining({
            operation: `list meetings of host ${hosts[0]}`,
            stopped: 'repeated-token',
            pages: 2,
            totalRecords: 700,
          }),
        }),
      ]);
    });

    it('stops once it holds total_records, with every record', async () => {
      const zoom = client();
      const m = await zoom.createMeeting(hosts[0], { topic: 'big' });
      const start = new Date(Date.now() - 30 * 60_000).toISOString();
      const people = Array.from({ length: 450 }, (_, i) => ({
        id: `p${i}`,
        user_id: `u${i}`,
        name: `Person ${i}`,
        user_email: `p${i}@example.com`,
        join_time: start,
        leave_time: start,
        duration: 60,
        status: 'in_meeting' as const,
      }));
      sandbox.state.instances.push({
        uuid: 'big-uuid',
        meetingId: m.id,
        startTime: start,
        endTime: new Date().toISOString(),
        participants: people,
      });
      sandbox.addFault({ method: 'GET', path: '/participants$', repeatPageToken: true, times: 10_000 });

      const read = (await attempt().run(() => zoom.listPastParticipants(m.id))) as Participant[];
      expect(read.map((p) => p.user_email)).toEqual(people.map((p) => p.user_email));
      expect(sandbox.requests.filter((r) => r.path.endsWith('/participants'))).toHaveLength(2);
      expect(warnings).toEqual([
        expect.objectContaining({
          meta: expect.objectContaining({ stopped: 'all-records-read', records: 450, totalRecords: 450 }),
        }),
      ]);
    });

    it(`stops after ${MAX_PAGES} pages of a server that never ends`, async () => {
      let requests = 0;
      const said: string[] = [];
      const read = await collectPages({
        operation: 'list endless things',
        fetchPage: async () => ({ items: [++requests], nextPageToken: `t${requests}` }),
        warn: (message) => said.push(message),
      });
      expect(requests).toBe(MAX_PAGES);
      expect(read).toEqual({
        items: Array.from({ length: MAX_PAGES }, (_, i) => i + 1),
        pages: MAX_PAGES,
        stopped: 'page-cap',
      });
      expect(said).toEqual([
        `Zoom list endless things: stopped after ${MAX_PAGES} page(s) and ${MAX_PAGES} record(s): reached the cap of ${MAX_PAGES} pages`,
      ]);
    });

    it('reads every page of a well-behaved list without a warning', async () => {
      const a = activities();
      const key = 'incident-INC-14/incident-bridge/run-1/bridge';
      fill(0, 650);
      const marked = (
        await client().createMeeting(hosts[0], { topic: 'INC-14 bridge', type: 2, agenda: idempotencyMarker(key) })
      ).id; // on page 3
      expect(await attempt().run(a.removeByMarker, { idempotencyKey: key })).toEqual([String(marked)]);
      expect(listRequests().map((r) => r.query.next_page_token ?? '')).toEqual(['', '300', '600', '']);
      expect(warnings).toEqual([]);
    });
  });

  describe('removeByMarker', () => {
    it('removes every meeting made under the key on every host, ending a live one first, and nothing else', async () => {
      const a = activities();
      const key = 'incident-INC-15/incident-bridge/run-1/bridge';
      const created = (await attempt().run(a.createMeeting, {
        idempotencyKey: key,
        topic: 'INC-15 bridge',
        agenda: 'checkout down',
      })) as CreatedMeeting;
      // A create an earlier attempt sent, which landed on the second host, and someone joined it.
      const late = (
        await client().createMeeting(hosts[1], { topic: 'INC-15 bridge', type: 2, agenda: idempotencyMarker(key) })
      ).id;
      await fetch(`${sandbox.url}/_sandbox/meetings/${late}/start`, { method: 'POST' });
      const other = (
        await client().createMeeting(hosts[0], { topic: 'other', type: 2, agenda: idempotencyMarker('another step') })
      ).id;

      const removed = (await attempt().run(a.removeByMarker, { idempotencyKey: key })) as string[];
      expect(removed.sort()).toEqual([created.id, String(late)].sort());
      expect([...sandbox.state.meetings.keys()]).toEqual([other]);
      expect(sandbox.state.instances.find((i) => i.meetingId === late)?.endTime).toEqual(expect.any(String));
      expect(await attempt().run(a.removeByMarker, { idempotencyKey: key })).toEqual([]);
    });

    it("a retry after a lost answer reports what the first attempt removed, and each removal lets the meeting's mailbox go", async () => {
      const releases: { meetingId: string; owner: string }[] = [];
      const connector = zoomConnector({ ...sandboxConnector(sandbox), hostUsers: hosts });
      const a = createActivities({
        connectors: new Map([['default', connector]]),
        runbooks: [],
        releaseMeeting: async (r) => void releases.push(r),
      });
      const key = 'incident-INC-17/incident-bridge/run-1/bridge';
      const created = (await attempt().run(a.createMeeting, {
        idempotencyKey: key,
        topic: 'INC-17 bridge',
      })) as CreatedMeeting;
      const first = attempt();
      const beats: unknown[] = [];
      first.on('heartbeat', (details: unknown) => beats.push(details));
      expect(await first.run(a.removeByMarker, { idempotencyKey: key })).toEqual([created.id]);
      // The worker died before Zoom's answer reached Temporal: the retry finds nothing left, and says what was removed.
      const retry = new MockActivityEnvironment(
        {
          attempt: 2,
          heartbeatDetails: beats.at(-1),
          scheduledTimestampMs: Date.now(),
          startToCloseTimeoutMs: 30_000,
          scheduleToCloseTimeoutMs: 900_000,
        },
        { logger },
      );
      expect(await retry.run(a.removeByMarker, { idempotencyKey: key })).toEqual([created.id]);
      const owner = first.context.info.workflowExecution!.workflowId;
      expect(releases).toEqual([
        { meetingId: created.id, owner },
        { meetingId: created.id, owner },
      ]);
    });

    it('counts a meeting deleted between the listing and the delete as removed', async () => {
      const a = activities();
      const key = 'incident-INC-16/incident-bridge/run-1/bridge';
      const created = (await attempt().run(a.createMeeting, {
        idempotencyKey: key,
        topic: 'INC-16 bridge',
      })) as CreatedMeeting;
      sandbox.addFault({
        method: 'DELETE',
        status: 404,
        code: 3001,
        message: `Meeting ${created.id} is not found or has expired.`,
      });
      expect(await attempt().run(a.removeByMarker, { idempotencyKey: key })).toEqual([created.id]);
    });
  });
});
