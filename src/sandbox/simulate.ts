import { randomBytes, randomUUID } from 'node:crypto';
import type {
  AppDeauthorizedPayload,
  JoinBeforeHostParticipant,
  MeetingEventObject,
  RecordingFile,
  WaitingRoomParticipant,
  WebhookParticipant,
} from '../zoom/webhooks';
import { Route, SandboxRequest, ZoomHttpError, route } from './http';
import type { WebhookSender } from './webhook-sender';
import type { LobbyPerson, MeetingInstance, ParticipantRecord, SandboxState, StoredMeeting } from './zoom-api';

/**
 * "Simulate what people do" admin API: start and end meetings, join and leave, finish a
 * recording, uninstall the app. Each action changes the sandbox state first (synchronously, so
 * the REST API agrees at once) and then sends Zoom's webhooks in order.
 *
 * Webhooks are awaited one after another, each bounded by the sender's timeout (Zoom's own
 * 3-second deadline). That keeps their order and means a test can inspect the receiver as soon
 * as the admin call returns; a slow receiver delays the admin answer by at most 3 s per event.
 */
export function simulationRoutes(state: SandboxState, sender: WebhookSender): Route[] {
  const pendingRecordings = new Set<string>();
  return [
    route('POST', '/_sandbox/webhooks', async (req) => {
      const body = jsonObject(req);
      const url = requiredString(body, 'url');
      if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw invalidField('url', 'must be an http(s) URL');
      const secretToken = requiredString(body, 'secretToken');
      const validate = optionalBoolean(body, 'validate');
      const previous = state.webhook;
      state.webhook = { url, secretToken };
      // Zoom will not save a subscription whose endpoint fails the challenge-response check.
      if (validate && !(await sender.validateEndpoint())) {
        state.webhook = previous;
        throw new ZoomHttpError(
          400,
          300,
          `Endpoint URL validation failed for ${url}: see GET /_sandbox/webhooks/deliveries.`,
        );
      }
      return { status: 200, body: { url, ...(validate ? { validated: true } : {}) } };
    }),
    route('DELETE', '/_sandbox/webhooks', () => {
      state.webhook = undefined;
      return { status: 204 };
    }),
    route('GET', '/_sandbox/webhooks/deliveries', () => ({ status: 200, body: { deliveries: sender.deliveries } })),

    route('POST', '/_sandbox/meetings/:meetingId/start', async (req) => {
      const instance = await startMeeting(state, sender, findMeeting(state, req.params.meetingId));
      return { status: 201, body: instance };
    }),
    route('POST', '/_sandbox/meetings/:meetingId/participants', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const person = {
        name: requiredString(body, 'name'),
        email: requiredEmail(body, 'email'),
        userId: optionalString(body, 'userId'),
      };
      const { instance, participant } = await joinMeeting(state, sender, meeting, person);
      return {
        status: 201,
        body: {
          participantId: participant.user_id,
          participantUuid: participant.participant_uuid,
          instanceUuid: instance.uuid,
          joinTime: participant.join_time,
        },
      };
    }),
    route('POST', '/_sandbox/meetings/:meetingId/participants/:participantId/leave', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const participant = await leaveMeeting(state, sender, meeting, req.params.participantId);
      return {
        status: 200,
        body: { participantId: participant.user_id, leaveTime: participant.leave_time, duration: participant.duration },
      };
    }),
    ...lobbyRoutes(state, sender),
    route('POST', '/_sandbox/webhooks/deliveries/:requestId/redeliver', async (req) => {
      const delivery = await sender.redeliver(req.params.requestId);
      if (!delivery)
        throw new ZoomHttpError(404, undefined, `No webhook delivery ${req.params.requestId} to send again.`);
      return { status: 200, body: delivery };
    }),
    route('POST', '/_sandbox/meetings/:meetingId/end', async (req) => {
      const instance = await endMeeting(state, sender, findMeeting(state, req.params.meetingId));
      return { status: 200, body: instance };
    }),
    // `transcript: false`: the recording lists no TRANSCRIPT file (audio transcription off, or its
    // transcript comes later: POST …/transcript).
    route('POST', '/_sandbox/meetings/:meetingId/recording', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const delayMs = optionalInteger(body, 'delayMs', 0, 600_000) ?? 0;
      const transcript = optionalBoolean(body, 'transcript') ?? true;
      const instance = recordableInstance(state, meeting);
      if (pendingRecordings.has(instance.uuid))
        throw new ZoomHttpError(400, 3000, `The recording of meeting ${meeting.id} is already being processed.`);
      if (delayMs === 0) {
        const { recording, downloadToken } = await completeRecording(state, sender, meeting, instance, transcript);
        return { status: 201, body: { recording, downloadToken } };
      }
      // Zoom processes a cloud recording for a while after the meeting ends.
      pendingRecordings.add(instance.uuid);
      setTimeout(() => {
        pendingRecordings.delete(instance.uuid);
        void completeRecording(state, sender, meeting, instance, transcript);
      }, delayMs).unref();
      return { status: 202, body: { instanceUuid: instance.uuid, status: 'processing', readyInMs: delayMs } };
    }),
    // AI Companion writes the summary of the latest ended occurrence; `webhook: false` keeps
    // meeting.summary_completed back (a lost delivery), so only polling can find it.
    route('POST', '/_sandbox/meetings/:meetingId/summary', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const content: SummaryContent = {
        overview: optionalString(body, 'overview') ?? `The team discussed ${meeting.topic}.`,
        nextSteps: optionalStrings(body, 'nextSteps') ?? [],
      };
      const webhook = optionalBoolean(body, 'webhook') ?? true;
      if (!state.account.aiCompanion)
        throw new ZoomHttpError(400, 3000, 'AI Companion is off on the account: Zoom writes no meeting summary.');
      const instance = latestEnded(state, meeting, 'its summary is written');
      if (instance.summary)
        throw new ZoomHttpError(400, 3000, `The latest occurrence of meeting ${meeting.id} already has a summary.`);
      const summary = await completeSummary(state, sender, meeting, instance, content, webhook);
      return { status: 201, body: summary };
    }),
    // The latest ended occurrence's transcript is written: `source: recording` (default) adds the
    // TRANSCRIPT file to its cloud recording and sends recording.transcript_completed (unless
    // `webhook: false`, a lost delivery); `source: aiCompanion` gives Zoom's transcript endpoint
    // one (no webhook: polling finds it). `lines`: what was said, "Speaker: words" each.
    route('POST', '/_sandbox/meetings/:meetingId/transcript', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const source = optionalString(body, 'source') ?? 'recording';
      if (source !== 'recording' && source !== 'aiCompanion')
        throw invalidField('source', 'must be recording or aiCompanion');
      const instance = latestEnded(state, meeting, 'its transcript is written');
      const vtt = webVtt(optionalStrings(body, 'lines') ?? defaultLines(meeting, instance));
      if (source === 'aiCompanion') {
        if (!state.account.aiCompanion)
          throw new ZoomHttpError(400, 3000, 'AI Companion is off on the account: Zoom writes no transcript.');
        if (instance.companionTranscript)
          throw new ZoomHttpError(
            400,
            3000,
            `The latest occurrence of meeting ${meeting.id} already has a transcript.`,
          );
        return { status: 201, body: companionTranscript(state, meeting, instance, vtt) };
      }
      const webhook = optionalBoolean(body, 'webhook') ?? true;
      const done = await completeTranscript(state, sender, meeting, instance, vtt, webhook);
      return { status: 201, body: done };
    }),
    route('POST', '/_sandbox/deauthorize', async (req) => {
      const userId = optionalString(jsonObject(req), 'userId');
      const revokedTokens = state.tokens.size;
      const payload = await deauthorizeApp(state, sender, userId);
      return { status: 200, body: { revokedTokens, userId: payload.user_id } };
    }),
  ];
}

