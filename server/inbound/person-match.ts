import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { resolveDefaultPhone } from '../messaging/index.js';
import type { CrmPerson, CrmPort } from '../pipedrive/crm-port.js';

export type PhoneMatch = { person: CrmPerson | null; ambiguous: boolean };

/** Enough for a real number; a search returning more than this is too vague to pick from anyway. */
const MAX_CANDIDATES = 10;

/**
 * The one Pipedrive person whose default phone is this number. Pipedrive's phone search matches on the digits as
 * stored, and people store "(415) 555-2671" as often as "+1 415 555 2671", so it is asked for the national digits
 * and for the E.164 form; each hit is then confirmed on the normalised primary phone, because the search
 * also matches fragments and secondary phones. Several confirmed persons are never guessed between.
 */
export async function findPersonByPhone(crm: CrmPort, e164: string): Promise<PhoneMatch> {
  const national = parsePhoneNumberFromString(e164)?.nationalNumber ?? null;
  const terms = [...new Set([national, e164])].filter((t): t is string => t !== null && t.replace(/\D/g, '').length >= 2);
  const ids: number[] = [];
  for (const term of terms) {
    for (const hit of await crm.searchPersonsByPhone(term)) if (!ids.includes(hit.id)) ids.push(hit.id);
  }
  const matches: CrmPerson[] = [];
  for (const id of ids.slice(0, MAX_CANDIDATES)) {
    const person = await crm.getPerson(id);
    if (!person) continue;
    const phone = resolveDefaultPhone(person.phones);
    if (phone.ok && phone.e164 === e164) matches.push(person);
  }
  return { person: matches.length === 1 ? matches[0]! : null, ambiguous: matches.length > 1 };
}
