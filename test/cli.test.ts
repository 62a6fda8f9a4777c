import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, Stack, startStack, testTemporalAddress, uniqueIncidentId } from './support/stack';

const CLI = join(__dirname, '../bin/zoom-runbooks');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI with only the environment given (plus PATH), as an operator would. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(CLI, args, { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const STACK_TRACE = /\n\s+at /;

describe('zoom-runbooks CLI', () => {
  let stack: Stack;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'zr-cli-'));

  beforeAll(async () => {
    stack = await startStack();
    env = { TEMPORAL_ADDRESS: testTemporalAddress(), ZR_TASK_QUEUE: stack.temporal.taskQueue };
  });
  afterAll(async () => stack?.stop());

  it('opens an incident from flags and prints its timeline with the bridge link', async () => {
    const id = uniqueIncidentId();
    const open = await cli(['incident', 'open', '--id', id, '--title', 'Payments API 500s', '--severity', 'SEV2'], env);
    expect(open).toMatchObject({ code: 0, stderr: '' });
    expect(open.stdout).toContain(`recorded for incident ${id} in workflow incident-${id}`);

    const entries = await eventually(async () => {
      const run = await cli(['timeline', id, '--json'], env);
      const timeline = JSON.parse(run.stdout) as { step?: string; links?: { url: string }[] }[];
      return timeline.some((e) => e.step === 'share') ? timeline : undefined;
    }, 'the bridge on the timeline');
    const meeting = [...stack.sandbox.state.meetings.values()].find((m) => m.topic === 'Payments API 500s - Incident Bridge')!;
    expect(entries.find((e) => e.step === 'bridge')!.links![0].url).toBe(meeting.join_url);

    const human = await cli(['timeline', id], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Incident ${id} created: Payments API 500s (SEV2)`);
    expect(human.stdout).toContain(`Join: ${meeting.join_url}`);
  });

  it('sends an event from a JSON file', async () => {
    const id = uniqueIncidentId();
    const file = join(dir, 'event.json');
    writeFileSync(file, JSON.stringify({ eventId: `e-${id}`, type: 'incident.created', occurredAt: new Date().toISOString(), incident: { id, title: 'From a file' } }));
    const run = await cli(['incident', 'send', file], env);
    expect(run.code).toBe(0);
    await eventually(async () => {
      const t = await cli(['timeline', id, '--json'], env);
      return t.code === 0 && t.stdout.includes('From a file - Incident Bridge') ? true : undefined;
    }, 'the bridge from the file event');
  });

  it('rejects an invalid event file naming each field, without a stack trace', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ eventId: 'e1', type: 'incident.opened', occurredAt: 'now', incident: { id: 'INC-1' } }));
    const run = await cli(['incident', 'send', file], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Invalid incident event in ${file}:`);
    expect(run.stderr).toContain('type: Invalid enum value');
    expect(run.stderr).toContain('occurredAt: Invalid datetime');
    expect(run.stderr).not.toMatch(STACK_TRACE);

    writeFileSync(file, '{"eventId": ');
    const notJson = await cli(['incident', 'send', file], env);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/not valid JSON/);
  });

  it('refuses to start a worker without Zoom credentials, naming what is missing', async () => {
    const run = await cli(['worker'], { ...env, ZOOM_ACCOUNT_ID: 'acct' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Zoom credentials are missing: set ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET (or ZOOM_CLIENT_SECRET_FILE), ZOOM_HOST_USER.');
    expect(run.stderr).not.toMatch(STACK_TRACE);
  });

  it('says clearly when an incident is unknown or Temporal is unreachable', async () => {
    const unknown = await cli(['timeline', 'INC-does-not-exist'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No incident "INC-does-not-exist" is known to Temporal');

    const unreachable = await cli(['timeline', 'INC-1'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('Cannot reach Temporal at 127.0.0.1:1');
    expect(unreachable.stderr).not.toMatch(STACK_TRACE);
  });

  it('exits 2 on usage errors', async () => {
    expect((await cli(['explode'], env)).code).toBe(2);
    expect((await cli(['incident', 'open'], env)).stderr).toContain('--id <incident id> is required.');
    expect((await cli(['incident', 'open', '--id', 'X', '--colour', 'red'], env)).code).toBe(2);
    const help = await cli(['--help'], env);
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain('zoom-runbooks timeline <incident-id>');
  });
});
