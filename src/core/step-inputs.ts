/**
 * A runbook step's inputs, rendered for one incident: templates filled in, invitee roles turned
 * into addresses, start times computed from the incident's times. The types follow the runbook
 * schema action by action, so what a step hands Zoom is typed from the YAML to the activity.
 */
import type { Incident } from './incident';
import { resolveInvitees, type RunbookStep, type StepAction } from './runbook';
import { e164 } from './phone';
import { computeStart, type IncidentTimes, type StartSpec } from './schedule';
import { renderValue, TemplateError, type TemplateContext } from './templates';

export type { StepAction };

/** The step of one action, its inputs as the runbook schema types them. */
export type StepOf<A extends StepAction> = Extract<RunbookStep, { action: A }>;
type With<A extends StepAction> = StepOf<A>['with'];

/** Meeting settings as a runbook writes them (and the create and update activities take them). */
export type MeetingSettingsInput = NonNullable<With<'zoom.createMeeting'>['settings']>;

/** A start computed from the incident's times: when (ISO) and in which zone the meeting is shown. */
interface ComputedStart {
  startTime: string;
  timezone?: string;
}

/** The actions whose inputs change shape when rendered; the others keep their schema's shape. */
interface Reshaped {
  'zoom.createMeeting': Omit<With<'zoom.createMeeting'>, 'invitees'> & { invitees?: string[] };
  'zoom.scheduleMeeting': Omit<With<'zoom.scheduleMeeting'>, 'invitees' | 'start'> & {
    invitees?: string[];
  } & ComputedStart;
  'zoom.recurringMeeting': Omit<With<'zoom.recurringMeeting'>, 'invitees' | 'recurrence'> & {
    invitees?: string[];
    recurrence: Omit<With<'zoom.recurringMeeting'>['recurrence'], 'at'>;
  } & ComputedStart;
  'zoom.manageParticipants': Omit<With<'zoom.manageParticipants'>, 'addInvitees'> & { addInvitees?: string[] };
  'wait.until': { at: string };
}

/** Each action's rendered inputs. */
export type StepInputs = { [A in StepAction]: A extends keyof Reshaped ? Reshaped[A] : With<A> };

export interface RenderRequest<A extends StepAction> {
  step: StepOf<A>;
  context: TemplateContext & { Activity: Incident };
  /** The workflow's clock (ISO), so "from: now" agrees with workflow time (and time-skipping tests). */
  now?: string;
}

/** What every action's renderer may use: the templates' renderer, the incident and its times. */
interface Rendering {
  /** Every template in `value` rendered (strict: a missing variable throws, naming it). */
  templates<T>(value: T): T;
  incident: Incident;
  startOf(spec: StartSpec): string;
}

type Renderers = { [A in StepAction]: (step: StepOf<A>, r: Rendering) => StepInputs[A] };

const templatesOnly = <W>(step: { with: W }, r: Rendering): W => r.templates(step.with);

// Spreading over an existing key keeps its place, so the rendered inputs read (and are recorded) in the runbook's order.
const RENDERERS: Renderers = {
  'zoom.createMeeting': (step, r) => {
    const w = r.templates(step.with);
    return { ...w, invitees: resolveInvitees(w.invitees, r.incident) };
  },
  'zoom.scheduleMeeting': (step, r) => {
    const { start, ...w } = r.templates(step.with);
    return {
      ...w,
      invitees: resolveInvitees(w.invitees, r.incident),
      startTime: r.startOf(start),
      timezone: start.timezone,
    };
  },
  'zoom.recurringMeeting': (step, r) => {
    const {
      recurrence: { at, ...recurrence },
      ...w
    } = r.templates(step.with);
    return {
      ...w,
      invitees: resolveInvitees(w.invitees, r.incident),
      recurrence,
      startTime: r.startOf(at),
      timezone: at.timezone,
    };
  },
  'zoom.manageParticipants': (step, r) => {
    const w = r.templates(step.with);
    return { ...w, addInvitees: resolveInvitees(w.addInvitees, r.incident) };
  },
  'wait.until': (step, r) => ({ at: r.startOf(r.templates(step.with).at) }),
  // Checked once rendered (a template may give anything); the refusal names the field, never the value.
  'zoom.callOut': (step, r) => {
    const w = r.templates(step.with);
    const people = w.people.map(({ name, phone }, i) => {
      const number = e164(phone);
      if (!number)
        throw new TemplateError(
          `step "${step.id}": people[${i}].phone (${name}) is not a phone number with its country code (E.164, e.g. +12065550100)`,
        );
      return { name, phone: number };
    });
    return { ...w, people };
  },
  'zoom.updateMeeting': templatesOnly,
  'zoom.endMeeting': templatesOnly,
  'zoom.deleteMeeting': templatesOnly,
  'zoom.recordingSettings': templatesOnly,
  'zoom.recordingControl': templatesOnly,
  'zoom.collectRecordings': templatesOnly,
  'zoom.collectSummary': templatesOnly,
  'zoom.collectTranscript': templatesOnly,
  'zoom.collectAttendance': templatesOnly,
  'timeline.post': templatesOnly,
  'wait.forIncident': templatesOnly,
  'wait.duration': templatesOnly,
};

/**
 * Renders a step's inputs (strict Handlebars: a missing variable throws a TemplateError naming it;
 * a start that cannot be computed throws a ScheduleError).
 */
export function renderStepInputs<A extends StepAction>(request: RenderRequest<A>): StepInputs[A] {
  const incident = request.context.Activity;
  const times: IncidentTimes = {
    now: request.now ?? new Date(),
    createdAt: incident.createdAt,
    resolvedAt: incident.resolvedAt,
  };
  const { step, context } = request;
  const action: A = step.action;
  return RENDERERS[action](step, {
    templates: (value) => renderValue(value, context, `step "${step.id}"`),
    incident,
    startOf: (spec) => computeStart(spec, times).toISOString(),
  });
}
