import type { Database } from '../../db/database.js';
import type { OutboundMessage } from '../../db/schema.js';
import type { CompanyProfile } from '../companies/company-store.js';
import type { OptOutList } from '../consent/opt-out-list.js';
import type { ConsentService } from '../consent/consent-service.js';
import { consentFromPerson } from '../consent/consent-field.js';
import { hasPendingReview } from '../consent/review-store.js';
import type { DealSnapshot } from '../automations/deal-event.js';
import { InstallationRevokedError, NotFoundError, SmsProviderError } from '../errors.js';
import type { Logger } from '../logger.js';
import { secondsSince, type Metrics, type SendResult } from '../metrics.js';
import { checkResolvedEligibility, composeMessage, resolveDefaultPhone } from '../messaging/index.js';
import type { CrmPerson, CrmPort } from '../pipedrive/crm-port.js';
import type { Installations } from '../pipedrive/installations.js';
import type { Sender, SenderDirectory } from '../twilio/senders.js';
import type { SmsPort } from '../twilio/sms-port.js';
import * as store from './outbox-store.js';
import type { Recovery } from './recovery.js';
import { classifySendFailure, isRetryablePipedriveError, type RetryPolicy, type SendFailure } from './retry-policy.js';
import type { createSenderPace } from './sender-pace.js';
import type { createFairShare } from './fair-share.js';
import { dealStillInTrigger, MAX_VALIDITY_SECONDS, sentLaterThanEvent, type SendRules } from './send-rules.js';
import { lockRecipient } from '../../db/queue-queries.js';

export type OutboxSenderDeps = {
  database: Database;
  installations: Installations;
  optOuts: OptOutList;
  /** Records a 21610 refusal as an opt-out, as every other source of one. */
  consent: ConsentService;
  sms: SmsPort;
  senders: SenderDirectory;
  log: Logger;
  now: () => number;
  appUrl: string;
  pace: ReturnType<typeof createSenderPace>;
  fair: ReturnType<typeof createFairShare>;
  retry: RetryPolicy;
  recovery: Recovery;
  /** Per-sender pacing; the benchmark turns it off to measure the drain itself. */
  rateLimit: boolean;
  /** The longest a claimed message waits for its sender's slot; what lies beyond stays queued. */
  holdMs: number;
  /** New work was queued (jobs after an opt-out): the loop should not sleep. */
  wake: () => void;
  /** Quiet hours and how long Twilio may keep an automation message. */
  rules: SendRules;
  /** Whether automation messages wait for the recipient's sending window, and meet the frequency cap (tests about
   * other things switch these off, so they never depend on the time of day or on how often they text one number). */
  quietHours: boolean;
  frequencyCap: boolean;
  metrics: Metrics;
};

const DAY_MS = 24 * 60 * 60_000;

/** A failure's meaning, as the sends counter names it. */
const SEND_RESULT: Record<SendFailure, SendResult> = { unsubscribed: 'unsubscribed', refused: 'refused', resend: 'rate_limited', look_first: 'unknown' };

/** Owner names change rarely and every message of a deal needs one: keep them a few minutes. */
const OWNER_TTL_MS = 5 * 60_000;

