import { escapeHtml, textToHtml } from '../html.js';
import type { ConsentAction, ConsentSource } from './opt-out-list.js';

const HOW: Record<ConsentSource, string> = {
  inbound_keyword: 'by text',
  twilio_21610: 'reported by Twilio',
  review: 'reply reviewed',
  import: 'imported',
  hand: 'by hand',
  pipedrive_field: 'set in Pipedrive',
  panel: 'from the deal panel',
};

/**
 * The Pipedrive activity that records a consent change the contact's own reply activity does not already tell: the
 * subject says how it came, the note what it means, the contact's text or the admin's reason (escaped) and who
 * decided.
 */
export function describeConsentActivity(change: {
  action: ConsentAction;
  source: ConsentSource;
  phoneE164: string;
  message: string | null;
  actor: string | null;
}): { subject: string; note: string } {
  const phone = escapeHtml(change.phoneE164);
  const optOut = change.action === 'opt_out';
  const subject = `SMS ${optOut ? 'opt-out' : 'opt-in'} (${HOW[change.source]})`;
  const parts: string[] = [];
  if (change.source === 'twilio_21610') {
    parts.push(`<p>Twilio refused to text ${phone} because the recipient has unsubscribed (error 21610). The number is now on the opt-out list and "SMS consent" is set to "Opted out".</p>`);
  } else if (optOut) {
    parts.push(`<p>${phone} is on the opt-out list and will not be texted again; "SMS consent" is set to "Opted out".</p>`);
  } else {
    parts.push(`<p>${phone} is off the opt-out list; "SMS consent" is set to "Granted".</p>`);
  }
  if (change.message !== null && change.message.trim() !== '') {
    const label = change.source === 'import' || change.source === 'hand' ? 'Reason' : 'Their message';
    parts.push(`<p>${label}: ${textToHtml(change.message)}</p>`);
  }
  if (change.actor !== null) parts.push(`<p>Decided by Pipedrive user ${escapeHtml(change.actor)}.</p>`);
  return { subject, note: parts.join('') };
}
