import axios from 'axios';
import { ZoomSandbox } from '../src/sandbox/server';
import { zoomConnector } from '../src/apps/worker';
import {
  CHECK_TTL_MS,
  emptyHostPool,
  HOST_DAILY_BUDGET,
  HostPoolState,
  LeaseAnswer,
  LeaseRequest,
  leaseHost,
  liveCount,
  meetingCreated,
  meetingWebhook,
  RECHECK_MS,
  RESERVE_MS,
} from '../src/core/host-pool';
import { HostPool } from '../src/zoom/host-pool';
import { WorkflowHostPoolOwner } from '../src/temporal/host-pool';
import { hostPoolQuery, hostPoolWorkflowId } from '../workflows/contract';
import { eventually, receiveZoomWebhooks, sandboxConnector, Stack, startStack } from './support/stack';

/** A fixed instant (not the run's date): 10:00 UTC, so a day's budget has hours left either side. */
const T0 = Date.UTC(2031, 4, 6, 10, 0, 0);
const MINUTE = 60_000;

describe('host pool knowledge (src/core/host-pool.ts)', () => {
  const hosts = ['h1', 'h2'];
  let n = 0;
  const lease = (state: HostPoolState, now: number, more: Partial<LeaseRequest> = {}): LeaseAnswer =>
    leaseHost(state, { hosts, concurrency: 1, startsNow: true, leaseId: `lease-${++n}`, ...more }, now);
  /** Zoom said nobody is live, and the hosts' user ids are known (as after a first create on each). */
  const knownAndQuiet = (now: number): HostPoolState => {
    const state = emptyHostPool();
    expect(lease(state, now, { seen: { h1: { live: [], userId: 'u1' }, h2: { live: [], userId: 'u2' } } })).toEqual({
      host: 'h1',
    });
    meetingWebhook(state, { type: 'meeting.ended', meetingId: 'elsewhere' }, now); // webhooks flow
    return state;
  };

  it('asks Zoom about stale hosts first, then picks a host that is neither live nor reserved', () => {
    const state = emptyHostPool();
    expect(lease(state, T0)).toEqual({ ask: ['h1', 'h2'] });
    // A burst: while that create asks Zoom, the next goes on what is known instead of asking too.
    expect(lease(state, T0)).toHaveProperty('host');
    const seen = { h1: { live: ['900'] }, h2: { live: [] } };
    expect(lease(state, T0, { leaseId: 'a', seen })).toEqual({ host: 'h2' });
    // Within Zoom's answer's life nobody is asked again.
    expect(lease(state, T0 + 1000)).toHaveProperty('host');
    expect(lease(state, T0 + CHECK_TTL_MS + 1)).toEqual({ ask: ['h2', 'h1'] }); // in turn from where the rotation is
  });

  it('trusts webhooks while they flow: no Zoom call per bridge, and a started meeting makes its host busy until it ends', () => {
    const state = knownAndQuiet(T0);
    const later = T0 + 3 * MINUTE; // past Zoom's answer's life and the first bridge's reservation
    meetingWebhook(state, { type: 'meeting.started', meetingId: '901', userId: 'u2' }, later);
    expect(lease(state, later)).toEqual({ host: 'h1' }); // h2's turn, but h2 is live
    meetingWebhook(state, { type: 'meeting.ended', meetingId: '901', userId: 'u2' }, later + 1000);
    expect(lease(state, later + 2000)).toEqual({ host: 'h2' });
    // Webhooks gone quiet, or hours since Zoom was asked: stale again.
    expect(lease(state, later + RECHECK_MS)).toHaveProperty('ask');
  });

  it('a created bridge holds its host until it starts and ends, or its reservation lapses', () => {
    const state = knownAndQuiet(T0); // h1 leased for a bridge
    const h1 = () => state.hosts.h1;
    meetingCreated(state, { host: 'h1', leaseId: `lease-${n}`, meetingId: '902' });
    expect(h1().reserved).toEqual({ '902': T0 });
    expect(liveCount(h1(), T0 + 1000)).toBe(1);
    meetingWebhook(state, { type: 'meeting.started', meetingId: '902', userId: 'u1' }, T0 + 2000);
    expect([h1().reserved, Object.keys(h1().live)]).toEqual([{}, ['902']]);
    meetingWebhook(state, { type: 'meeting.ended', meetingId: '902', userId: 'u1' }, T0 + 3000);
    expect(liveCount(h1(), T0 + 3000)).toBe(0);

    const lapsing = knownAndQuiet(T0);
    expect(liveCount(lapsing.hosts.h1, T0 + RESERVE_MS - 1)).toBe(1);
    expect(liveCount(lapsing.hosts.h1, T0 + RESERVE_MS)).toBe(0);
    // Every host held: the least loaded, first in turn, takes one more rather than failing the bridge.
    expect(lease(lapsing, T0 + 1)).toEqual({ host: 'h2' });
    expect(lease(lapsing, T0 + 2)).toEqual({ host: 'h1' });
  });

  it('lets a host hold as many live meetings as the plan allows', () => {
    // h1 holds a bridge and is first in turn again (a later meeting went to h2 in between).
    const heldAndFirst = () => {
      const state = knownAndQuiet(T0);
      expect(lease(state, T0 + 1, { startsNow: false })).toEqual({ host: 'h2' });
      return state;
    };
    expect(lease(heldAndFirst(), T0 + 2, { concurrency: 1 })).toEqual({ host: 'h2' });
    expect(lease(heldAndFirst(), T0 + 2, { concurrency: 2 })).toEqual({ host: 'h1' });
  });

  it('spends each host’s daily budget, then the next host’s, then says when it comes back', () => {
    const state = emptyHostPool();
    const later = { startsNow: false };
    const picked = Array.from({ length: 2 * HOST_DAILY_BUDGET }, () => lease(state, T0, later));
    expect(picked.filter((a) => 'host' in a && a.host === 'h1')).toHaveLength(HOST_DAILY_BUDGET);
    const exhausted = lease(state, T0, later);
    expect(exhausted).toEqual({ exhausted: { retryAt: Date.UTC(2031, 4, 7) } });
    expect(lease(state, Date.UTC(2031, 4, 7, 0, 0, 1), later)).toHaveProperty('host'); // a new UTC day
  });
});

