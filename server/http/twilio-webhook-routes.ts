import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { AppContext } from '../context.js';
import { BadRequestError } from '../errors.js';
import { KNOWN_STATUSES } from '../outbox/message-status.js';
import { applyStatusCallback } from '../outbox/outbox-store.js';
import { countingFailures } from './abuse-limit.js';
import { createTwilioSignatureCheck } from './twilio-signature.js';
import { countWebhook } from './webhook-metrics.js';

/**
 * Twilio's callbacks. Each is authenticated by X-Twilio-Signature over APP_URL + path and every form parameter,
 * with the auth token of the account named in the request (400 without a signature, 403 when it does not match).
 */
export function createTwilioWebhookRouter(ctx: AppContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 });
  const log = ctx.logger.child({ subsystem: 'twilio-webhooks' });

  // A missing or wrong signature is a failed authentication, counted against the caller's address.
  const verify = countingFailures(createTwilioSignatureCheck(ctx));

  /**
   * Whether `accountSid` is the account the message went out through. Messages sent before the app recorded the
   * account are judged by the account their company sends through now.
   */
  async function sentBy(db: Kysely<Schema>, message: { company_id: string; account_sid: string | null }, accountSid: string): Promise<boolean> {
    if (message.account_sid !== null) return message.account_sid === accountSid;
    const company = await db
      .selectFrom('companies')
      .select(['id', 'twilio_account_sid', 'twilio_auth_token_sealed', 'twilio_from_number', 'twilio_messaging_service_sid'])
      .where('id', '=', message.company_id)
      .executeTakeFirst();
    const sender = company ? ctx.senders.forCompany(company) : null;
    return sender?.account.accountSid === accountSid;
  }

  router.post('/webhooks/twilio/status', countWebhook(ctx, 'twilio_status'), form, async (req, res) => {
    const params = await verify(req);
    // The signature check accepted the token of the account this names, so it is the account that called.
    const accountSid = params.AccountSid!;
    const sid = params.MessageSid ?? params.SmsSid;
    const status = (params.MessageStatus ?? params.SmsStatus ?? '').toLowerCase();
    if (!sid || !/^(?:SM|MM)[0-9a-fA-F]{32}$/.test(sid)) throw new BadRequestError('MessageSid is missing or malformed');
    if (!KNOWN_STATUSES.includes(status)) throw new BadRequestError(`unknown MessageStatus "${status}"`);
    const errorCode = params.ErrorCode && /^\d{1,6}$/.test(params.ErrorCode) ? params.ErrorCode : null;
    const at = new Date(ctx.clock.now()).toISOString();
    const db = ctx.database.db;
    const row = await db.selectFrom('outbound_messages').select(['id', 'company_id', 'account_sid']).where('provider_sid', '=', sid).executeTakeFirst();
    const foreign = row && !(await sentBy(db, row, accountSid)) ? row : null;
    if (!foreign) {
      // Recorded once per message, account and status: a replayed callback adds nothing. A callback that arrives
      // before the send is confirmed is kept with its account, and the confirmation applies it (markSent). Recorded
      // first and on its own (committed before the move below): whichever of this callback and a confirmation running
      // now comes second sees the other's write, so an early callback is never lost between the two.
      await db
        .insertInto('message_status_events')
        .values({ id: randomUUID(), provider_sid: sid, account_sid: accountSid, status, error_code: errorCode, received_at: at })
        .onConflict((oc) => oc.columns(['provider_sid', 'account_sid', 'status']).doNothing())
        .execute();
      // One conditional UPDATE by status rank: two callbacks at once (Twilio sends 'sent' and 'delivered' close
      // together, maybe to two instances) both apply, and the further one stays whatever their order.
      await applyStatusCallback(db, { sid, accountSid, status, errorCode }, at, row && row.account_sid === null ? row.id : null);
    }
    if (foreign) {
      // A status callback changes only a message its own Twilio account sent. The caller did sign validly with an
      // account the app knows, so it is acknowledged (Twilio would retry an error) with no effect, and logged.
      log.warn({ messageId: foreign.id, companyId: foreign.company_id, accountSid, status }, 'status callback from another Twilio account ignored');
    }
    res.status(204).end();
  });

  return router;
}
