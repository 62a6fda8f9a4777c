import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadRunbooks, parseRunbook, RunbookError } from '../src/core/runbook-loader';
import { runbookMatches } from '../src/core/runbook';
import { evaluate } from '../src/core/conditions';

const RUNBOOKS = join(__dirname, '../runbooks');

function problems(text: string): string[] {
  try {
    parseRunbook(text, 'rb.yaml');
  } catch (err) {
    if (err instanceof RunbookError) return err.problems;
    throw err;
  }
  throw new Error('expected the runbook to be rejected');
}

const VALID = `name: sev1-bridge
trigger:
  on: [incident.created]
  when: { severity: { in: [SEV1, SEV2] } }
steps:
  - id: bridge
    action: zoom.createMeeting
    with:
      topic: "{{Activity.title}} - Incident Bridge"
      invitees: { roles: [owner, responders] }
  - id: share
    action: timeline.post
    with: { message: "Bridge: {{steps.bridge.joinUrl}}" }
`;

describe('runbook files', () => {
  it('ships runbooks that validate', () => {
    const loaded = loadRunbooks(RUNBOOKS);
    expect(loaded.map((l) => l.runbook.name)).toContain('incident-bridge');
  });

  it('accepts the documented format, in YAML and in JSON', () => {
    const runbook = parseRunbook(VALID, 'rb.yaml');
    expect(runbook.steps.map((s) => s.action)).toEqual(['zoom.createMeeting', 'timeline.post']);
    expect(parseRunbook(JSON.stringify(runbook), 'rb.json')).toEqual(runbook);
  });

  it.each([
    [
      'an unknown action',
      VALID.replace('action: timeline.post', 'action: slack.post'),
      'rb.yaml:12: step "share", action: unknown action; use one of zoom.createMeeting, zoom.scheduleMeeting, zoom.recurringMeeting, zoom.updateMeeting, zoom.manageParticipants, zoom.endMeeting, zoom.deleteMeeting, zoom.recordingSettings, zoom.recordingControl, zoom.callOut, zoom.collectRecordings, zoom.collectSummary, zoom.collectTranscript, zoom.collectAttendance, timeline.post, wait.forIncident, wait.duration, wait.until',
    ],
    [
      'a missing required input',
      VALID.replace('      topic: "{{Activity.title}} - Incident Bridge"\n', ''),
      'rb.yaml:9: step "bridge", with.topic: is required',
    ],
    [
      'an unknown input',
      VALID.replace('      invitees:', '      colour: red\n      invitees:'),
      'rb.yaml:9: step "bridge", with: unknown field(s) "colour"',
    ],
    [
      'a wrong type',
      VALID.replace('with: { message: "Bridge: {{steps.bridge.joinUrl}}" }', 'with: { message: 42 }'),
      'rb.yaml:13: step "share", with.message: Expected string, received number',
    ],
    [
      'a duplicate step id',
      VALID.replace('id: share', 'id: bridge').replace('{{steps.bridge.joinUrl}}', 'x'),
      'rb.yaml:11: step "bridge", id: step id "bridge" is used twice',
    ],
    [
      'a reference to a later step',
      VALID.replace('{{steps.bridge.joinUrl}}', '{{steps.postmortem.joinUrl}}'),
      'rb.yaml:13: step "share", with: {{steps.postmortem…}} refers to no earlier step',
    ],
    [
      'an unknown event type',
      VALID.replace('on: [incident.created]', 'on: [incident.exploded]'),
      expect.stringMatching(/^rb\.yaml:3: trigger\.on\.0: Invalid enum value/),
    ],
    [
      'a pattern that can take exponential time',
      VALID.replace('{ in: [SEV1, SEV2] }', '{ matches: "(a+)+$" }'),
      [
        'rb.yaml:4: trigger.when.severity: matches must not repeat a repeated group, such as (a+)+: such patterns can take exponential time',
      ],
    ],
    [
      'a bad condition',
      VALID.replace('{ in: [SEV1, SEV2] }', '{ among: [SEV1] }'),
      [
        'rb.yaml:4: trigger.when.severity: unknown field(s) "among"',
        'rb.yaml:4: trigger.when.severity: a matcher needs one of: equals, in, notIn, exists, matches',
      ],
    ],
    [
      'a bad name',
      VALID.replace('name: sev1-bridge', 'name: SEV1 Bridge'),
      'rb.yaml:1: name: lower-case letters, digits and "-"',
    ],
    ['broken YAML', 'name: x\nsteps: [\n', expect.stringMatching(/^rb\.yaml:\d+: /)],
  ])('rejects %s, naming file, line, step and field', (_what, text, expected) => {
    expect(problems(text)).toEqual(Array.isArray(expected) ? expected : [expected]);
  });

  it('checks that meeting steps name an earlier meeting', () => {
    const text = VALID + '  - id: end\n    action: zoom.endMeeting\n    with: { meeting: share }\n';
    expect(problems(text)).toEqual([
      'rb.yaml:16: step "end", with.meeting: "share" is not an earlier step that creates a meeting',
    ]);
  });

  it('fails a whole folder with every problem, including a name used twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zr-runbooks-'));
    writeFileSync(join(dir, 'a.yaml'), VALID);
    writeFileSync(join(dir, 'b.yml'), VALID);
    writeFileSync(join(dir, 'c.json'), '{"name": "c"}');
    writeFileSync(join(dir, 'notes.txt'), 'not a runbook');
    let error: RunbookError | undefined;
    try {
      loadRunbooks(dir);
    } catch (err) {
      error = err as RunbookError;
    }
    expect(error).toBeInstanceOf(RunbookError);
    expect(error!.problems).toEqual([
      `${join(dir, 'c.json')}:1: trigger: is required`,
      `${join(dir, 'c.json')}:1: steps: is required`,
      `${join(dir, 'b.yml')}: runbook name "sev1-bridge" is already used by ${join(dir, 'a.yaml')}`,
    ]);
    expect(() => loadRunbooks(join(dir, 'missing'))).toThrow(/cannot read the runbooks folder \(ENOENT\)/);
  });

  it('never crashes on a fuzzed corpus: every mutation is a runbook or a RunbookError', () => {
    const base = parseRunbook(VALID, 'rb.yaml') as unknown as Record<string, unknown>;
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const junk = [
      null,
      0,
      -1,
      1e308,
      '',
      'x'.repeat(20_000),
      '{{',
      '{{#each}}',
      [],
      {},
      [[]],
      { on: 1 },
      true,
      '__proto__',
      'constructor',
    ];
    let rejected = 0;
    for (let i = 0; i < 500; i++) {
      const doc = structuredClone(base);
      for (let m = 0; m < 1 + Math.floor(random() * 3); m++) mutate(doc, random, junk);
      for (const text of [stringify(doc), JSON.stringify(doc)]) {
        try {
          parseRunbook(text, 'fuzz.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(RunbookError);
          expect((err as RunbookError).problems.every((p) => /^fuzz\.yaml:\d+: ./.test(p))).toBe(true);
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(500); // most mutations break something
  });
});

/** Replaces, deletes or adds a value somewhere in the document tree. */
function mutate(doc: Record<string, unknown>, random: () => number, junk: unknown[]): void {
  let node: Record<string, unknown> | unknown[] = doc;
  for (;;) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[Math.floor(random() * keys.length)];
    const child = (node as Record<string, unknown>)[key];
    if (child && typeof child === 'object' && random() < 0.6) {
      node = child as Record<string, unknown>;
      continue;
    }
    const choice = random();
    if (choice < 0.4) (node as Record<string, unknown>)[key] = junk[Math.floor(random() * junk.length)];
    else if (choice < 0.7 && !Array.isArray(node)) delete (node as Record<string, unknown>)[key];
    else
      (node as Record<string, unknown>)[`extra${Math.floor(random() * 9)}`] = junk[Math.floor(random() * junk.length)];
    break;
  }
}

describe('severity conditions', () => {
  const ACCEPTED = 'use SEV1, SEV2, SEV3, SEV4, SEV5 (sev1, Sev 1, SEV-1 and P1-P5 are read as SEV1-SEV5)';
  const withWhen = (when: string) => VALID.replace('when: { severity: { in: [SEV1, SEV2] } }', `when: ${when}`);
  const withIf = (condition: string) =>
    VALID.replace(
      '    with: { message: "Bridge: {{steps.bridge.joinUrl}}" }\n',
      `    with: { message: "Bridge: {{steps.bridge.joinUrl}}" }\n    if: ${condition}\n`,
    );

  it.each([
    [
      'in: [0, 1, 2]',
      withWhen('{ severity: { in: [0, 1, 2] } }'),
      [0, 1, 2].map((n) => `rb.yaml:4: trigger.when.severity.in.${n}: ${n} is not a severity; ${ACCEPTED}`),
    ],
    [
      'equals: SEV9',
      withWhen('{ severity: { equals: SEV9 } }'),
      [`rb.yaml:4: trigger.when.severity.equals: "SEV9" is not a severity; ${ACCEPTED}`],
    ],
    [
      'a plain SEV0',
      withWhen('{ severity: SEV0 }'),
      [`rb.yaml:4: trigger.when.severity: "SEV0" is not a severity; ${ACCEPTED}`],
    ],
    [
      'a word',
      withWhen('{ severity: { notIn: [SEV1, critical] } }'),
      [`rb.yaml:4: trigger.when.severity.notIn.1: "critical" is not a severity; ${ACCEPTED}`],
    ],
    [
      'a boolean',
      withWhen('{ severity: true }'),
      [`rb.yaml:4: trigger.when.severity: true is not a severity; ${ACCEPTED}`],
    ],
    [
      'inside not / anyOf',
      withWhen('{ not: { anyOf: [{ severity: SEV6 }, { fields.service: checkout }] } }'),
      [`rb.yaml:4: trigger.when.not.anyOf.0.severity: "SEV6" is not a severity; ${ACCEPTED}`],
    ],
    [
      'a step condition',
      withIf('{ severity: { in: [SEV1, P7] } }'),
      [`rb.yaml:14: step "share", if.severity.in.1: "P7" is not a severity; ${ACCEPTED}`],
    ],
  ])('refuses %s, naming file, step, field and the accepted values', (_what, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('reads spellings and priorities as the canonical severity when the runbook loads', () => {
    const runbook = parseRunbook(
      withWhen(
        '{ anyOf: [{ severity: { in: [sev1, "Sev 2", P3] } }, { not: { severity: SEV-4 } }, { severity: { equals: p5, notIn: [SEV_1] } }] }',
      ),
      'rb.yaml',
    );
    expect(runbook.trigger.when).toEqual({
      anyOf: [
        { severity: { in: ['SEV1', 'SEV2', 'SEV3'] } },
        { not: { severity: 'SEV4' } },
        { severity: { equals: 'SEV5', notIn: ['SEV1'] } },
      ],
    });
    const step = parseRunbook(withIf('{ severity: P1, fields.service: checkout }'), 'rb.yaml').steps[1];
    expect(step.if).toEqual({ severity: 'SEV1', 'fields.service': 'checkout' });
    expect(
      runbookMatches(parseRunbook(withWhen('{ severity: { in: [p1, sev2] } }'), 'rb.yaml'), 'incident.created', {
        id: 'I',
        severity: 'SEV2',
      }),
    ).toBe(true);
  });

  it('leaves other fields, exists and matches alone', () => {
    const runbook = parseRunbook(
      withWhen(
        '{ allOf: [{ severity: { exists: true } }, { severity: { matches: "^SEV[12]$" } }, { sourceSeverity: P1 }, { fields.level: 0 }] }',
      ),
      'rb.yaml',
    );
    expect(runbook.trigger.when).toEqual({
      allOf: [
        { severity: { exists: true } },
        { severity: { matches: '^SEV[12]$' } },
        { sourceSeverity: 'P1' },
        { 'fields.level': 0 },
      ],
    });
  });

  it('holds for the shipped runbooks: their severity conditions are canonical', () => {
    const conditions = loadRunbooks(RUNBOOKS)
      .flatMap(({ runbook }) => [runbook.trigger.when, ...runbook.steps.map((s) => s.if)])
      .filter(Boolean);
    const severities = JSON.stringify(conditions).match(/"severity":\{"in":\[[^\]]*\]\}/g);
    expect(severities).toEqual(['"severity":{"in":["SEV1","SEV2"]}', '"severity":{"in":["SEV1","SEV2"]}']);
  });
});

describe('conditions', () => {
  const incident = {
    id: 'INC-1',
    severity: 'SEV1',
    status: 'investigating',
    title: 'DB down',
    fields: { service: 'checkout' },
    owner: { email: 'a@x' },
  };

  it.each([
    [{ severity: 'SEV1' }, true],
    [{ severity: { in: ['SEV1', 'SEV2'] } }, true],
    [{ severity: { notIn: ['SEV1'] } }, false],
    [{ 'fields.service': 'checkout', status: 'investigating' }, true],
    [{ 'owner.email': { exists: true } }, true],
    [{ summary: { exists: true } }, false],
    [{ title: { matches: '^DB' } }, true],
    [{ anyOf: [{ severity: 'SEV3' }, { 'fields.service': 'checkout' }] }, true],
    [{ allOf: [{ severity: 'SEV1' }, { status: 'resolved' }] }, false],
    [{ not: { severity: 'SEV3' } }, true],
    [{ 'fields.constructor': { exists: true } }, false],
  ])('%j -> %s', (condition, expected) => {
    expect(evaluate(condition as never, incident)).toBe(expected);
  });

  it('decides which runbooks an event triggers', () => {
    const runbook = parseRunbook(VALID, 'rb.yaml');
    expect(runbookMatches(runbook, 'incident.created', { id: 'I', severity: 'SEV2' })).toBe(true);
    expect(runbookMatches(runbook, 'incident.created', { id: 'I', severity: 'SEV3' })).toBe(false);
    expect(runbookMatches(runbook, 'incident.updated', { id: 'I', severity: 'SEV1' })).toBe(false);
  });
});

describe('the published JSON Schema', () => {
  it('is generated from the zod schema and up to date (npm run schema)', async () => {
    const { runbookJsonSchema } = await import('../src/apps/runbook-json-schema');
    expect(JSON.parse(readFileSync(join(RUNBOOKS, 'runbook.schema.json'), 'utf8'))).toEqual(runbookJsonSchema());
  });
});
