import type { CompanyProfile } from '../companies/company-store.js';
import { PipedriveApiError } from '../errors.js';
import type { Consent } from '../messaging/index.js';
import type { CrmPerson, CrmPort } from '../pipedrive/crm-port.js';

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

/**
 * Writes a consent change to the person's "SMS consent" field, for a job that also logs an activity: without the field
 * the opt-out list alone keeps the number from being texted, and a refused write (person merged away, field deleted)
 * must not cost the job its activity. Pipedrive's 429/5xx are thrown, so the job is retried.
 */
export async function writeConsentField(crm: CrmPort, company: CompanyProfile, personId: number, consent: 'granted' | 'opted_out'): Promise<void> {
  const option = consent === 'granted' ? company.consent_granted_option : company.consent_opted_out_option;
  if (!company.consent_field_key || !option) return;
  try {
    await crm.setPersonField(personId, company.consent_field_key, Number(option));
  } catch (error) {
    if (!(error instanceof PipedriveApiError) || error.retryable) throw error;
  }
}