describe('host pool against the Zoom sandbox', () => {
  let sandbox: ZoomSandbox;
  beforeAll(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
  });
  afterAll(() => sandbox?.stop());

  const liveChecks = () =>
    sandbox.requests.filter((r) => r.method === 'GET' && /\/users\/[^/]+\/meetings$/.test(r.path)).length;

  it('gives a bridge a host who is not on a call, asking Zoom once per host for a burst, and books later meetings without asking', async () => {
    const { client } = zoomConnector(sandboxConnector(sandbox));
    const [h1, h2] = sandbox.state.users.map((u) => u.email);
    const pool = new HostPool([h1, h2]);
    const meeting = await client.createMeeting(h1, {
      topic: 'On a call',
      type: 2,
      start_time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      duration: 30,
    });
    await axios.post(`${sandbox.url}/_sandbox/meetings/${meeting.id}/start`);

    const before = liveChecks();
    expect(await pool.pick(client, { startsNow: true, leaseId: 'b1' })).toBe(h2); // h1's turn, but h1 is live
    expect(liveChecks()).toBe(before + 2); // both asked once
    expect(await pool.pick(client, { startsNow: true, leaseId: 'b2' })).toBe(h2); // h1 live, h2 held: h2 takes one more
    expect(await pool.pick(client, { startsNow: false, leaseId: 'p1' })).toBe(h1); // a later meeting: anyone in turn
    expect(liveChecks()).toBe(before + 2);
  });
});

describe('the host-pool workflow, shared by worker processes (dev server)', () => {
  let stack: Stack;
  beforeAll(async () => (stack = await startStack({ runbooks: [] })));
  afterAll(async () => stack?.stop());

  it('keeps one rotation and one budget for every process, and learns who is live from webhooks', async () => {
    const connector = `pool-${Date.now().toString(36)}`;
    const { client } = zoomConnector(sandboxConnector(stack.sandbox));
    const [h1, h2] = stack.sandbox.state.users.map((u) => u.email);
    const workerProcess = () =>
      new HostPool([h1, h2], new WorkflowHostPoolOwner(stack.client, connector, stack.temporal.taskQueue));
    const [a, b] = [workerProcess(), workerProcess()];
    const first = await a.pick(client, { startsNow: false, leaseId: 'x1' });
    const second = await b.pick(client, { startsNow: false, leaseId: 'x2' });
    expect([first, second]).toEqual([h1, h2]); // the second process continues the first one's rotation

    // A bridge: nobody ever asked Zoom, so Zoom is asked about both hosts, once.
    const lists = () =>
      stack.sandbox.requests.filter((r) => r.method === 'GET' && /\/users\/[^/]+\/meetings$/.test(r.path)).length;
    const before = lists();
    expect(await b.pick(client, { startsNow: true, leaseId: 'x3' })).toBe(h1);
    expect(lists()).toBe(before + 2);
    const made = await client.createMeeting(h1, { topic: 'Pool', type: 2, duration: 30 });
    await b.created({ host: h1, leaseId: 'x3', meetingId: String(made.id) });
    // Zoom's signed webhook through `serve`'s route: the bridge started, on the host whose Zoom user id it names.
    const stopReceiver = await receiveZoomWebhooks(stack, 'host-pool-webhooks', connector);
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${made.id}/start`);
    const h1Id = stack.sandbox.state.users[0].id;
    const pool = stack.client.workflow.getHandle(hostPoolWorkflowId(connector, stack.temporal.taskQueue));
    const state = await eventually(async () => {
      const s = await pool.query(hostPoolQuery);
      return s.hosts[h1].live[String(made.id)] ? s : undefined;
    }, 'the pool told of the start');
    await stopReceiver();
    expect(state.hosts[h1]).toMatchObject({ used: 2, reserved: {}, live: { [String(made.id)]: expect.any(Number) } });
    expect(state.hosts[h2]).toMatchObject({ used: 1, checkedAt: expect.any(Number) });
    expect(state.userIds).toEqual({ [h1Id]: h1 });
    expect(await a.pick(client, { startsNow: true, leaseId: 'x4' })).toBe(h2); // h1 is live
    expect(lists()).toBe(before + 2); // what Zoom said a moment ago still stands
  });
});
