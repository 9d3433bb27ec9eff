import type { Database } from '../../db/database.js';
import type { Job, OutboundMessage } from '../../db/schema.js';
import { claimDueJobs } from '../../db/queue-queries.js';
import { DEFAULT_RETENTION, pruneExpired, type RetentionDays } from './housekeeping.js';
import type { CompanyProfile, CompanyStore } from '../companies/company-store.js';
import type { OptOutList } from '../consent/opt-out-list.js';
import { InstallationRevokedError, NotFoundError, PipedriveApiError, SmsProviderError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkResolvedEligibility, composeMessage, resolveDefaultPhone } from '../messaging/index.js';
import { consentFromPerson } from '../consent/consent-field.js';
import type { DealSnapshot } from '../automations/deal-event.js';
import type { CrmPerson, CrmPort } from '../pipedrive/crm-port.js';
import type { Installations } from '../pipedrive/installations.js';
import type { Sender, SenderDirectory } from '../twilio/senders.js';
import type { SmsPort } from '../twilio/sms-port.js';
import { enqueueJob, JobSkipped, runJob } from './jobs.js';
import { escapeHtml } from '../html.js';
import { isProgress } from './message-status.js';
import { createSenderPace } from './sender-pace.js';
import { createFairShare } from './fair-share.js';
import * as store from './outbox-store.js';

export type OutboxWorkerOptions = {
  /** Messages and jobs handled at once. */
  concurrency: number;
  pollMs: number;
  /** How long a claim holds before another worker may take the row back (nothing was sent yet). */
  leaseMs: number;
  /** A send unconfirmed for this long is looked up at Twilio (longer than the HTTP timeout). */
  sendingStaleMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  /** Per-sender pacing; the benchmark turns it off to measure the drain itself. */
  rateLimit: boolean;
  /** How often expired records are pruned (see housekeeping.ts); the first pass after start does it too. */
  housekeepingEveryMs: number;
  retention: RetentionDays;
};

export const DEFAULT_WORKER_OPTIONS: OutboxWorkerOptions = {
  concurrency: 16,
  pollMs: 500,
  leaseMs: 60_000,
  sendingStaleMs: 120_000,
  retryBaseMs: 2_000,
  retryMaxMs: 10 * 60_000,
  maxAttempts: 8,
  rateLimit: true,
  housekeepingEveryMs: 60 * 60_000,
  retention: DEFAULT_RETENTION,
};

export type OutboxDeps = {
  database: Database;
  installations: Installations;
  companies: CompanyStore;
  optOuts: OptOutList;
  sms: SmsPort;
  logger: Logger;
  now: () => number;
  appUrl: string;
  senders: SenderDirectory;
  /** Messages per second on the app's shared sender (SHARED_SENDER_RATE), all companies together. */
  sharedSenderRate: number;
};

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;

/** Owner names change rarely and every message of a deal needs one: keep them a few minutes. */
const OWNER_TTL_MS = 5 * 60_000;
/** The longest a claimed message waits for its sender's slot; what lies beyond stays queued. */
const HOLD_MS = 2_000;

