import express, { Router, type Request } from 'express';
import type { AppContext } from '../context.js';
import { createReviewService, type ReviewVisibility } from '../consent/review-service.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { createReportVisibility } from '../reports/report-visibility.js';
import type { CallerAuth } from './caller-auth.js';
import { reviewDecisionBody, reviewListQuery, type Review, type ReviewList } from './contracts/index.js';
import { parseBody } from './validation.js';

/** Review ids are UUIDs; anything else is no review (and never reaches the database). */
const REVIEW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Possible opt-outs waiting for a person (the settings page and the deal panel). The admin who installed (still a
 * Pipedrive admin) sees and decides all of the company's; any other user those of the deals Pipedrive lets them see,
 * and a review with no deal is not theirs. A review the caller may not see answers 404 like one that does not exist.
 */
export function createReviewRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  const reviews = createReviewService({ database: ctx.database, consent: ctx.consent, now: ctx.clock.now, logger: ctx.logger });
  const deals = createReportVisibility({ now: ctx.clock.now });
  router.use('/api/consent/reviews', auth.caller, auth.installed);

  const visibilityFor = async (req: Request): Promise<ReviewVisibility> => {
    const company = req.company!;
    const userId = req.caller!.userId;
    if ((await ctx.installations.adminRight(company.id, userId)) === 'admin') return { all: true };
    // Asked with the company's installation about this user's permissions, as the reports do.
    const crm = await ctx.installations.crmFor(company.id);
    const rows = deals.dealsOf({ userId, crm, asCaller: false }, company.id);
    return rows.all ? { all: true } : { all: false, visibleDeals: rows.visibleDeals };
  };

  router.get('/api/consent/reviews', async (req, res) => {
    const q = parseBody(reviewListQuery, req.query);
    const list = await reviews.list(req.company!.id, q.state, q.limit, await visibilityFor(req));
    res.set('cache-control', 'no-store').json({ reviews: list } satisfies ReviewList);
  });

  router.post('/api/consent/reviews/:id', express.json({ limit: '4kb' }), async (req, res) => {
    const { decision } = parseBody(reviewDecisionBody, req.body);
    const id = String(req.params.id);
    if (!REVIEW_ID.test(id)) throw new NotFoundError('No such review');
    const outcome = await reviews.decide(req.company!.id, id, decision, req.caller!.userId, await visibilityFor(req));
    if (!outcome.ok) {
      if (outcome.reason === 'not_found') throw new NotFoundError('No such review');
      throw new ConflictError('This possible opt-out has already been decided', 'already_decided');
    }
    // Jobs were queued (the consent field, the activity): the worker should not sleep on them.
    if (outcome.cancelled > 0 || decision === 'opt_out') ctx.outbox.wake();
    res.set('cache-control', 'no-store').json(outcome.review satisfies Review);
  });

  return router;
}
