import type { CompanyProfile } from '../companies/company-store.js';
import { writeConsentField } from '../consent/consent-field.js';
import { PipedriveApiError } from '../errors.js';
import type { InboundKind } from '../messaging/index.js';
import type { CrmPerson, CrmPort } from '../pipedrive/crm-port.js';
import { findPersonByPhone } from './person-match.js';
import { describeInboundActivity } from './reply-activity.js';

declare module '../jobs/job-queue.js' {
  interface JobPayloads {
    /** An inbound text logged as an activity; finds the person by phone when the conversation does not name one. */
    'inbound.log_reply': InboundReplyJob;
  }
}

/** The job that logs one inbound text in Pipedrive (kind `inbound.log_reply`, registered by the context). */
export type InboundReplyJob = {
  inboundId: string;
  from: string;
  fromE164: string | null;
  body: string;
  kind: InboundKind;
  numMedia: number;
  dealId: number | null;
  personId: number | null;
  /** The app never texted this number: the person is looked up by phone when the job runs, not in the webhook. */
  searchPerson: boolean;
  /**
   * The consent to write on the person the search finds. A person known from the conversation gets a
   * `pipedrive.set_consent` job instead. Cleared while queued when a later keyword from the number supersedes it.
   */
  consent: 'granted' | 'opted_out' | null;
  autoReply: string | null;
};

/**
 * Runs in the worker's job passes, so Pipedrive's 429/5xx (and 401s the client cannot refresh away) retry with backoff.
 * The person's name is read here rather than in the webhook, which answers Twilio without calling Pipedrive.
 */
export async function runInboundReplyJob(job: InboundReplyJob, company: CompanyProfile, crm: CrmPort): Promise<void> {
  let person: CrmPerson | null = null;
  let ambiguous = false;
  if (job.personId !== null) person = await crm.getPerson(job.personId);
  else if (job.searchPerson && job.fromE164) ({ person, ambiguous } = await findPersonByPhone(crm, job.fromE164));

  if (job.consent && person && job.personId === null) await writeConsentField(crm, company, person.id, job.consent);

  const { subject, note } = describeInboundActivity({
    kind: job.kind,
    body: job.body,
    from: job.from,
    numMedia: job.numMedia,
    personName: person?.name ?? null,
    linkedToPerson: person !== null,
    linkedToDeal: job.dealId !== null,
    ambiguous,
    autoReply: job.autoReply,
  });
  const activity = { subject, note, type: company.activity_type_key ?? 'task', done: true, dealId: job.dealId, personId: person?.id ?? null };
  try {
    await crm.addActivity(activity);
  } catch (error) {
    // The conversation's deal may have been deleted or merged away since: the reply still lands, on the person.
    if (!(error instanceof PipedriveApiError) || error.retryable || job.dealId === null) throw error;
    await crm.addActivity({ ...activity, dealId: null });
  }
}
