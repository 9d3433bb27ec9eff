import { resolveDefaultPhone, type PhoneEntry, type ResolvedPhone } from './phone.js';

export type Consent = 'granted' | 'opted_out' | 'none';

export type EligibilityInput = {
  consent: Consent | null | undefined;
  /** The number is on the company's (or the shared sender's) opt-out list. */
  optedOut: boolean;
  phones: readonly PhoneEntry[] | null | undefined;
};

export type Eligibility =
  | { ok: true; e164: string; raw: string }
  | { ok: false; reason: 'no_consent' | 'opted_out' | 'missing_phone' | 'invalid_phone' };

/**
 * Consent (the field and the opt-out list), then the primary phone, then its E.164 form, in that order. An opt-out
 * (list or field) beats a "granted" field, because the list also records opt-outs that have not reached Pipedrive yet;
 * consent must be exactly "granted", never assumed.
 */
export function checkEligibility(input: EligibilityInput): Eligibility {
  return checkResolvedEligibility({ consent: input.consent, optedOut: input.optedOut, phone: resolveDefaultPhone(input.phones) });
}

/** The same decision for a caller that has already resolved the phone (to look it up on the opt-out list). */
export function checkResolvedEligibility(input: { consent: Consent | null | undefined; optedOut: boolean; phone: ResolvedPhone }): Eligibility {
  if (input.optedOut || input.consent === 'opted_out') return { ok: false, reason: 'opted_out' };
  if (input.consent !== 'granted') return { ok: false, reason: 'no_consent' };
  if (!input.phone.ok) return { ok: false, reason: input.phone.reason };
  return { ok: true, e164: input.phone.e164, raw: input.phone.raw };
}
