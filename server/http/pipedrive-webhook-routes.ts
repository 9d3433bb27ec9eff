import express, { Router } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError, ForbiddenError, UnauthorizedError } from '../errors.js';
import { parseDealWebhook } from '../automations/deal-event.js';
import { recordDealEvent } from '../automations/record-deal-event.js';
import { parseBasicAuth, safeEqual } from '../security/crypto.js';

/**
 * POST /webhooks/pipedrive. Pipedrive bans an endpoint that is slow or failing, so this only authenticates,
 * validates, records the event with its outbox rows in one transaction, and answers; the worker does the rest.
 */
export function createPipedriveWebhookRouter(ctx: AppContext): Router {
  const router = Router();
  const log = ctx.logger.child({ subsystem: 'pipedrive-webhooks' });
  // Unsealing costs an AES operation per request; cache the clear password next to the sealed value it came from.
  const passwords = new Map<string, { sealed: string; clear: string }>();

  const authenticate: express.RequestHandler = async (req, res, next) => {
    const basic = parseBasicAuth(req.headers.authorization);
    const companyId = basic && /^pd-(\d{1,20})$/.exec(basic.user)?.[1];
    const company = companyId
      ? await ctx.database.db
          .selectFrom('companies')
          .select(['id', 'webhook_user', 'webhook_password_sealed'])
          .where('id', '=', companyId)
          .executeTakeFirst()
      : undefined;
    // Compare even when the company is unknown so a miss costs the same as a wrong password.
    let expected = 'x'.repeat(43);
    if (company?.webhook_password_sealed) {
      const cached = passwords.get(company.id);
      if (cached?.sealed === company.webhook_password_sealed) expected = cached.clear;
      else {
        expected = ctx.secrets.open(company.webhook_password_sealed);
        passwords.set(company.id, { sealed: company.webhook_password_sealed, clear: expected });
      }
    }
    const good = !!basic && !!company?.webhook_user && safeEqual(basic.user, company.webhook_user) && safeEqual(basic.password, expected);
    if (!good || !company) throw new UnauthorizedError('webhook credentials are not valid');
    res.locals.companyId = company.id;
    next();
  };

  router.post('/webhooks/pipedrive', authenticate, express.json({ limit: '512kb', type: () => true }), async (req, res) => {
    const companyId = res.locals.companyId as string;
    const parsed = parseDealWebhook(req.body);
    if (!parsed.ok) throw new BadRequestError(`malformed webhook: ${parsed.message}`);
    const event = parsed.event;
    if (event.companyId !== companyId) throw new ForbiddenError('the event belongs to another company');
    if (event.entity !== 'deal') {
      res.status(200).json({ ok: true, ignored: `entity ${event.entity}` });
      return;
    }
    const result = await recordDealEvent(ctx.database, event, ctx.clock.now());
    if (result.queued > 0) ctx.outbox.wake();
    log.debug({ companyId, eventId: event.eventId, attempt: event.attempt, ...result }, 'deal event recorded');
    res.status(200).json({ ok: true, ...result });
  });

  return router;
}
