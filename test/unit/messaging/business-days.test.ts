import { describe, expect, it } from 'vitest';
import { MAX_BUSINESS_DAYS, REVIEW_BUSINESS_DAYS, reviewDueBy } from '../../../server/messaging/index.js';

// Every instant is written out with its offset, so neither the machine's time zone nor its clock plays a part (run
// it under TZ=Pacific/Auckland to see). A review is due at the end of the 10th Monday-to-Friday day after the local
// date it arrived on, in the company's zone: the last millisecond before the next local day begins.
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

type Case = [name: string, zone: string, receivedAt: string, dueBy: string];

const CASES: Case[] = [
  // 2026-12-04 is a Friday: two weeks later is Friday 2026-12-18, to its last millisecond in New York (UTC-5).
  ['Friday evening: the end of Friday two weeks later', 'America/New_York', '2026-12-04T19:30:00-05:00', '2026-12-19T04:59:59.999Z'],
  ['Friday one minute before midnight: the same', 'America/New_York', '2026-12-04T23:59:00-05:00', '2026-12-19T04:59:59.999Z'],
  ['Saturday: counted from Monday, so the end of Friday after next', 'America/New_York', '2026-12-05T10:00:00-05:00', '2026-12-19T04:59:59.999Z'],
  ['Sunday: the same', 'America/New_York', '2026-12-06T22:00:00-05:00', '2026-12-19T04:59:59.999Z'],
  ['Monday morning: the end of Monday two weeks later', 'America/New_York', '2026-12-07T09:00:00-05:00', '2026-12-22T04:59:59.999Z'],
  ['Wednesday: across two weekends to Wednesday', 'UTC', '2026-12-09T12:00:00Z', '2026-12-23T23:59:59.999Z'],
  // The instant is Saturday in UTC but still Friday evening in Los Angeles: the company's zone decides.
  ['the company zone decides the day, not UTC', 'America/Los_Angeles', '2026-12-05T03:00:00Z', '2026-12-19T07:59:59.999Z'],
  ['the same instant read in UTC is a Saturday', 'UTC', '2026-12-05T03:00:00Z', '2026-12-18T23:59:59.999Z'],
  // And the other way: Monday morning in Tokyo is still Sunday in UTC.
  ['Monday in Tokyo while Sunday in UTC', 'Asia/Tokyo', '2026-12-06T23:30:00Z', '2026-12-21T14:59:59.999Z'],
  // US clocks go back on Sunday 2026-11-01: arrival at UTC-4, due at UTC-5.
  ['across the end of daylight saving in New York', 'America/New_York', '2026-10-23T17:00:00-04:00', '2026-11-07T04:59:59.999Z'],
  // And forward on Sunday 2026-03-08: arrival at UTC-5, due at UTC-4.
  ['across the start of daylight saving in New York', 'America/New_York', '2026-02-27T17:00:00-05:00', '2026-03-14T03:59:59.999Z'],
  // Europe changes on 2026-03-29: Friday 20 March to Friday 3 April, CET to CEST.
  ['across the start of summer time in Berlin', 'Europe/Berlin', '2026-03-20T18:00:00+01:00', '2026-04-03T21:59:59.999Z'],
  // Sydney leaves daylight saving on 2026-04-05 (UTC+11 to +10).
  ['across the end of daylight saving in Sydney', 'Australia/Sydney', '2026-03-27T20:00:00+11:00', '2026-04-10T13:59:59.999Z'],
  // Half-hour offsets and a year's end.
  ['India, across the new year', 'Asia/Kolkata', '2026-12-24T10:00:00+05:30', '2027-01-07T18:29:59.999Z'],
  // February of a leap year.
  ['across 29 February 2028', 'UTC', '2028-02-25T08:00:00Z', '2028-03-10T23:59:59.999Z'],
  ['a zone Intl does not know is read as UTC', 'Mars/Olympus_Mons', '2026-12-04T19:30:00Z', '2026-12-18T23:59:59.999Z'],
  ['an empty zone is read as UTC', '', '2026-12-04T19:30:00Z', '2026-12-18T23:59:59.999Z'],
];

describe('reviewDueBy', () => {
  it('counts ten business days by default', () => {
    expect(REVIEW_BUSINESS_DAYS).toBe(10);
  });

  it.each(CASES)('%s', (_name, zone, receivedAt, dueBy) => {
    expect(iso(reviewDueBy({ receivedAt: at(receivedAt), zone }))).toBe(dueBy);
  });

  it('is due the very millisecond before the next local day begins', () => {
    const due = reviewDueBy({ receivedAt: at('2026-12-04T19:30:00-05:00'), zone: 'America/New_York' });
    const day = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', dateStyle: 'short' }).format(ms);
    expect([day(due), day(due + 1)]).toEqual(['2026-12-18', '2026-12-19']);
  });

  it('counts other numbers of business days: 0 is the end of the arrival day, 1 skips the weekend', () => {
    const friday = at('2026-12-04T12:00:00Z');
    expect(iso(reviewDueBy({ receivedAt: friday, zone: 'UTC', businessDays: 0 }))).toBe('2026-12-04T23:59:59.999Z');
    expect(iso(reviewDueBy({ receivedAt: friday, zone: 'UTC', businessDays: 1 }))).toBe('2026-12-07T23:59:59.999Z');
    expect(iso(reviewDueBy({ receivedAt: friday, zone: 'UTC', businessDays: 5 }))).toBe('2026-12-11T23:59:59.999Z');
    expect(iso(reviewDueBy({ receivedAt: friday, zone: 'UTC', businessDays: MAX_BUSINESS_DAYS }))).toBe('2030-10-04T23:59:59.999Z');
  });

  it('is the same for every instant of one local day', () => {
    const dues = new Set<number>();
    for (let hour = 0; hour < 24; hour += 1) {
      const receivedAt = at('2026-11-20T00:00:00-05:00') + hour * 3_600_000 + 59 * 60_000;
      dues.add(reviewDueBy({ receivedAt, zone: 'America/New_York' }));
    }
    expect([...dues].map(iso)).toEqual(['2026-12-05T04:59:59.999Z']);
  });

  it.each([
    ['NaN', { receivedAt: Number.NaN, zone: 'UTC' }],
    ['before 1970', { receivedAt: -1, zone: 'UTC' }],
    ['after the year 9999', { receivedAt: 253_402_300_800_000, zone: 'UTC' }],
    ['a fraction of a day', { receivedAt: 0, zone: 'UTC', businessDays: 1.5 }],
    ['a negative count', { receivedAt: 0, zone: 'UTC', businessDays: -1 }],
    ['too many days', { receivedAt: 0, zone: 'UTC', businessDays: MAX_BUSINESS_DAYS + 1 }],
  ])('refuses %s with a RangeError', (_name, input) => {
    expect(() => reviewDueBy(input)).toThrow(RangeError);
  });
});
