import { describe, expect, it } from 'vitest';
import {
  checkSendingWindow,
  describeSendingWindow,
  hasStateWindowCap,
  isKnownTimeZone,
  STATE_CAPPED_AREA_CODES,
  validateSendingWindow,
  type SendingWindow,
  type WindowDecision,
} from '../../../server/messaging/index.js';

// Every instant is written out in UTC, so neither the machine's time zone nor its clock plays a part (the suite is
// run under TZ=UTC and TZ=Pacific/Auckland to show it).
const at = (iso: string): number => Date.parse(iso);
const DAYTIME: SendingWindow = { start: '08:00', end: '21:00' };
const WIDE: SendingWindow = { start: '07:00', end: '22:00' };
const NIGHT: SendingWindow = { start: '22:00', end: '06:00' };
const NY = ['America/New_York'];
const LONDON = ['Europe/London'];
const NY_NUMBER = '+12125551234';
const MIAMI = '+13055551234';
const OKLAHOMA_CITY = '+14055551234';
const ALASKA = ['America/Adak', 'America/Anchorage'];
// A Russian number known by its country code alone: every zone Google's map lists for +7, from Europe/Bucharest
// (UTC+2/+3) to Kamchatka and Anadyr (UTC+12).
const RUSSIA = [
  'Asia/Almaty', 'Asia/Anadyr', 'Asia/Aqtobe', 'Asia/Irkutsk', 'Asia/Kamchatka', 'Asia/Krasnoyarsk', 'Asia/Magadan',
  'Asia/Novosibirsk', 'Asia/Omsk', 'Asia/Sakhalin', 'Asia/Vladivostok', 'Asia/Yakutsk', 'Asia/Yekaterinburg',
  'Europe/Bucharest', 'Europe/Moscow', 'Europe/Samara',
];

type Case = [
  name: string,
  window: SendingWindow | null,
  zones: string[],
  e164: string,
  now: string,
  expected: string | 'open' | 'never',
];

const decision = (expected: string): WindowDecision => {
  if (expected === 'open') return { open: true };
  if (expected === 'never') return { open: false, notBefore: null };
  return { open: false, notBefore: at(expected) };
};

