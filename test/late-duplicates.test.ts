import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, idempotencyMarker } from '../activities';
import { ZoomSandbox } from '../src/sandbox/server';
import type { MeetingSummary } from '../workflows/contract';
import { zoomConnector } from '../src/apps/worker';
import { sandboxConnector } from './support/stack';

/**
 * A create sent by a timed-out attempt can reach Zoom after the attempt that won looked for it.
 * The activities that deal with it, against the sandbox over HTTP (the workflow side runs them
 * after a retried create: workflows/runbook.ts, removeLateDuplicates).
 */
describe('late duplicates of a retried create', () => {
  let sandbox: ZoomSandbox;
  const hosts = ['bridge-host@sandbox.zoom.test', 'bridge-host-2@sandbox.zoom.test'];

  beforeAll(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
  });
  afterAll(async () => sandbox.stop());

  // An attempt with its real timeouts: Zoom calls stop at the attempt's end (activities/attempt.ts).
  const attempt = (n = 1) =>
    new MockActivityEnvironment({
      attempt: n,
      scheduledTimestampMs: Date.now(),
      startToCloseTimeoutMs: 30_000,
      scheduleToCloseTimeoutMs: 900_000,
    });

  function activities() {
    const connector = zoomConnector({ ...sandboxConnector(sandbox), hostUsers: hosts });
    return createActivities({ connectors: new Map([['default', connector]]), runbooks: [] });
  }

  it('says a create was retried, so the workflow looks again later', async () => {
    const a = activities();
    const first = (await attempt(1).run(a.createMeeting, {
      idempotencyKey: 'wf/run/first',
      topic: 'First try',
    })) as MeetingSummary;
    expect(first.retried).toBeUndefined();
    const second = await attempt(2).run(a.createMeeting, { idempotencyKey: 'wf/run/second', topic: 'Second try' });
    expect(second).toMatchObject({ created: true, retried: true });
  });

  it("stops an attempt's Zoom calls at the attempt's end, so a timed-out attempt never creates late", async () => {
    const a = activities();
    sandbox.addFault({ method: 'POST', path: '/v2/users', delayMs: 3_000 });
    const short = new MockActivityEnvironment({
      attempt: 1,
      scheduledTimestampMs: Date.now(),
      startToCloseTimeoutMs: 1_000,
      scheduleToCloseTimeoutMs: 0,
    });
    // Without the attempt's end the call would succeed after 3 s; it is abandoned at 0.9 s instead.
    await expect(short.run(a.createMeeting, { idempotencyKey: 'wf/run/short', topic: 'Too slow' })).rejects.toThrow(
      'Zoom create meeting abandoned: the caller was cancelled or ran out of time',
    );
  });

  it('removes every meeting carrying the marker but the one kept, on every host, and nothing else', async () => {
    const a = activities();
    const env = attempt();
    const key = 'incident-INC-LATE/incident-bridge/run-1/bridge';
    const create = (host: string, agenda: string) =>
      env.run(
        async () =>
          (
            await zoomConnector(sandboxConnector(sandbox)).client.createMeeting(host, {
              topic: 'INC-LATE bridge',
              type: 2,
              agenda,
            })
          ).id,
      );
    const kept = await create(hosts[0], `bridge\n\n${idempotencyMarker(key)}`);
    const late = [await create(hosts[0], idempotencyMarker(key)), await create(hosts[1], idempotencyMarker(key))];
    const other = await create(hosts[1], idempotencyMarker('another step'));

    const removed = (await env.run(a.removeLateDuplicates, { idempotencyKey: key, keep: String(kept) })) as string[];
    expect(removed.sort()).toEqual(late.map(String).sort());
    const left = [...sandbox.state.meetings.keys()];
    expect(left).toEqual(expect.arrayContaining([kept, other]));
    for (const id of late) expect(left).not.toContain(id);

    expect(await env.run(a.removeLateDuplicates, { idempotencyKey: key, keep: String(kept) })).toEqual([]);
  });
});