/** A participant as the simulation stores it: Zoom's record plus the per-join UUID webhooks carry. */
export interface SimulatedParticipant extends ParticipantRecord {
  participant_uuid: string;
}

export interface Person {
  name: string;
  email: string;
  /** The person's Zoom user id when they join signed in. */
  userId?: string;
}

export async function startMeeting(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
): Promise<MeetingInstance> {
  if (openInstance(state, meeting)) throw new ZoomHttpError(400, 3000, `Meeting ${meeting.id} is already started.`);
  const heldBefore = state.instances.some((i) => i.meetingId === meeting.id);
  const instance: MeetingInstance = {
    // The first occurrence keeps the meeting's UUID; every later one gets its own.
    uuid: heldBefore ? randomBytes(16).toString('base64') : meeting.uuid,
    meetingId: meeting.id,
    startTime: isoSeconds(new Date()),
    participants: [],
  };
  state.instances.push(instance);
  meeting.status = 'started';
  await sender.send('meeting.started', {
    account_id: state.credentials.accountId,
    object: meetingObject(meeting, instance),
  });
  // Whoever waited for the host is let in.
  for (const person of takeFromLobby(state, meeting, (p) => p.waitsFor === 'host'))
    await joinMeeting(state, sender, meeting, {
      name: person.name,
      email: person.email,
      userId: person.id || undefined,
    });
  return instance;
}