describe('checkSendingWindow', () => {
  it.each<Case>([
    // One zone, the default window; the window is [start, end): open at 08:00, closed at 21:00.
    ['midday in New York', DAYTIME, NY, NY_NUMBER, '2026-06-15T16:00:00Z', 'open'],
    ['22:00 in New York waits for 08:00 the next day', DAYTIME, NY, NY_NUMBER, '2026-06-15T02:00:00Z', '2026-06-15T12:00:00Z'],
    ['21:00 exactly is closed', DAYTIME, NY, NY_NUMBER, '2026-06-16T01:00:00Z', '2026-06-16T12:00:00Z'],
    ['20:59:59 is open', DAYTIME, NY, NY_NUMBER, '2026-06-16T00:59:59Z', 'open'],
    ['08:00 exactly is open', DAYTIME, NY, NY_NUMBER, '2026-06-15T12:00:00Z', 'open'],
    ['07:59:30 waits 30 seconds', DAYTIME, NY, NY_NUMBER, '2026-06-15T11:59:30Z', '2026-06-15T12:00:00Z'],
    ['late evening in London waits across local midnight', DAYTIME, LONDON, '+447700900123', '2026-01-10T23:30:00Z', '2026-01-11T08:00:00Z'],
    ['15-minute window edges', { start: '09:15', end: '17:45' }, LONDON, '+447700900123', '2026-01-10T17:45:00Z', '2026-01-11T09:15:00Z'],
    // A window across midnight.
    ['22:00–06:00 is open at 23:30', NIGHT, LONDON, '+447700900123', '2026-01-10T23:30:00Z', 'open'],
    ['22:00–06:00 is open at 05:59', NIGHT, LONDON, '+447700900123', '2026-01-11T05:59:00Z', 'open'],
    ['22:00–06:00 at 06:00 waits for 22:00', NIGHT, LONDON, '+447700900123', '2026-01-11T06:00:00Z', '2026-01-11T22:00:00Z'],
    ['22:00–06:00 at noon waits for 22:00', NIGHT, LONDON, '+447700900123', '2026-01-10T12:00:00Z', '2026-01-10T22:00:00Z'],
    ['08:00–00:00 runs to midnight', { start: '08:00', end: '00:00' }, LONDON, '+447700900123', '2026-01-10T23:59:00Z', 'open'],
    // Daylight saving in the US: 2026-03-08 02:00 EST becomes 03:00 EDT; 2026-11-01 02:00 EDT becomes 01:00 EST.
    ['the day before spring forward opens at 08:00 EST', DAYTIME, NY, NY_NUMBER, '2026-03-07T05:00:00Z', '2026-03-07T13:00:00Z'],
    ['spring forward: 08:00 EDT is an hour earlier in UTC', DAYTIME, NY, NY_NUMBER, '2026-03-08T05:00:00Z', '2026-03-08T12:00:00Z'],
    ['a start inside the skipped hour opens when the clock jumps', { start: '02:30', end: '21:00' }, NY, NY_NUMBER, '2026-03-08T05:00:00Z', '2026-03-08T07:00:00Z'],
    ['fall back: 08:00 EST', DAYTIME, NY, NY_NUMBER, '2026-11-01T04:00:00Z', '2026-11-01T13:00:00Z'],
    ['fall back: 20:59 EST is still open', DAYTIME, NY, NY_NUMBER, '2026-11-02T01:59:00Z', 'open'],
    ['fall back: 21:00 EST is closed', DAYTIME, NY, NY_NUMBER, '2026-11-02T02:00:00Z', '2026-11-02T13:00:00Z'],
    ['fall back: a window ending 01:30 opens again in the repeated hour', { start: '22:00', end: '01:30' }, NY, NY_NUMBER, '2026-11-01T05:45:00Z', '2026-11-01T06:00:00Z'],
    // Daylight saving in the EU: 2026-03-29 01:00 GMT becomes 02:00 BST; 2026-10-25 02:00 BST becomes 01:00 GMT.
    ['London spring forward: 08:00 BST', DAYTIME, LONDON, '+447700900123', '2026-03-29T00:00:00Z', '2026-03-29T07:00:00Z'],
    ['London fall back: 08:00 GMT', DAYTIME, LONDON, '+447700900123', '2026-10-25T00:00:00Z', '2026-10-25T08:00:00Z'],
    ['London fall back: 20:30 GMT is open', DAYTIME, LONDON, '+447700900123', '2026-10-25T20:30:00Z', 'open'],
    ['Sydney (southern summer) 07:00 AEDT waits an hour', DAYTIME, ['Australia/Sydney'], '+61212345678', '2026-01-14T20:00:00Z', '2026-01-14T21:00:00Z'],
    // Florida and Oklahoma: 08:00–20:00 at most, whatever the company sets.
    ['Miami 20:30 EDT is closed even with a 07:00–22:00 window', WIDE, NY, MIAMI, '2026-06-15T00:30:00Z', '2026-06-15T12:00:00Z'],
    ['New York 20:30 EDT is open with a 07:00–22:00 window', WIDE, NY, NY_NUMBER, '2026-06-15T00:30:00Z', 'open'],
    ['Miami 07:30 EDT waits for 08:00', WIDE, NY, MIAMI, '2026-06-15T11:30:00Z', '2026-06-15T12:00:00Z'],
    ['New York 07:30 EDT is open with a 07:00–22:00 window', WIDE, NY, NY_NUMBER, '2026-06-15T11:30:00Z', 'open'],
    ['Miami with quiet hours off is still held to 20:00', null, NY, MIAMI, '2026-06-15T00:30:00Z', '2026-06-15T12:00:00Z'],
    ['Miami with quiet hours off, 19:59 EDT', null, NY, MIAMI, '2026-06-14T23:59:00Z', 'open'],
    ['New York with quiet hours off is always open', null, NY, NY_NUMBER, '2026-06-15T07:00:00Z', 'open'],
    ['Oklahoma City 20:30 CDT with quiet hours off waits for 08:00 CDT', null, ['America/Chicago'], OKLAHOMA_CITY, '2026-06-15T01:30:00Z', '2026-06-15T13:00:00Z'],
    ['Oklahoma City with a 07:00–22:00 window', WIDE, ['America/Chicago'], OKLAHOMA_CITY, '2026-06-15T01:30:00Z', '2026-06-15T13:00:00Z'],
    ['a narrower company window still decides in Miami', { start: '09:00', end: '17:00' }, NY, MIAMI, '2026-06-15T12:30:00Z', '2026-06-15T13:00:00Z'],
    ['a night window and the Florida limit never meet', NIGHT, NY, MIAMI, '2026-06-15T12:30:00Z', 'never'],
    // Several zones: the window must hold in all of them.
    ['Alaska: 08:30 in Anchorage is 07:30 in Adak', DAYTIME, ALASKA, '+19075551234', '2026-06-15T16:30:00Z', '2026-06-15T17:00:00Z'],
    ['Alaska: 20:59 in Anchorage is open', DAYTIME, ALASKA, '+19075551234', '2026-06-16T04:59:00Z', 'open'],
    ['Alaska: 21:00 in Anchorage is closed', DAYTIME, ALASKA, '+19075551234', '2026-06-16T05:00:00Z', '2026-06-16T17:00:00Z'],
    ['Russia by country code: 06:00–09:00 UTC in winter', DAYTIME, RUSSIA, '+79123456789', '2026-01-15T12:00:00Z', '2026-01-16T06:00:00Z'],
    ['Russia by country code: 05:00–09:00 UTC in summer', DAYTIME, RUSSIA, '+79123456789', '2026-07-15T12:00:00Z', '2026-07-16T05:00:00Z'],
    ['Russia by country code: 08:59 UTC is open', DAYTIME, RUSSIA, '+79123456789', '2026-07-16T08:59:00Z', 'open'],
    ['London and Auckland share 07:00–09:00 UTC in June', DAYTIME, ['Europe/London', 'Pacific/Auckland'], '+447700900123', '2026-06-15T12:00:00Z', '2026-06-16T07:00:00Z'],
    ['London and Auckland share no minute of 09:00–17:00', { start: '09:00', end: '17:00' }, ['Europe/London', 'Pacific/Auckland'], '+447700900123', '2026-06-15T12:00:00Z', 'never'],
    ['a zone listed twice counts once', DAYTIME, [...NY, ...NY, 'US/Eastern'], NY_NUMBER, '2026-06-15T02:00:00Z', '2026-06-15T12:00:00Z'],
    // Zones that cannot be used: the company's zone, else UTC.
    ['no zones: the company zone (Berlin, 07:30 CEST) decides', DAYTIME, [], NY_NUMBER, '2026-06-15T05:30:00Z', '2026-06-15T06:00:00Z'],
    ['unknown zones are ignored', DAYTIME, ['Not/A_Zone', ''], NY_NUMBER, '2026-06-15T05:30:00Z', '2026-06-15T06:00:00Z'],
    ['an unknown zone beside a known one is ignored', DAYTIME, ['Not/A_Zone', ...NY], NY_NUMBER, '2026-06-15T05:30:00Z', '2026-06-15T12:00:00Z'],
  ])('%s', (_name, window, zones, e164, now, expected) => {
    expect(checkSendingWindow({ window, zones, companyZone: 'Europe/Berlin', e164, now: at(now) })).toEqual(decision(expected));
  });

  it('uses UTC when neither the recipient nor the company has a usable zone', () => {
    const query = { window: DAYTIME, zones: [], companyZone: 'Mars/Olympus_Mons', e164: NY_NUMBER };
    expect(checkSendingWindow({ ...query, now: at('2026-06-15T07:00:00Z') })).toEqual(decision('2026-06-15T08:00:00Z'));
  });

  it('reads an unreadable stored window as the default one, never as no quiet hours', () => {
    for (const window of [{ start: '8am', end: '21:00' }, { start: '25:00', end: '21:00' }, { start: '09:00', end: '09:00' }]) {
      const query = { window, zones: NY, companyZone: 'UTC', e164: NY_NUMBER };
      expect(checkSendingWindow({ ...query, now: at('2026-06-15T02:00:00Z') })).toEqual(decision('2026-06-15T12:00:00Z'));
      expect(checkSendingWindow({ ...query, now: at('2026-06-15T12:30:00Z') })).toEqual({ open: true });
    }
  });

  it('refuses an instant that is not milliseconds since 1970 before the year 9999', () => {
    const query = { window: DAYTIME, zones: NY, companyZone: 'UTC', e164: NY_NUMBER };
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY, -1, 8.64e15]) {
      expect(() => checkSendingWindow({ ...query, now })).toThrow(RangeError);
    }
  });

  it('agrees with Intl every 17 minutes over two days around a change of the clocks', () => {
    const hourIn = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', hourCycle: 'h23' });
    const start = at('2026-11-01T00:00:00Z');
    for (let now = start; now < start + 2 * 86_400_000; now += 17 * 60_000) {
      const result = checkSendingWindow({ window: DAYTIME, zones: NY, companyZone: 'UTC', e164: NY_NUMBER, now });
      const hour = Number(hourIn.format(now));
      expect(result.open, new Date(now).toISOString()).toBe(hour >= 8 && hour < 21);
      if (!result.open && result.notBefore !== null) {
        expect(Number(hourIn.format(result.notBefore))).toBe(8);
        expect(Number(hourIn.format(result.notBefore - 60_000))).toBe(7);
      }
    }
  });
});

