import type { CompanyProfile } from '../companies/company-store.js';
import type { DealSnapshot } from '../automations/deal-event.js';
import type { RecipientZones } from '../geo/recipient-zones.js';
import { checkSendingWindow, hasStateWindowCap, sendingWindowClosesAt, type WindowQuery } from '../messaging/index.js';
import type { CrmDeal } from '../pipedrive/crm-port.js';

/**
 * The rules an automation message meets at send time besides consent: quiet hours in the recipient's local time, how
 * long Twilio may keep it, and whether its deal is still where the automation fired. Panel sends meet none of them: a
 * person chose to send that text now.
 */

/** The longest Twilio may keep an automation message queued; shorter when the recipient's window closes sooner. */
export const MAX_VALIDITY_SECONDS = 4 * 60 * 60;
/** Twilio recommends more than 5 seconds; a message that may reach the phone a minute after the window closed is tolerable. */
export const MIN_VALIDITY_SECONDS = 60;
/** A message whose event is older than this re-reads its deal even if it was neither held nor retried (a long queue). */
export const STALE_AFTER_MS = 5 * 60_000;

export type WindowVerdict =
  /** Send now; Twilio may keep it `validitySeconds` at most. */
  | { open: true; validitySeconds: number }
  /** Hold until the window opens. */
  | { open: false; notBefore: number }
  /** No minute of the week is inside every window for the recipient, even in the company's own zone. */
  | { open: false; notBefore: null };

/** The company's zone: the installing admin's, when known; else UTC. */
function companyZoneOf(company: CompanyProfile): string {
  return company.time_zone || 'UTC';
}

export function createSendRules(deps: { zones: RecipientZones }) {
  // Windows open and close on whole minutes, so within one minute the answer depends only on the zones, the window and
  // whether a state limit applies: a queue of a thousand texts to one city computes it once.
  type Known = { open: true; closesAt: number | null } | { open: false; notBefore: number | null };
  let cacheMinute = -1;
  const cache = new Map<string, Known>();

  /**
   * Whether the company's window is open for the recipient at `now`, in every zone their number may be in (the
   * company's zone when the number tells none). When the zones have no common minute (a number known only by a
   * country spanning eleven zones, say), the company's zone decides instead of holding the message for ever; when
   * even that has none (a night window against the Florida and Oklahoma limit), the answer is `notBefore: null`.
   */
  async function sendingWindow(company: CompanyProfile, e164: string, now: number): Promise<WindowVerdict> {
    const zones = await deps.zones.zonesOf(e164);
    const window = company.parsedSettings.quietHours;
    const minute = Math.floor(now / 60_000);
    if (minute !== cacheMinute || cache.size > 10_000) {
      cache.clear();
      cacheMinute = minute;
    }
    const key = `${zones.join(',')}|${companyZoneOf(company)}|${window ? `${window.start}-${window.end}` : 'off'}|${hasStateWindowCap(e164)}`;
    let known = cache.get(key);
    if (!known) cache.set(key, (known = decide({ window, zones, companyZone: companyZoneOf(company), e164, now })));
    if (!known.open) return known;
    const untilClose = known.closesAt === null ? MAX_VALIDITY_SECONDS : Math.floor((known.closesAt - now) / 1000);
    return { open: true, validitySeconds: Math.max(MIN_VALIDITY_SECONDS, Math.min(MAX_VALIDITY_SECONDS, untilClose)) };
  }

  function decide(query: WindowQuery): Known {
    let decision = checkSendingWindow(query);
    if (!decision.open && decision.notBefore === null && query.zones.length > 0) {
      query = { ...query, zones: [] };
      decision = checkSendingWindow(query);
    }
    return decision.open ? { open: true, closesAt: sendingWindowClosesAt(query) } : decision;
  }

  return { sendingWindow };
}

export type SendRules = ReturnType<typeof createSendRules>;

/**
 * Whether an automation message goes out later than its event: it waited for quiet hours, it is tried again, or its
 * queue was long. Its deal is then read again before it is sent.
 */
export function sentLaterThanEvent(
  row: { attempts: number; error_code: string | null; not_before: string | null; created_at: string },
  now: number,
): boolean {
  // A retry carries the error it met (a Pipedrive failure before any send) or a count of sends tried.
  return row.attempts > 0 || row.error_code !== null || row.not_before !== null || now - Date.parse(row.created_at) > STALE_AFTER_MS;
}

/**
 * The deal as Pipedrive has it now against the deal as it was when the automation fired: still open, in the stage
 * (and pipeline) it entered. A deleted, won or lost deal, or one moved on, is no longer what the text was written for.
 */
export function dealStillInTrigger(deal: CrmDeal | null, snapshot: DealSnapshot): boolean {
  if (!deal) return false;
  if (deal.status !== null && deal.status !== 'open') return false;
  if (snapshot.stageId !== null && deal.stageId !== snapshot.stageId) return false;
  if (snapshot.pipelineId !== null && deal.pipelineId !== snapshot.pipelineId) return false;
  return true;
}
