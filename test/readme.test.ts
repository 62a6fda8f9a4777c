import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { getTimeline } from '../src/temporal/client';
import { keyRingFromEnv } from '../src/temporal/codec';
import { dataConverter } from '../src/temporal/connection';
import type { StoredMeeting } from '../src/sandbox/zoom-api';
import type { TimelineEntry } from '../workflows/contract';
import { DevStack, startDevStack } from './support/dev-stack';
import { fencedBlocks, readmeSection, shellCommands } from './support/readme';

/**
 * README.md's walk-through and operator lines, run as written, in order, in a "second terminal"
 * of `./temporal-dev.sh`: README and product cannot drift apart. The one change to a line: the
 * stack runs on free ports, so a URL's default port becomes the stack's.
 *
 * Before each line the test waits as a reader would, until what the previous line set going has
 * finished (no workflow task or activity pending in any run of the incidents named so far); then
 * it checks what the README says the line does.
 */

const README = readFileSync(join(__dirname, '../README.md'), 'utf8');
const WALK_THROUGH = readmeSection(README, 'Five-minute walk-through');
const OPERATING = readmeSection(README, 'Operating it with the `temporal` CLI');
/** The first terminal's command: the test starts the stack itself. */
const STACK_COMMAND = './temporal-dev.sh';
/** What a CLI prints when it shows a payload it could not decode, or refused one. */
const CIPHERTEXT = /YmluYXJ5L2VuY3J5cHRlZA|binary\/encrypted|payload encoding is not supported/;

interface Run {
  line: string;
  code: number;
  stdout: string;
  stderr: string;
}

// One stack for the whole file; each test runs a README section, and each line takes a CLI start (2-4 s).
jest.setTimeout(400_000);

