import { InvalidIncidentEventError, parseIncidentEvent } from '../src/incident';
import { renderString, renderValue, TemplateError } from '../src/templates';

const valid = {
  eventId: 'evt-7f3a',
  type: 'incident.created',
  occurredAt: '2026-11-22T09:14:03Z',
  incident: {
    id: 'INC-4211',
    title: 'Checkout latency > 5s in eu-west',
    severity: 'SEV1',
    owner: { name: 'Ana Ruiz', email: 'ana@example.com' },
    responders: [{ email: 'sre-oncall@example.com' }],
    fields: { service: 'checkout' },
  },
};

function problems(input: unknown): string[] {
  try {
    parseIncidentEvent(input, 'event.json');
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidIncidentEventError);
    expect((err as Error).message).toContain('event.json');
    return (err as InvalidIncidentEventError).problems;
  }
  throw new Error('expected the event to be rejected');
}

describe('incident events', () => {
  it('accepts the documented format', () => {
    expect(parseIncidentEvent(valid)).toEqual(valid);
  });

  it('names each bad field', () => {
    expect(problems({ ...valid, type: 'incident.exploded' })).toEqual([expect.stringMatching(/^type: Invalid enum value/)]);
    expect(problems({ ...valid, occurredAt: 'yesterday' })).toEqual(['occurredAt: Invalid datetime']);
    expect(problems({ ...valid, eventId: undefined })).toEqual(['eventId: is required']);
    expect(problems({ ...valid, incident: { ...valid.incident, id: 'INC 42/a' } })).toEqual([expect.stringMatching(/^incident\.id: must start with a letter or digit/)]);
    expect(problems({ ...valid, incident: { ...valid.incident, owner: { email: 'not-an-email' } } })).toEqual(['incident.owner.email: Invalid email']);
    expect(problems({ ...valid, incident: { ...valid.incident, priority: 'P1' } })).toEqual(['incident: unknown field(s) "priority"']);
  });

  it('requires a title when an incident is created, not on later events', () => {
    const { title: _t, ...untitled } = valid.incident;
    expect(problems({ ...valid, incident: untitled })).toEqual(['incident.title: is required when an incident is created']);
    expect(parseIncidentEvent({ ...valid, type: 'incident.resolved', incident: { id: 'INC-4211' } }).type).toBe('incident.resolved');
  });

  it('reports every problem at once', () => {
    expect(problems({ type: 'x', incident: {} })).toHaveLength(4);
    expect(problems('not an object')).toEqual(['(event): Expected object, received string']);
  });
});

describe('templates', () => {
  const context = { Activity: { id: 'INC-1', title: 'DB down', fields: { region: 'eu' } }, steps: { bridge: { joinUrl: 'https://zoom.us/j/1' } } };

  it('renders variables, nested fields and step outputs without HTML escaping', () => {
    expect(renderString('{{Activity.title}} - Incident Bridge', context, 'topic')).toBe('DB down - Incident Bridge');
    expect(renderString('{{Activity.fields.region}} <{{steps.bridge.joinUrl}}>', context, 'm')).toBe('eu <https://zoom.us/j/1>');
    expect(renderValue({ a: ['{{Activity.id}}', 3], b: true }, context, 'with')).toEqual({ a: ['INC-1', 3], b: true });
  });

  it('fails on a missing variable, naming the whole path and the input', () => {
    expect(() => renderString('{{Activity.titel}} bridge', context, 'step "bridge".topic')).toThrow(
      new TemplateError('step "bridge".topic: template variable "Activity.titel" is not defined (template "{{Activity.titel}} bridge")'),
    );
    expect(() => renderValue({ m: ['{{steps.postmortem.joinUrl}}'] }, context, 'with')).toThrow(/with\.m\[0\]: template variable "steps\.postmortem\.joinUrl" is not defined/);
  });

  it('lets #if and #unless test a path whose parent is missing (false), while a bare missing path stays an error', () => {
    expect(renderString('{{#if Activity.owner.email}}mail {{Activity.owner.email}}{{else}}no owner{{/if}}', context, 't')).toBe('no owner');
    expect(renderString('{{#unless steps.postmortem.joinUrl}}not booked{{/unless}}', context, 't')).toBe('not booked');
    expect(renderString('{{#if Activity.fields.region}}{{Activity.fields.region}}{{/if}}', context, 't')).toBe('eu');
    expect(renderString('{{#if Activity.constructor.name}}leak{{else}}none{{/if}}', context, 't')).toBe('none');
    expect(() => renderString('{{Activity.owner.email}}', context, 't')).toThrow('template variable "Activity.owner.email" is not defined');
  });

  it('refuses prototype access and unknown helpers', () => {
    expect(() => renderString('{{Activity.constructor.name}}', context, 't')).toThrow(TemplateError);
    expect(() => renderString('{{lookup (readFile "/etc/passwd") 0}}', context, 't')).toThrow(TemplateError);
    expect(() => renderString('{{#if}}', context, 't')).toThrow(/invalid template/);
  });
});
