import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import axios from 'axios';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { IncidentEvent } from '../src/core/incident';
import { StoredMeeting } from '../src/sandbox/zoom-api';
import type { MeetingSummary, TimelineEntry } from '../workflows/contract';
import { eventually, Stack, startStack, testTemporalAddress, uniqueIncidentId } from './support/stack';

/**
 * The operator calls README.md documents, made with the real `temporal` CLI: against a worker
 * whose history is plain JSON (no ZR_PAYLOAD_KEYS), and against an encrypting one through the
 * codec endpoint of `zoom-runbooks serve`.
 */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function temporal(args: string[]): Promise<Run> {
  const bin = process.env.ZR_TEST_TEMPORAL_CLI;
  if (!bin) throw new Error('ZR_TEST_TEMPORAL_CLI is not set: run the tests through jest (test/global-setup.ts).');
  return new Promise((resolve) => {
    execFile(
      bin,
      [...args, '--address', testTemporalAddress(), '--namespace', 'default'],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs the CLI and expects success; `-o json` makes its answer machine-readable. */
async function temporalJson<T>(args: string[]): Promise<T> {
  const run = await temporal([...args, '-o', 'json']);
  if (run.code !== 0) throw new Error(`temporal ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout) as T;
}

async function temporalOk(args: string[]): Promise<string> {
  const run = await temporal(args);
  if (run.code !== 0) throw new Error(`temporal ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

describe('operating runbooks with the temporal CLI', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ encrypt: false });
  });
  afterAll(async () => stack?.stop());

  const event = (
    id: string,
    type: IncidentEvent['type'],
    incident: Partial<IncidentEvent['incident']> = {},
  ): IncidentEvent => ({
    eventId: `${id}-${type}`,
    type,
    occurredAt: new Date().toISOString(),
    incident: { id, ...incident },
  });
  const meetings = (match: (m: StoredMeeting) => boolean) => [...stack.sandbox.state.meetings.values()].filter(match);
  const timelineWith = (id: string, match: (e: TimelineEntry) => boolean, what: string) =>
    eventually(
      async () => ((await getTimeline(stack.client, id)).some(match) ? getTimeline(stack.client, id) : undefined),
      what,
    );

  /** An incident (SEV3: no postmortem by itself) whose bridge is up, and started in Zoom unless `start` is false. */
  async function liveBridge(
    title: string,
    start = true,
  ): Promise<{ id: string; meeting: StoredMeeting; runbook: string }> {
    const id = uniqueIncidentId();
    await sendIncidentEvent(
      stack.client,
      stack.temporal.taskQueue,
      event(id, 'incident.created', { title, severity: 'SEV3' }),
    );
    await timelineWith(id, (e) => e.step === 'share', 'the bridge');
    const [meeting] = meetings((m) => String(m.agenda).includes(`Incident ${id}`));
    if (start) {
      await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/start`);
      expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('started');
    }
    return { id, meeting, runbook: `incident-${id}/incident-bridge` };
  }

  it('query timeline and bridge: the incident timeline as JSON, the bridge of the incident and of the run', async () => {
    const { id, meeting, runbook } = await liveBridge('Query me');
    const timeline = await temporalJson<{ queryResult: [TimelineEntry[]] }>([
      'workflow',
      'query',
      '--workflow-id',
      `incident-${id}`,
      '--name',
      'timeline',
    ]);
    const entries = timeline.queryResult[0];
    expect(entries[0]).toMatchObject({ source: 'incident', summary: `Incident ${id} created: Query me (SEV3)` });
    expect(entries.find((e) => e.step === 'bridge')!.links![0].url).toBe(meeting.join_url);

    // The human output of the same query carries the same entries.
    expect(await temporalOk(['workflow', 'query', '--workflow-id', `incident-${id}`, '--name', 'timeline'])).toContain(
      `Incident ${id} created: Query me (SEV3)`,
    );

    const expected = { id: String(meeting.id), topic: 'Query me - Incident Bridge', joinUrl: meeting.join_url };
    const ofIncident = await temporalJson<{ queryResult: [MeetingSummary] }>([
      'workflow',
      'query',
      '--workflow-id',
      `incident-${id}`,
      '--name',
      'bridge',
    ]);
    expect(ofIncident.queryResult[0]).toMatchObject(expected);
    const ofRun = await temporalJson<{ queryResult: [MeetingSummary] }>([
      'workflow',
      'query',
      '--workflow-id',
      runbook,
      '--name',
      'bridge',
    ]);
    expect(ofRun.queryResult[0]).toMatchObject(expected);
  });

  it('signal endBridge ends the bridge in Zoom; the runbook goes on', async () => {
    const { id, meeting, runbook } = await liveBridge('End by signal');
    await temporalOk(['workflow', 'signal', '--workflow-id', runbook, '--name', 'endBridge']);
    await eventually(
      () => (stack.sandbox.state.meetings.get(meeting.id)!.status === 'waiting' ? true : undefined),
      'the meeting to end',
    );
    const timeline = await timelineWith(
      id,
      (e) => e.summary === `Zoom meeting ${meeting.id} ended: ended by an operator`,
      'the end on the timeline',
    );
    expect(timeline.filter((e) => e.summary.startsWith(`Zoom meeting ${meeting.id} ended`))).toHaveLength(1);
    expect((await stack.client.workflow.getHandle(runbook).describe()).status.name).toBe('RUNNING');
  });

  it('signal cancelRunbook {"cleanup":false} stops the run and leaves the bridge up', async () => {
    const { id, meeting, runbook } = await liveBridge('Cancel by signal');
    await temporalOk([
      'workflow',
      'signal',
      '--workflow-id',
      runbook,
      '--name',
      'cancelRunbook',
      '--input',
      '{"cleanup":false}',
    ]);
    expect(await stack.client.workflow.getHandle(runbook).result()).toMatchObject({
      runbook: 'incident-bridge',
      cancelled: 'cancelled by an operator',
    });
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('started');
    await timelineWith(
      id,
      (e) => e.summary === 'Runbook incident-bridge cancelled (its meetings were left as they are)',
      'the cancellation',
    );
  });

  it('update addParticipants invites people to the bridge and answers with its invitees', async () => {
    // Not started: Zoom refuses to change a meeting in progress.
    const { id, meeting, runbook } = await liveBridge('Invite by update', false);
    const result = await temporalJson<{ result: { meetingId: string; invitees: string[] } }>([
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      runbook,
      '--name',
      'addParticipants',
      '--input',
      '{"emails":["x@example.com"]}',
    ]);
    expect(result.result).toMatchObject({ meetingId: String(meeting.id), invitees: ['x@example.com'] });
    expect(stack.sandbox.state.meetings.get(meeting.id)!.settings).toMatchObject({
      meeting_invitees: [{ email: 'x@example.com' }],
    });
    await timelineWith(
      id,
      (e) => e.summary === `Added to Zoom meeting ${meeting.id} by an operator: x@example.com`,
      'the timeline entry',
    );

    // A refused update is the workflow's own message, and a non-zero exit.
    const refused = await temporal([
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      runbook,
      '--name',
      'addParticipants',
      '--input',
      '{"emails":["nope"]}',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain('addParticipants: emails: not email addresses: "nope"');
  });

  it('update runRunbook runs the postmortem on demand', async () => {
    const id = uniqueIncidentId();
    await sendIncidentEvent(
      stack.client,
      stack.temporal.taskQueue,
      event(id, 'incident.created', { title: 'Postmortem by update', severity: 'SEV3' }),
    );
    await sendIncidentEvent(
      stack.client,
      stack.temporal.taskQueue,
      event(id, 'incident.resolved', { status: 'resolved' }),
    );
    await timelineWith(id, (e) => e.summary.startsWith(`Incident ${id} resolved`), 'the resolution');
    const result = await temporalJson<{ result: { workflowId: string } }>([
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      `incident-${id}`,
      '--name',
      'runRunbook',
      '--input',
      '{"runbook":"postmortem"}',
    ]);
    expect(result.result.workflowId).toBe(`incident-${id}/postmortem/on-demand-1`);
    await eventually(
      () => meetings((m) => m.topic === 'Postmortem: Postmortem by update')[0],
      'the postmortem meeting',
    );
    await timelineWith(
      id,
      (e) => e.source === 'postmortem' && e.summary.startsWith('Postmortem booked: '),
      'the postmortem on the timeline',
    );
  });
});

describe('with payload encryption, through the codec endpoint of zoom-runbooks serve', () => {
  const codecToken = 'codec-token-for-temporal-cli-tests';
  let stack: Stack;
  let serve: ReturnType<typeof spawn>;
  let codec: string;
  beforeAll(async () => {
    stack = await startStack({ encrypt: true });
    const ring = stack.temporal.payloadKeys!;
    const env = {
      PATH: process.env.PATH!,
      TEMPORAL_ADDRESS: testTemporalAddress(),
      ZR_TASK_QUEUE: stack.temporal.taskQueue,
      ZR_PAYLOAD_KEYS: `${ring.current.id}:${Buffer.from(ring.current.key).toString('base64')}`,
      ZR_INTAKE_TOKEN: 'intake-token-for-temporal-cli-tests',
      ZR_CODEC_TOKEN: codecToken,
    };
    serve = spawn(join(__dirname, '../bin/zoom-runbooks'), ['serve', '--port', '0'], { env });
    let output = '';
    serve.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    serve.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    codec = await eventually(
      () => / (http:\S+\/codec)\/decode/.exec(output)?.[1],
      'serve and its codec route',
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; serve said:\n${output}`);
    });
  });
  afterAll(async () => {
    if (serve?.exitCode === null) await new Promise((resolve) => serve.once('exit', resolve).kill('SIGTERM'));
    await stack?.stop();
  });

  /** A new incident with its bridge up; returns its id. */
  async function incident(title: string): Promise<string> {
    const id = uniqueIncidentId();
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
      eventId: `e-${id}`,
      type: 'incident.created',
      occurredAt: new Date().toISOString(),
      incident: { id, title, severity: 'SEV3' },
    });
    await eventually(
      async () => ((await getTimeline(stack.client, id)).some((e) => e.step === 'share') ? true : undefined),
      'the bridge',
    );
    return id;
  }
  const codecFlags = () => ['--codec-endpoint', codec, '--codec-auth', `Bearer ${codecToken}`];

  it('signal cancelRunbook with --codec-endpoint: the input is encrypted on the way in, and the codec wants its token', async () => {
    const runbook = `incident-${await incident('Cancel through the codec')}/incident-bridge`;
    const signal = [
      'workflow',
      'signal',
      '--workflow-id',
      runbook,
      '--name',
      'cancelRunbook',
      '--input',
      '{"cleanup":false,"reason":"through the codec"}',
    ];
    expect((await temporal([...signal, '--codec-endpoint', codec])).code).not.toBe(0);
    expect(await temporal([...signal, ...codecFlags()])).toMatchObject({ code: 0, stderr: '' });
    expect(await stack.client.workflow.getHandle(runbook).result()).toMatchObject({ cancelled: 'through the codec' });
    // History holds the signal's argument as ciphertext only.
    const history = await stack.client.workflow.getHandle(runbook).fetchHistory();
    const signalled = history.events!.find(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'cancelRunbook',
    )!;
    const payload = signalled.workflowExecutionSignaledEventAttributes!.input!.payloads![0];
    expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(payload.data!).toString()).not.toContain('through the codec');
  });

  it("bin/zoom-runbooks temporal: the same calls with ZR_PAYLOAD_KEYS alone, no codec to set up; temporal's own failures and exit codes", async () => {
    const id = await incident('Through zoom-runbooks temporal');
    const ring = stack.temporal.payloadKeys!;
    const key = Buffer.from(ring.current.key).toString('base64');
    const env = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? '/tmp',
      TEMPORAL_ADDRESS: testTemporalAddress(),
      ZR_PAYLOAD_KEYS: `${ring.current.id}:${key}`,
    };
    const zr = (args: string[], extra: Record<string, string> = {}) =>
      new Promise<Run>((resolve) => {
        execFile(
          join(__dirname, '../bin/zoom-runbooks'),
          ['temporal', ...args],
          { env: { ...env, ...extra }, timeout: 60_000 },
          (err, stdout, stderr) => {
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
          },
        );
      });

    const query = await zr(['workflow', 'query', '-w', `incident-${id}`, '--name', 'timeline']);
    expect(query).toMatchObject({ code: 0, stderr: '' });
    expect(query.stdout).toContain(`Incident ${id} created: Through zoom-runbooks temporal (SEV3)`);
    // An update's input encrypted on the way in, its result decoded on the way out: exit 0.
    const update = await zr([
      'workflow',
      'update',
      'execute',
      '-w',
      `incident-${id}/incident-bridge`,
      '--name',
      'addParticipants',
      '--input',
      '{"emails":["y@example.com"]}',
    ]);
    expect(update).toMatchObject({ code: 0, stderr: '' });
    expect(update.stdout).toContain('invitees:[y@example.com]');
    // An update the workflow refuses: its message, decoded, and temporal's exit code.
    const refused = await zr([
      'workflow',
      'update',
      'execute',
      '-w',
      `incident-${id}/incident-bridge`,
      '--name',
      'addParticipants',
      '--input',
      '{"emails":["nope"]}',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('addParticipants: emails: not email addresses: "nope"');
    const missing = await zr(['workflow', 'describe', '-w', 'incident-INC-never']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/i);
    // A codec of the caller's own (here serve's) is used as given.
    const own = await zr(['workflow', 'query', '-w', `incident-${id}`, '--name', 'bridge', ...codecFlags()]);
    expect(own).toMatchObject({ code: 0, stderr: '' });
    expect(own.stdout).toContain('"topic":"Through zoom-runbooks temporal - Incident Bridge"');
    const viaEnv = await zr(['workflow', 'query', '-w', `incident-${id}`, '--name', 'bridge'], {
      TEMPORAL_CODEC_ENDPOINT: codec,
      TEMPORAL_CODEC_AUTH: 'Bearer wrong',
    });
    expect(viaEnv.code).not.toBe(0);
    // The keys stay in this process.
    for (const run of [query, update, refused, missing, own]) expect(run.stdout + run.stderr).not.toContain(key);
  });

  // A query without input makes the CLI post `{}` (protojson leaves out an empty list) to /codec/encode.
  it('query timeline with --codec-endpoint decodes the entries (ciphertext without it)', async () => {
    const id = await incident('Secret outage');
    const query = ['workflow', 'query', '--workflow-id', `incident-${id}`, '--name', 'timeline', '-o', 'json'];
    expect((await temporal(query)).stdout).not.toContain('Secret outage');
    const opened = await temporal([...query, ...codecFlags()]);
    expect(opened).toMatchObject({ code: 0, stderr: '' });
    const [entries] = (JSON.parse(opened.stdout) as { queryResult: [TimelineEntry[]] }).queryResult;
    expect(entries[0].summary).toBe(`Incident ${id} created: Secret outage (SEV3)`);
  });
});
