// The "max" metadata is the only one whose isValid() checks number ranges (not just lengths): "+1 123 456 7890"
// has a plausible length but no such area code. Every import of libphonenumber-js in this module uses it.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type PhoneEntry = { value?: string | null; primary?: boolean | null; label?: string | null };

export type PhoneProblem = 'missing_phone' | 'invalid_phone';

export type NormalisedPhone = { ok: true; e164: string; country: string } | { ok: false; reason: PhoneProblem };

export type ResolvedPhone =
  | { ok: true; e164: string; country: string; raw: string }
  | { ok: false; reason: PhoneProblem };

function hasValue(entry: PhoneEntry): entry is PhoneEntry & { value: string } {
  return typeof entry.value === 'string' && entry.value.trim() !== '';
}

/**
 * Only the default phone is used: the value of the entry marked primary, else of the first entry; entries without a
 * value are passed over (Pipedrive keeps `[{ value: "", primary: true }]` on persons that never had a phone). Returns
 * the value as stored.
 */
export function pickPrimaryPhone(phones: readonly PhoneEntry[] | null | undefined): string | null {
  if (!Array.isArray(phones)) return null;
  const usable = (phones as readonly PhoneEntry[]).filter(
    (entry): entry is PhoneEntry & { value: string } => entry !== null && typeof entry === 'object' && hasValue(entry),
  );
  const primary = usable.find((entry) => entry.primary === true) ?? usable[0];
  return primary ? primary.value : null;
}

/**
 * Normalisation to E.164 (the stored value is never rewritten): "+…" is international; anything else is read as dialled
 * in the US (10 digits, or 11 starting with 1; "011…" works as the US international prefix). The whole value must be a
 * number (no "call me at …"). An extension is dropped, since E.164 has none. A number without a country (+800 freephone
 * and other non-geographic codes) cannot receive SMS and is invalid.
 */
export function normalisePhone(raw: string | null | undefined): NormalisedPhone {
  if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, reason: 'missing_phone' };
  const parsed = parsePhoneNumberFromString(raw.trim(), { defaultCountry: 'US', extract: false });
  if (!parsed || !parsed.country || !parsed.isValid()) return { ok: false, reason: 'invalid_phone' };
  return { ok: true, e164: parsed.number, country: parsed.country };
}

/** The default phone of a Pipedrive person, normalised, with the stored value untouched as `raw`. */
export function resolveDefaultPhone(phones: readonly PhoneEntry[] | null | undefined): ResolvedPhone {
  const raw = pickPrimaryPhone(phones);
  if (raw === null) return { ok: false, reason: 'missing_phone' };
  const normalised = normalisePhone(raw);
  if (!normalised.ok) return normalised;
  return { ...normalised, raw };
}
