import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';
import { parseCompanySettings, type CompanySettings } from '../companies/company-settings.js';
import type { OptOutList } from '../consent/opt-out-list.js';
import type { Logger } from '../logger.js';
import {
  classifyInbound,
  defaultHelpText,
  OPT_IN_CONFIRMATION,
  OPT_OUT_CONFIRMATION,
  providerHandlesKeyword,
  type InboundKind,
} from '../messaging/index.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { cancelToNumber } from '../outbox/outbox-store.js';
import type { ReceivingSender, SenderDirectory } from '../twilio/senders.js';
import { attributeInbound, companiesOnSender, type Attribution } from './attribution.js';
import { supersedeConsentWrites } from './consent-writes.js';
import type { InboundReplyJob } from './reply-job.js';

/** An inbound SMS as the webhook validated it. */
export type InboundSms = {
  messageSid: string;
  accountSid: string;
  from: string;
  to: string;
  body: string;
  messagingServiceSid: string | null;
  /** Twilio's own classification (Advanced Opt-Out): STOP, START or HELP. */
  optOutType: string | null;
  numMedia: number;
};

export type InboundResult = {
  id: string;
  /** Twilio's retry of a message already recorded: nothing was done again. */
  duplicate: boolean;
  kind: InboundKind;
  companyId: string | null;
  /** Texts to answer with in TwiML; none for a duplicate. */
  replies: string[];
};

export type InboundDeps = {
  database: Database;
  optOuts: OptOutList;
  senders: SenderDirectory;
  logger: Logger;
  now: () => number;
};

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * The inbound side of the SMS policy: opt-out, opt-in and HELP keywords, and every reply becoming a Pipedrive
 * activity. Everything a text decides is written in one transaction, with no call to
 * Pipedrive or Twilio: the message, the opt-out history, cancelled queued messages, and the jobs that write the
 * consent field and the activity, which the outbox worker runs and retries. So the webhook answers Twilio at once
 * and nothing is lost when Pipedrive is down.
 */
