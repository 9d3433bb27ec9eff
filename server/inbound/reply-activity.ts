import type { InboundKind } from '../messaging/index.js';
import { escapeHtml, textToHtml } from '../html.js';

export type InboundActivityInput = {
  kind: InboundKind;
  body: string;
  /** The sender as received (E.164 for SMS). */
  from: string;
  numMedia: number;
  personName: string | null;
  /** True when the activity is linked to a person (a consent change could be written to it). */
  linkedToPerson: boolean;
  linkedToDeal: boolean;
  /** Several Pipedrive persons have this number as their primary phone. */
  ambiguous: boolean;
  autoReply: string | null;
};

/** Every reply becomes a Pipedrive activity: the subject names the person (or the number when nobody matched); the
 * contact's text is escaped. */
export function describeInboundActivity(input: InboundActivityInput): { subject: string; note: string } {
  const who = input.personName?.trim() || input.from;
  const subject = {
    opt_out: `SMS opt-out from ${who}`,
    opt_in: `SMS opt-in from ${who}`,
    help: `SMS help request from ${who}`,
    possible_opt_out: `SMS reply from ${who}: possible opt-out request`,
    none: `SMS reply from ${who}`,
  }[input.kind];

  const from = escapeHtml(input.from);
  const parts: string[] = [input.body.trim() === '' ? '<p><em>(no text)</em></p>' : `<p>${textToHtml(input.body)}</p>`];
  if (input.numMedia > 0) parts.push(`<p><em>${input.numMedia} attachment(s) not shown.</em></p>`);
  switch (input.kind) {
    case 'opt_out':
      parts.push(
        `<p>Opt-out keyword: ${from} is on the opt-out list and will not be texted again` +
          `${input.linkedToPerson ? '; "SMS consent" is set to "Opted out"' : ''}.</p>`,
      );
      break;
    case 'opt_in':
      parts.push(
        `<p>Opt-in keyword: ${from} is off the opt-out list${input.linkedToPerson ? '; "SMS consent" is set to "Granted"' : ''}.</p>`,
      );
      break;
    case 'possible_opt_out':
      parts.push(
        '<p><strong>Possible opt-out request.</strong> This reply may ask for texts to stop, which is binding even ' +
          'without the STOP keyword. Please read it and, if so, set "SMS consent" to "Opted out".</p>',
      );
      break;
    default:
      break;
  }
  if (input.autoReply) parts.push(`<p>Answered automatically: ${escapeHtml(input.autoReply)}</p>`);
  if (!input.linkedToPerson && !input.linkedToDeal) {
    const why = input.ambiguous ? 'several persons have it as their primary phone' : 'no person has it as their primary phone';
    parts.push(`<p>From ${from}: not linked to anyone, ${why}.</p>`);
  }
  return { subject, note: parts.join('') };
}
