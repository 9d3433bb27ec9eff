import type { Consent } from '../messaging/index.js';
import type { CrmPerson } from '../pipedrive/crm-port.js';

type ConsentFieldConfig = {
  consent_field_key: string | null;
  consent_granted_option: string | null;
  consent_opted_out_option: string | null;
};

/** Reads the person's "SMS consent" field: only persons who granted consent are texted. Anything but the exact
 * "Granted" option is not consent. */
export function consentFromPerson(person: CrmPerson, company: ConsentFieldConfig): Consent {
  if (!company.consent_field_key) return 'none';
  const value = person.customFields[company.consent_field_key];
  // API v2 gives the option id; a webhook-shaped or v1 value may be {id} or a string.
  const id = value && typeof value === 'object' ? (value as { id?: unknown }).id : value;
  if (id === null || id === undefined) return 'none';
  if (company.consent_granted_option !== null && String(id) === company.consent_granted_option) return 'granted';
  if (company.consent_opted_out_option !== null && String(id) === company.consent_opted_out_option) return 'opted_out';
  return 'none';
}
