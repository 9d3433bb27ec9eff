import { describe, expect, it } from 'vitest';
import { sendingWindowClosesAt } from '../../../server/messaging/index.js';

// When the window open now closes for every zone of the recipient: how long Twilio may keep an automation message.

const at = (iso: string) => Date.parse(iso);
const base = { window: { start: '08:00', end: '21:00' }, companyZone: 'UTC', e164: '+14155552671' };

describe('sendingWindowClosesAt', () => {
  it('answers the close of the open window, in the recipient zone, across daylight saving', () => {
    // 12:00 in Los Angeles in January (UTC-8): closes at 21:00 there, 05:00 UTC the next day.
    expect(sendingWindowClosesAt({ ...base, zones: ['America/Los_Angeles'], now: at('2026-01-15T20:00:00Z') })).toBe(at('2026-01-16T05:00:00Z'));
    // In July (UTC-7) the same local close is an hour earlier in UTC.
    expect(sendingWindowClosesAt({ ...base, zones: ['America/Los_Angeles'], now: at('2026-07-15T19:00:00Z') })).toBe(at('2026-07-16T04:00:00Z'));
  });

  it('takes the zone that closes first when several remain', () => {
    const now = at('2026-01-15T20:00:00Z'); // 15:00 in New York, 12:00 in Los Angeles
    expect(sendingWindowClosesAt({ ...base, zones: ['America/Los_Angeles', 'America/New_York'], now })).toBe(at('2026-01-16T02:00:00Z'));
  });

  it('applies the Florida limit of 20:00 even with quiet hours off', () => {
    const now = at('2026-01-15T17:00:00Z'); // 12:00 in Miami
    expect(sendingWindowClosesAt({ window: null, zones: ['America/New_York'], companyZone: 'UTC', e164: '+13055550123', now })).toBe(at('2026-01-16T01:00:00Z'));
  });

  it('is null when the window is closed now, or when no window applies', () => {
    expect(sendingWindowClosesAt({ ...base, zones: ['America/Los_Angeles'], now: at('2026-01-15T06:00:00Z') })).toBeNull();
    expect(sendingWindowClosesAt({ ...base, window: null, zones: ['America/Los_Angeles'], now: at('2026-01-15T20:00:00Z') })).toBeNull();
  });

  it('uses the company zone when the number tells none', () => {
    const now = at('2026-01-15T12:00:00Z'); // 12:00 UTC, 21:00 in Tokyo
    expect(sendingWindowClosesAt({ ...base, zones: [], companyZone: 'Asia/Tokyo', now: at('2026-01-15T03:00:00Z') })).toBe(now);
    expect(sendingWindowClosesAt({ ...base, zones: [], companyZone: 'Asia/Tokyo', now })).toBeNull();
  });
});