export async function joinMeeting(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  person: Person,
  /** Admitted from the waiting room: the ids Zoom gave them there. */
  admitted?: Pick<LobbyPerson, 'user_id' | 'participant_uuid'>,
): Promise<{ instance: MeetingInstance; participant: SimulatedParticipant }> {
  const instance = requireOpenInstance(state, meeting, 'join');
  const participant: SimulatedParticipant = {
    id: person.userId ?? '', // Zoom leaves it blank for people who are not signed in
    // Valid for this meeting only; Zoom's look like 16778240, 16779264, ...
    user_id: admitted?.user_id ?? String(16778240 + instance.participants.length * 1024),
    participant_uuid: admitted?.participant_uuid ?? randomUUID().toUpperCase(),
    name: person.name,
    user_email: person.email,
    join_time: isoSeconds(new Date()),
    duration: 0,
    status: 'in_meeting',
  };
  instance.participants.push(participant);
  const joined: WebhookParticipant & { join_time: string } = {
    ...webhookParticipant(participant),
    join_time: participant.join_time,
  };
  await sender.send('meeting.participant_joined', {
    account_id: state.credentials.accountId,
    object: { ...meetingObject(meeting, instance), participant: joined },
  });
  return { instance, participant };
}

/** `participantId` is the per-meeting id (`user_id`) that joining returned. */
export async function leaveMeeting(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  participantId: string,
): Promise<ParticipantRecord> {
  const instance = requireOpenInstance(state, meeting, 'leave');
  // Someone put in the waiting room and admitted again has a record per stay: the latest counts.
  const participant = [...instance.participants].reverse().find((p) => p.user_id === participantId);
  if (!participant)
    throw new ZoomHttpError(404, undefined, `Participant ${participantId} is not in meeting ${meeting.id}.`);
  if (participant.leave_time)
    throw new ZoomHttpError(400, 3000, `Participant ${participantId} already left meeting ${meeting.id}.`);
  markLeft(participant, new Date());
  await sendLeft(state, sender, meeting, instance, participant, 'left the meeting');
  return participant;
}

/** Everyone still present leaves, then the meeting ends; Get meeting reports `waiting` again. */
export async function endMeeting(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
): Promise<MeetingInstance> {
  const instance = openInstance(state, meeting);
  if (!instance) throw new ZoomHttpError(400, 3000, `Meeting ${meeting.id} is not started, so it cannot be ended.`);
  const now = new Date();
  const leaving = instance.participants.filter((p) => !p.leave_time);
  for (const p of leaving) markLeft(p, now);
  instance.endTime = isoSeconds(now);
  meeting.status = 'waiting';
  for (const p of leaving) await sendLeft(state, sender, meeting, instance, p, 'Host ended the meeting.');
  for (const person of takeFromLobby(state, meeting, (p) => p.waitsFor === 'admission'))
    await sendLobby(state, sender, meeting, 'meeting.participant_left_waiting_room', person);
  await sender.send('meeting.ended', {
    account_id: state.credentials.accountId,
    object: { ...meetingObject(meeting, instance), end_time: instance.endTime },
  });
  return instance;
}

/** The cloud recording of an ended occurrence becomes available: stored for the REST API, then announced. */
export async function completeRecording(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  instance: MeetingInstance,
  transcript = true,
): Promise<{ recording: Record<string, unknown>; downloadToken: string }> {
  const recording = buildRecording(state, meeting, instance, transcript);
  instance.recording = recording;
  const downloadToken = issueDownloadToken(state);
  await sender.send(
    'recording.completed',
    { account_id: state.credentials.accountId, object: recording },
    { download_token: downloadToken },
  );
  return { recording, downloadToken };
}

/** Lets the subscriber download the files without an OAuth token (Zoom: valid for 24 hours). */
function issueDownloadToken(state: SandboxState): string {
  const downloadToken = `sbx.${randomBytes(32).toString('base64url')}`;
  state.downloadTokens.add(downloadToken);
  return downloadToken;
}

