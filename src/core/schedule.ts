/**
 * When a scheduled follow-up meeting starts, e.g. "resolvedAt + 1 business day at 10:00 in Europe/Berlin".
 * Pure (no clock, no I/O, only Intl for time zones), so workflow code can call it.
 *
 * Rules:
 * 1. Start from the incident time named by `from`. If that time is missing it is an error, never a silent
 *    fallback to now.
 * 2. Offset units: "m"/"min"/"minutes", "h"/"hr"/"hours", "d"/"days", "w"/"weeks", "business day(s)".
 *    Amounts are whole numbers from 1 to 10000. Units can be combined ("1d 2h"), each unit once, but
 *    business days stand alone.
 * 3. Hours and minutes are exact elapsed time, so "24h" across a DST change ends 23 or 25 wall-clock hours later.
 * 4. Days and weeks are calendar days in `timezone` keeping the wall-clock time, so "1 day" from 10:00 is
 *    10:00 the next day even across a DST change. In a combination the days go first, then hours and minutes.
 * 5. "N business days" steps forward one calendar day at a time in `timezone`, counting only Mon-Fri days,
 *    until N are counted, keeping the wall-clock time. So from Friday, Saturday or Sunday "1 business day"
 *    is Monday, and from Thursday "2 business days" is Monday.
 * 6. `at: "HH:mm"` sets the wall-clock time in `timezone`, with seconds zeroed:
 *    - after a day-based offset (days, weeks, business days) the offset picks the date and `at` the time on
 *      that date, even if that is earlier in the day than the offset alone: "1 business day" at "10:00"
 *      from Friday 16:00 is Monday 10:00;
 *    - otherwise (no offset, or only hours and minutes) the offset is a minimum delay and the start is the
 *      first such wall-clock time at or after it: that day or the next calendar day. Only business-day
 *      offsets skip weekends.
 *    Either way the start is never before the `from` time.
 * 7. A local time that does not exist (the spring-forward gap) moves forward by the length of the gap:
 *    02:30 on 2026-03-29 in Europe/Berlin is 03:30 CEST. An ambiguous local time (fall back) is its first
 *    occurrence, the earlier instant.
 * 8. Without `at` the result keeps the `from` time's seconds.
 */
import { z } from 'zod';

/** Where a scheduled meeting starts: an incident time, plus an offset, optionally at a wall-clock time in a zone. */
export interface StartSpec {
  from: 'now' | 'createdAt' | 'resolvedAt';
  /** e.g. "24h", "90m", "3 days", "1w", "1d 2h", "1 business day". */
  offset?: string;
  /** "HH:mm", 24-hour wall-clock time in `timezone`. */
  at?: string;
  /** IANA time zone; "UTC" when unset. */
  timezone?: string;
}

/** The incident times a start can be computed from: ISO 8601 strings with a zone ("Z" or "+02:00"), or Dates. */
export interface IncidentTimes {
  now: string | Date;
  createdAt?: string | Date;
  resolvedAt?: string | Date;
}

/** A start that cannot be computed; the message names the bad value. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** A parsed offset: calendar days (weeks included), business days, and exact minutes (hours included). */
export interface Offset {
  days: number;
  businessDays: number;
  minutes: number;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const MAX_AMOUNT = 10_000;

type Unit = 'minutes' | 'hours' | 'days' | 'weeks' | 'businessDays';

const UNITS: Record<string, Unit> = {
  m: 'minutes',
  min: 'minutes',
  mins: 'minutes',
  minute: 'minutes',
  minutes: 'minutes',
  h: 'hours',
  hr: 'hours',
  hrs: 'hours',
  hour: 'hours',
  hours: 'hours',
  d: 'days',
  day: 'days',
  days: 'days',
  w: 'weeks',
  wk: 'weeks',
  wks: 'weeks',
  week: 'weeks',
  weeks: 'weeks',
  'business day': 'businessDays',
  'business days': 'businessDays',
};

/** Parses an offset such as "24h", "30 minutes", "1d 2h" or "2 business days". */
export function parseOffset(text: string): Offset {
  const notUnderstood = new ScheduleError(
    `offset "${text}" is not understood: use e.g. "24h", "90m", "3 days", "1w", "1d 2h", "1 business day"`,
  );
  const src = text.trim().toLowerCase();
  // One "<amount> <unit>" term at a time, separated by spaces or commas.
  const term = /(\d+)\s*(business\s+days?|[a-z]+)[\s,]*/y;
  const seen = new Map<Unit, number>();
  while (term.lastIndex < src.length) {
    const match = term.exec(src);
    if (!match) throw notUnderstood;
    const unit = UNITS[match[2].replace(/\s+/, ' ')];
    if (!unit) throw notUnderstood;
    const amount = Number(match[1]);
    if (seen.has(unit)) throw new ScheduleError(`offset "${text}" gives ${unitName(unit)} more than once`);
    if (amount < 1 || amount > MAX_AMOUNT) {
      throw new ScheduleError(
        `offset "${text}": ${match[1]} is out of range, amounts are whole numbers from 1 to ${MAX_AMOUNT}`,
      );
    }
    seen.set(unit, amount);
  }
  if (seen.size === 0) throw notUnderstood;
  if (seen.has('businessDays') && seen.size > 1) {
    throw new ScheduleError(`offset "${text}": business days cannot be combined with other units`);
  }
  const get = (unit: Unit) => seen.get(unit) ?? 0;
  return {
    days: get('days') + 7 * get('weeks'),
    businessDays: get('businessDays'),
    minutes: get('minutes') + 60 * get('hours'),
  };
}

function unitName(unit: Unit): string {
  return unit === 'businessDays' ? 'business days' : unit;
}

/** Parses "HH:mm" (24-hour; "9:30" is accepted too) into minutes after midnight. */
export function parseAt(text: string): number {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!match)
    throw new ScheduleError(
      `at "${text}" is not a time of day: use "HH:mm" on a 24-hour clock, e.g. "10:00" or "16:30"`,
    );
  return Number(match[1]) * 60 + Number(match[2]);
}