describe('hasStateWindowCap', () => {
  it.each([
    ['+13055551234', true], ['+17865551234', true], ['+18505551234', true], ['+13245551234', true],
    ['+14055551234', true], ['+19185551234', true], ['+15725551234', true],
    ['+12125551234', false], ['+18085551234', false], ['+12145551234', false], ['+4430555512', false],
    ['+1305555123', false], ['13055551234', false], ['', false],
  ])('%s → %s', (e164, expected) => {
    expect(hasStateWindowCap(e164)).toBe(expected);
  });

  it('lists 23 Florida and 5 Oklahoma area codes once each', () => {
    expect(new Set(STATE_CAPPED_AREA_CODES).size).toBe(28);
  });
});

describe('validateSendingWindow', () => {
  it.each<[unknown, SendingWindow | null]>([
    [null, null],
    [{ start: '08:00', end: '21:00' }, { start: '08:00', end: '21:00' }],
    [{ start: '00:00', end: '23:45' }, { start: '00:00', end: '23:45' }],
    [{ start: '22:00', end: '06:00' }, { start: '22:00', end: '06:00' }],
    [{ start: '09:15', end: '17:30', extra: 1 }, { start: '09:15', end: '17:30' }],
  ])('accepts %j', (value, window) => {
    expect(validateSendingWindow(value)).toEqual({ ok: true, window });
  });

  const STEPS = 'must be a time of day as HH:MM in 15-minute steps, such as 08:00 or 21:30';
  it.each<[unknown, 'start' | 'end' | null, string]>([
    [undefined, null, 'must be { "start": "HH:MM", "end": "HH:MM" }, or null to switch quiet hours off'],
    ['08:00-21:00', null, 'must be { "start": "HH:MM", "end": "HH:MM" }, or null to switch quiet hours off'],
    [['08:00', '21:00'], null, 'must be { "start": "HH:MM", "end": "HH:MM" }, or null to switch quiet hours off'],
    [{ end: '21:00' }, 'start', STEPS],
    [{ start: '8:00', end: '21:00' }, 'start', STEPS],
    [{ start: '08:10', end: '21:00' }, 'start', STEPS],
    [{ start: '24:00', end: '21:00' }, 'start', STEPS],
    [{ start: '08:00', end: '21:60' }, 'end', STEPS],
    [{ start: '08:00', end: 2100 }, 'end', STEPS],
    [{ start: '08:00', end: ' 21:00' }, 'end', STEPS],
    [{ start: '08:00', end: '08:00' }, 'end', 'must differ from start: a window from a time to the same time is empty'],
  ])('refuses %j, naming %s', (value, field, message) => {
    expect(validateSendingWindow(value)).toEqual({ ok: false, field, message });
  });
});

