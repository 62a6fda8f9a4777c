import { renderString, renderValue, TemplateError } from '../src/core/templates';

describe('templates', () => {
  const context = {
    Activity: { id: 'INC-1', title: 'DB down', fields: { region: 'eu' } },
    steps: { bridge: { joinUrl: 'https://zoom.us/j/1' } },
  };

  it('renders variables, nested fields and step outputs without HTML escaping', () => {
    expect(renderString('{{Activity.title}} - Incident Bridge', context, 'topic')).toBe('DB down - Incident Bridge');
    expect(renderString('{{Activity.fields.region}} <{{steps.bridge.joinUrl}}>', context, 'm')).toBe(
      'eu <https://zoom.us/j/1>',
    );
    expect(renderValue({ a: ['{{Activity.id}}', 3], b: true }, context, 'with')).toEqual({ a: ['INC-1', 3], b: true });
  });

  it('fails on a missing variable, naming the whole path and the input', () => {
    expect(() => renderString('{{Activity.titel}} bridge', context, 'step "bridge".topic')).toThrow(
      new TemplateError(
        'step "bridge".topic: template variable "Activity.titel" is not defined (template "{{Activity.titel}} bridge")',
      ),
    );
    expect(() => renderValue({ m: ['{{steps.postmortem.joinUrl}}'] }, context, 'with')).toThrow(
      /with\.m\[0\]: template variable "steps\.postmortem\.joinUrl" is not defined/,
    );
  });

  it('lets #if and #unless test a path whose parent is missing (false), while a bare missing path stays an error', () => {
    expect(
      renderString('{{#if Activity.owner.email}}mail {{Activity.owner.email}}{{else}}no owner{{/if}}', context, 't'),
    ).toBe('no owner');
    expect(renderString('{{#unless steps.postmortem.joinUrl}}not booked{{/unless}}', context, 't')).toBe('not booked');
    expect(renderString('{{#if Activity.fields.region}}{{Activity.fields.region}}{{/if}}', context, 't')).toBe('eu');
    expect(renderString('{{#if Activity.constructor.name}}leak{{else}}none{{/if}}', context, 't')).toBe('none');
    expect(() => renderString('{{Activity.owner.email}}', context, 't')).toThrow(
      'template variable "Activity.owner.email" is not defined',
    );
  });

  it('refuses prototype access and unknown helpers', () => {
    expect(() => renderString('{{Activity.constructor.name}}', context, 't')).toThrow(TemplateError);
    expect(() => renderString('{{lookup (readFile "/etc/passwd") 0}}', context, 't')).toThrow(TemplateError);
    expect(() => renderString('{{#if}}', context, 't')).toThrow(/invalid template/);
  });
});
