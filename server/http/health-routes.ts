import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { UnauthorizedError } from '../errors.js';

/** The database must answer a trivial query within this, or the instance is not ready. */
const READY_DATABASE_TIMEOUT_MS = 1_000;
/**
 * The worker's loop must have finished a pass within this. An idle loop passes every poll (half a second); a busy pass
 * waits at most for its items' vendor calls (15 s timeouts, a few in a row), so two minutes means the loop is stuck.
 */
const READY_WORKER_STALE_MS = 120_000;

/**
 * `GET /healthz`: the process answers (and its database, for the liveness probe). `GET /readyz`: the database answers
 * and the outbox worker's loop turns, for the load balancer. `GET /metrics`: Prometheus, with `METRICS_TOKEN` as a
 * bearer token; without one configured the route does not exist.
 */
export function createHealthRouter(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const database = await ctx.database.ping();
    res.status(database ? 200 : 503).json({ status: database ? 'ok' : 'unavailable', database: database ? 'ok' : 'down', mode: ctx.config.mode });
  });

  router.get('/readyz', async (_req, res) => {
    const worker = workerReady(ctx);
    const database = await databaseReady(ctx);
    const failed = [...(database === 'ok' ? [] : ['database']), ...(worker === 'ok' ? [] : ['worker'])];
    res.set('cache-control', 'no-store');
    if (failed.length === 0) res.status(200).json({ status: 'ready' });
    else res.status(503).json({ status: 'unavailable', failed, database, worker });
  });

  const token = ctx.config.metricsToken;
  const expected = token === null ? null : digest(token);
  router.get('/metrics', async (req, res, next) => {
    // Not configured: answered as a route that does not exist.
    if (expected === null) return next();
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    // Digests of equal length, compared in constant time: neither the token's content nor its length leaks.
    if (!timingSafeEqual(digest(given), expected)) {
      res.set('www-authenticate', 'Bearer');
      throw new UnauthorizedError('a valid bearer token is required');
    }
    res.set('cache-control', 'no-store').type(ctx.metrics.contentType).send(await ctx.metrics.scrape());
  });
  return router;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

async function databaseReady(ctx: AppContext): Promise<'ok' | 'down' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), READY_DATABASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([ctx.database.ping().then((up): 'ok' | 'down' => (up ? 'ok' : 'down')), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function workerReady(ctx: AppContext): 'ok' | 'stopped' | 'stale' {
  const last = ctx.outbox.lastPassAt();
  if (last === null) return 'stopped';
  return ctx.clock.now() - last > READY_WORKER_STALE_MS ? 'stale' : 'ok';
}
