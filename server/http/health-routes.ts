import { Router } from 'express';
import type { AppContext } from '../context.js';

export function createHealthRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const database = await ctx.database.ping();
    res.status(database ? 200 : 503).json({ status: database ? 'ok' : 'unavailable', database: database ? 'ok' : 'down', mode: ctx.config.mode });
  });
  return router;
}