/**
 * The cloud recording's transcript is ready: its TRANSCRIPT file joins the recording (REST API),
 * then recording.transcript_completed announces it, listing that file alone.
 */
export async function completeTranscript(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  instance: MeetingInstance,
  vtt: string,
  webhook: boolean,
): Promise<{ recording: Record<string, unknown>; downloadToken?: string }> {
  const recording = instance.recording;
  if (!recording)
    throw new ZoomHttpError(
      400,
      3000,
      `Meeting ${meeting.id} has no cloud recording: record it before its transcript.`,
    );
  const files = recording.recording_files as RecordingFile[];
  if (files.some((f) => f.file_type === 'TRANSCRIPT'))
    throw new ZoomHttpError(400, 3000, `The recording of meeting ${meeting.id} already has a transcript.`);
  const file = transcriptFile(state, instance, vtt);
  Object.assign(recording, {
    recording_files: [...files, file],
    recording_count: files.length + 1,
    total_size: (recording.total_size as number) + file.file_size,
  });
  if (!webhook) return { recording };
  const downloadToken = issueDownloadToken(state);
  await sender.send(
    'recording.transcript_completed',
    {
      account_id: state.credentials.accountId,
      object: { ...recording, recording_files: [file], recording_count: 1, total_size: file.file_size },
    },
    { download_token: downloadToken },
  );
  return { recording, downloadToken };
}

/** AI Companion's transcript of an ended occurrence, as Zoom's transcript endpoint answers it. */
function companionTranscript(
  state: SandboxState,
  meeting: StoredMeeting,
  instance: MeetingInstance,
  vtt: string,
): Record<string, unknown> {
  const token = randomBytes(18).toString('base64url');
  state.files.set(token, vtt);
  instance.companionTranscript = {
    meeting_id: instance.uuid,
    account_id: state.credentials.accountId,
    meeting_topic: meeting.topic,
    host_id: meeting.host_id,
    transcript_created_time: isoSeconds(new Date()),
    can_download: true,
    auto_delete: false,
    download_url: `${state.publicUrl}/rec/download/${token}`,
  };
  return instance.companionTranscript;
}

/** What the transcript says when a test does not: the first participant (or the host) opening the bridge. */
function defaultLines(meeting: StoredMeeting, instance: MeetingInstance): string[] {
  const speaker = instance.participants[0]?.name ?? 'Host';
  return [`${speaker}: This is the bridge for ${meeting.topic}.`, `${speaker}: Let us go through the timeline.`];
}

