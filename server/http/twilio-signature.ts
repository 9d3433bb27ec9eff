import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError, ForbiddenError } from '../errors.js';
import { ACCOUNT_SID } from '../twilio/patterns.js';

/** Returns the form parameters of a request Twilio signed; throws 400 without a signature, 403 when it does not match. */
export type TwilioSignatureCheck = (req: Request) => Promise<Record<string, string>>;

/**
 * X-Twilio-Signature over APP_URL + path and every form parameter, with the auth token of the account named in
 * the request: the app's default account, or the company's own account that the request names.
 */
export function createTwilioSignatureCheck(ctx: AppContext): TwilioSignatureCheck {
  const log = ctx.logger.child({ subsystem: 'twilio-webhooks' });
  return async (req) => {
    const signature = req.header('x-twilio-signature');
    if (!signature) throw new BadRequestError('missing X-Twilio-Signature');
    const params = (req.body ?? {}) as Record<string, string>;
    const tokens = typeof params.AccountSid === 'string' && ACCOUNT_SID.test(params.AccountSid) ? await ctx.senders.authTokensFor(params.AccountSid) : [];
    // The public URL Twilio called: behind proxies req.protocol/host lie, APP_URL does not.
    const url = `${ctx.config.appUrl}${req.originalUrl}`;
    if (!tokens.some((token) => ctx.sms.validateSignature(token, signature, url, params))) {
      log.warn({ path: req.path }, 'Twilio signature refused');
      throw new ForbiddenError('X-Twilio-Signature does not match');
    }
    return params;
  };
}
