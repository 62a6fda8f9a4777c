import YAML from 'yaml';
import { getTimeline } from '../src/temporal/client';
import { IncidentHandle } from '../src/temporal/handles';
import { Runbook, runbookSchema } from '../src/core/runbook';
import type { StoredMeeting } from '../src/sandbox/zoom-api';
import type { TimelineEntry } from '../workflows/contract';
import {
  bridgeMeeting,
  eventually,
  sendNow,
  Stack,
  sandboxAdmin,
  uniqueIncidentId,
  useWebhookStack,
} from './support/stack';

/**
 * Lobby alerts end to end: a real worker on the dev server, the Zoom sandbox over HTTP (its lobby
 * and its signed webhooks, through the real `/zoom/webhook` route). Thresholds are seconds, and no
 * test times anything: "before the threshold" is shown by a second person who waited as long.
 */

const runbook = (yaml: string): Runbook => runbookSchema.parse(YAML.parse(yaml));
const lobbyRunbook = (name: string, settings: string, after: string) =>
  runbook(`
name: ${name}
trigger: { on: [incident.created], when: { fields.case: ${name} } }
steps:
  - id: bridge
    action: zoom.createMeeting
    with: { topic: "Lobby {{Activity.id}}", agenda: "Lobby {{Activity.id}}", settings: ${settings}, lobbyAlertAfter: ${after} }
  - { id: resolved, action: wait.forIncident, with: { status: resolved } }
  - { id: end, action: zoom.endMeeting, with: { meeting: bridge } }
`);
/** A waiting room, and alerts after 3 seconds. */
const room = lobbyRunbook('lobby-room', '{ waitingRoom: true }', '3s');
/** No waiting room, nobody before the host: people wait for the host. */
const host = lobbyRunbook('lobby-host', '{ waitingRoom: false, joinBeforeHost: false }', '3s');
const off = lobbyRunbook('lobby-off', '{ waitingRoom: true }', 'off');

const SECRET_TOKEN = 'webhook-secret-for-lobby-tests';

interface Arrival {
  participantId: string;
  since: string;
  webhookRequestId?: string;
}

