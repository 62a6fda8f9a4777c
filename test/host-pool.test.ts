import axios from 'axios';
import { ZoomSandbox } from '../src/sandbox/server';
import { zoomConnector } from '../src/apps/worker';
import { HostPool } from '../src/zoom/host-pool';
import { sandboxConnector } from './support/stack';

/** The host pool against the Zoom sandbox: which host a new meeting gets, and what that costs in Zoom calls. */
describe('host pool', () => {
  let sandbox: ZoomSandbox;
  beforeAll(async () => {
    sandbox = new ZoomSandbox();
    await sandbox.start();
  });
  afterAll(() => sandbox?.stop());

  const liveChecks = () =>
    sandbox.requests.filter((r) => r.method === 'GET' && /\/users\/[^/]+\/meetings$/.test(r.path)).length;

  it('gives a bridge a host who is not on a call, and books later meetings in turn without asking Zoom who is', async () => {
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
    expect(await pool.pick(client)).toBe(h2); // h1's turn, but h1 is live
    expect(liveChecks()).toBe(before + 2); // h1 asked, then h2
    expect(await pool.pick(client, false)).toBe(h2); // h2's turn; a later meeting needs no check
    expect(await pool.pick(client, false)).toBe(h1); // h1's turn: live now, free by then
    expect(liveChecks()).toBe(before + 2);
  });
});
