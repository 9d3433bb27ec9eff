/**
 * Quiet hours in the bench, whatever the time of day it runs at. The drain rounds text US numbers (Pacific to
 * Eastern time); the held rounds text Australian mobiles, which the app holds for their morning. So the company's
 * window is chosen from the clock: from an hour before the time in Los Angeles to five and a half hours after, which
 * is open now from Los Angeles to New York (three hours ahead) and closed in every Australian zone (16 to 19 hours
 * ahead, so 5 to 8 hours before the window's start). The bench lasts minutes; the window holds for hours.
 */

const QUARTER = 15;
const DAY_MINUTES = 24 * 60;
const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

export function daytimeWindowForUs(now: number): { start: string; end: string } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hourCycle: 'h23', hour: 'numeric', minute: 'numeric' }).formatToParts(now);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = part('hour') * 60 + part('minute');
  const start = (Math.floor((local - 60) / QUARTER) * QUARTER + DAY_MINUTES) % DAY_MINUTES;
  return { start: hhmm(start), end: hhmm((start + 390) % DAY_MINUTES) };
}

/** Distinct Australian mobile numbers (+61 4xx xxx xxx): every Australian zone is outside the window above. */
export function australianMobiles(): () => string {
  let n = 0;
  return () => `+6141${String(n++).padStart(7, '0')}`;
}
