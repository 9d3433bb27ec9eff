import type { CompanyProfile } from '../companies/company-store.js';
import type { CrmPort } from '../pipedrive/crm-port.js';
import { findPersonByPhone } from '../inbound/person-match.js';
import { writeConsentField } from './consent-field.js';

declare module '../jobs/job-queue.js' {
  interface JobPayloads {
    /** A consent change for a number whose person is not known: found by phone when the job runs. */
    'consent.mirror_by_phone': ConsentByPhoneJob;
  }
}

/** The job (kind `consent.mirror_by_phone`, registered by the context) that mirrors a change to a person found by phone. */
export type ConsentByPhoneJob = {
  phoneE164: string;
  /** Cleared while queued when a later change to the number supersedes it; the activity still runs. */
  consent: 'granted' | 'opted_out' | null;
  dealId: number | null;
  /** The activity that records the change; none when nothing in Pipedrive would show it. */
  activity: { subject: string; note: string } | null;
};

/**
 * Finds the one person whose default phone is the number (never guessing between several), writes their "SMS
 * consent" and logs the activity on them (and the deal, when the change names one). With nobody to link it to, the
 * consent history alone keeps the change: an activity on nothing would show to nobody.
 */
export async function runConsentByPhoneJob(job: ConsentByPhoneJob, company: CompanyProfile, crm: CrmPort): Promise<void> {
  const { person } = await findPersonByPhone(crm, job.phoneE164);
  if (person && job.consent) await writeConsentField(crm, company, person.id, job.consent);
  if (!job.activity || (!person && job.dealId === null)) return;
  await crm.addActivity({
    ...job.activity,
    type: company.activity_type_key ?? 'task',
    done: true,
    dealId: job.dealId,
    personId: person?.id ?? null,
  });
}
