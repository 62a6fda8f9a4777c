/** src/core/step-inputs.ts: a step's inputs rendered for one incident, action by action. */
import { parseRunbook } from '../src/core/runbook-loader';
import { renderStepInputs, StepAction, StepOf } from '../src/core/step-inputs';
import { TemplateError } from '../src/core/templates';
import type { Incident } from '../src/core/incident';

// Fixed instants, so nothing depends on the day the suite runs.
const CREATED = '2031-05-06T09:00:00.000Z';
const RESOLVED = '2031-05-06T11:30:00.000Z';
const NOW = '2031-05-06T12:00:00.000Z';

const incident: Incident = {
  id: 'INC-7',
  title: 'Checkout down',
  severity: 'SEV1',
  status: 'resolved',
  createdAt: CREATED,
  resolvedAt: RESOLVED,
  owner: { name: 'Ana', email: 'ana@example.com' },
  responders: [{ name: 'Bo', email: 'bo@example.com' }, { name: 'No mail' }],
};

const RUNBOOK = parseRunbook(
  `name: all-shapes
trigger: { on: [incident.created] }
steps:
  - id: bridge
    action: zoom.createMeeting
    with:
      topic: "{{Activity.title}} ({{Activity.severity}})"
      invitees: { roles: [owner, responders], emails: [lead@example.com] }
  - id: postmortem
    action: zoom.scheduleMeeting
    with:
      topic: "Postmortem {{Activity.id}}"
      start: { from: resolvedAt, offset: 1 day, at: "10:00", timezone: Europe/Berlin }
      onReopen: replan
  - id: sync
    action: zoom.recurringMeeting
    with:
      topic: Daily sync
      recurrence: { every: week, on: [mon, thu], at: { from: createdAt, offset: 1d } }
  - id: people
    action: zoom.manageParticipants
    with: { meeting: bridge, addInvitees: { roles: [owner] }, removeInvitees: [old@example.com] }
  - id: later
    action: wait.until
    with: { at: { from: now, offset: 90m } }
  - id: say
    action: timeline.post
    with: { message: "Bridge {{steps.bridge.id}} for {{Activity.title}}" }
`,
  'all-shapes.yaml',
);

function stepOf<A extends StepAction>(action: A): StepOf<A> {
  const step = RUNBOOK.steps.find((s): s is StepOf<A> => s.action === action);
  if (!step) throw new Error(`no ${action} step`);
  return step;
}

const render = <A extends StepAction>(action: A, steps: Record<string, unknown> = {}) =>
  renderStepInputs({ step: stepOf(action), context: { Activity: incident, steps }, now: NOW });

describe('renderStepInputs', () => {
  it('fills templates and turns invitee roles into the incident owner and responders with email addresses', () => {
    expect(render('zoom.createMeeting')).toEqual({
      topic: 'Checkout down (SEV1)',
      invitees: ['lead@example.com', 'ana@example.com', 'bo@example.com'],
    });
  });

  it('computes a scheduled start from the incident times, in the zone the runbook names, and drops the spec', () => {
    const inputs = render('zoom.scheduleMeeting');
    // Resolved 11:30 UTC on 6 May (13:30 in Berlin) + 1 day, at 10:00 Berlin time (CEST, UTC+2).
    expect(inputs).toEqual({
      topic: 'Postmortem INC-7',
      onReopen: 'replan',
      startTime: '2031-05-07T08:00:00.000Z',
      timezone: 'Europe/Berlin',
    });
    expect(inputs).not.toHaveProperty('start');
  });

  it('computes a recurring series start and keeps the recurrence without its start spec', () => {
    const inputs = render('zoom.recurringMeeting');
    expect(inputs.recurrence).toEqual({ every: 'week', on: ['mon', 'thu'] });
    expect(inputs.startTime).toBe('2031-05-07T09:00:00.000Z');
  });

  it('resolves roles in addInvitees and leaves other participant changes as written', () => {
    expect(render('zoom.manageParticipants')).toEqual({
      meeting: 'bridge',
      addInvitees: ['ana@example.com'],
      removeInvitees: ['old@example.com'],
    });
  });

  it('turns a wait.until spec into an instant from the workflow clock it is given', () => {
    expect(render('wait.until')).toEqual({ at: '2031-05-06T13:30:00.000Z' });
  });

  it('reads earlier steps outputs, and names the step and variable when one is missing', () => {
    expect(render('timeline.post', { bridge: { id: '123' } })).toEqual({ message: 'Bridge 123 for Checkout down' });
    expect(() => render('timeline.post')).toThrow(TemplateError);
    expect(() => render('timeline.post')).toThrow(/step "say".*steps\.bridge/);
  });
});
