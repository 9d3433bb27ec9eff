import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError } from '../errors.js';
import { isProgress, KNOWN_STATUSES } from '../outbox/message-status.js';
import { countingFailures } from './abuse-limit.js';
import { createTwilioSignatureCheck } from './twilio-signature.js';

/**
 * Twilio's callbacks. Each is authenticated by X-Twilio-Signature over APP_URL + path and every form parameter,
 * with the auth token of the account named in the request (400 without a signature, 403 when it does not match).
 */
export function createTwilioWebhookRouter(ctx: AppContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 });

  // A missing or wrong signature is a failed authentication, counted against the caller's address.
  const verify = countingFailures(createTwilioSignatureCheck(ctx));

  router.post('/webhooks/twilio/status', form, async (req, res) => {
    const params = await verify(req);
    const sid = params.MessageSid ?? params.SmsSid;
    const status = (params.MessageStatus ?? params.SmsStatus ?? '').toLowerCase();
    if (!sid || !/^(SM|MM)[0-9a-fA-F]{32}$/.test(sid)) throw new BadRequestError('MessageSid is missing or malformed');
    if (!KNOWN_STATUSES.includes(status)) throw new BadRequestError(`unknown MessageStatus "${status}"`);
    const errorCode = params.ErrorCode && /^\d{1,6}$/.test(params.ErrorCode) ? params.ErrorCode : null;
    const at = new Date(ctx.clock.now()).toISOString();
    await ctx.database.transaction(async (trx) => {
      await trx.insertInto('message_status_events').values({ id: randomUUID(), provider_sid: sid, status, error_code: errorCode, received_at: at }).execute();
      const row = await trx.selectFrom('outbound_messages').select(['id', 'provider_status']).where('provider_sid', '=', sid).executeTakeFirst();
      if (row && isProgress(row.provider_status, status)) {
        await trx
          .updateTable('outbound_messages')
          .set({ provider_status: status, status_at: at, updated_at: at, ...(errorCode ? { error_code: errorCode } : {}) })
          .where('id', '=', row.id)
          // Only over the status we read: a concurrent callback that got further is never undone.
          .where((eb) => (row.provider_status === null ? eb('provider_status', 'is', null) : eb('provider_status', '=', row.provider_status)))
          .execute();
      }
    });
    res.status(204).end();
  });

  return router;
}