/** One claimed message: composed from the deal, person and owner as they are now, checked again, sent, recorded. */
export function createOutboxSender(deps: OutboxSenderDeps) {
  const { database, optOuts, sms, now, log, retry, recovery, metrics } = deps;
  const { db } = database;
  const owners = new Map<string, { name: string | null; at: number }>();
  const statusCallback = `${deps.appUrl}/webhooks/twilio/status`;
  const iso = (ms = now()) => new Date(ms).toISOString();
  const skip = (row: OutboundMessage, reason: string, extra: Partial<OutboundMessage> = {}) => store.markSkipped(db, row.id, reason, extra, now());

  async function ownerName(crm: CrmPort, companyId: string, ownerId: number | null): Promise<string | null> {
    if (ownerId === null) return null;
    const key = `${companyId}:${ownerId}`;
    const cached = owners.get(key);
    if (cached && now() - cached.at < OWNER_TTL_MS) return cached.name;
    const user = await crm.getUser(ownerId);
    owners.set(key, { name: user?.name ?? null, at: now() });
    return user?.name ?? null;
  }

  /**
   * `crmOf` is the pass's: the company's acting user is looked up once per pass, not once per message (a pass lasts
   * well under a second; without one, every message looks it up).
   */
  async function processMessage(
    row: OutboundMessage,
    companyOf: (id: string) => Promise<CompanyProfile | null>,
    crmOf: (companyId: string) => Promise<CrmPort> = (id) => deps.installations.crmFor(id),
  ): Promise<void> {
    const taken = process.hrtime.bigint();
    const company = await companyOf(row.company_id);
    if (!company) return store.markCancelled(db, row.id, 'company_removed', now());
    // The company's own account when it has one, else the app's default; read at send time, like consent.
    const sender = deps.senders.forCompany(company);
    if (!sender) return store.markFailed(db, row.id, 'claimed', { code: 'no_sender', message: 'No Twilio sender is configured' }, now());

    let crm: CrmPort;
    let person: CrmPerson | null;
    let owner: string | null;
    let dealMoved = false;
    const context = JSON.parse(row.context) as { deal?: DealSnapshot };
    const personId = row.person_id ?? context.deal?.personId ?? null;
    if (personId === null) return skip(row, 'no_person');
    const automation = row.source === 'automation';
    try {
      crm = await crmOf(row.company_id);
      // Sent later than its event (held, retried, or long in the queue): the deal is read again, never sent blind.
      if (automation && context.deal && sentLaterThanEvent(row, now())) {
        dealMoved = !dealStillInTrigger(await crm.getDeal(context.deal.id), context.deal);
      }
      person = dealMoved ? null : await crm.getPerson(personId);
      owner = dealMoved ? null : await ownerName(crm, row.company_id, context.deal?.ownerId ?? null);
    } catch (error) {
      if (error instanceof InstallationRevokedError || error instanceof NotFoundError) {
        return store.markFailed(db, row.id, 'claimed', { code: 'installation_revoked', message: error.message }, now());
      }
      if (isRetryablePipedriveError(error)) {
        return retry.retryLater(row, 'claimed', row.attempts + 1, { code: `pipedrive_${error.status}`, message: error.message });
      }
      throw error;
    }
    if (dealMoved) return skip(row, 'stage_changed');
    if (!person) return skip(row, 'no_person');

    const phone = resolveDefaultPhone(person.phones);
    const optedOut = phone.ok ? await optOuts.isOptedOut(company.id, sender.key, phone.e164) : false;
    const phoneFields = phone.ok ? { phone_raw: phone.raw, to_e164: phone.e164 } : {};
    const eligible = checkResolvedEligibility({ consent: consentFromPerson(person, company), optedOut, phone });
    if (!eligible.ok) return skip(row, eligible.reason, phoneFields);

    // Quiet hours: an automation message waits, unclaimed, for the recipient's window; a panel send never does.
    let validityPeriod = automation ? MAX_VALIDITY_SECONDS : undefined;
    if (automation && deps.quietHours) {
      const window = await deps.rules.sendingWindow(company, eligible.e164, now());
      if (!window.open && window.notBefore === null) return skip(row, 'no_sending_window', phoneFields);
      if (!window.open) return store.hold(db, row.id, window.notBefore, phoneFields, now());
      validityPeriod = window.validitySeconds;
    }

    const composed = composeMessage(
      row.template,
      {
        person: { first_name: person.firstName, last_name: person.lastName, name: person.name },
        deal: { title: context.deal?.title ?? null },
        user: { name: owner },
        company: { name: company.name },
      },
      { maxSegments: company.parsedSettings.maxSegments },
    );
    const measured = { body: composed.body, segments: composed.segments, encoding: composed.encoding };
    if (!composed.ok) return skip(row, composed.reason, { ...phoneFields, ...measured });

    if (deps.rateLimit) {
      const turn = await deps.pace.reserve(sender.key, deps.fair.rateOf(sender, company), deps.holdMs);
      // Hold a claim only for a short wait; a long queue behind one sender goes back to the table until its turn.
      if (!turn.reserved) return store.waitForTurn(db, row.id, now() + turn.waitMs, now());
      if (turn.waitMs > 0) await sleep(turn.waitMs);
    }

    const sendingAt = iso();
    const attempts = row.attempts + 1;
    const cap = automation && deps.frequencyCap ? company.parsedSettings.frequencyCap : 0;
    // Re-check the opt-out list and take the row to `sending` in one transaction: a STOP recorded a moment ago wins.
    // The frequency cap is counted in the same transaction, with the company's decisions about this number taken one
    // at a time (lockRecipient), so two workers can never both pass it: the second counts the first's `sending` row.
    const go = await database.transaction(async (trx) => {
      if (await optOuts.isOptedOut(company.id, sender.key, eligible.e164, trx)) {
        await store.markSkipped(trx, row.id, 'opted_out', phoneFields, Date.parse(sendingAt));
        return false;
      }
      // A reply that may be a request to stop is waiting for a person: automations leave the number alone until then.
      if (automation && (await hasPendingReview(trx, company.id, eligible.e164))) {
        await store.markSkipped(trx, row.id, 'opt_out_review', phoneFields, Date.parse(sendingAt));
        return false;
      }
      if (cap > 0) {
        await lockRecipient(database, trx, company.id, eligible.e164);
        const since = new Date(Date.parse(sendingAt) - DAY_MS).toISOString();
        if ((await store.automationSendsTo(trx, company.id, eligible.e164, since)) >= cap) {
          await store.markSkipped(trx, row.id, 'frequency_cap', { ...phoneFields, ...measured }, Date.parse(sendingAt));
          return false;
        }
      }
      return store.markSending(trx, row, { sending_at: sendingAt, attempts, sender: sender.key, person_name: person.name || null, ...phoneFields, ...measured });
    });
    if (!go) return;
    const sending: OutboundMessage = { ...row, state: 'sending', sending_at: sendingAt, attempts, to_e164: eligible.e164, body: composed.body, sender: sender.key };
    await send(sending, sender, person.id, company, taken, validityPeriod);
  }

  async function send(row: OutboundMessage, sender: Sender, personId: number, company: CompanyProfile, taken: bigint, validityPeriod?: number): Promise<void> {
    try {
      const sent = await sms.send(sender.account, {
        to: row.to_e164!,
        body: row.body!,
        from: sender.from,
        messagingServiceSid: sender.messagingServiceSid,
        statusCallback,
        // An automation message stuck upstream expires when the recipient's window closes, never arrives at night.
        ...(validityPeriod !== undefined ? { validityPeriod } : {}),
      });
      metrics.observeSendLatency(secondsSince(taken));
      metrics.observeEndToEndLatency((now() - Date.parse(row.created_at)) / 1000);
      metrics.sendFinished('sent', null);
      await recovery.confirmSent(row, sent.sid, sent.status, sender.account.accountSid);
      log.info({ id: row.id, companyId: row.company_id, sid: sent.sid }, 'SMS sent');
    } catch (error) {
      if (!(error instanceof SmsProviderError)) throw error;
      metrics.observeSendLatency(secondsSince(taken));
      await sendFailed(row, sender, personId, company, error);
    }
  }

  async function sendFailed(row: OutboundMessage, sender: Sender, personId: number, company: CompanyProfile, error: SmsProviderError) {
    const code = error.providerCode === null ? null : String(error.providerCode);
    const failure = classifySendFailure(error);
    metrics.sendFinished(SEND_RESULT[failure], error.providerCode);
    switch (failure) {
      case 'unsubscribed':
        await recordUnsubscribed(row, sender, personId, company, code, error.message);
        return;
      case 'refused':
        await store.markFailed(db, row.id, 'sending', { code, message: error.message }, now());
        log.warn({ id: row.id, code }, 'SMS refused by Twilio');
        return;
      case 'resend':
        return retry.retryLater(row, 'sending', row.attempts, { code: code ?? '429', message: error.message });
      case 'look_first':
        return recovery.reconcile(row, sender, { code: code ?? String(error.status || 'network'), message: error.message });
    }
  }

  /**
   * Twilio says the recipient unsubscribed: an opt-out like a STOP reply (the history, texts still waiting to go to
   * the number cancelled, the consent field and an activity in Pipedrive), recorded with the message's failure.
   */
  async function recordUnsubscribed(row: OutboundMessage, sender: Sender, personId: number, company: CompanyProfile, code: string | null, message: string) {
    const { cancelled } = await database.transaction(async (trx) => {
      await store.markFailed(trx, row.id, 'sending', { code, message }, now());
      return deps.consent.optOut(
        { companyId: company.id, phoneE164: row.to_e164!, sender, source: 'twilio_21610', personId, dealId: row.deal_id },
        trx,
      );
    });
    log.warn({ id: row.id, companyId: company.id, cancelled }, 'recipient unsubscribed at Twilio (21610): opt-out recorded');
    deps.wake();
  }

  return { processMessage };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
