import express, { Router } from 'express';
import type { AppContext } from '../context.js';
import { BadRequestError, ForbiddenError, UnauthorizedError } from '../errors.js';
import { parseDealWebhook } from '../automations/deal-event.js';
import { parseBasicAuth, safeEqual, SealedSecretError, sealedPlaces } from '../security/crypto.js';
import { isForeignKeyViolation } from '../../db/database.js';
import { createTimedAnswers } from '../timed-answers.js';
import { countWebhook, webhookResult } from './webhook-metrics.js';

/**
 * POST /webhooks/pipedrive. Pipedrive bans an endpoint that is slow or failing, so this only authenticates,
 * validates, records the event with its outbox rows in one transaction, and answers; the worker does the rest.
 */
export function createPipedriveWebhookRouter(ctx: AppContext): Router {
  const router = Router();
  const log = ctx.logger.child({ subsystem: 'pipedrive-webhooks' });
  // The credentials of each company, unsealed, kept briefly: reading and unsealing them on every delivery costs more
  // than the rest of the request. A company uninstalled meanwhile is caught when its event is written (FK). A user
  // name of no company is remembered as unknown for as long, so a flood of it reads the database once per period; the
  // cache is bounded so a flood of made-up names cannot grow it without end.
  const credentials = createTimedAnswers<{ user: string | null; password: string | null }>({ now: ctx.clock.now, ttlMs: 5_000, max: 10_000 });

  /** A stored password that does not open at this company's row (copied, tampered) accepts no request at all. */
  function openPassword(companyId: string, sealed: string): string | null {
    try {
      return ctx.secrets.open(sealed, sealedPlaces.webhookPassword(companyId));
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      log.warn({ companyId, reason: error.reason }, 'stored webhook password cannot be used; webhooks are refused until the app is reinstalled');
      return null;
    }
  }

  /** Deliveries that arrive together for one user name share one lookup. */
  function credentialsOf(companyId: string) {
    return credentials.get(companyId, async () => {
      const company = await ctx.database.db
        .selectFrom('companies')
        .select(['webhook_user', 'webhook_password_sealed'])
        .where('id', '=', companyId)
        .executeTakeFirst();
      return {
        user: company?.webhook_user ?? null,
        password: company?.webhook_password_sealed ? openPassword(companyId, company.webhook_password_sealed) : null,
      };
    });
  }

  const authenticate: express.RequestHandler = async (req, res, next) => {
    const basic = parseBasicAuth(req.headers.authorization);
    const companyId = basic && /^pd-(\d{1,20})$/.exec(basic.user)?.[1];
    const known = companyId ? await credentialsOf(companyId) : null;
    // Compare even when the company is unknown so a miss costs the same as a wrong password.
    const expected = known?.password ?? 'x'.repeat(43);
    const good = !!basic && !!known?.user && safeEqual(basic.user, known.user) && safeEqual(basic.password, expected) && !!known.password;
    if (!good || !companyId) throw new UnauthorizedError('webhook credentials are not valid');
    res.locals.companyId = companyId;
    next();
  };

  router.post('/webhooks/pipedrive', countWebhook(ctx, 'pipedrive'), authenticate, express.json({ limit: '512kb', type: () => true }), async (req, res) => {
    const companyId = res.locals.companyId as string;
    const parsed = parseDealWebhook(req.body);
    if (!parsed.ok) throw new BadRequestError(`malformed webhook: ${parsed.message}`);
    const event = parsed.event;
    if (event.companyId !== companyId) throw new ForbiddenError('the event belongs to another company');
    if (event.entity !== 'deal') {
      webhookResult(res, 'ignored');
      res.status(200).json({ ok: true, ignored: `entity ${event.entity}` });
      return;
    }
    let result;
    try {
      result = await ctx.dealEvents.record(event, ctx.clock.now());
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      credentials.forget(companyId);
      throw new UnauthorizedError('the company has uninstalled the app');
    }
    if (result.queued > 0) ctx.outbox.wake();
    if (result.duplicate) webhookResult(res, 'duplicate');
    log.debug({ companyId, eventId: event.eventId, attempt: event.attempt, ...result }, 'deal event recorded');
    res.status(200).json({ ok: true, ...result });
  });

  return router;
}
