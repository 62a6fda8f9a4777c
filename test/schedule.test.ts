import { computeStart, parseAt, parseOffset, ScheduleError, StartSpec, startSpecSchema } from '../src/core/schedule';

// Every time here is written with a zone, so results do not depend on the machine's TZ.
// 2026 DST changes: Europe/Berlin 03-29 and 10-25 at 01:00Z; America/New_York 03-08 at 07:00Z and 11-01 at 06:00Z.
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';

/** The wall-clock time of `date` in `zone`, as "2026-03-29 03:30" (Sunday). */
function local(date: Date, zone: string): string {
  const weekday = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'long' }).format(date);
  const text = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'short' }).format(
    date,
  );
  return `${text} (${weekday})`;
}

function start(spec: StartSpec, from: string): Date {
  return computeStart(spec, { now: '2026-11-23T12:00:00Z', [spec.from]: from });
}

describe('parseOffset', () => {
  it.each([
    ['24h', 0, 0, 24 * 60],
    ['24 h', 0, 0, 24 * 60],
    ['90m', 0, 0, 90],
    ['90 min', 0, 0, 90],
    ['30 minutes', 0, 0, 30],
    ['1 minute', 0, 0, 1],
    ['2 hours', 0, 0, 120],
    ['1 hour', 0, 0, 60],
    ['2hrs', 0, 0, 120],
    ['3 days', 3, 0, 0],
    ['1 day', 1, 0, 0],
    ['1d', 1, 0, 0],
    ['1w', 7, 0, 0],
    ['1 week', 7, 0, 0],
    ['2 weeks', 14, 0, 0],
    ['1 business day', 0, 1, 0],
    ['2 business days', 0, 2, 0],
    ['  1 Business  Day ', 0, 1, 0],
    ['1d 2h', 1, 0, 120],
    ['1d2h', 1, 0, 120],
    ['1 day, 2 hours', 1, 0, 120],
    ['1w 2d 3h 4m', 9, 0, 184],
  ])('reads %j', (text, days, businessDays, minutes) => {
    expect(parseOffset(text)).toEqual({ days, businessDays, minutes });
  });

  it.each([
    '2 fortnights',
    '',
    '   ',
    '24',
    'h',
    '1.5h',
    '-1h',
    'tomorrow',
    '1 businessday',
    '1 day later',
    '1h and 2m',
  ])('rejects %j, naming it and showing what works', (text) => {
    expect(() => parseOffset(text)).toThrow(ScheduleError);
    expect(() => parseOffset(text)).toThrow(
      `offset "${text}" is not understood: use e.g. "24h", "90m", "3 days", "1w", "1d 2h", "1 business day"`,
    );
  });

  it('rejects repeated units, zero or huge amounts, and business days mixed with other units', () => {
    expect(() => parseOffset('1h 2h')).toThrow('offset "1h 2h" gives hours more than once');
    expect(() => parseOffset('1 day 2d')).toThrow('gives days more than once');
    expect(() => parseOffset('0h')).toThrow(
      'offset "0h": 0 is out of range, amounts are whole numbers from 1 to 10000',
    );
    expect(() => parseOffset('10001m')).toThrow('10001 is out of range');
    expect(() => parseOffset('1 business day 2h')).toThrow(
      'offset "1 business day 2h": business days cannot be combined with other units',
    );
  });
});

describe('parseAt', () => {
  it('reads 24-hour "HH:mm" as minutes after midnight', () => {
    expect(parseAt('10:00')).toBe(600);
    expect(parseAt('09:30')).toBe(570);
    expect(parseAt('9:30')).toBe(570);
    expect(parseAt('00:00')).toBe(0);
    expect(parseAt('23:59')).toBe(23 * 60 + 59);
  });

  it.each(['24:00', '10:60', '10', '10:00:00', '10am', 'noon', ''])('rejects %j', (text) => {
    expect(() => parseAt(text)).toThrow(`at "${text}" is not a time of day: use "HH:mm" on a 24-hour clock`);
  });
});