/** Zoom's transcript format: WebVTT, numbered cues a few seconds apart, "Speaker: words" each. */
export function webVtt(lines: string[]): string {
  const at = (s: number) => new Date(s * 1000).toISOString().slice(11, 23);
  const cues = lines.map((line, i) => `${i + 1}\n${at(i * 4)} --> ${at(i * 4 + 4)}\n${line}`);
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

export interface SummaryContent {
  overview: string;
  nextSteps: string[];
}

/** AI Companion's summary of an ended occurrence: stored for the REST API, then announced (unless `webhook` is false). */
export async function completeSummary(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  instance: MeetingInstance,
  content: SummaryContent,
  webhook: boolean,
): Promise<Record<string, unknown>> {
  const now = isoSeconds(new Date());
  const host = state.users.find((u) => u.id === meeting.host_id);
  // Zoom's meeting_summary object, which meeting.summary_completed carries too (meeting_id a number in both).
  const summary = {
    meeting_host_id: meeting.host_id,
    meeting_host_email: host?.email ?? '',
    meeting_uuid: instance.uuid,
    meeting_id: meeting.id,
    meeting_topic: meeting.topic,
    meeting_start_time: instance.startTime,
    meeting_end_time: instance.endTime,
    summary_start_time: instance.startTime,
    summary_end_time: instance.endTime,
    summary_created_time: now,
    summary_last_modified_time: now,
    summary_title: `Meeting summary for ${meeting.topic}`,
    summary_overview: content.overview,
    summary_details: [{ label: 'Discussion', summary: content.overview }],
    next_steps: content.nextSteps,
  };
  instance.summary = summary;
  if (webhook)
    await sender.send('meeting.summary_completed', { account_id: state.credentials.accountId, object: summary });
  return summary;
}

/** The app is uninstalled: every issued token stops working and Zoom sends `app_deauthorized`. */
export async function deauthorizeApp(
  state: SandboxState,
  sender: WebhookSender,
  userId?: string,
): Promise<AppDeauthorizedPayload> {
  state.tokens.clear();
  const now = new Date();
  const payload: AppDeauthorizedPayload = {
    account_id: state.credentials.accountId,
    user_id: userId ?? state.users[0]?.id ?? '',
    signature: randomBytes(32).toString('hex'),
    deauthorization_time: now.toISOString(),
    client_id: state.credentials.clientId,
    // Zoom's official example puts a "YYYY-MM-DD HH:mm:ss" string here (its schema says number).
    event_ts: now.toISOString().slice(0, 19).replace('T', ' '),
  };
  await sender.send('app_deauthorized', payload);
  return payload;
}

// ---- The lobby: the waiting room, and waiting for the host ----

/**
 * Who waits to get in, and what lets them in, as Zoom decides it from the meeting's settings:
 * people land in the waiting room when it is on; they wait for the host when it is off, join
 * before the host is off and the host has not started the meeting. Each call sends Zoom's lobby
 * webhook; `webhook: false` holds it back (a late delivery) until
 * `POST /_sandbox/webhooks/deliveries/{requestId}/redeliver`.
 */
function lobbyRoutes(state: SandboxState, sender: WebhookSender): Route[] {
  // Per-meeting ids for people who arrive in the lobby, apart from those joinMeeting counts out.
  let arrivals = 0;
  const nextId = () => String(33554432 + 1024 * arrivals++);
  const answer = (person: LobbyPerson, requestId: string | undefined) => ({
    participantId: person.user_id,
    participantUuid: person.participant_uuid,
    since: person.since,
    ...(requestId ? { webhookRequestId: requestId } : {}),
  });
  const waiting = (meeting: StoredMeeting, participantId: string) => {
    const person = state.lobby.find((p) => p.meetingId === meeting.id && p.user_id === participantId);
    if (!person)
      throw new ZoomHttpError(
        404,
        undefined,
        `Participant ${participantId} is not waiting to get into meeting ${meeting.id}.`,
      );
    return person;
  };
  return [
    route('POST', '/_sandbox/meetings/:meetingId/waiting-room', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      requireWaitingRoom(meeting);
      const person = enterLobby(state, meeting, 'admission', nextId(), {
        name: requiredString(body, 'name'),
        email: requiredEmail(body, 'email'),
        userId: optionalString(body, 'userId'),
      });
      const requestId = await sendLobby(
        state,
        sender,
        meeting,
        'meeting.participant_joined_waiting_room',
        person,
        body,
      );
      return { status: 201, body: answer(person, requestId) };
    }),
    route('POST', '/_sandbox/meetings/:meetingId/waiting-for-host', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const refuse = (why: string) =>
        new ZoomHttpError(400, 3000, `Nobody waits for the host of meeting ${meeting.id}: ${why}.`);
      if (openInstance(state, meeting)) throw refuse('it is started, so people join it');
      if (settingOn(meeting, 'waiting_room')) throw refuse('its waiting room is on, so people wait there');
      if (settingOn(meeting, 'join_before_host')) throw refuse('people may join it before the host');
      const person = enterLobby(state, meeting, 'host', nextId(), {
        name: requiredString(body, 'name'),
        email: optionalString(body, 'email') ?? '',
        userId: optionalString(body, 'userId'),
      });
      const requestId = await sendLobby(state, sender, meeting, 'meeting.participant_jbh_waiting', person, body);
      return { status: 201, body: answer(person, requestId) };
    }),
    // The host sends someone in the meeting back to the waiting room.
    route('POST', '/_sandbox/meetings/:meetingId/participants/:participantId/waiting-room', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const instance = requireOpenInstance(state, meeting, 'are put in the waiting room');
      requireWaitingRoom(meeting);
      const p = instance.participants.find((x) => x.user_id === req.params.participantId && !x.leave_time);
      if (!p)
        throw new ZoomHttpError(
          404,
          undefined,
          `Participant ${req.params.participantId} is not in meeting ${meeting.id}.`,
        );
      markLeft(p, new Date());
      p.status = 'in_waiting_room';
      const person: LobbyPerson = {
        meetingId: meeting.id,
        user_id: p.user_id,
        participant_uuid: (p as Partial<SimulatedParticipant>).participant_uuid ?? randomUUID().toUpperCase(),
        id: p.id,
        name: p.name,
        email: p.user_email,
        waitsFor: 'admission',
        since: isoSeconds(new Date()),
      };
      state.lobby.push(person);
      const requestId = await sendLobby(
        state,
        sender,
        meeting,
        'meeting.participant_put_in_waiting_room',
        person,
        body,
      );
      return { status: 201, body: answer(person, requestId) };
    }),
    route('POST', '/_sandbox/meetings/:meetingId/waiting/:participantId/admit', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const person = waiting(meeting, req.params.participantId);
      if (person.waitsFor === 'host')
        throw new ZoomHttpError(
          400,
          3000,
          `Participant ${person.user_id} waits for the host: start meeting ${meeting.id} to let them in.`,
        );
      requireOpenInstance(state, meeting, 'are admitted (the host admits them from the meeting)');
      takeFromLobby(state, meeting, (p) => p === person);
      const requestId = await sendLobby(state, sender, meeting, 'meeting.participant_admitted', person, body);
      const joined = await joinMeeting(
        state,
        sender,
        meeting,
        { name: person.name, email: person.email, userId: person.id || undefined },
        person,
      );
      return { status: 200, body: { ...answer(person, requestId), joinTime: joined.participant.join_time } };
    }),
    route('POST', '/_sandbox/meetings/:meetingId/waiting/:participantId/leave', async (req) => {
      const meeting = findMeeting(state, req.params.meetingId);
      const body = jsonObject(req);
      const person = waiting(meeting, req.params.participantId);
      takeFromLobby(state, meeting, (p) => p === person);
      const event =
        person.waitsFor === 'host' ? 'meeting.participant_jbh_waiting_left' : 'meeting.participant_left_waiting_room';
      const requestId = await sendLobby(state, sender, meeting, event, person, body);
      return { status: 200, body: answer(person, requestId) };
    }),
  ];
}

