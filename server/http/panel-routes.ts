import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.js';
import { createPanelService } from '../panel/panel-service.js';
import type { CallerAuth } from './caller-auth.js';
import { page } from './pages.js';
import { parseBody } from './validation.js';
import { panelQuery, panelSendBody, type PanelSent, type PanelView } from './contracts/index.js';

const UI_DIR = resolve('dist/ui');
const dealIdParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The deal panel: its iframe page, its data and its send box, for the deals the caller may see in Pipedrive. */
export function createPanelRouter(ctx: AppContext, auth: CallerAuth): Router {
  const router = Router();
  const panel = createPanelService({ database: ctx.database, inbound: ctx.inboundMessages, optOuts: ctx.optOuts, senders: ctx.senders, zones: ctx.zones, now: ctx.clock.now });

  // The iframe pages: Pipedrive loads them with ?token=…; a page without a valid token is not shown.
  for (const [path, entry] of [
    ['/panel', 'panel'],
    ['/settings', 'settings'],
  ] as const) {
    router.get(path, auth.pageCaller, (_req, res) => {
      const file = resolve(UI_DIR, entry, 'index.html');
      if (!existsSync(file)) {
        res.status(503).type('html').send(page('Not built', '<h1>The UI is not built</h1><p>Run <code>npm run build</code>.</p>'));
        return;
      }
      res.type('html').set('cache-control', 'no-store').send(readFileSync(file, 'utf8'));
    });
  }
  router.use('/ui', express.static(UI_DIR, { index: false, immutable: true, maxAge: '365d', fallthrough: true }));

  const context = async (req: Request) => {
    const caller = req.caller!;
    const company = req.company!;
    const dealId = dealIdParam.safeParse(req.params.dealId);
    if (!dealId.success) throw new NotFoundError('No such deal');
    // The caller's own authorisation when they installed the app (their Pipedrive permissions), else the company's;
    // the panel service then lets them see only the deals Pipedrive lets them see.
    const { crm, asCaller } = await ctx.installations.callerAccess(company.id, caller.userId);
    return { company, viewer: { userId: caller.userId, crm, asCaller }, dealId: dealId.data };
  };

  router.get('/api/panel/deals/:dealId', auth.caller, auth.installed, async (req, res) => {
    const { company, viewer, dealId } = await context(req);
    const { limit } = parseBody(panelQuery, req.query);
    const view = await panel.view(viewer, company, dealId, limit);
    if (!view) throw new NotFoundError('No such deal');
    res.set('cache-control', 'no-store').json(view satisfies PanelView);
  });

  router.post('/api/panel/deals/:dealId/messages', auth.caller, express.json({ limit: '16kb' }), auth.installed, async (req, res) => {
    const { company, viewer, dealId } = await context(req);
    const { body } = parseBody(panelSendBody, req.body);
    // A deal the caller may not see answers 404 like one that does not exist, and nothing is queued.
    const result = await panel.queue(viewer, company, dealId, body);
    if (!result.ok) {
      if (result.reason === 'no_deal') throw new NotFoundError('No such deal');
      if (['too_long', 'link_shortener', 'unknown_field'].includes(result.reason)) {
        throw new BadRequestError(result.message, { reason: result.reason, segments: result.segments });
      }
      throw new ConflictError(result.message, result.reason);
    }
    ctx.outbox.wake();
    res.status(202).json(result satisfies PanelSent);
  });

  return router;
}