describe('describeSendingWindow', () => {
  const noon = at('2026-06-15T12:00:00Z');
  it.each([
    ['America/New_York', { localTime: '08:00', utcOffset: '-04:00', open: true, closesAt: '21:00', notBefore: null, opensAt: null, opensInDays: null }],
    ['Europe/London', { localTime: '13:00', utcOffset: '+01:00', open: true, closesAt: '21:00', notBefore: null, opensAt: null, opensInDays: null }],
    ['Australia/Sydney', { localTime: '22:00', utcOffset: '+10:00', open: false, closesAt: null, notBefore: at('2026-06-15T22:00:00Z'), opensAt: '08:00', opensInDays: 1 }],
    ['Asia/Kolkata', { localTime: '17:30', utcOffset: '+05:30', open: true, closesAt: '21:00', notBefore: null, opensAt: null, opensInDays: null }],
    ['Asia/Kathmandu', { localTime: '17:45', utcOffset: '+05:45', open: true, closesAt: '21:00', notBefore: null, opensAt: null, opensInDays: null }],
    ['Pacific/Honolulu', { localTime: '02:00', utcOffset: '-10:00', open: false, closesAt: null, notBefore: at('2026-06-15T18:00:00Z'), opensAt: '08:00', opensInDays: 0 }],
  ])('the default window in %s at 12:00 UTC', (zone, view) => {
    expect(describeSendingWindow({ window: DAYTIME, zone, now: noon })).toEqual({ zone, ...view });
  });

  it('adds the Florida limit for a Florida number, and says when nothing closes', () => {
    expect(describeSendingWindow({ window: null, zone: 'America/New_York', now: noon, e164: MIAMI })).toMatchObject({ open: true, closesAt: '20:00' });
    expect(describeSendingWindow({ window: null, zone: 'America/New_York', now: noon })).toMatchObject({ open: true, closesAt: null });
    expect(describeSendingWindow({ window: NIGHT, zone: 'America/New_York', now: noon, e164: MIAMI })).toMatchObject({ open: false, notBefore: null, opensAt: null });
  });

  it('shows an unknown zone as UTC', () => {
    expect(describeSendingWindow({ window: DAYTIME, zone: 'Nowhere/Land', now: noon })).toMatchObject({ zone: 'UTC', localTime: '12:00', utcOffset: '+00:00' });
    expect(isKnownTimeZone('Nowhere/Land')).toBe(false);
    expect(isKnownTimeZone('Europe/London')).toBe(true);
  });
});
