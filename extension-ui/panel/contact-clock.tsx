import { useMemo } from 'react';
import { checkSendingWindow, describeSendingWindow, hasStateWindowCap, isKnownTimeZone, STATE_CAP_WINDOW } from '../../server/messaging/sending-window';
import type { PanelView } from '../shared/api';

type WindowInfo = PanelView['sendingWindow'];

/** The zones the contact's local time is shown in: the number's, or the company's when the number tells none. */
function zonesOf(info: WindowInfo): string[] {
  const known = info.zones.filter((zone) => isKnownTimeZone(zone));
  if (known.length > 0) return known;
  return [info.companyZone && isKnownTimeZone(info.companyZone) ? info.companyZone : 'UTC'];
}

/** "New York" from "America/New_York": how the contact's place reads in a short line. */
function placeOf(zone: string): string {
  return (zone.split('/').pop() ?? zone).replaceAll('_', ' ');
}

export type ContactClock = {
  /** "23:10" (one zone) or "23:10 Anchorage, 22:10 Adak" (a number with several). */
  localTime: string;
  /** Null when a text would go inside the window now; else the sentence the send box shows. */
  outside: string | null;
};

/**
 * The contact's local time and whether a text sent now would fall outside their sending window (the company's quiet
 * hours, or the Florida and Oklahoma limit) in every zone of their number. The same pure functions as the server's
 * outbox, with the browser's clock: a panel send is never held, so this is a warning, not a rule.
 */
export function useContactClock(info: WindowInfo, e164: string | null, now: number): ContactClock {
  return useMemo(() => {
    const zones = zonesOf(info);
    const views = zones.map((zone) => describeSendingWindow({ window: info.quietHours, zone, now, e164: e164 ?? '' }));
    const localTime = views.length === 1 ? views[0]!.localTime : views.map((v) => `${v.localTime} ${placeOf(v.zone)}`).join(', ');
    const decision = checkSendingWindow({ window: info.quietHours, zones, companyZone: info.companyZone ?? 'UTC', e164: e164 ?? '', now });
    if (decision.open) return { localTime, outside: null };
    const rule = info.quietHours
      ? `quiet hours are ${info.quietHours.start}–${info.quietHours.end}`
      : e164 && hasStateWindowCap(e164)
        ? `Florida and Oklahoma numbers may be texted ${STATE_CAP_WINDOW.start}–${STATE_CAP_WINDOW.end} only`
        : 'outside the sending window';
    return { localTime, outside: `It is ${localTime} for this contact; ${rule}.` };
  }, [info, e164, now]);
}

/** The contact's local time, next to their number. */
export function ContactTime({ clock }: { clock: ContactClock }) {
  return (
    <span className="contact-time" data-testid="contact-time">
      {' · '}
      {clock.localTime} their time
    </span>
  );
}

const at = (instant: number, timeZone?: string) =>
  new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) }).format(
    instant,
  );

/** "Scheduled for Wed 08:00 (Tue 23:00 your time)": when a held message goes, in the contact's time and in the user's. */
export function ScheduledFor({ notBefore, info }: { notBefore: string; info: WindowInfo }) {
  const instant = Date.parse(notBefore);
  if (Number.isNaN(instant)) return null;
  const zone = zonesOf(info)[0];
  return (
    <span className="scheduled-for" data-testid="scheduled-for">
      Scheduled for {at(instant, zone)} ({at(instant)} your time)
    </span>
  );
}

/** The send box's warning outside the contact's window; after a first click on Send it asks for the second. */
export function OutsideWindow({ text, armed }: { text: string; armed: boolean }) {
  return (
    <p className="disabled-reason outside-window" data-testid="outside-window" role="note" aria-live="polite">
      {text} {armed ? 'Click “Send anyway” to send it now.' : 'A text sent from here is not held: it goes at once.'}
    </p>
  );
}
