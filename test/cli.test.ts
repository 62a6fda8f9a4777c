import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { ZoomSandbox } from '../src/sandbox/server';
import { StoredMeeting } from '../src/sandbox/zoom-api';
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
    execFile(
      CLI,
      args,
      { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A long-running CLI process (serve, timeline --follow), with its output so far and its exit code. */
function spawnCli(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(CLI, args, {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  return { child, out, exited };
}

const STACK_TRACE = /\n\s+at /;

// Every test runs the CLI several times as a child process (about a second each, more on a busy machine).
jest.setTimeout(120_000);

describe('zoom-runbooks CLI', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let zoomEnv: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'zr-cli-'));

  beforeAll(async () => {
    stack = await startStack();
    env = { TEMPORAL_ADDRESS: testTemporalAddress(), ZR_TASK_QUEUE: stack.temporal.taskQueue };
    // The stack encrypts payloads (unless told not to): the CLI must hold the same key to read them.
    const ring = stack.temporal.payloadKeys;
    if (ring)
      env.ZR_PAYLOAD_KEYS = [ring.current, ...(ring.previous ?? [])]
        .map((k) => `${k.id}:${Buffer.from(k.key).toString('base64')}`)
        .join(',');
    zoomEnv = sandboxEnv(stack.sandbox);
  });
  afterAll(async () => stack?.stop());

  function sandboxEnv(sandbox: ZoomSandbox): Record<string, string> {
    const c = sandbox.state.credentials;
    return {
      ZOOM_API_URL: `${sandbox.url}/v2`,
      ZOOM_TOKEN_URL: `${sandbox.url}/oauth/token`,
      ZOOM_ACCOUNT_ID: c.accountId,
      ZOOM_CLIENT_ID: c.clientId,
      ZOOM_CLIENT_SECRET: c.clientSecret,
      ZOOM_HOST_USER: sandbox.state.users[0].email,
    };
  }

  const meetingOf = (id: string): StoredMeeting =>
    [...stack.sandbox.state.meetings.values()].find((m) => String(m.agenda).includes(`Incident ${id}`))!;

  /** Until the incident's bridge link is on its timeline. */
  const untilShared = (id: string) =>
    eventually(
      async () => ((await getTimeline(stack.client, id)).some((e) => e.step === 'share') ? true : undefined),
      'the bridge on the timeline',
    );

  /** An incident whose bridge is up (declared through the library: these tests are about what comes next). */
  async function openBridge(title = 'Bridge test'): Promise<{ id: string; meeting: StoredMeeting }> {
    const id = uniqueIncidentId();
    const created = {
      eventId: `e-${id}`,
      type: 'incident.created' as const,
      occurredAt: new Date().toISOString(),
      incident: { id, title, severity: 'SEV3' },
    };
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, created);
    await untilShared(id);
    return { id, meeting: meetingOf(id) };
  }

  it('opens an incident from flags and prints its timeline with the bridge link', async () => {
    const id = uniqueIncidentId();
    const open = await cli(['incident', 'open', '--id', id, '--title', 'Payments API 500s', '--severity', 'SEV2'], env);
    expect(open.code).toBe(0);
    expect(open.stdout).toContain(`recorded for incident ${id} in workflow incident-${id}`);
    // The next command, as it runs from here (this CLI is not on PATH).
    expect(open.stdout).toContain(`Timeline: bin/zoom-runbooks timeline ${id}`);
    // Progress goes to stderr, and nothing else does.
    expect(open.stderr).toContain(`connecting to Temporal at ${env.TEMPORAL_ADDRESS}`);
    expect(open.stderr).not.toMatch(/error|warn/i);

    // Waited for through the library (a CLI spawn per probe costs a second or more), then read once through the CLI.
    await untilShared(id);
    const entries = JSON.parse((await cli(['timeline', id, '--json'], env)).stdout) as {
      step?: string;
      links?: { url: string }[];
    }[];
    const meeting = [...stack.sandbox.state.meetings.values()].find(
      (m) => m.topic === 'Payments API 500s - Incident Bridge',
    )!;
    expect(entries.find((e) => e.step === 'bridge')!.links![0].url).toBe(meeting.join_url);

    const human = await cli(['timeline', id], env);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SOURCE\s+STEP\s+STATUS\s+SUMMARY\s+LINKS$/);
    expect(human.stdout).toContain(`Incident ${id} created: Payments API 500s (SEV2)`);
    expect(lines.find((l) => l.includes('Zoom meeting ready'))).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+incident-bridge\\s+bridge\\s+ok\\s+.*Join: ${String(meeting.join_url).replace(/[.?]/g, '\\$&')}$`,
      ),
    );
  });

  it('sends an event from a JSON file, and --file checks the event matches the verb', async () => {
    const id = uniqueIncidentId();
    const file = join(dir, 'event.json');
    writeFileSync(
      file,
      JSON.stringify({
        eventId: `e-${id}`,
        type: 'incident.created',
        occurredAt: new Date().toISOString(),
        incident: { id, title: 'From a file' },
      }),
    );
    const run = await cli(['incident', 'send', file], env);
    expect(run.code).toBe(0);
    await untilShared(id);
    const t = await cli(['timeline', id, '--json'], env);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('From a file - Incident Bridge');

    const wrongVerb = await cli(['incident', 'resolve', '--file', file], env);
    expect(wrongVerb.code).toBe(2);
    expect(wrongVerb.stderr).toContain(`holds an incident.created event, not incident.resolved`);
    const again = await cli(['incident', 'open', '--file', file], env);
    expect(again.code).toBe(0);
  });

  it('rejects an invalid event file naming each field, without a stack trace', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ eventId: 'e1', type: 'incident.opened', occurredAt: 'now', incident: { id: 'INC-1' } }),
    );
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
    expect(run.stderr).toContain(
      'Zoom credentials are missing: set ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET (or ZOOM_CLIENT_SECRET_FILE), ZOOM_HOST_USER.',
    );
    expect(run.stderr).not.toMatch(STACK_TRACE);
  });

  it('keeps trying to reach Temporal for ZR_TEMPORAL_WAIT seconds when starting a worker, then exits 1 with the reason', async () => {
    const zoomEnv = {
      ZOOM_ACCOUNT_ID: 'acct',
      ZOOM_CLIENT_ID: 'id',
      ZOOM_CLIENT_SECRET: 'secret',
      ZOOM_HOST_USER: 'host@example.com',
    };
    const run = await cli(['worker'], { ...env, ...zoomEnv, TEMPORAL_ADDRESS: '127.0.0.1:1', ZR_TEMPORAL_WAIT: '6' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Cannot reach Temporal at 127\.0\.0\.1:1.*Trying again for up to 6 s/);
    expect(run.stderr.trim().split('\n').pop()).toContain('Cannot reach Temporal at 127.0.0.1:1');
    expect(run.stderr).not.toMatch(STACK_TRACE);

    const bad = await cli(['worker'], { ...env, ...zoomEnv, ZR_TEMPORAL_WAIT: 'soon' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ZR_TEMPORAL_WAIT must be a number of seconds; got "soon"');
  });

  it('says clearly when an incident is unknown or Temporal is unreachable', async () => {
    const unknown = await cli(['timeline', 'INC-does-not-exist'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No incident "INC-does-not-exist" is known to Temporal');

    const unreachable = await cli(['timeline', 'INC-1'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('Cannot reach Temporal at 127.0.0.1:1');
    expect(unreachable.stderr).not.toMatch(STACK_TRACE);

    const badKeys = await cli(['timeline', 'INC-1'], { ...env, ZR_PAYLOAD_KEYS: 'k1:short' });
    expect(badKeys.code).toBe(1);
    expect(badKeys.stderr).toContain('ZR_PAYLOAD_KEYS is invalid');
    expect(badKeys.stderr).not.toMatch(STACK_TRACE);
  });

  it('prints help for every command and group (exit 0), and exits 2 on usage errors', async () => {
    const help = await cli(['--help'], env);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of [
      'worker',
      'sandbox',
      'serve',
      'incident',
      'timeline [options] <incident-id>',
      'runbook ',
      'runbooks',
      'meeting',
      'connector',
    ]) {
      expect(help.stdout).toContain(`  ${command}`);
    }
    const subcommands = [
      ['worker'],
      ['sandbox'],
      ['serve'],
      ['incident', 'send'],
      ['incident', 'open'],
      ['incident', 'close'],
      ['timeline'],
      ['runbook', 'run'],
      ['runbook', 'cancel'],
      ['runbooks', 'validate'],
      ['runbooks', 'list'],
      ['meeting', 'end'],
      ['connector', 'test'],
    ];
    const helps = await Promise.all(subcommands.map((c) => cli([...c, '--help'], env)));
    helps.forEach((h, i) => {
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`Usage: zoom-runbooks ${subcommands[i].join(' ')}`);
    });
    expect(helps[7].stdout).toContain('--incident <id>');
    expect(helps[8].stdout).toContain('--keep-meetings');
    expect(helps[11].stdout).toContain('--runbook <name>');

    // A group without its subcommand shows its help, as a usage error.
    const groups = await Promise.all(
      ['incident', 'runbook', 'runbooks', 'meeting', 'connector'].map((g) => cli([g], env)),
    );
    for (const g of groups) {
      expect(g.code).toBe(2);
      expect(g.stderr).toMatch(/^Usage: zoom-runbooks \w+ \[options\] \[command\]/);
    }

    const usage = await Promise.all([
      cli([], env),
      cli(['explode'], env),
      cli(['incident', 'open'], env),
      cli(['incident', 'open', '--id', 'X', '--colour', 'red'], env),
      cli(['runbook', 'run', 'postmortem'], env),
      cli(['sandbox', '--port', 'nine'], env),
      cli(['timeline'], env),
      cli(['timeline', 'a', 'b'], env),
    ]);
    usage.forEach((u) => expect(u.code).toBe(2));
    expect(usage[1].stderr).toContain("unknown command 'explode'");
    expect(usage[2].stderr).toContain('--id <incident id> is required.');
    expect(usage[3].stderr).toContain("unknown option '--colour'");
    expect(usage[4].stderr).toContain("required option '--incident <id>' not specified");
    expect(usage[5].stderr).toContain('a port number (0-65535) is expected, got "nine"');
  }, 180_000);

  it('validates and lists runbooks', async () => {
    const validate = await cli(['runbooks', 'validate'], env);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/^ok {2}.*incident-bridge\.yaml: incident-bridge \(4 steps\)$/m);
    const list = await cli(['runbooks', 'list'], env);
    expect(list.stdout).toContain('postmortem  on incident.resolved');

    writeFileSync(
      join(dir, 'broken.yaml'),
      'name: broken\ntrigger: { on: [incident.created] }\nsteps:\n  - id: x\n    action: zoom.explode\n',
    );
    const broken = await cli(['runbooks', 'validate', dir], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('broken.yaml');
    expect(broken.stderr).not.toMatch(STACK_TRACE);
  });

  it('runbook run starts a runbook on demand and names an unknown runbook or incident', async () => {
    const { id } = await openBridge('Run on demand');
    await sendIncidentEvent(stack.client, stack.temporal.taskQueue, {
      eventId: `r-${id}`,
      type: 'incident.resolved',
      occurredAt: new Date().toISOString(),
      incident: { id, status: 'resolved' },
    });
    const run = await cli(['runbook', 'run', 'postmortem', '--incident', id], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`workflow incident-${id}/postmortem/on-demand-1`);
    expect(run.stderr).toContain('waiting for a worker');
    await eventually(
      () => [...stack.sandbox.state.meetings.values()].find((m) => m.topic === 'Postmortem: Run on demand'),
      'the postmortem meeting',
    );

    // The worker's answer, then the runbooks of this CLI's folder (the worker's too, unless told otherwise).
    const nope = await cli(['runbook', 'run', 'nope', '--incident', id], env);
    expect(nope.code).toBe(1);
    expect(nope.stderr.trim().split('\n').slice(-2)).toEqual([
      'No runbook named "nope" is loaded on the worker.',
      'The runbooks in runbooks/: incident-bridge, incident-sync, postmortem, recorded-bridge, sev1-escalation.',
    ]);
    const typo = await cli(['runbook', 'run', 'postmortm', '--incident', id], env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(
      'No runbook named "postmortm" is loaded on the worker.\nDid you mean "postmortem"? The runbooks in runbooks/: ',
    );
    const noIncident = await cli(['runbook', 'run', 'postmortem', '--incident', 'INC-never'], env);
    expect(noIncident.code).toBe(1);
    expect(noIncident.stderr).toContain('No incident "INC-never"');
    expect(noIncident.stderr).not.toMatch(STACK_TRACE);
  });

  it('runbook cancel --keep-meetings stops the runbook and leaves its bridge running', async () => {
    const { id, meeting } = await openBridge('Cancel me');
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/start`);
    const run = await cli(
      ['runbook', 'cancel', 'incident-bridge', '--incident', id, '--keep-meetings', '--reason', 'handled by phone'],
      env,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Runbook incident-bridge for incident ${id} stopped: handled by phone.`);
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('started');
    expect((await getTimeline(stack.client, id)).map((e) => e.summary)).toContain(
      'Runbook incident-bridge cancelled (its meetings were left as they are)',
    );

    const again = await cli(['runbook', 'cancel', 'incident-bridge', '--incident', id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`incident-${id}/incident-bridge is no longer running.`);
    const unknown = await cli(['runbook', 'cancel', 'nope', '--incident', id], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      `Incident ${id} has no runbook nope (no workflow incident-${id}/nope).\nIts runbooks running now: none.`,
    );
  });

  it('meeting end ends the bridge now; the runbook goes on', async () => {
    const { id, meeting } = await openBridge('End me');
    await axios.post(`${stack.sandbox.url}/_sandbox/meetings/${meeting.id}/start`);
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('started');
    const run = await cli(['meeting', 'end', id], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Zoom meeting ${meeting.id} (End me - Incident Bridge) ended; runbook incident-bridge goes on.`,
    );
    expect(stack.sandbox.state.meetings.get(meeting.id)!.status).toBe('waiting');
    expect((await stack.client.workflow.getHandle(`incident-${id}/incident-bridge`).describe()).status.name).toBe(
      'RUNNING',
    );

    const other = await cli(['meeting', 'end', id, '--runbook', 'postmortem'], env);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(
      `Incident ${id} has no runbook postmortem (no workflow incident-${id}/postmortem).\nIts runbooks running now: incident-bridge.`,
    );
    const typo = await cli(['meeting', 'end', id, '--runbook', 'incident-brige'], env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('Did you mean "incident-bridge"? Its runbooks running now: incident-bridge.');
    const unknownIncident = await cli(['meeting', 'end', 'INC-never'], env);
    expect(unknownIncident.code).toBe(1);
    expect(unknownIncident.stderr).toContain('No incident "INC-never"');
  });

  it('timeline --follow prints new entries as they arrive, as a table or as JSON lines', async () => {
    const { id } = await openBridge('Follow me');
    const table = spawnCli(['timeline', id, '--follow', '--for', '20s'], env);
    const json = spawnCli(['timeline', id, '--follow', '--json', '--for', '20s'], env);
    await eventually(
      () =>
        table.out.stdout.includes('Join the bridge') && json.out.stdout.includes('Join the bridge') ? true : undefined,
      'the entries so far',
    );
    await cli(['incident', 'update', '--id', id, '--summary', 'rolled back'], env);
    await eventually(
      () =>
        table.out.stdout.includes(`Incident ${id} updated`) && json.out.stdout.includes(`Incident ${id} updated`)
          ? true
          : undefined,
      'the new entry',
    );

    // Ctrl-C stops following cleanly.
    table.child.kill('SIGINT');
    expect(await table.exited).toBe(0);
    expect(table.out.stdout.match(/^TIME \(UTC\)/gm)).toHaveLength(1);
    expect(table.out.stdout.match(/Join the bridge/g)).toHaveLength(1);
    expect(table.out.stderr).toContain(`following the timeline of ${id}`);

    expect(await json.exited).toBe(0);
    const entries = json.out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { source: string; summary: string });
    expect(entries[0]).toMatchObject({ source: 'incident', summary: `Incident ${id} created: Follow me (SEV3)` });
    expect(entries.filter((e) => e.summary === `Incident ${id} updated: Follow me (SEV3)`)).toHaveLength(1);
  });

  it('timeline --follow waits for an incident that is not declared yet', async () => {
    const id = uniqueIncidentId();
    const follow = spawnCli(['timeline', id, '--follow', '--for', '20s'], env);
    await eventually(
      () => (follow.out.stderr.includes(`waiting for incident ${id} to be declared`) ? true : undefined),
      'the wait',
    );
    await cli(['incident', 'open', '--id', id, '--title', 'Late'], env);
    await eventually(
      () => (follow.out.stdout.includes(`Incident ${id} created: Late`) ? true : undefined),
      'the first entry',
    );
    follow.child.kill('SIGTERM');
    expect(await follow.exited).toBe(0);
  });

  it('connector test checks token, host user and the scopes the runbooks need', async () => {
    const run = await cli(['connector', 'test'], { ...env, ...zoomEnv });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Host user: ${stack.sandbox.state.users[0].email} (${stack.sandbox.state.users[0].id})`,
    );
    expect(run.stdout).toMatch(/^ACTION\s+ALLOWED\s+MISSING SCOPES \(ANY OF\)$/m);
    expect(run.stdout).toMatch(/^zoom\.createMeeting\s+yes$/m);
    expect(run.stdout).toMatch(/^zoom\.endMeeting\s+yes$/m);

    const limited = new ZoomSandbox({
      scopes: [
        'meeting:read:meeting:admin',
        'meeting:read:list_meetings:admin',
        'meeting:update:status:admin',
        'user:read:user:admin',
      ],
    });
    await limited.start();
    try {
      const refused = await cli(['connector', 'test'], { ...env, ...sandboxEnv(limited) });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(
        /^zoom\.createMeeting\s+NO\s+createMeeting: meeting:write \| meeting:write:admin \| meeting:write:meeting \| meeting:write:meeting:admin$/m,
      );
      expect(refused.stdout).toMatch(/^zoom\.endMeeting\s+yes$/m);
      expect(refused.stderr).toMatch(/\d+ of \d+ actions are not allowed/);
      expect(refused.stderr).not.toMatch(STACK_TRACE);
    } finally {
      await limited.stop();
    }

    const badSecret = await cli(['connector', 'test'], { ...env, ...zoomEnv, ZOOM_CLIENT_SECRET: 'wrong' });
    expect(badSecret.code).toBe(1);
    expect(badSecret.stderr).not.toMatch(STACK_TRACE);
    const other = await cli(['connector', 'test', 'emea'], { ...env, ...zoomEnv });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('No Zoom connector "emea"');
    const missing = await cli(['connector', 'test'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Zoom credentials are missing');
  });

  it('serve takes incident events over HTTP with the bearer token, and stops on SIGTERM', async () => {
    const token = 'intake-token-for-cli-tests';
    const metricsPort = 20000 + Math.floor(Math.random() * 20000);
    const serve = spawnCli(['serve', '--port', '0'], {
      ...env,
      ZR_INTAKE_TOKEN: token,
      ZOOM_WEBHOOK_SECRET_TOKEN: 'webhook-secret-for-cli',
      ZR_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    });
    const url = await eventually(() => /Serving on (http:\/\/\S+)/.exec(serve.out.stdout)?.[1], 'serve to listen');
    await eventually(() => (serve.out.stdout.includes('/zoom/webhook') ? true : undefined), 'the route list');
    expect(serve.out.stdout).toContain(`POST    ${url}/v1/events`);
    expect(serve.out.stdout).toContain(`POST    ${url}/zoom/webhook`);
    // The codec is served only when payload keys are configured.
    expect(serve.out.stdout.includes(`${url}/codec/decode`)).toBe(!!env.ZR_PAYLOAD_KEYS);

    const id = uniqueIncidentId();
    const event = {
      eventId: `http-${id}`,
      type: 'incident.created',
      occurredAt: new Date().toISOString(),
      incident: { id, title: 'Over HTTP' },
    };
    const post = (auth: string) =>
      axios.post(`${url}/v1/events`, event, { headers: { authorization: auth }, validateStatus: () => true });
    expect((await post('Bearer wrong-token-000000000')).status).toBe(401);
    const accepted = await post(`Bearer ${token}`);
    expect(accepted.status).toBe(202);
    expect(accepted.data).toMatchObject({ workflowId: `incident-${id}` });
    await eventually(
      async () => ((await getTimeline(stack.client, id)).some((e) => e.step === 'share') ? true : undefined),
      'the bridge',
    );
    expect((await axios.get(`${url}/readyz`)).data).toEqual({ ready: true });
    // serve's own metrics: answers by route and status (an accepted event, a rejected one).
    const metrics = await eventually(async () => {
      const text = (await axios.get(`http://127.0.0.1:${metricsPort}/metrics`)).data as string;
      return text.includes('status="401"') ? text : undefined;
    }, 'serve metrics');
    expect(metrics).toMatch(/zoom_runbooks_serve_responses_total\{[^}]*route="\/v1\/events"[^}]*status="202"[^}]*\} 1/);
    expect(metrics).toMatch(/zoom_runbooks_serve_responses_total\{[^}]*route="\/v1\/events"[^}]*status="401"[^}]*\} 1/);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });

  it('serve refuses to start without intake credentials', async () => {
    const run = await cli(['serve', '--port', '0'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('The intake needs credentials');
    expect(run.stderr).not.toMatch(STACK_TRACE);
  });
});