export function createInboundService(deps: InboundDeps) {
  const { database, optOuts, now } = deps;
  const log = deps.logger.child({ subsystem: 'inbound' });

  async function receive(sms: InboundSms): Promise<InboundResult> {
    const at = new Date(now()).toISOString();
    // The account and address the text arrived on: a company's own number, or the app's shared sender.
    const received = await deps.senders.receiving(sms);
    const sender = received?.sender ?? null;
    const from = sms.from.trim();
    const fromE164 = E164.test(from) ? from : null;
    const kind = classifyInbound(sms.body, sms.optOutType);
    const id = randomUUID();

    const result = await database.transaction(async (trx): Promise<InboundResult> => {
      // First, so that a concurrent retry of the same MessageSid waits on the unique key and then finds this one.
      const inserted = await trx
        .insertInto('inbound_messages')
        .values({
          id,
          company_id: null,
          provider_sid: sms.messageSid,
          account_sid: sms.accountSid,
          sender: sender?.key ?? null,
          to_address: sms.to,
          from_address: from,
          from_e164: fromE164,
          body: sms.body,
          num_media: sms.numMedia,
          kind,
          possible_opt_out: kind === 'possible_opt_out' ? 1 : 0,
          attribution: 'none',
          reply_to_message_id: null,
          deal_id: null,
          person_id: null,
          activity_job_id: null,
          auto_reply: null,
          received_at: at,
        })
        .onConflict((oc) => oc.column('provider_sid').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) {
        const earlier = await trx
          .selectFrom('inbound_messages')
          .select(['id', 'kind', 'company_id'])
          .where('provider_sid', '=', sms.messageSid)
          .executeTakeFirstOrThrow();
        // No reply the second time: a confirmation must never reach the contact twice, and losing one in
        // the rare retry after a timed-out answer is the lesser harm.
        return { id: earlier.id, duplicate: true, kind: earlier.kind, companyId: earlier.company_id, replies: [] };
      }

      const attribution = await attributeInbound(trx, received, fromE164);
      const company = attribution.companyId
        ? await trx.selectFrom('companies').select(['name', 'settings']).where('id', '=', attribution.companyId).executeTakeFirst()
        : undefined;
      const reply = keywordReply(kind, sms, parseCompanySettings(company?.settings), company?.name ?? null);

      const consent = kind === 'opt_out' ? 'opted_out' : kind === 'opt_in' ? 'granted' : null;
      if (consent && fromE164 && received) await applyConsentChange(trx, { consent, phoneE164: fromE164, received, attribution, body: sms.body, at });

      let jobId: string | null = null;
      if (attribution.companyId) {
        const searchPerson = attribution.how === 'phone_search' && fromE164 !== null;
        jobId = await enqueueReplyJob(trx, attribution.companyId, {
          inboundId: id,
          from,
          fromE164,
          body: sms.body,
          kind,
          numMedia: sms.numMedia,
          dealId: attribution.dealId,
          personId: attribution.personId,
          searchPerson,
          consent: searchPerson ? consent : null,
          autoReply: reply,
        });
      }

      await trx
        .updateTable('inbound_messages')
        .set({
          company_id: attribution.companyId,
          attribution: attribution.how,
          reply_to_message_id: attribution.replyToMessageId,
          deal_id: attribution.dealId,
          person_id: attribution.personId,
          activity_job_id: jobId,
          auto_reply: reply,
        })
        .where('id', '=', id)
        .execute();
      return { id, duplicate: false, kind, companyId: attribution.companyId, replies: reply ? [reply] : [] };
    });

    // Ids only: numbers and texts of contacts stay out of the logs.
    log.info(
      { id: result.id, sid: sms.messageSid, companyId: result.companyId, kind: result.kind, duplicate: result.duplicate, replied: result.replies.length > 0 },
      result.duplicate ? 'inbound SMS retried by Twilio: already recorded' : 'inbound SMS recorded',
    );
    return result;
  }

  /**
   * An opt-out or opt-in: the history row (one per company the change applies to), queued texts to the number cancelled
   * on an opt-out, and the Pipedrive consent write for a person the conversation names. A person still to be found by
   * phone gets the write in the reply job instead.
   */
  async function applyConsentChange(
    trx: Kysely<Schema>,
    change: { consent: 'opted_out' | 'granted'; phoneE164: string; received: ReceivingSender; attribution: Attribution; body: string; at: string },
  ): Promise<void> {
    const { attribution, phoneE164, received, at } = change;
    const sender = received.sender;
    // A number no company can be told apart from: the sender blocks it for all of them, so all of them record it.
    const companies = attribution.companyId ? [attribution.companyId] : await companiesOnSender(trx, received);
    for (const companyId of companies) {
      await optOuts.record(
        {
          companyId,
          phoneE164,
          sender: sender.key,
          action: change.consent === 'opted_out' ? 'opt_out' : 'opt_in',
          source: 'inbound_keyword',
          message: change.body,
          personId: attribution.personId,
        },
        trx,
      );
    }
    if (companies.length === 0) log.warn({ sender: sender.key }, 'keyword received while no company is installed: nothing to record it for');

    if (change.consent === 'opted_out') {
      // Every company on a shared sender is bound by the opt-out, so their queued texts to the number go too. Rows
      // queued by a deal event have no number yet; those of the person the conversation names are theirs. The
      // worker re-checks the list before sending anyway; this makes the report say why.
      await cancelToNumber(trx, { phoneE164, companyId: attribution.companyId, personId: attribution.personId }, at);
    }

    if (attribution.companyId) {
      await supersedeConsentWrites(trx, { companyId: attribution.companyId, personId: attribution.personId, phoneE164 }, at);
      if (attribution.personId !== null) {
        await enqueueJob(trx, attribution.companyId, 'pipedrive.set_consent', { personId: attribution.personId, consent: change.consent }, now());
      }
    }
  }

  function enqueueReplyJob(trx: Kysely<Schema>, companyId: string, payload: InboundReplyJob): Promise<string> {
    return enqueueJob(trx, companyId, 'inbound.log_reply', payload, now());
  }

  return { receive };
}

export type InboundService = ReturnType<typeof createInboundService>;

/**
 * The app answers a keyword only where Twilio does not (the two-word STOP ALL, or a company whose sender
 * has no Twilio keyword handling), so the contact never gets the confirmation twice.
 */
function keywordReply(kind: InboundKind, sms: InboundSms, settings: CompanySettings, companyName: string | null): string | null {
  if (kind !== 'opt_out' && kind !== 'opt_in' && kind !== 'help') return null;
  const appAnswers = settings.keywordReplies === 'app' || !providerHandlesKeyword(sms.body, sms.optOutType);
  if (!appAnswers) return null;
  if (kind === 'opt_out') return OPT_OUT_CONFIRMATION;
  if (kind === 'opt_in') return OPT_IN_CONFIRMATION;
  return settings.helpText ?? defaultHelpText(companyName);
}
