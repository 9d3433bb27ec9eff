import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema, Job } from '../../db/schema.js';
import type { CompanyProfile } from '../companies/company-store.js';
import type { CrmPort } from '../pipedrive/crm-port.js';
import { runInboundReplyJob, type InboundReplyJob } from '../inbound/reply-job.js';

/**
 * Pipedrive write-backs that must not be lost when Pipedrive is down (consent field changes, activities): written
 * to the jobs table in the transaction that decided them, run and retried by the outbox worker.
 */
export type JobPayloads = {
  'pipedrive.set_consent': { personId: number; consent: 'granted' | 'opted_out' };
  'pipedrive.add_activity': { subject: string; note: string; dealId: number | null; personId: number | null };
  /** An inbound text logged as an activity; finds the person by phone when the conversation does not name one. */
  'inbound.log_reply': InboundReplyJob;
};
export type JobKind = keyof JobPayloads;

export async function enqueueJob<K extends JobKind>(
  db: Kysely<Schema>,
  companyId: string,
  kind: K,
  payload: JobPayloads[K],
  now: number,
): Promise<void> {
  const at = new Date(now).toISOString();
  await db
    .insertInto('jobs')
    .values({
      id: randomUUID(),
      company_id: companyId,
      kind,
      payload: JSON.stringify(payload),
      state: 'queued',
      next_attempt_at: at,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

export class JobSkipped extends Error {}

export async function runJob(job: Job, company: CompanyProfile, crm: CrmPort): Promise<void> {
  switch (job.kind as JobKind) {
    case 'pipedrive.set_consent': {
      const p = JSON.parse(job.payload) as JobPayloads['pipedrive.set_consent'];
      const option = p.consent === 'granted' ? company.consent_granted_option : company.consent_opted_out_option;
      if (!company.consent_field_key || !option) throw new JobSkipped('the "SMS consent" field is not provisioned');
      await crm.setPersonField(p.personId, company.consent_field_key, Number(option));
      return;
    }
    case 'pipedrive.add_activity': {
      const p = JSON.parse(job.payload) as JobPayloads['pipedrive.add_activity'];
      await crm.addActivity({
        subject: p.subject,
        type: company.activity_type_key ?? 'task',
        done: true,
        dealId: p.dealId,
        personId: p.personId,
        note: p.note,
      });
      return;
    }
    case 'inbound.log_reply':
      await runInboundReplyJob(JSON.parse(job.payload) as JobPayloads['inbound.log_reply'], company, crm);
      return;
    default:
      throw new JobSkipped(`unknown job kind ${job.kind}`);
  }
}
