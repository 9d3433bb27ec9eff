import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { AppContext } from './context.js';
import { TooManyRequestsError, httpStatusOf, publicErrorOf } from './errors.js';
import { limitFailures } from './http/abuse-limit.js';
import { createHealthRouter } from './http/health-routes.js';
import { createOAuthRouter } from './http/oauth-routes.js';
import { createAutomationsRouter } from './http/automations-routes.js';
import { createCallerAuth } from './http/caller-auth.js';
import { createTwilioAccountRouter } from './http/twilio-account-routes.js';
import { createPipedriveWebhookRouter } from './http/pipedrive-webhook-routes.js';
import { createTwilioWebhookRouter } from './http/twilio-webhook-routes.js';
import { createTwilioInboundRouter } from './http/twilio-inbound-routes.js';
import { createPanelRouter } from './http/panel-routes.js';
import { createReportRouter } from './http/report-routes.js';
import { createContactRouter } from './http/contact-routes.js';
import { createOptOutRouter } from './http/opt-out-routes.js';
import { createReviewRouter } from './http/review-routes.js';

/** Paths Pipedrive shows inside its own pages; every other page refuses to be framed. */
const FRAMEABLE = new Set(['/panel', '/settings']);

export function createApp(ctx: AppContext, options: { extraRouters?: express.Router[] } = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // The client address (req.ip) is what failed authentications are counted by: behind a load balancer it comes from
  // X-Forwarded-For, but only as far as the operator says the proxies can be trusted; never from a client's header.
  app.set('trust proxy', ctx.config.trustProxy);
  const log = ctx.logger.child({ subsystem: 'http' });

  // Responses are API answers and small pages: no ETag hashing of every body.
  app.set('etag', false);
  app.use(accessLog(log));

  // Machine-to-machine webhooks first: answered fast (Pipedrive bans a slow endpoint), no browser headers needed.
  app.use(createPipedriveWebhookRouter(ctx));
  app.use(createTwilioWebhookRouter(ctx));
  app.use(createTwilioInboundRouter(ctx));

  const strict = helmet({ contentSecurityPolicy: { directives: { 'frame-ancestors': ["'none'"] } } });
  const frameable = helmet({
    frameguard: false,
    contentSecurityPolicy: { directives: { 'frame-ancestors': ctx.config.frameAncestors } },
  });
  app.use((req, res, next) => (FRAMEABLE.has(req.path) ? frameable : strict)(req, res, next));

  app.use(createHealthRouter(ctx));
  app.use(createOAuthRouter(ctx));
  // The UI's routers share one token verifier and one set of "installed" and "admin who installed" checks.
  const auth = createCallerAuth(ctx);
  // Before the automations router, whose /api/settings prefix would otherwise authenticate these requests twice.
  app.use(createTwilioAccountRouter(ctx, auth));
  app.use(createReportRouter(ctx, auth)); // before it too: its /api/reports prefix
  app.use(createAutomationsRouter(ctx, auth));
  app.use(createPanelRouter(ctx, auth));
  app.use(createOptOutRouter(ctx, auth));
  app.use(createReviewRouter(ctx, auth));
  app.use(createContactRouter(ctx, auth));
  for (const router of options.extraRouters ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'No such route' } });
  });
  // Failed authentications are counted per client address; over the limit they are answered 429 (valid requests never).
  app.use(limitFailures(ctx.failures));
  app.use(errorHandler(log));
  return app;
}

/** Paths that name a contact's phone number: logged without it (erasing a contact must not write the number down). */
const PHONE_IN_PATH = /^(\/api\/(?:contacts|consent\/opt-outs)\/)[^/]+/;
const loggedPath = (path: string) => path.replace(PHONE_IN_PATH, '$1…');

function accessLog(log: AppContext['logger']): RequestHandler {
  return (req, res, next) => {
    if (!log.isLevelEnabled('debug')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: query strings carry OAuth codes and iframe tokens.
      log.debug({ method: req.method, path: loggedPath(req.path), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

/** The one place our errors become HTTP answers. Details of unexpected errors and vendor failures stay in the log. */
function errorHandler(log: AppContext['logger']): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const bodyParser = error as { type?: string; status?: number };
    let status: number;
    let body: { code: string; message: string; details?: unknown };
    if (bodyParser?.type === 'entity.too.large') {
      status = 413;
      body = { code: 'payload_too_large', message: 'Request body too large' };
    } else if (bodyParser?.type === 'entity.parse.failed' || bodyParser?.type === 'encoding.unsupported' || bodyParser?.type === 'charset.unsupported') {
      status = 400;
      body = { code: 'malformed_body', message: 'The request body could not be parsed' };
    } else {
      status = httpStatusOf(error);
      // Never a vendor's host, port or URL, nor the ids an error names for the log.
      body = publicErrorOf(error, status);
    }
    if (status >= 500) log.error({ err: error, method: req.method, path: loggedPath(req.path) }, 'request failed');
    else log.info({ method: req.method, path: loggedPath(req.path), status, code: body.code }, 'request refused');
    if (res.headersSent) return;
    if (error instanceof TooManyRequestsError) res.set('retry-after', String(error.retryAfterSeconds));
    res.status(status).json({ error: body });
  };
}
