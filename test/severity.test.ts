import {
  ACCEPTED_SEVERITIES,
  InvalidSeverityError,
  isSeverity,
  normalizeSeverity,
  SEVERITIES,
  severityProblem,
  toSeverity,
} from '../src/core/severity';

describe('the severity scale', () => {
  it('is SEV1 (the most severe) to SEV5', () => {
    expect(SEVERITIES).toEqual(['SEV1', 'SEV2', 'SEV3', 'SEV4', 'SEV5']);
    expect(SEVERITIES.every(isSeverity)).toBe(true);
    expect([isSeverity('sev1'), isSeverity('P1'), isSeverity(1), isSeverity('SEV6')]).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('toSeverity: a source value onto the scale', () => {
  it.each<[unknown, string]>([
    // Our own names, in every spelling
    ['SEV1', 'SEV1'],
    ['SEV2', 'SEV2'],
    ['SEV3', 'SEV3'],
    ['SEV4', 'SEV4'],
    ['SEV5', 'SEV5'],
    ['sev1', 'SEV1'],
    ['Sev 1', 'SEV1'],
    ['SEV-2', 'SEV2'],
    ['sev_3', 'SEV3'],
    ['  SEV4  ', 'SEV4'],
    // 0-based scales: their worst is our worst
    ['SEV0', 'SEV1'],
    ['sev 0', 'SEV1'],
    ['P0', 'SEV1'],
    [0, 'SEV1'],
    ['0', 'SEV1'],
    // PagerDuty / Opsgenie priorities
    ['P1', 'SEV1'],
    ['P2', 'SEV2'],
    ['P3', 'SEV3'],
    ['P4', 'SEV4'],
    ['P5', 'SEV5'],
    ['p3', 'SEV3'],
    ['P-4', 'SEV4'],
    // Levels, as JSON numbers and numeric strings
    [1, 'SEV1'],
    [2, 'SEV2'],
    [3, 'SEV3'],
    [4, 'SEV4'],
    [5, 'SEV5'],
    ['1', 'SEV1'],
    ['5', 'SEV5'],
    [' 3 ', 'SEV3'],
    // Words
    ['critical', 'SEV1'],
    ['Critical', 'SEV1'],
    ['high', 'SEV2'],
    ['major', 'SEV2'],
    ['MAJOR', 'SEV2'],
    ['medium', 'SEV3'],
    ['moderate', 'SEV3'],
    ['warning', 'SEV3'],
    ['low', 'SEV4'],
    ['minor', 'SEV4'],
    ['info', 'SEV5'],
    ['informational', 'SEV5'],
    [' Info ', 'SEV5'],
  ])('%p -> %s', (value, severity) => {
    expect(toSeverity(value)).toBe(severity);
  });

  it.each<[unknown]>([
    ['SEV9'],
    ['SEV6'],
    ['P6'],
    ['P7'],
    [6],
    [-1],
    ['-1'],
    [1.5],
    ['1.5'],
    [Number.NaN],
    ['urgent-ish'],
    ['urgent'],
    ['crit'],
    ['SEV'],
    ['S1'],
    ['SEV 1 2'],
    [''],
    ['   '],
    [`SEV${'0'.repeat(40)}1`],
    ['constructor'],
    ['__proto__'],
    ['toString'],
    [null],
    [undefined],
    [true],
    [['SEV1']],
    [{ severity: 'SEV1' }],
  ])('%p means no severity', (value) => {
    expect(toSeverity(value)).toBeUndefined();
  });
});

describe('normalizeSeverity', () => {
  it('keeps the source value beside the severity only when it differs', () => {
    expect(normalizeSeverity('SEV1')).toEqual({ severity: 'SEV1' });
    expect(normalizeSeverity('P1')).toEqual({ severity: 'SEV1', sourceSeverity: 'P1' });
    expect(normalizeSeverity('sev2')).toEqual({ severity: 'SEV2', sourceSeverity: 'sev2' });
    expect(normalizeSeverity('critical')).toEqual({ severity: 'SEV1', sourceSeverity: 'critical' });
    expect(normalizeSeverity(0)).toEqual({ severity: 'SEV1', sourceSeverity: '0' });
    expect(normalizeSeverity(4)).toEqual({ severity: 'SEV4', sourceSeverity: '4' });
  });

  it('refuses an unknown value, saying what is accepted', () => {
    expect(() => normalizeSeverity('SEV9')).toThrow(InvalidSeverityError);
    expect(() => normalizeSeverity('urgent-ish')).toThrow(
      'unknown severity "urgent-ish"; use SEV1, SEV2, SEV3, SEV4 or SEV5 (also read: SEV0 and P0 and 0 as SEV1; P1-P5 and 1-5 as SEV1-SEV5; critical; high, major; medium, moderate, warning; low, minor; info, informational)',
    );
  });

  it('words the problem with the value as sent (a long one cut short)', () => {
    expect(severityProblem('SEV9')).toBe(`unknown severity "SEV9"; use ${ACCEPTED_SEVERITIES}`);
    expect(severityProblem(7)).toBe(`unknown severity 7; use ${ACCEPTED_SEVERITIES}`);
    expect(severityProblem('x'.repeat(100))).toBe(`unknown severity "${'x'.repeat(40)}…"; use ${ACCEPTED_SEVERITIES}`);
  });
});