function requireWaitingRoom(meeting: StoredMeeting): void {
  if (!settingOn(meeting, 'waiting_room'))
    throw new ZoomHttpError(400, 3000, `Meeting ${meeting.id} has no waiting room (settings.waiting_room is off).`);
}

/** Whether one of the meeting's stored settings is on. */
function settingOn(meeting: StoredMeeting, key: 'waiting_room' | 'join_before_host'): boolean {
  const { settings } = meeting;
  return typeof settings === 'object' && settings !== null && Object.entries(settings).some(([k, v]) => k === key && v);
}

function enterLobby(
  state: SandboxState,
  meeting: StoredMeeting,
  waitsFor: LobbyPerson['waitsFor'],
  userId: string,
  person: Person,
): LobbyPerson {
  const entered: LobbyPerson = {
    meetingId: meeting.id,
    user_id: userId,
    participant_uuid: randomUUID().toUpperCase(),
    id: person.userId ?? '',
    name: person.name,
    email: person.email,
    waitsFor,
    since: isoSeconds(new Date()),
  };
  state.lobby.push(entered);
  return entered;
}

function takeFromLobby(state: SandboxState, meeting: StoredMeeting, which: (p: LobbyPerson) => boolean): LobbyPerson[] {
  const taken = state.lobby.filter((p) => p.meetingId === meeting.id && which(p));
  state.lobby = state.lobby.filter((p) => !taken.includes(p));
  return taken;
}

const ARRIVALS = new Set<string>([
  'meeting.participant_joined_waiting_room',
  'meeting.participant_put_in_waiting_room',
]);

type LobbyEvent =
  | 'meeting.participant_joined_waiting_room'
  | 'meeting.participant_put_in_waiting_room'
  | 'meeting.participant_admitted'
  | 'meeting.participant_left_waiting_room'
  | 'meeting.participant_jbh_waiting'
  | 'meeting.participant_jbh_waiting_left';

/**
 * Zoom's lobby webhook for the person: the waiting room's carry the per-join ids and the time
 * (`date_time`); waiting for the host, Zoom gives only the Zoom user id and the name. Held back
 * when the request body says `webhook: false`; answers the delivery's request id.
 */
