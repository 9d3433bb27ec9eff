import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';
import { parseCompanySettings, type CompanySettings } from '../companies/company-settings.js';
import type { ConsentService } from '../consent/consent-service.js';
import { openPossibleOptOut } from '../consent/review-service.js';
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
import type { SenderDirectory } from '../twilio/senders.js';
import { attributeInbound } from './attribution.js';
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
  consent: ConsentService;
  senders: SenderDirectory;
  logger: Logger;
  now: () => number;
};

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * The inbound side of the SMS policy: opt-out, opt-in and HELP keywords, and every reply becoming a Pipedrive
 * activity. Everything a text decides is written in one transaction, with no call to
 * Pipedrive or Twilio: the message, the consent change (through the consent service, as every source of one), and the
 * job that logs the activity, which the outbox worker runs and retries. So the webhook answers Twilio at once
 * and nothing is lost when Pipedrive is down.
 */
export function createInboundService(deps: InboundDeps) {
  const { database, now } = deps;
  const log = deps.logger.child({ subsystem: 'inbound' });

  async function receive(sms: InboundSms): Promise<InboundResult> {
    const at = new Date(now()).toISOString();
    // The account and address the text arrived on: a company's own number, or the app's shared sender.
    const received = await deps.senders.receiving(sms);
    const sender = received?.sender ?? null;
    const from = sms.from.trim();
    const fromE164 = E164.test(from) ? from : null;
    // Read as the whole reply first; a company that reads any opt-out word as one may make it an opt-out below.
    const exactKind = classifyInbound(sms.body, sms.optOutType);
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
          kind: exactKind,
          possible_opt_out: exactKind === 'possible_opt_out' ? 1 : 0,
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
        ? await trx.selectFrom('companies').select(['name', 'settings', 'time_zone']).where('id', '=', attribution.companyId).executeTakeFirst()
        : undefined;
      const settings = parseCompanySettings(company?.settings);
      const kind = classifyInbound(sms.body, sms.optOutType, settings.optOutWords);
      const reply = keywordReply(kind, sms, settings, company?.name ?? null);

      const consent = kind === 'opt_out' ? 'opted_out' : kind === 'opt_in' ? 'granted' : null;
      if (consent && fromE164 && received) {
        // A person still to be found by phone gets the consent write in the reply job, whose activity tells the change.
        await deps.consent.change(
          kind === 'opt_out' ? 'opt_out' : 'opt_in',
          {
            companyId: attribution.companyId,
            phoneE164: fromE164,
            sender: received.sender,
            source: 'inbound_keyword',
            message: sms.body,
            personId: attribution.personId,
            dealId: attribution.dealId,
            pipedrive: 'reply',
          },
          trx,
        );
      }

      // A possible opt-out waits for a person's decision; until then automations leave the number alone. A number
      // with a review pending already joins it.
      if (kind === 'possible_opt_out' && attribution.companyId && fromE164) {
        await openPossibleOptOut(trx, {
          companyId: attribution.companyId,
          zone: company?.time_zone ?? null,
          phoneE164: fromE164,
          inboundMessageId: id,
          body: sms.body,
          receivedAt: Date.parse(at),
          dealId: attribution.dealId,
          personId: attribution.personId,
        });
      }

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
          kind,
          possible_opt_out: kind === 'possible_opt_out' ? 1 : 0,
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

  function enqueueReplyJob(trx: Kysely<Schema>, companyId: string, payload: InboundReplyJob): Promise<string> {
    return enqueueJob(trx, companyId, 'inbound.log_reply', payload, now());
  }

  return { receive };
}

export type InboundService = ReturnType<typeof createInboundService>;

/**
 * The app answers a keyword only where Twilio does not, so the contact never gets the confirmation twice: Twilio
 * answers (and blocks the number for) its own single-word keywords, and nothing else. So the app confirms the forms it
 * does not handle (STOP ALL, OPT OUT, OPT-OUT, and, for a company that reads any opt-out word as one, a reply such as
 * "please stop texting me"), and every keyword for a company whose sender has no Twilio keyword handling. Where
 * Twilio did not block the number, the app's own opt-out list keeps it from being texted.
 */
function keywordReply(kind: InboundKind, sms: InboundSms, settings: CompanySettings, companyName: string | null): string | null {
  if (kind !== 'opt_out' && kind !== 'opt_in' && kind !== 'help') return null;
  const appAnswers = settings.keywordReplies === 'app' || !providerHandlesKeyword(sms.body, sms.optOutType);
  if (!appAnswers) return null;
  if (kind === 'opt_out') return OPT_OUT_CONFIRMATION;
  if (kind === 'opt_in') return OPT_IN_CONFIRMATION;
  return settings.helpText ?? defaultHelpText(companyName);
}