// Formatters are costly to build; keep one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Throws unless Intl knows `zone` (Node ships the full IANA database). */
export function assertTimeZone(zone: string): void {
  try {
    formatter(zone);
  } catch {
    throw new ScheduleError(
      `timezone "${zone}" is not a known IANA time zone: use e.g. "Europe/Berlin", "America/New_York" or "UTC"`,
    );
  }
}

/*
 * Wall-clock times are handled as "wall" milliseconds: the local date and time in the zone written as if it
 * were UTC. Calendar arithmetic is then plain addition of DAY, and Date's UTC getters give the weekday.
 */

function toWall(instant: number, zone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const { type, value } of formatter(zone).formatToParts(whole)) {
    if (type !== 'literal') p[type] = Number(value);
  }
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) + (instant - whole);
}

/** The instant a wall-clock time names in `zone`, with the gap and ambiguity rules (rule 7). */
function fromWall(wall: number, zone: string): number {
  // The zone's UTC offsets a day either side cover any single DST change near this wall time.
  const offsetBefore = toWall(wall - DAY, zone) - (wall - DAY);
  const offsetAfter = toWall(wall + DAY, zone) - (wall + DAY);
  const candidates = [wall - offsetBefore, wall - offsetAfter].filter((instant) => toWall(instant, zone) === wall);
  // Two candidates: ambiguous, take the first. None: in the gap, and the offset from before the change lands
  // as far past the gap's start as the wall time was, i.e. moved forward by the gap.
  return candidates.length > 0 ? Math.min(...candidates) : wall - offsetBefore;
}

function isWeekday(wall: number): boolean {
  const day = new Date(wall).getUTCDay();
  return day !== 0 && day !== 6;
}

const ISO_WITH_ZONE = z.string().datetime({ offset: true });

function resolveTime(name: keyof IncidentTimes, value: string | Date | undefined): number {
  if (value === undefined) {
    const why = name === 'resolvedAt' ? ' yet (it is not resolved)' : '';
    throw new ScheduleError(`cannot start from ${name}: the incident has no ${name} time${why}`);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ScheduleError(`${name} is an invalid Date`);
    return value.getTime();
  }
  // A string without a zone would be read in the machine's time zone: refuse it.
  if (!ISO_WITH_ZONE.safeParse(value).success) {
    throw new ScheduleError(`${name} "${value}" is not an ISO 8601 time with a zone, e.g. "2026-11-23T14:00:00Z"`);
  }
  return Date.parse(value);
}

/** Computes when the meeting starts; throws ScheduleError on a bad spec or a missing incident time. */
export function computeStart(spec: StartSpec, times: IncidentTimes): Date {
  const zone = spec.timezone ?? 'UTC';
  assertTimeZone(zone);
  const offset = spec.offset === undefined ? undefined : parseOffset(spec.offset);
  const at = spec.at === undefined ? undefined : parseAt(spec.at);
  let start = resolveTime(spec.from, times[spec.from]);

  if (offset?.days) start = fromWall(toWall(start, zone) + offset.days * DAY, zone);
  if (offset?.businessDays) {
    let wall = toWall(start, zone);
    for (let counted = 0; counted < offset.businessDays;) {
      wall += DAY;
      if (isWeekday(wall)) counted++;
    }
    start = fromWall(wall, zone);
  }
  if (offset?.minutes) start += offset.minutes * MINUTE;

  if (at !== undefined) {
    const midnight = Math.floor(toWall(start, zone) / DAY) * DAY;
    const onThatDay = fromWall(midnight + at * MINUTE, zone);
    const dayBased = Boolean(offset?.days || offset?.businessDays);
    start = dayBased || onThatDay >= start ? onThatDay : fromWall(midnight + DAY + at * MINUTE, zone);
  }
  return new Date(start);
}

/** Turns a ScheduleError from `check` into a zod issue, so the schema and computeStart share messages. */
function refineWith(check: (value: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: err.message });
    }
  };
}

/** Validates a start spec as written in a runbook. */
export const startSpecSchema: z.ZodType<StartSpec> = z
  .object({
    from: z.enum(['now', 'createdAt', 'resolvedAt'], {
      errorMap: () => ({ message: 'from must be "now", "createdAt" or "resolvedAt"' }),
    }),
    offset: z.string().superRefine(refineWith(parseOffset)).optional(),
    at: z.string().superRefine(refineWith(parseAt)).optional(),
    timezone: z.string().superRefine(refineWith(assertTimeZone)).optional(),
  })
  .strict();
