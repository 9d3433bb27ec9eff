import express, { Router } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError, ConflictError } from '../errors.js';
import type { CallerAuth } from './caller-auth.js';
import { parseBody } from './validation.js';
import { inboundUrlOf, twilioView } from './twilio-view.js';
import { twilioConnectBody, type TwilioConnected, type TwilioView } from './contracts/index.js';
import { sealedPlaces } from '../security/crypto.js';

const ONLY_ADMINS = 'Only a Pipedrive admin who installed the app can change its Twilio account';

/**
 * A company's own Twilio account, used instead of the app's shared default one: admins connect one on the settings
 * page; its texts then go out through it, its replies and status callbacks are checked with its auth token, and the
 * auth token is stored sealed. Before anything is stored, Twilio is asked whether the credentials work and the sender
 * is theirs.
 */
export function createTwilioAccountRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  router.use('/api/settings/twilio', auth.caller, express.json({ limit: '8kb' }));
  const log = ctx.logger.child({ subsystem: 'twilio-account' });
  const { installed } = auth;
  const admin = auth.installingAdmin(ONLY_ADMINS);

  /**
   * A reply is attributed to the company that owns the number it arrived on: a number shared with another
   * company, or the app's own shared number, would hand one company's replies to the other.
   */
  async function refuseTakenSender(companyId: string, accountSid: string, address: { from?: string; messagingServiceSid?: string }) {
    const shared = ctx.senders.shared;
    if (
      shared &&
      shared.account.accountSid === accountSid &&
      ((address.from !== undefined && address.from === shared.from) || (address.messagingServiceSid !== undefined && address.messagingServiceSid === shared.messagingServiceSid))
    ) {
      throw new ConflictError('This is the shared sender of SMS for Pipedrive; connect a number or Messaging Service of your own.', 'sender_in_use');
    }
    const taken = await ctx.companies.otherOwnerOfSender(companyId, accountSid, address);
    if (taken) throw new ConflictError('This sender is already connected to another Pipedrive company; each company needs its own.', 'sender_in_use');
  }

  router.get('/api/settings/twilio', installed, async (req, res) => {
    res.set('cache-control', 'no-store').json(twilioView(ctx, req.company!) satisfies TwilioView);
  });

  router.put('/api/settings/twilio', installed, admin, async (req, res) => {
    const company = req.company!;
    const body = parseBody(twilioConnectBody, req.body);
    const account = { accountSid: body.accountSid, authToken: body.authToken.toLowerCase() };
    const address = body.fromNumber !== undefined ? { from: body.fromNumber } : { messagingServiceSid: body.messagingServiceSid! };
    await refuseTakenSender(company.id, account.accountSid, address);
    // A Twilio outage is a 502 (SmsProviderError); a refusal is the admin's to fix, so a 400 that says what.
    const check = await ctx.sms.checkSender(account, address);
    if (!check.ok) throw new BadRequestError(check.message, { reason: check.reason });

    const inboundUrl = inboundUrlOf(ctx);
    let repliesUrl = check.inboundUrl;
    if (body.pointRepliesHere && check.numberSid && repliesUrl !== inboundUrl) {
      await ctx.sms.setInboundUrl(account, check.numberSid, inboundUrl);
      repliesUrl = inboundUrl;
    }
    await ctx.companies.setTwilioAccount(
      company.id,
      {
        accountSid: account.accountSid,
        authTokenSealed: ctx.secrets.seal(account.authToken, sealedPlaces.twilioAuthToken(company.id)),
        fromNumber: body.fromNumber ?? null,
        messagingServiceSid: body.messagingServiceSid ?? null,
      },
      new Date(ctx.clock.now()).toISOString(),
    );
    log.info({ companyId: company.id, accountSid: account.accountSid, userId: req.caller!.userId }, 'company Twilio account connected');
    const updated = (await ctx.companies.find(company.id))!;
    res.json({
      ...twilioView(ctx, updated),
      // Replies reach the app only when the sender's inbound webhook points here: say so while it does not.
      replies: { currentUrl: repliesUrl, pointsHere: repliesUrl === inboundUrl, canPointHere: check.numberSid !== null },
    } satisfies TwilioConnected);
  });

  router.delete('/api/settings/twilio', installed, admin, async (req, res) => {
    const company = req.company!;
    await ctx.companies.setTwilioAccount(company.id, null, new Date(ctx.clock.now()).toISOString());
    log.info({ companyId: company.id, userId: req.caller!.userId }, 'company Twilio account removed: back to the default account');
    res.json(twilioView(ctx, (await ctx.companies.find(company.id))!) satisfies TwilioView);
  });

  return router;
}
