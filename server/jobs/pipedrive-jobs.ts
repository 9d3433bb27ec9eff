import type { JobRunner } from './job-runner.js';
import { JobSkipped } from './job-runner.js';

/** The plain Pipedrive write-backs: the "SMS consent" field of a person, and an activity. */
export function registerPipedriveJobs(jobs: JobRunner): void {
  jobs.register('pipedrive.set_consent', async (p, company, crm) => {
    const option = p.consent === 'granted' ? company.consent_granted_option : company.consent_opted_out_option;
    if (!company.consent_field_key || !option) throw new JobSkipped('the "SMS consent" field is not provisioned');
    await crm.setPersonField(p.personId, company.consent_field_key, Number(option));
  });
  jobs.register('pipedrive.add_activity', async (p, company, crm) => {
    await crm.addActivity({
      subject: p.subject,
      type: company.activity_type_key ?? 'task',
      done: true,
      dealId: p.dealId,
      personId: p.personId,
      note: p.note,
    });
  });
}