describe('startSpecSchema', () => {
  function problems(input: unknown): string[] {
    const result = startSpecSchema.safeParse(input);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }

  it('accepts a full spec and a minimal one', () => {
    const spec = { from: 'resolvedAt', offset: '1 business day', at: '10:00', timezone: BERLIN };
    expect(startSpecSchema.parse(spec)).toEqual(spec);
    expect(startSpecSchema.parse({ from: 'now' })).toEqual({ from: 'now' });
  });

  it('names an unknown time zone', () => {
    expect(problems({ from: 'resolvedAt', timezone: 'Europe/Berln' })).toEqual([
      'timezone: timezone "Europe/Berln" is not a known IANA time zone: use e.g. "Europe/Berlin", "America/New_York" or "UTC"',
    ]);
    expect(problems({ from: 'resolvedAt', timezone: 'Mars/Olympus_Mons' })[0]).toContain('"Mars/Olympus_Mons"');
  });

  it('explains a bad offset, at, from or unknown key, all at once', () => {
    expect(problems({ from: 'closedAt', offset: '2 fortnights', at: '25:00', timezon: 'UTC' })).toEqual([
      'from: from must be "now", "createdAt" or "resolvedAt"',
      'offset: offset "2 fortnights" is not understood: use e.g. "24h", "90m", "3 days", "1w", "1d 2h", "1 business day"',
      'at: at "25:00" is not a time of day: use "HH:mm" on a 24-hour clock, e.g. "10:00" or "16:30"',
      ": Unrecognized key(s) in object: 'timezon'",
    ]);
    expect(problems({})).toEqual(['from: from must be "now", "createdAt" or "resolvedAt"']);
  });
});

describe('computeStart: durations', () => {
  it('adds 24h to resolvedAt, in UTC by default', () => {
    expect(start({ from: 'resolvedAt', offset: '24h' }, '2026-11-20T15:00:00Z').toISOString()).toBe(
      '2026-11-21T15:00:00.000Z',
    );
  });

  it('starts from now or createdAt, and accepts Dates and zone offsets', () => {
    expect(
      computeStart({ from: 'now', offset: '30 minutes' }, { now: new Date('2026-11-23T12:00:00Z') }).toISOString(),
    ).toBe('2026-11-23T12:30:00.000Z');
    expect(start({ from: 'createdAt', offset: '1d 2h' }, '2026-11-23T10:00:00+01:00').toISOString()).toBe(
      '2026-11-24T11:00:00.000Z',
    );
  });

  it('keeps the seconds of the from time', () => {
    expect(start({ from: 'resolvedAt', offset: '90m' }, '2026-11-20T15:04:37.250Z').toISOString()).toBe(
      '2026-11-20T16:34:37.250Z',
    );
  });

  it('counts hours as elapsed time but days and weeks as calendar days at the same wall-clock time', () => {
    const saturday10 = '2026-03-28T09:00:00Z'; // 10:00 CET, the day before spring-forward
    expect(local(start({ from: 'resolvedAt', offset: '24h', timezone: BERLIN }, saturday10), BERLIN)).toBe(
      '2026-03-29 11:00 (Sunday)',
    );
    const oneDay = start({ from: 'resolvedAt', offset: '1 day', timezone: BERLIN }, saturday10);
    expect(oneDay.toISOString()).toBe('2026-03-29T08:00:00.000Z');
    expect(local(oneDay, BERLIN)).toBe('2026-03-29 10:00 (Sunday)');

    const beforeFallBack = '2026-10-24T08:00:00Z'; // 10:00 CEST
    expect(start({ from: 'resolvedAt', offset: '1d', timezone: BERLIN }, beforeFallBack).toISOString()).toBe(
      '2026-10-25T09:00:00.000Z',
    );
    expect(start({ from: 'resolvedAt', offset: '1w', timezone: BERLIN }, '2026-03-25T09:00:00Z').toISOString()).toBe(
      '2026-04-01T08:00:00.000Z',
    );
    // In UTC (the default) days have no DST, so "1 day" is 24 hours.
    expect(start({ from: 'resolvedAt', offset: '1 day' }, saturday10).toISOString()).toBe('2026-03-29T09:00:00.000Z');
  });

  it('applies days before hours in a combination', () => {
    // 10:00 CET Saturday + 1 calendar day = 10:00 CEST Sunday, then 2 exact hours.
    expect(
      local(start({ from: 'resolvedAt', offset: '1d 2h', timezone: BERLIN }, '2026-03-28T09:00:00Z'), BERLIN),
    ).toBe('2026-03-29 12:00 (Sunday)');
  });
});

