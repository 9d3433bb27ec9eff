import express, { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { messagingResponse } from '../inbound/twiml.js';
import { countingFailures } from './abuse-limit.js';
import { createTwilioSignatureCheck } from './twilio-signature.js';
import { parseBody } from './validation.js';
import { countWebhook, webhookResult } from './webhook-metrics.js';

// Twilio adds webhook parameters without notice: only what the app uses is read, the rest is ignored.
const inboundSchema = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'must be an SM… or MM… sid'),
  AccountSid: z.string().min(1).max(64),
  From: z.string().trim().min(1).max(64),
  To: z.string().trim().min(1).max(64),
  // Twilio reassembles up to 1,600 characters; a media-only message has an empty body.
  Body: z.string().max(10_000).default(''),
  MessagingServiceSid: z.string().max(64).optional(),
  OptOutType: z.string().max(16).optional(),
  NumMedia: z.coerce.number().int().min(0).max(100).default(0),
});

/**
 * `POST /webhooks/twilio/inbound`: a contact's text. Signed like every Twilio webhook (400 without a signature,
 * 403 when it does not match, nothing stored either way). The work is one database transaction; Pipedrive is
 * written to by the outbox, so Twilio gets its TwiML at once.
 */
export function createTwilioInboundRouter(ctx: AppContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 });
  // A missing or wrong signature is a failed authentication, counted against the caller's address.
  const verify = countingFailures(createTwilioSignatureCheck(ctx));

  router.post('/webhooks/twilio/inbound', countWebhook(ctx, 'twilio_inbound'), form, async (req, res) => {
    const params = parseBody(inboundSchema, await verify(req));
    const result = await ctx.inbound.receive({
      messageSid: params.MessageSid,
      accountSid: params.AccountSid,
      from: params.From,
      to: params.To,
      body: params.Body,
      messagingServiceSid: params.MessagingServiceSid ?? null,
      optOutType: params.OptOutType ?? null,
      numMedia: params.NumMedia,
    });
    if (!result.duplicate) ctx.outbox.wake();
    else webhookResult(res, 'duplicate');
    res.status(200).type('text/xml').send(messagingResponse(result.replies));
  });

  return router;
}
