import type { Database } from '../../db/database.js';
import type { OutboundMessage } from '../../db/schema.js';
import type { CompanyProfile } from '../companies/company-store.js';
import type { Logger } from '../logger.js';
import type { Sender, SenderDirectory } from '../twilio/senders.js';
import type { SmsPort } from '../twilio/sms-port.js';
import * as store from './outbox-store.js';
import type { RetryPolicy } from './retry-policy.js';

export type RecoveryDeps = {
  database: Database;
  sms: SmsPort;
  senders: SenderDirectory;
  log: Logger;
  now: () => number;
  retry: RetryPolicy;
  /** A send unconfirmed for this long is looked up at Twilio (longer than the HTTP timeout). */
  sendingStaleMs: number;
};

/**
 * Sends whose outcome is unknown (a 5xx, a dropped connection, a process that stopped between the call and the
 * write) are looked up at Twilio before anything is sent again: a contact is never texted twice for one message.
 */
export function createRecovery(deps: RecoveryDeps) {
  const { database, sms, log, now, retry } = deps;
  const { db } = database;
  const iso = (ms = now()) => new Date(ms).toISOString();

  async function confirmSent(row: OutboundMessage, sid: string, status: string, accountSid: string): Promise<void> {
    // A status callback that arrived before this confirmation is applied by markSent itself (the furthest status
    // its account reported), after the row is saved, so one that lands meanwhile is not lost either.
    await store.markSent(db, row.id, { sid, accountSid, status, errorCode: null }, now());
  }

  /** Finds out whether an unconfirmed send reached Twilio; marks it sent if so, otherwise queues a retry. */
  async function reconcile(row: OutboundMessage, sender: Sender, lastError: { code: string | null; message: string }): Promise<void> {
    if (!row.to_e164 || !row.body || !row.sending_at) return retry.retryLater(row, 'sending', row.attempts, lastError);
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
      await confirmSent(row, match.sid, match.status, sender.account.accountSid);
      log.info({ id: row.id, sid: match.sid }, 'unconfirmed send found at Twilio: marked sent, not resent');
      return;
    }
    await retry.retryLater(row, 'sending', row.attempts, lastError);
  }

  /**
   * The last resort, for a worker that left no trace of itself: claims whose lease ran out go back to the queue, and
   * sends unconfirmed for longer than any HTTP call lasts are looked up at Twilio.
   */
  async function recover(companyOf: (id: string) => Promise<CompanyProfile | null>): Promise<void> {
    const at = iso();
    await store.releaseExpiredClaims(db, at);
    const stale = await db
      .selectFrom('outbound_messages')
      .selectAll()
      .where('state', '=', 'sending')
      .where('sending_at', '<', iso(now() - deps.sendingStaleMs))
      .limit(100)
      .execute();
    await reconcileAll(stale, companyOf);
  }

  /**
   * A dead worker (no heartbeat since `liveSinceIso`): its claims go back to the queue at once, and its sends are
   * looked up at Twilio right away (its process is gone, so no call of its is still on the way). Answers how many
   * rows were taken back.
   */
  async function recoverDeadWorkers(companyOf: (id: string) => Promise<CompanyProfile | null>, liveSinceIso: string): Promise<number> {
    const released = await store.releaseClaimsOfDeadWorkers(db, liveSinceIso, iso());
    const orphaned = await db
      .selectFrom('outbound_messages')
      .selectAll()
      .where('state', '=', 'sending')
      .where('claimed_by', 'is not', null)
      .where('claimed_by', 'not in', db.selectFrom('workers').select('id').where('heartbeat_at', '>=', liveSinceIso))
      .limit(100)
      .execute();
    await reconcileAll(orphaned, companyOf);
    return released + orphaned.length;
  }

  async function reconcileAll(rows: OutboundMessage[], companyOf: (id: string) => Promise<CompanyProfile | null>): Promise<void> {
    for (const row of rows) {
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

  return { confirmSent, reconcile, recover, recoverDeadWorkers };
}

export type Recovery = ReturnType<typeof createRecovery>;