describe('README.md, line by line, against ./temporal-dev.sh', () => {
  let stack: DevStack;
  let connection: Connection;
  let client: Client;
  /** Incidents the lines so far have named: the runs a reader waits for. */
  const incidents = new Set<string>();

  beforeAll(async () => {
    stack = await startDevStack();
    connection = await Connection.connect({ address: `127.0.0.1:${stack.ports.temporal}` });
    // The dev stack's own key, as every command in its second terminal reads it.
    const ring = keyRingFromEnv({
      ZR_PAYLOAD_KEYS: readFileSync(join(stack.dir, '.temporal', 'payload-keys'), 'utf8').trim(),
    });
    client = new Client({
      connection,
      dataConverter: dataConverter({ address: '', namespace: 'default', taskQueue: '', payloadKeys: ring }),
    });
  }, 300_000);
  afterAll(async () => {
    await connection?.close();
    await stack?.stop();
  });

  /** A README line in the second terminal: bash, in the project, with what the banner said to export. */
  function paste(line: string): Promise<Run> {
    const defaults: Record<string, number> = {
      7233: stack.ports.temporal,
      8233: stack.ports.ui,
      9100: stack.ports.sandbox,
      9180: stack.ports.serve,
    };
    const command = line.replace(
      /\b(127\.0\.0\.1|localhost):(7233|8233|9100|9180)\b/g,
      (_, host: string, port: string) => `${host}:${defaults[port]}`,
    );
    return new Promise((resolve) => {
      execFile(
        'bash',
        ['-c', command],
        { cwd: stack.dir, env: stack.terminal, timeout: 120_000 },
        (err, stdout, stderr) => {
          resolve({ line, code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  }

  /** Runs a line as pasted, expects it to succeed without showing ciphertext or a secret, and waits for what it set going. */
  async function run(line: string): Promise<Run> {
    for (const id of line.match(/INC-\d+/g) ?? []) incidents.add(id);
    const result = await paste(line);
    const shown = `${line}\nexit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    if (result.code !== 0) throw new Error(`A README line failed:\n${shown}`);
    if (CIPHERTEXT.test(result.stdout + result.stderr)) throw new Error(`A README line showed ciphertext:\n${shown}`);
    const key = readFileSync(join(stack.dir, '.temporal', 'payload-keys'), 'utf8')
      .trim()
      .split(':')[1];
    expect(result.stdout + result.stderr).not.toContain(key);
    await settled();
    return result;
  }

  /** Until every run of the incidents named so far is idle twice in a row (a quarter second apart). */
  async function settled(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (let quiet = 0; quiet < 2;) {
      if (Date.now() > deadline) throw new Error(`The runs of ${[...incidents].join(', ')} were still busy after 60 s`);
      quiet = (await busy([...incidents].map((id) => `incident-${id}`))) ? 0 : quiet + 1;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Whether a workflow, or one of its open children, has a workflow task or an activity pending. */
  async function busy(workflowIds: string[]): Promise<boolean> {
    for (const workflowId of workflowIds) {
      let d: proto.api.workflowservice.v1.DescribeWorkflowExecutionResponse;
      try {
        d = await connection.workflowService.describeWorkflowExecution({
          namespace: 'default',
          execution: { workflowId },
        });
      } catch (err) {
        if ((err as { code?: number }).code === 5) continue; // not started yet (NOT_FOUND)
        throw err;
      }
      if (
        d.workflowExecutionInfo?.status !== proto.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
      )
        continue;
      if (d.pendingWorkflowTask || d.pendingActivities?.length) return true;
      if (await busy((d.pendingChildren ?? []).map((c) => c.workflowId!))) return true;
    }
    return false;
  }

  const meetings = async () =>
    (await axios.get<{ meetings: StoredMeeting[] }>(`http://127.0.0.1:${stack.ports.sandbox}/_sandbox/meetings`)).data
      .meetings;
  // The bridge runbook's agenda is "Incident <id>", and the idempotency marker after it.
  const bridgeOf = async (id: string) =>
    (await meetings()).find(
      (m) => new RegExp(`^Incident ${id}(\\s|$)`).test(String(m.agenda)) && m.topic.endsWith(' - Incident Bridge'),
    );
  const timelineOf = (id: string) => getTimeline(client, id);
  const summaries = async (id: string) => (await timelineOf(id)).map((e) => e.summary);
  const status = async (workflowId: string) => (await client.workflow.getHandle(workflowId).describe()).status.name;
  const incidentOf = (line: string) => /INC-\d+/.exec(line)![0];
  const input = (line: string) => JSON.parse(/--input '([^']*)'/.exec(line)![1]) as Record<string, unknown>;
  const target = (line: string) => /-w (\S+)/.exec(line)![1];

  /**
   * What the README says each kind of line does. Every kind must have a line in the README, so an
   * example dropped from it is noticed here.
   */
  const effects: { kind: string; match: RegExp; check(run: Run): Promise<void> }[] = [
    {
      kind: 'send or open an incident',
      match: /^bin\/zoom-runbooks incident (send|open) /,
      async check(r) {
        const id = /recorded for incident (INC-\d+)/.exec(r.stdout)?.[1];
        expect(id).toBe(incidentOf(r.line));
        // The command it suggests next runs as printed.
        const next = /^Timeline: (.+)$/m.exec(r.stdout)![1];
        expect(next).toBe(`bin/zoom-runbooks timeline ${id}`);
        expect((await run(next)).stdout).toContain(`Join the bridge: http://127.0.0.1:${stack.ports.sandbox}/j/`);
      },
    },
    {
      kind: 'POST an event to the intake',
      match: /^curl -X POST http:\/\/127\.0\.0\.1:9180\/v1\/events /,
      async check(r) {
        const id = incidentOf(r.line);
        expect(JSON.parse(r.stdout)).toMatchObject({ workflowId: `incident-${id}` });
        expect(await bridgeOf(id)).toBeDefined();
      },
    },
    {
      kind: 'read the timeline',
      match: /^bin\/zoom-runbooks timeline INC-\d+$/,
      async check(r) {
        // Not a terminal here: one line per entry, every entry.
        expect(r.stdout.split('\n')[0]).toMatch(/^TIME \(UTC\)\s+SOURCE\s+STEP\s+STATUS\s+SUMMARY\s+LINKS$/);
        for (const summary of await summaries(incidentOf(r.line))) expect(r.stdout).toContain(summary);
      },
    },
    {
      kind: 'resolve an incident',
      match: /^bin\/zoom-runbooks incident resolve --id INC-\d+$/,
      async check(r) {
        const id = incidentOf(r.line);
        const bridge = (await bridgeOf(id))!;
        // The bridge ends, and a SEV1's postmortem is booked.
        const done = await summaries(id);
        expect(done).toContainEqual(expect.stringMatching(new RegExp(`^Zoom meeting ${bridge.id} ended`)));
        expect(done).toContainEqual(expect.stringMatching(/^Postmortem booked: http:/));
      },
    },
    {
      kind: 'query timeline',
      match: /^bin\/zoom-runbooks temporal workflow query -w incident-INC-\d+ --name timeline$/,
      async check(r) {
        expect(r.stdout).toContain(`Incident ${incidentOf(r.line)} created: `);
      },
    },
    {
      kind: 'query bridge',
      match: /^bin\/zoom-runbooks temporal workflow query -w incident-INC-\d+ --name bridge$/,
      async check(r) {
        const bridge = (await bridgeOf(incidentOf(r.line)))!;
        expect(r.stdout).toContain(`"joinUrl":"${bridge.join_url}"`);
      },
    },
    {
      kind: 'update addParticipants',
      match: /^bin\/zoom-runbooks temporal workflow update execute -w \S+ --name addParticipants /,
      async check(r) {
        const { emails } = input(r.line) as { emails: string[] };
        const bridge = (await bridgeOf(incidentOf(r.line)))!;
        expect(r.stdout).toContain(`invitees:[${emails.join(' ')}]`);
        expect(
          (bridge.settings as { meeting_invitees: { email: string }[] }).meeting_invitees.map((i) => i.email),
        ).toEqual(emails);
      },
    },
    {
      kind: 'signal endBridge',
      match: /^bin\/zoom-runbooks temporal workflow signal -w \S+ --name endBridge$/,
      async check(r) {
        const bridge = (await bridgeOf(incidentOf(r.line)))!;
        expect(await summaries(incidentOf(r.line))).toContain(`Zoom meeting ${bridge.id} ended: ended by an operator`);
        // The runbook goes on.
        expect(await status(target(r.line))).toBe('RUNNING');
      },
    },
    {
      kind: 'signal cancelRunbook',
      match: /^bin\/zoom-runbooks temporal workflow signal -w \S+ --name cancelRunbook /,
      async check(r) {
        expect(input(r.line)).toEqual({ cleanup: false });
        expect(await client.workflow.getHandle(target(r.line)).result()).toMatchObject({
          cancelled: 'cancelled by an operator',
        });
        expect(await summaries(incidentOf(r.line))).toContain(
          'Runbook incident-bridge cancelled (its meetings were left as they are)',
        );
      },
    },
    {
      kind: 'cancel a runbook',
      match: /^bin\/zoom-runbooks temporal workflow cancel -w \S+$/,
      async check(r) {
        expect(await status(target(r.line))).toBe('CANCELLED');
        // Cleanup ran: the daily sync's recurring meeting is gone.
        expect(await summaries(incidentOf(r.line))).toContainEqual(
          expect.stringMatching(/^Recurring Zoom meeting \d+ deleted: runbook cancelled$/),
        );
      },
    },
    {
      kind: 'update runRunbook',
      match:
        /^bin\/zoom-runbooks temporal workflow update execute -w incident-INC-\d+ --name runRunbook --update-id \S+ /,
      async check(r) {
        const { runbook } = input(r.line) as { runbook: string };
        const workflowId = `incident-${incidentOf(r.line)}/${runbook}/on-demand-1`;
        expect(r.stdout).toContain(`workflowId:${workflowId}`);
        expect(await status(workflowId)).toBe('RUNNING');
        const before = (await meetings()).length;
        // Pasted again (the retry the issue was about): the first run's answer, and nothing new starts.
        const again = await run(r.line);
        expect(again.stdout).toContain(`workflowId:${workflowId}`);
        expect((await meetings()).length).toBe(before);
        await expect(status(`incident-${incidentOf(r.line)}/${runbook}/on-demand-2`)).rejects.toThrow(/not found/i);
      },
    },
    {
      kind: 'list an incident',
      match: /^bin\/zoom-runbooks temporal workflow list -q 'IncidentId="INC-\d+"'$/,
      async check(r) {
        expect(r.stdout).toContain(`incident-${incidentOf(r.line)}/incident-bridge`);
      },
    },
  ];

  async function runSection(lines: string[]): Promise<void> {
    for (const line of lines) {
      const effect = effects.filter((e) => e.match.test(line));
      if (effect.length !== 1)
        throw new Error(
          `A README line this test does not know (or knows twice); say what it does in "effects":\n${line}`,
        );
      await effect[0].check(await run(line));
    }
  }

  it('names only commands that run in a second terminal, and documents every operator call', () => {
    const lines = [...shellCommands(WALK_THROUGH), ...shellCommands(OPERATING)];
    expect(lines[0]).toBe(STACK_COMMAND);
    for (const line of lines.slice(1)) expect(line).toMatch(/^(bin\/zoom-runbooks|curl) /);
    expect(effects.filter((e) => !lines.some((l) => e.match.test(l))).map((e) => e.kind)).toEqual([]);
  });

  it('the walk-through: send incidents, read the timeline, steer the live run, resolve', async () => {
    const lines = shellCommands(WALK_THROUGH);
    await runSection(lines.filter((l) => l !== STACK_COMMAND));

    // The timeline's sample output shows the rows the product prints (source, step and status, and how the summary starts).
    const sample = fencedBlocks(WALK_THROUGH).find((b) => b.lang === '' && b.lines[0].startsWith('TIME (UTC)'))!;
    const entries: TimelineEntry[] = await timelineOf('INC-4211');
    for (const row of sample.lines.filter((l) => /^\d{4}-/.test(l))) {
      const [, source, step, state, summary] = /^\S+ \S+\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(row)!;
      const start = summary.split(' ').slice(0, 3).join(' ');
      expect(entries).toContainEqual(
        expect.objectContaining({
          source,
          status: state,
          summary: expect.stringContaining(start),
          ...(step === '-' ? {} : { step }),
        }),
      );
    }
  });

  it('the operator lines: a new incident, read and steered with the temporal CLI', async () => {
    await runSection(shellCommands(OPERATING));
  });

  it("the sandbox's meetings page, linked from the walk-through, is JSON for people to read", async () => {
    expect(WALK_THROUGH).toContain('<http://127.0.0.1:9100/_sandbox/meetings>');
    const text = (
      await axios.get<string>(`http://127.0.0.1:${stack.ports.sandbox}/_sandbox/meetings`, {
        responseType: 'text',
        transformResponse: (t: string) => t,
      })
    ).data;
    expect(text.startsWith('{\n  "meetings": [\n')).toBe(true);
  });
});