async function sendLobby(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  event: LobbyEvent,
  person: LobbyPerson,
  body: Record<string, unknown> = {},
): Promise<string | undefined> {
  const participant: WaitingRoomParticipant | JoinBeforeHostParticipant =
    person.waitsFor === 'host'
      ? { ...(person.id ? { id: person.id } : {}), user_name: person.name }
      : {
          user_id: person.user_id,
          user_name: person.name,
          id: person.id,
          participant_uuid: person.participant_uuid,
          email: person.email,
          // Arriving in the lobby happened when they began waiting; anything else happens now.
          date_time: ARRIVALS.has(event) ? person.since : isoSeconds(new Date()),
        };
  const instance = openInstance(state, meeting);
  // Before the meeting is held, its UUID is the first occurrence's, and it has no start time.
  const { start_time, ...object } = meetingObject(meeting, instance ?? { uuid: meeting.uuid, startTime: '' });
  const payload = {
    account_id: state.credentials.accountId,
    object: { ...object, ...(instance ? { start_time } : {}), participant },
  };
  if (optionalBoolean(body, 'webhook') === false) return sender.hold(event, payload);
  await sender.send(event, payload);
  return sender.deliveries.find((d) => d.payload === payload)?.requestId;
}

// ---- Zoom shapes ----

function meetingObject(
  meeting: StoredMeeting,
  instance: Pick<MeetingInstance, 'uuid' | 'startTime'>,
): MeetingEventObject {
  return {
    id: String(meeting.id), // events carry the meeting id as a string; REST uses int64
    uuid: instance.uuid,
    host_id: meeting.host_id,
    topic: meeting.topic,
    type: meeting.type,
    start_time: instance.startTime,
    timezone: typeof meeting.timezone === 'string' ? meeting.timezone : '',
    duration: typeof meeting.duration === 'number' ? meeting.duration : 0,
  };
}

function webhookParticipant(p: ParticipantRecord): WebhookParticipant {
  return {
    user_id: p.user_id,
    user_name: p.name,
    id: p.id,
    participant_uuid: (p as Partial<SimulatedParticipant>).participant_uuid ?? '',
    email: p.user_email,
    ...(p.registrant_id ? { registrant_id: p.registrant_id } : {}),
  };
}

async function sendLeft(
  state: SandboxState,
  sender: WebhookSender,
  meeting: StoredMeeting,
  instance: MeetingInstance,
  p: ParticipantRecord,
  reason: string,
): Promise<void> {
  const left: WebhookParticipant & { leave_time: string } = {
    ...webhookParticipant(p),
    leave_time: p.leave_time!,
    leave_reason: `left the meeting. Reason : ${reason}`, // the format Zoom sends
  };
  await sender.send('meeting.participant_left', {
    account_id: state.credentials.accountId,
    object: { ...meetingObject(meeting, instance), participant: left },
  });
}

function markLeft(p: ParticipantRecord, at: Date): void {
  p.leave_time = isoSeconds(at);
  p.duration = Math.max(0, Math.round((Date.parse(p.leave_time) - Date.parse(p.join_time)) / 1000));
}

/** Zoom's recording object (reference §2.6, §6.4): the same one Get recordings and recording.completed return. */
function buildRecording(
  state: SandboxState,
  meeting: StoredMeeting,
  instance: MeetingInstance,
  transcript: boolean,
): Record<string, unknown> {
  const seconds = Math.max(1, Math.round((Date.parse(instance.endTime!) - Date.parse(instance.startTime)) / 1000));
  const file = (type: string, ext: string, recordingType: string, bytesPerSecond: number) =>
    recordingFile(state, instance, type, ext, recordingType, seconds * bytesPerSecond, true);
  const files = [
    file('MP4', 'MP4', 'shared_screen_with_speaker_view', 40_000),
    file('M4A', 'M4A', 'audio_only', 2_000),
    ...(transcript ? [transcriptFile(state, instance, webVtt(defaultLines(meeting, instance)))] : []),
  ];
  const base = state.publicUrl;
  const host = state.users.find((u) => u.id === meeting.host_id);
  return {
    uuid: instance.uuid,
    id: meeting.id,
    account_id: state.credentials.accountId,
    host_id: meeting.host_id,
    host_email: typeof meeting.host_email === 'string' ? meeting.host_email : (host?.email ?? ''),
    topic: meeting.topic,
    type: meeting.type,
    start_time: instance.startTime,
    timezone: typeof meeting.timezone === 'string' ? meeting.timezone : '',
    duration: Math.round(seconds / 60),
    total_size: files.reduce((sum, f) => sum + f.file_size, 0),
    recording_count: files.length,
    share_url: `${base}/rec/share/${randomBytes(24).toString('base64url')}`,
    password: randomBytes(6).toString('base64url').slice(0, 8),
    recording_play_passcode: randomBytes(24).toString('base64url'),
    recording_files: files,
  };
}