describe('lobby alerts, end to end', () => {
  let stack: Stack;
  useWebhookStack({ runbooks: [room, host, off] }, SECRET_TOKEN, (started) => (stack = started));
  const admin = () => sandboxAdmin(stack);
  /** An incident whose runbook `name` opened a bridge; its meeting as the sandbox stores it. */
  const opened = async (name: string): Promise<{ id: string; meeting: StoredMeeting }> => {
    const id = uniqueIncidentId();
    await sendNow(stack, id, 'incident.created', { title: 'Lobby', fields: { case: name } });
    return { id, meeting: await bridgeMeeting(stack, id, name) };
  };
  const post = async <T = Arrival>(path: string, body: object = {}): Promise<T> =>
    (await admin().post<T>(path, body)).data;
  const waitInRoom = (meeting: StoredMeeting, name: string, body: object = {}) =>
    post(`/meetings/${meeting.id}/waiting-room`, {
      name,
      email: `${name.split(' ')[0].toLowerCase()}@example.com`,
      ...body,
    });
  const admit = (meeting: StoredMeeting, who: Arrival) =>
    post(`/meetings/${meeting.id}/waiting/${who.participantId}/admit`);
  const redeliver = (requestId: string) => post(`/webhooks/deliveries/${requestId}/redeliver`);
  /** The bridge step's lobby lines, oldest first. */
  const lobbyLines = async (id: string): Promise<TimelineEntry[]> =>
    (await getTimeline(stack.client, id)).filter(
      (e) => e.step === 'bridge' && /waiting|no longer waits/.test(e.summary),
    );
  /** The lobby line that matches, once it is there. */
  const line = (id: string, pattern: RegExp) =>
    eventually(async () => (await lobbyLines(id)).find((e) => pattern.test(e.summary)), `a lobby line ${pattern}`);
  const waitingNow = async (id: string) => (await new IncidentHandle(stack.client, id).bridge())?.waiting;

  it('someone in the waiting room past the threshold: on the timeline by name with since when, on the bridge, and off both once admitted', async () => {
    const { id, meeting } = await opened('lobby-room');
    await post(`/meetings/${meeting.id}/start`);
    const dana = await waitInRoom(meeting, 'Dana Lee');

    const alert = await line(id, /Dana Lee has been waiting/);
    expect(alert).toMatchObject({
      source: 'lobby-room',
      status: 'info',
      summary: `Dana Lee has been waiting in the waiting room of Zoom meeting ${meeting.id} since ${dana.since}`,
    });
    expect(await waitingNow(id)).toEqual([{ name: 'Dana Lee', since: dana.since, waitsFor: 'admission' }]);

    await admit(meeting, dana);
    const cleared = await line(id, /Dana Lee no longer waits/);
    expect(cleared).toMatchObject({
      status: 'ok',
      summary: `Dana Lee no longer waits to get into Zoom meeting ${meeting.id}: admitted (waiting since ${dana.since})`,
    });
    expect(await waitingNow(id)).toEqual([]);
    // Display names only: the email Zoom sent with each webhook is nowhere on the timeline.
    expect(JSON.stringify(await getTimeline(stack.client, id))).not.toContain('dana@example.com');
    expect(stack.sandbox.webhooks.deliveries.map((d) => d.event)).toEqual(
      expect.arrayContaining(['meeting.participant_joined_waiting_room', 'meeting.participant_admitted']),
    );
  });

  it('someone admitted before the threshold: no alert (a second person, who waited as long, is alerted)', async () => {
    const { id, meeting } = await opened('lobby-room');
    await post(`/meetings/${meeting.id}/start`);
    const quick = await waitInRoom(meeting, 'Quick Admit');
    await admit(meeting, quick);
    await waitInRoom(meeting, 'Slow Sam');
    // Sam came after Quick's admission and has waited the threshold: Quick would have been alerted by now.
    await line(id, /Slow Sam has been waiting/);
    expect((await lobbyLines(id)).map((e) => e.summary)).toEqual([expect.stringMatching(/^Slow Sam has been waiting/)]);
  });

  it('someone put back in the waiting room from the meeting; the end of the meeting clears the alert', async () => {
    const { id, meeting } = await opened('lobby-room');
    await post(`/meetings/${meeting.id}/start`);
    const { participantId } = await post<{ participantId: string }>(`/meetings/${meeting.id}/participants`, {
      name: 'Ray Park',
      email: 'ray@example.com',
    });
    const ray = await post(`/meetings/${meeting.id}/participants/${participantId}/waiting-room`);
    expect(ray.participantId).toBe(participantId);
    await line(
      id,
      new RegExp(`Ray Park has been waiting in the waiting room of Zoom meeting ${meeting.id} since ${ray.since}`),
    );
    await sendNow(stack, id, 'incident.resolved');
    // Zoom empties the waiting room as the meeting ends: whichever the run hears first clears the alert.
    expect((await line(id, /Ray Park no longer waits/)).summary).toMatch(
      /: (the meeting ended|left the waiting room) /,
    );
    await new IncidentHandle(stack.client, id).runbook('lobby-room').workflow.result();
  });

  it('waiting for the host: alerted; cleared when they give up, and when the host starts the meeting', async () => {
    const { id, meeting } = await opened('lobby-host');
    const ana = await post(`/meetings/${meeting.id}/waiting-for-host`, { name: 'Ana Ruiz' });
    const bo = await post(`/meetings/${meeting.id}/waiting-for-host`, { name: 'Bo Chen', userId: 'zoomUserBo' });
    expect((await line(id, /Ana Ruiz has been waiting/)).summary).toBe(
      `Ana Ruiz has been waiting for the host to start Zoom meeting ${meeting.id} since ${ana.since}`,
    );
    await line(id, /Bo Chen has been waiting/);
    // The host cannot admit people who wait for the meeting to start.
    await expect(admit(meeting, ana)).rejects.toMatchObject({
      response: { status: 400, data: { message: expect.stringContaining('waits for the host: start meeting') } },
    });

    await post(`/meetings/${meeting.id}/waiting/${bo.participantId}/leave`);
    expect((await line(id, /Bo Chen no longer waits/)).summary).toMatch(/: stopped waiting for the host /);
    await post(`/meetings/${meeting.id}/start`);
    expect((await line(id, /Ana Ruiz no longer waits/)).summary).toMatch(/: the host started the meeting /);
    expect(await waitingNow(id)).toEqual([]);
    // Zoom lets Ana in once the host is there.
    await eventually(
      () =>
        stack.sandbox.webhooks.deliveries.find(
          (d) => d.event === 'meeting.participant_joined' && JSON.stringify(d.payload).includes('Ana Ruiz'),
        ),
      "Ana's join",
    );
  });

  it('the same webhook delivered twice (and again after the admission): one alert, one clearing', async () => {
    const { id, meeting } = await opened('lobby-room');
    await post(`/meetings/${meeting.id}/start`);
    const dana = await waitInRoom(meeting, 'Dana Twice');
    await redeliver(dana.webhookRequestId!);
    await line(id, /Dana Twice has been waiting/);
    await admit(meeting, dana);
    await line(id, /Dana Twice no longer waits/);
    await redeliver(dana.webhookRequestId!);
    // Zoom's webhooks reach the run in order: once Marker's alert is there, the late copy has been seen.
    await waitInRoom(meeting, 'Marker');
    await line(id, /Marker has been waiting/);
    expect((await lobbyLines(id)).filter((e) => e.summary.startsWith('Dana Twice')).map((e) => e.status)).toEqual([
      'info',
      'ok',
    ]);
    expect(stack.sandbox.webhooks.deliveries.filter((d) => d.requestId === dana.webhookRequestId)).toHaveLength(3);
  });

  it('events out of order (the admission before the webhook that put them in the waiting room): no stuck alert', async () => {
    const { id, meeting } = await opened('lobby-room');
    await post(`/meetings/${meeting.id}/start`);
    const late = await waitInRoom(meeting, 'Lena Late', { webhook: false });
    await admit(meeting, late);
    await redeliver(late.webhookRequestId!);
    await waitInRoom(meeting, 'Marker');
    await line(id, /Marker has been waiting/);
    expect((await lobbyLines(id)).map((e) => e.summary)).toEqual([expect.stringMatching(/^Marker has been waiting/)]);
    expect(await waitingNow(id)).toEqual([expect.objectContaining({ name: 'Marker' })]);
  });

  it('lobbyAlertAfter: off follows no lobby; a bad value is refused naming the field', async () => {
    const { id, meeting } = await opened('lobby-off');
    await waitInRoom(meeting, 'Nobody Watches');
    const run = new IncidentHandle(stack.client, id).runbook('lobby-off');
    expect(await eventually(() => run.bridge(), 'the bridge')).not.toHaveProperty('waiting');

    const bad = runbookSchema.safeParse(
      YAML.parse(`
name: bad
trigger: { on: [incident.created] }
steps: [{ id: bridge, action: zoom.createMeeting, with: { topic: t, lobbyAlertAfter: soon } }]`),
    );
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('lobbyAlertAfter');
  });

  it('the sandbox refuses what Zoom would not do: a waiting room the meeting does not have, waiting for a host who is in', async () => {
    const { meeting } = await opened('lobby-host');
    await expect(waitInRoom(meeting, 'Nowhere')).rejects.toMatchObject({
      response: {
        status: 400,
        data: { code: 3000, message: `Meeting ${meeting.id} has no waiting room (settings.waiting_room is off).` },
      },
    });
    await post(`/meetings/${meeting.id}/start`);
    await expect(post(`/meetings/${meeting.id}/waiting-for-host`, { name: 'Late' })).rejects.toMatchObject({
      response: { status: 400, data: { message: expect.stringContaining('it is started, so people join it') } },
    });
  });
});
