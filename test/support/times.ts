/**
 * Times for tests, always relative to the moment the test runs: no test may depend on the
 * calendar date or the time of day (a fixed date soon lies in the past and changes the meaning).
 */

const HOUR = 3600_000;

/** The latest `weekday` (0 = Sunday … 6 = Saturday) at `utcHour`:00Z strictly before `now`. */
export function latestWeekdayAt(weekday: number, utcHour: number, now = Date.now()): Date {
  const day = new Date(now);
  day.setUTCHours(utcHour, 0, 0, 0);
  while (day.getUTCDay() !== weekday || day.getTime() >= now) day.setUTCDate(day.getUTCDate() - 1);
  return day;
}

/** `now` moved by a number of hours (negative: in the past), as ISO. */
export function hoursFromNow(hours: number, now = Date.now()): string {
  return new Date(now + hours * HOUR).toISOString();
}

/** The wall-clock time of `iso` in `zone`: "Monday 10:00". */
export function wallClock(iso: string, zone: string): string {
  const date = new Date(iso);
  const weekday = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'long' }).format(date);
  const time = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(date);
  return `${weekday} ${time}`;
}