describe('computeStart: business days', () => {
  const nextBusinessDayAt10 = (from: string, offset = '1 business day') =>
    local(start({ from: 'resolvedAt', offset, at: '10:00', timezone: BERLIN }, from), BERLIN);

  it('goes from Friday 16:00 Berlin to Monday 10:00 Berlin (09:00Z in winter)', () => {
    const monday = start(
      { from: 'resolvedAt', offset: '1 business day', at: '10:00', timezone: BERLIN },
      '2026-11-20T15:00:00Z',
    );
    expect(monday.toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(local(monday, BERLIN)).toBe('2026-11-23 10:00 (Monday)');
  });

  it('goes from Saturday or Sunday to Monday, from Thursday + 2 to Monday, from Monday + 5 to next Monday', () => {
    expect(nextBusinessDayAt10('2026-11-21T10:00:00Z')).toBe('2026-11-23 10:00 (Monday)');
    expect(nextBusinessDayAt10('2026-11-22T22:59:00Z')).toBe('2026-11-23 10:00 (Monday)'); // Sunday 23:59 Berlin
    expect(nextBusinessDayAt10('2026-11-19T15:00:00Z', '2 business days')).toBe('2026-11-23 10:00 (Monday)');
    expect(nextBusinessDayAt10('2026-11-23T08:00:00Z', '5 business days')).toBe('2026-11-30 10:00 (Monday)');
    expect(nextBusinessDayAt10('2026-11-17T08:00:00Z', '1 business day')).toBe('2026-11-18 10:00 (Wednesday)');
  });

  it('keeps the wall-clock time without at', () => {
    const monday = start({ from: 'resolvedAt', offset: '1 business day', timezone: BERLIN }, '2026-11-20T15:00:00Z');
    expect(local(monday, BERLIN)).toBe('2026-11-23 16:00 (Monday)');
  });

  it('counts weekdays in the time zone, not in UTC', () => {
    // Friday 02:00Z is still Thursday 21:00 in New York, so the next business day there is Friday.
    const spec: StartSpec = { from: 'resolvedAt', offset: '1 business day', at: '10:00', timezone: NEW_YORK };
    expect(start(spec, '2026-11-20T02:00:00Z').toISOString()).toBe('2026-11-20T15:00:00.000Z');
    expect(start({ ...spec, timezone: 'UTC' }, '2026-11-20T02:00:00Z').toISOString()).toBe('2026-11-23T10:00:00.000Z');
  });

  it('lands on 10:00 local across both Berlin DST changes', () => {
    expect(nextBusinessDayAt10('2026-03-27T15:00:00Z')).toBe('2026-03-30 10:00 (Monday)');
    expect(
      start(
        { from: 'resolvedAt', offset: '1 business day', at: '10:00', timezone: BERLIN },
        '2026-03-27T15:00:00Z',
      ).toISOString(),
    ).toBe('2026-03-30T08:00:00.000Z');
    expect(nextBusinessDayAt10('2026-10-23T14:00:00Z')).toBe('2026-10-26 10:00 (Monday)');
  });
});

describe('computeStart: at', () => {
  it('sets the time on the day a day-based offset reaches, even earlier than the offset alone', () => {
    // Friday 16:00 UTC: "1 day" picks Saturday, at 10:00 that day.
    expect(start({ from: 'resolvedAt', offset: '1 day', at: '10:00' }, '2026-11-20T16:00:00Z').toISOString()).toBe(
      '2026-11-21T10:00:00.000Z',
    );
  });

  it('after hours, minutes or no offset, takes the first such time at or after the result', () => {
    // "24h" is a minimum delay: Saturday 16:00 has passed 10:00, so Sunday 10:00.
    expect(start({ from: 'resolvedAt', offset: '24h', at: '10:00' }, '2026-11-20T16:00:00Z').toISOString()).toBe(
      '2026-11-22T10:00:00.000Z',
    );
    expect(start({ from: 'resolvedAt', offset: '2h', at: '10:00' }, '2026-11-23T07:00:00Z').toISOString()).toBe(
      '2026-11-23T10:00:00.000Z',
    );
    expect(start({ from: 'resolvedAt', offset: '2h', at: '10:00' }, '2026-11-23T09:00:00Z').toISOString()).toBe(
      '2026-11-24T10:00:00.000Z',
    );
    expect(start({ from: 'resolvedAt', at: '10:00' }, '2026-11-23T10:00:00Z').toISOString()).toBe(
      '2026-11-23T10:00:00.000Z',
    );
    expect(start({ from: 'resolvedAt', at: '10:00' }, '2026-11-23T10:00:30Z').toISOString()).toBe(
      '2026-11-24T10:00:00.000Z',
    );
  });

  it('does not skip weekends unless the offset is in business days', () => {
    expect(start({ from: 'resolvedAt', at: '10:00' }, '2026-11-20T12:00:00Z').toISOString()).toBe(
      '2026-11-21T10:00:00.000Z',
    ); // Saturday
  });

  it('zeroes seconds', () => {
    expect(start({ from: 'resolvedAt', at: '10:00' }, '2026-11-23T07:12:34.567Z').toISOString()).toBe(
      '2026-11-23T10:00:00.000Z',
    );
  });
});

describe('computeStart: DST edges', () => {
  it('moves a time in the Berlin spring-forward gap forward: 02:30 is 03:30 CEST', () => {
    const gap = start({ from: 'resolvedAt', at: '02:30', timezone: BERLIN }, '2026-03-28T23:00:00Z'); // Sunday 00:00 CET
    expect(gap.toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(local(gap, BERLIN)).toBe('2026-03-29 03:30 (Sunday)');
    // "1 day" from Saturday 02:30 lands in the same gap.
    expect(
      local(start({ from: 'resolvedAt', offset: '1 day', timezone: BERLIN }, '2026-03-28T01:30:00Z'), BERLIN),
    ).toBe('2026-03-29 03:30 (Sunday)');
  });

  it('takes the first occurrence of an ambiguous Berlin fall-back time (still CEST)', () => {
    const first = start({ from: 'resolvedAt', at: '02:30', timezone: BERLIN }, '2026-10-24T22:00:00Z'); // Sunday 00:00 CEST
    expect(first.toISOString()).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST, not 01:30Z (02:30 CET)
    expect(
      local(start({ from: 'resolvedAt', offset: '1 day', timezone: BERLIN }, '2026-10-24T00:30:00Z'), BERLIN),
    ).toBe('2026-10-25 02:30 (Sunday)');
    expect(start({ from: 'resolvedAt', offset: '1 day', timezone: BERLIN }, '2026-10-24T00:30:00Z').toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
  });

  it('handles America/New_York spring-forward and fall-back', () => {
    expect(start({ from: 'resolvedAt', at: '02:30', timezone: NEW_YORK }, '2026-03-08T05:00:00Z').toISOString()).toBe(
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
    );
    expect(
      start({ from: 'resolvedAt', offset: '1 day', timezone: NEW_YORK }, '2026-03-07T15:00:00Z').toISOString(),
    ).toBe(
      '2026-03-08T14:00:00.000Z', // 10:00 EST -> 10:00 EDT
    );
    expect(start({ from: 'resolvedAt', at: '01:30', timezone: NEW_YORK }, '2026-11-01T04:00:00Z').toISOString()).toBe(
      '2026-11-01T05:30:00.000Z', // first 01:30, EDT
    );
    expect(
      start({ from: 'resolvedAt', offset: '1 day', timezone: NEW_YORK }, '2026-10-31T14:00:00Z').toISOString(),
    ).toBe(
      '2026-11-01T15:00:00.000Z', // 10:00 EDT -> 10:00 EST
    );
    const monday = start(
      { from: 'resolvedAt', offset: '1 business day', at: '09:00', timezone: NEW_YORK },
      '2026-11-06T22:00:00Z',
    );
    expect(monday.toISOString()).toBe('2026-11-09T14:00:00.000Z');
    expect(local(monday, NEW_YORK)).toBe('2026-11-09 09:00 (Monday)');
  });

  it('never starts before the from time, around every DST change', () => {
    const specs: Omit<StartSpec, 'from' | 'timezone'>[] = [
      { at: '02:30' },
      { offset: '2h', at: '02:30' },
      { offset: '1 day', at: '10:00' },
      { offset: '1 day' },
      { offset: '1 business day', at: '02:30' },
    ];
    const windows: [string, string][] = [
      [BERLIN, '2026-03-27T00:00:00Z'],
      [BERLIN, '2026-10-23T00:00:00Z'],
      [NEW_YORK, '2026-03-06T00:00:00Z'],
      [NEW_YORK, '2026-10-30T00:00:00Z'],
    ];
    for (const [timezone, first] of windows) {
      for (let i = 0; i < 4 * 24 * 4; i++) {
        const from = new Date(Date.parse(first) + i * 15 * 60_000);
        for (const spec of specs) {
          const result = computeStart({ ...spec, from: 'resolvedAt', timezone }, { now: from, resolvedAt: from });
          if (result.getTime() < from.getTime())
            throw new Error(`${JSON.stringify(spec)} from ${from.toISOString()} gave ${result.toISOString()}`);
        }
      }
    }
  });
});

describe('computeStart: errors', () => {
  it('needs the from time to exist', () => {
    const spec: StartSpec = { from: 'resolvedAt', offset: '24h' };
    expect(() => computeStart(spec, { now: '2026-11-23T12:00:00Z' })).toThrow(ScheduleError);
    expect(() => computeStart(spec, { now: '2026-11-23T12:00:00Z' })).toThrow(
      'cannot start from resolvedAt: the incident has no resolvedAt time yet (it is not resolved)',
    );
    expect(() => computeStart({ from: 'createdAt' }, { now: '2026-11-23T12:00:00Z' })).toThrow(
      'cannot start from createdAt: the incident has no createdAt time',
    );
  });

  it('refuses times without a zone and invalid Dates', () => {
    expect(() => start({ from: 'resolvedAt' }, '2026-11-20 15:00')).toThrow(
      'resolvedAt "2026-11-20 15:00" is not an ISO 8601 time with a zone, e.g. "2026-11-23T14:00:00Z"',
    );
    expect(() => start({ from: 'resolvedAt' }, '2026-11-20T15:00:00')).toThrow('is not an ISO 8601 time with a zone');
    expect(() => computeStart({ from: 'now' }, { now: new Date('garbage') })).toThrow('now is an invalid Date');
  });

  it('checks the spec itself, with the same messages as the schema', () => {
    const at = '2026-11-20T15:00:00Z';
    expect(() => start({ from: 'resolvedAt', timezone: 'Europe/Berln' }, at)).toThrow(
      'timezone "Europe/Berln" is not a known IANA time zone',
    );
    expect(() => start({ from: 'resolvedAt', offset: '2 fortnights' }, at)).toThrow(
      'offset "2 fortnights" is not understood',
    );
    expect(() => start({ from: 'resolvedAt', at: '10h' }, at)).toThrow('at "10h" is not a time of day');
  });
});