export function createOutboxWorker(deps: OutboxDeps, overrides: Partial<OutboxWorkerOptions> = {}) {
  const options = { ...DEFAULT_WORKER_OPTIONS, ...overrides };
  const { database, optOuts, sms, now } = deps;
  const { db } = database;
  const log = deps.logger.child({ subsystem: 'outbox' });
  const pace = createSenderPace(database, now);
  const fair = createFairShare({ database, senders: deps.senders, pace, sharedSenderRate: deps.sharedSenderRate, now }, { rateLimit: options.rateLimit, holdMs: HOLD_MS });
  const owners = new Map<string, { name: string | null; at: number }>();
  const statusCallback = `${deps.appUrl}/webhooks/twilio/status`;
  const iso = (ms = now()) => new Date(ms).toISOString();

  let running = false;
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  let lastRecovery = 0;
  let lastHousekeeping = 0;

  // ---- state transitions: each is conditional on the row still being ours --------------------------------------

  const skip = (row: OutboundMessage, reason: string, extra: Partial<OutboundMessage> = {}) => store.markSkipped(db, row.id, reason, extra, now());

  function backoff(attempts: number): number {
    const ceiling = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    // Half fixed, half random: spreads retries of a burst without ever retrying immediately.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  async function retryLater(row: OutboundMessage, fromState: 'claimed' | 'sending', attempts: number, error: { code: string | null; message: string }) {
    if (attempts >= options.maxAttempts) {
      await store.markFailed(db, row.id, fromState, { code: error.code, message: `${error.message} (gave up after ${attempts} attempts)` }, now());
      return;
    }
    await store.retryLater(db, row.id, fromState, now() + backoff(attempts), error, now());
  }

  // ---- reading what the message needs ---------------------------------------------------------------------------

  async function ownerName(crm: CrmPort, companyId: string, ownerId: number | null): Promise<string | null> {
    if (ownerId === null) return null;
    const key = `${companyId}:${ownerId}`;
    const cached = owners.get(key);
    if (cached && now() - cached.at < OWNER_TTL_MS) return cached.name;
    const user = await crm.getUser(ownerId);
    owners.set(key, { name: user?.name ?? null, at: now() });
    return user?.name ?? null;
  }

  // ---- one message -----------------------------------------------------------------------------------------------

  async function processMessage(row: OutboundMessage, companyOf: (id: string) => Promise<CompanyProfile | null>): Promise<void> {
    const company = await companyOf(row.company_id);
    if (!company) return store.markCancelled(db, row.id, 'company_removed', now());
    // The company's own account when it has one, else the app's default; read at send time, like consent.
    const sender = deps.senders.forCompany(company);
    if (!sender) return store.markFailed(db, row.id, 'claimed', { code: 'no_sender', message: 'No Twilio sender is configured' }, now());

    let crm: CrmPort;
    let person: CrmPerson | null;
    let owner: string | null;
    const context = JSON.parse(row.context) as { deal?: DealSnapshot };
    const personId = row.person_id ?? context.deal?.personId ?? null;
    if (personId === null) return skip(row, 'no_person');
    try {
      crm = await deps.installations.crmFor(row.company_id);
      person = await crm.getPerson(personId);
      owner = await ownerName(crm, row.company_id, context.deal?.ownerId ?? null);
    } catch (error) {
      if (error instanceof InstallationRevokedError || error instanceof NotFoundError) {
        return store.markFailed(db, row.id, 'claimed', { code: 'installation_revoked', message: error.message }, now());
      }
      if (error instanceof PipedriveApiError && error.retryable) {
        return retryLater(row, 'claimed', row.attempts + 1, { code: `pipedrive_${error.status}`, message: error.message });
      }
      throw error;
    }
    if (!person) return skip(row, 'no_person');

    const phone = resolveDefaultPhone(person.phones);
    const optedOut = phone.ok ? await optOuts.isOptedOut(company.id, sender.key, phone.e164) : false;
    const phoneFields = phone.ok ? { phone_raw: phone.raw, to_e164: phone.e164 } : {};
    const eligible = checkResolvedEligibility({ consent: consentFromPerson(person, company), optedOut, phone });
    if (!eligible.ok) return skip(row, eligible.reason, phoneFields);

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

    if (options.rateLimit) {
      const turn = await pace.reserve(sender.key, fair.rateOf(sender, company), HOLD_MS);
      // Hold a claim only for a short wait; a long queue behind one sender goes back to the table until its turn.
      if (!turn.reserved) return store.waitForTurn(db, row.id, now() + turn.waitMs, now());
      if (turn.waitMs > 0) await sleep(turn.waitMs);
    }

    const sendingAt = iso();
    const attempts = row.attempts + 1;
    // Re-check the opt-out list and take the row to `sending` in one transaction: a STOP recorded a moment ago wins.
    const go = await database.transaction(async (trx) => {
      if (await optOuts.isOptedOut(company.id, sender.key, eligible.e164, trx)) {
        await store.markSkipped(trx, row.id, 'opted_out', phoneFields, Date.parse(sendingAt));
        return false;
      }
      return store.markSending(trx, row, { sending_at: sendingAt, attempts, sender: sender.key, ...phoneFields, ...measured });
    });
    if (!go) return;
    const sending: OutboundMessage = { ...row, state: 'sending', sending_at: sendingAt, attempts, to_e164: eligible.e164, body: composed.body, sender: sender.key };
    await send(sending, sender, person.id, company);
  }

  async function send(row: OutboundMessage, sender: Sender, personId: number, company: CompanyProfile): Promise<void> {
    try {
      const sent = await sms.send(sender.account, {
        to: row.to_e164!,
        body: row.body!,
        from: sender.from,
        messagingServiceSid: sender.messagingServiceSid,
        statusCallback,
      });
      await markSent(row, sent.sid, sent.status, sender.account.accountSid);
      log.info({ id: row.id, companyId: row.company_id, sid: sent.sid }, 'SMS sent');
    } catch (error) {
      if (!(error instanceof SmsProviderError)) throw error;
      await sendFailed(row, sender, personId, company, error);
    }
  }

  async function markSent(row: OutboundMessage, sid: string, status: string, accountSid: string): Promise<void> {
    // A status callback may have arrived before this confirmation: take the furthest status seen, from callbacks of
    // the account that sent it only (another account's callback naming this message changes nothing).
    const early = await db
      .selectFrom('message_status_events')
      .select(['status', 'error_code'])
      .where('provider_sid', '=', sid)
      .where('account_sid', '=', accountSid)
      .execute();
    let best = { status, error: null as string | null };
    for (const e of early) if (isProgress(best.status, e.status)) best = { status: e.status, error: e.error_code };
    await store.markSent(db, row.id, { sid, accountSid, status: best.status, errorCode: best.error }, now());
  }

  async function sendFailed(row: OutboundMessage, sender: Sender, personId: number, company: CompanyProfile, error: SmsProviderError) {
    const code = error.providerCode === null ? null : String(error.providerCode);
    if (error.providerCode === 21610) {
      // R12: Twilio says the recipient unsubscribed: that is an opt-out, recorded and mirrored to Pipedrive.
      await database.transaction(async (trx) => {
        await optOuts.record(
          { companyId: company.id, phoneE164: row.to_e164!, sender: sender.key, action: 'opt_out', source: 'twilio_21610', personId },
          trx,
        );
        await store.markFailed(trx, row.id, 'sending', { code, message: error.message }, now());
        await enqueueJob(trx, company.id, 'pipedrive.set_consent', { personId, consent: 'opted_out' }, now());
        await enqueueJob(
          trx,
          company.id,
          'pipedrive.add_activity',
          {
            subject: 'SMS opt-out (reported by Twilio)',
            note: `<p>Twilio refused to text ${escapeHtml(row.to_e164!)} because the recipient has unsubscribed (error 21610). The number is now on the opt-out list and "SMS consent" is set to "Opted out".</p>`,
            dealId: row.deal_id,
            personId,
          },
          now(),
        );
      });
      log.warn({ id: row.id, companyId: company.id }, 'recipient unsubscribed at Twilio (21610): opt-out recorded');
      wake();
      return;
    }
    if (!error.retryable) {
      await store.markFailed(db, row.id, 'sending', { code, message: error.message }, now());
      log.warn({ id: row.id, code }, 'SMS refused by Twilio');
      return;
    }
    if (error.status === 429) {
      // Twilio documents a 429 as not processed: safe to send again later.
      return retryLater(row, 'sending', row.attempts, { code: code ?? '429', message: error.message });
    }
    // A 5xx or a dropped connection may hide an accepted message: look before sending again.
    await reconcile(row, sender, { code: code ?? String(error.status || 'network'), message: error.message });
  }

  /** Finds out whether an unconfirmed send reached Twilio; marks it sent if so, otherwise queues a retry. */
  async function reconcile(row: OutboundMessage, sender: Sender, lastError: { code: string | null; message: string }): Promise<void> {
    if (!row.to_e164 || !row.body || !row.sending_at) return retryLater(row, 'sending', row.attempts, lastError);
    const since = new Date(Date.parse(row.sending_at) - 60_000);
    let found;
    try {
      found = await sms.listSentTo(sender.account, row.to_e164, since);
    } catch (error) {
      log.warn({ id: row.id, err: error }, 'could not reconcile an unconfirmed send; will try again');
      return;
    }
    const known = new Set(
      (
        await db
          .selectFrom('outbound_messages')
          .select('provider_sid')
          .where('to_e164', '=', row.to_e164)
          .where('provider_sid', 'is not', null)
          .execute()
      ).map((r) => r.provider_sid),
    );
    const match = found.find((m) => m.body === row.body && !known.has(m.sid) && (!sender.from || m.from === sender.from));
    if (match) {
      await markSent(row, match.sid, match.status, sender.account.accountSid);
      log.info({ id: row.id, sid: match.sid }, 'unconfirmed send found at Twilio: marked sent, not resent');
      return;
    }
    await retryLater(row, 'sending', row.attempts, lastError);
  }

  // ---- jobs ------------------------------------------------------------------------------------------------------

  async function processJob(job: Job): Promise<void> {
    const done = (set: Partial<Job>) =>
      db.updateTable('jobs').set({ ...set, claimed_until: null, updated_at: iso() }).where('id', '=', job.id).where('state', '=', 'claimed').execute();
    const company = await deps.companies.find(job.company_id);
    if (!company) return void (await done({ state: 'failed', last_error: 'company removed' }));
    try {
      await runJob(job, company, await deps.installations.crmFor(job.company_id));
      await done({ state: 'done', attempts: job.attempts + 1, last_error: null });
    } catch (error) {
      const attempts = job.attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      const retryable = error instanceof PipedriveApiError && error.retryable;
      if (!retryable || attempts >= options.maxAttempts) {
        if (!(error instanceof JobSkipped)) log.warn({ jobId: job.id, kind: job.kind, err: error }, 'Pipedrive write-back failed');
        await done({ state: 'failed', attempts, last_error: message });
      } else {
        await done({ state: 'queued', attempts, last_error: message, next_attempt_at: iso(now() + backoff(attempts)) });
      }
    }
  }

  // ---- the loop --------------------------------------------------------------------------------------------------

  /** Claims released by a dead worker go back to the queue; sends it never confirmed are looked up at Twilio. */
  async function recover(): Promise<void> {
    const at = iso();
    await store.releaseExpiredClaims(db, at);
    await db.updateTable('jobs').set({ state: 'queued', claimed_until: null, updated_at: at }).where('state', '=', 'claimed').where('claimed_until', '<', at).execute();
    const stale = await db
      .selectFrom('outbound_messages')
      .selectAll()
      .where('state', '=', 'sending')
      .where('sending_at', '<', iso(now() - options.sendingStaleMs))
      .limit(100)
      .execute();
    const companyOf = companyReader();
    for (const row of stale) {
      // Look where the message went: the sender recorded on the row, whichever account that is today.
      const company = await companyOf(row.company_id);
      const candidates = [company ? deps.senders.forCompany(company) : null, deps.senders.shared];
      const sender = candidates.find((s) => s && s.key === row.sender) ?? null;
      if (!sender) {
        // The company has since replaced that account: its messages can no longer be looked up, and resending
        // blindly could text the contact twice. Recorded, not retried.
        await store.markFailed(db, row.id, 'sending', { code: 'unconfirmed', message: 'the send was never confirmed and its Twilio account is no longer configured' }, now());
        continue;
      }
      await reconcile(row, sender, { code: 'unconfirmed', message: 'the send was never confirmed (process stopped?)' });
    }
  }

  /** One pass: recovery when due, then a batch of messages and jobs. Returns how many items it handled. */
  async function runOnce(): Promise<number> {
    if (now() - lastRecovery > 5_000) {
      lastRecovery = now();
      await recover();
    }
    if (now() - lastHousekeeping > options.housekeepingEveryMs) {
      lastHousekeeping = now();
      await housekeep();
    }
    const lease = iso(now() + options.leaseMs);
    const companyOf = companyReader();
    // Companies take turns, and a paced sender is claimed only up to its free slots (see fair-share.ts).
    const messages = await fair.claim(companyOf, lease, options.concurrency * 4);
    const jobs = await claimDueJobs(database, iso(), lease, options.concurrency);
    await pool([...messages.map((m) => () => processMessage(m, companyOf)), ...jobs.map((j) => () => processJob(j))], options.concurrency, (error) =>
      log.error({ err: error }, 'outbox item failed unexpectedly; its claim will expire and it will be retried'),
    );
    return messages.length + jobs.length;
  }

  /** One company read per pass, however many of its messages the pass holds. */
  function companyReader(): (id: string) => Promise<CompanyProfile | null> {
    const companies = new Map<string, Promise<CompanyProfile | null>>();
    return (id) => {
      let found = companies.get(id);
      if (!found) companies.set(id, (found = deps.companies.find(id)));
      return found;
    };
  }

  async function housekeep(): Promise<void> {
    try {
      const deleted = await pruneExpired(database, now(), options.retention);
      if (Object.values(deleted).some((n) => n > 0)) log.info({ deleted }, 'expired records pruned');
    } catch (error) {
      // Never worth stopping the sends for: the next pass tries again.
      log.warn({ err: error }, 'pruning expired records failed');
    }
  }

  function wake() {
    wakeUp?.();
  }

  return {
    runOnce,
    recover: async () => {
      lastRecovery = now();
      await recover();
    },
    wake,
    housekeep,
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          let handled = 0;
          try {
            handled = await runOnce();
          } catch (error) {
            log.error({ err: error }, 'outbox pass failed');
          }
          if (handled === 0 && running) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, options.pollMs);
              wakeUp = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wakeUp = null;
          }
        }
      })();
    },
    async stop() {
      running = false;
      wake();
      await loop;
      loop = null;
    },
  };
}

async function pool(tasks: Array<() => Promise<void>>, size: number, onError: (e: unknown) => void): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        onError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, lane));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
