/**
 * When a possible opt-out request must be decided: 10 business days (Monday to Friday) after it arrived, in the
 * company's time zone.
 *
 * "Due" means the end of the 10th business day: the last millisecond before the next local day begins. Only the
 * local date of arrival matters, not its hour, and the day it arrived does not count: a request that arrives on
 * Friday evening, or on Saturday, is due by the end of Friday two weeks later; one that arrives on Monday morning, by
 * the end of Monday two weeks later. A day's end is found from Intl, so a daylight-saving change (a 23- or 25-hour
 * day) never moves it, and the machine's own time zone and clock never matter: the caller passes the instant.
 */

/** How many business days a person has to decide a possible opt-out. */
export const REVIEW_BUSINESS_DAYS = 10;

/** The most business days one call may count (about four years): the arithmetic stays far inside Intl's range. */
export const MAX_BUSINESS_DAYS = 1000;

const DAY_MS = 86_400_000;
// Arrivals from 1970 to a margin before the year 9999 ends, so the answer stays inside what Intl formats.
const LATEST_ARRIVAL = 253_402_300_799_999 - 2 * MAX_BUSINESS_DAYS * DAY_MS;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

type LocalDate = { year: number; month: number; day: number; weekday: number };

const calendars = new Map<string, Intl.DateTimeFormat | null>();

/** The zone's calendar (date and weekday), or null for a name Intl does not know; each zone's is built once. */
function calendarOf(zone: string): Intl.DateTimeFormat | null {
  const known = calendars.get(zone);
  if (known !== undefined) return known;
  let calendar: Intl.DateTimeFormat | null = null;
  // Refused before Intl sees a long text: zone names are short.
  if (typeof zone === 'string' && zone.length > 0 && zone.length <= 64) {
    try {
      calendar = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short' });
    } catch {
      calendar = null;
    }
  }
  if (calendars.size >= 1000) calendars.clear();
  calendars.set(zone, calendar);
  return calendar;
}

function localDateAt(calendar: Intl.DateTimeFormat, instant: number): LocalDate {
  const date: LocalDate = { year: 0, month: 0, day: 0, weekday: 0 };
  for (const { type, value } of calendar.formatToParts(instant)) {
    if (type === 'year' || type === 'month' || type === 'day') date[type] = Number(value);
    else if (type === 'weekday') date.weekday = WEEKDAYS.indexOf(value);
  }
  return date;
}

/** Comparable key of a calendar date: 2026-12-18 is 20261218. */
const keyOf = (date: LocalDate): number => date.year * 10_000 + date.month * 100 + date.day;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function nextDate(date: LocalDate): LocalDate {
  const weekday = (date.weekday + 1) % 7;
  if (date.day < daysInMonth(date.year, date.month)) return { ...date, day: date.day + 1, weekday };
  if (date.month < 12) return { year: date.year, month: date.month + 1, day: 1, weekday };
  return { year: date.year + 1, month: 1, day: 1, weekday };
}

const isWeekend = (date: LocalDate): boolean => date.weekday === 0 || date.weekday === 6;

/**
 * The instant (ms since the epoch) by which a possible opt-out that arrived at `receivedAt` is due: the end of the
 * `businessDays`th Monday-to-Friday day after its local date in `zone` (UTC when the zone is not one Intl knows).
 * Throws RangeError for an instant outside 1970 to 9999 or a count that is not a whole number from 0 to 1000.
 */
export function reviewDueBy(input: { receivedAt: number; zone: string; businessDays?: number }): number {
  const { receivedAt } = input;
  const businessDays = input.businessDays ?? REVIEW_BUSINESS_DAYS;
  if (!Number.isFinite(receivedAt) || receivedAt < 0 || receivedAt > LATEST_ARRIVAL) {
    throw new RangeError(`receivedAt must be milliseconds since 1970 before the year 9999, got ${String(receivedAt)}`);
  }
  if (!Number.isInteger(businessDays) || businessDays < 0 || businessDays > MAX_BUSINESS_DAYS) {
    throw new RangeError(`businessDays must be a whole number from 0 to ${MAX_BUSINESS_DAYS}, got ${String(businessDays)}`);
  }
  const calendar = calendarOf(input.zone) ?? (calendarOf('UTC') as Intl.DateTimeFormat);

  let date = localDateAt(calendar, receivedAt);
  let calendarDays = 0;
  for (let counted = 0; counted < businessDays; ) {
    date = nextDate(date);
    calendarDays += 1;
    if (!isWeekend(date)) counted += 1;
  }
  const following = keyOf(nextDate(date));

  // The following day begins within a day before the same wall-clock time on it; a daylight-saving change moves
  // that by an hour or two at most, so it lies between `low` (still the due day or earlier) and `high` (already the
  // following day). Bisect to the millisecond it begins.
  const sameTimeNextDay = receivedAt + (calendarDays + 1) * DAY_MS;
  let low = sameTimeNextDay - 2 * DAY_MS;
  let high = sameTimeNextDay + DAY_MS;
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2);
    if (keyOf(localDateAt(calendar, middle)) >= following) high = middle;
    else low = middle;
  }
  return high - 1;
}