/** One of a recording's files; its download URL's last segment names it. */
function recordingFile(
  state: SandboxState,
  instance: MeetingInstance,
  file_type: string,
  file_extension: string,
  recording_type: string,
  file_size: number,
  playable: boolean,
): RecordingFile {
  const token = randomBytes(18).toString('base64url');
  const base = state.publicUrl;
  return {
    id: randomUUID(),
    meeting_id: instance.uuid,
    recording_start: instance.startTime,
    recording_end: instance.endTime!,
    file_type,
    file_extension,
    file_size,
    ...(playable ? { play_url: `${base}/rec/play/${token}` } : {}),
    download_url: `${base}/rec/download/${token}`,
    status: 'completed',
    recording_type,
  };
}

/** A recording's TRANSCRIPT file (WebVTT; Zoom gives it no play URL), its text kept for downloads. */
function transcriptFile(state: SandboxState, instance: MeetingInstance, vtt: string): RecordingFile {
  const file = recordingFile(state, instance, 'TRANSCRIPT', 'VTT', 'audio_transcript', Buffer.byteLength(vtt), false);
  state.files.set(file.download_url.split('/').pop()!, vtt);
  return file;
}

// ---- Lookups ----

function findMeeting(state: SandboxState, ref: string): StoredMeeting {
  const meeting = /^\d+$/.test(ref)
    ? state.meetings.get(Number(ref))
    : [...state.meetings.values()].find((m) => m.uuid === ref);
  if (!meeting) throw new ZoomHttpError(404, 3001, `Meeting ${ref} is not found or has expired.`);
  return meeting;
}

function openInstance(state: SandboxState, meeting: StoredMeeting): MeetingInstance | undefined {
  return state.instances.find((i) => i.meetingId === meeting.id && !i.endTime);
}

function requireOpenInstance(state: SandboxState, meeting: StoredMeeting, action: string): MeetingInstance {
  const instance = openInstance(state, meeting);
  if (!instance)
    throw new ZoomHttpError(400, 3000, `Meeting ${meeting.id} is not started: start it before participants ${action}.`);
  return instance;
}

/** The latest ended occurrence: what a recording or a summary is made of. */
function latestEnded(state: SandboxState, meeting: StoredMeeting, what: string): MeetingInstance {
  const ended = state.instances.filter((i) => i.meetingId === meeting.id && i.endTime);
  const instance = ended[ended.length - 1];
  if (!instance) throw new ZoomHttpError(400, 3000, `Meeting ${meeting.id} has not ended yet: end it before ${what}.`);
  return instance;
}

/** The latest ended occurrence, which must not have a recording yet. */
function recordableInstance(state: SandboxState, meeting: StoredMeeting): MeetingInstance {
  const instance = latestEnded(state, meeting, 'its recording completes');
  if (instance.recording)
    throw new ZoomHttpError(400, 3000, `The latest occurrence of meeting ${meeting.id} already has a recording.`);
  return instance;
}

// ---- Request bodies: 400 errors name the bad field, never echo its value ----

function jsonObject(req: SandboxRequest): Record<string, unknown> {
  const body = req.json();
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ZoomHttpError(400, 300, 'Request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function invalidField(field: string, problem: string): ZoomHttpError {
  return new ZoomHttpError(
    400,
    300,
    `Invalid field "${field}": ${problem}.`,
    {},
    { errors: [{ field, message: problem }] },
  );
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.trim() === '') throw invalidField(field, 'must be a non-empty string');
  return v;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  return body[field] === undefined ? undefined : requiredString(body, field);
}

function requiredEmail(body: Record<string, unknown>, field: string): string {
  const v = requiredString(body, field);
  if (!/^[^@\s]+@[^@\s]+$/.test(v)) throw invalidField(field, 'must be an email address');
  return v;
}

function optionalStrings(body: Record<string, unknown>, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string'))
    throw invalidField(field, 'must be a list of strings');
  return v;
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalidField(field, 'must be true or false');
  return v;
}

function optionalInteger(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
    throw invalidField(field, `must be an integer from ${min} to ${max}`);
  return v as number;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
