import type { RequestHandler, Response } from 'express';
import type { AppContext } from '../context.js';
import type { WebhookKind, WebhookResult } from '../metrics.js';

/** A handler names a 2xx answer that is not a plain acceptance (a replay, an event of no interest). */
export function webhookResult(res: Response, result: Extract<WebhookResult, 'duplicate' | 'ignored'>): void {
  res.locals.webhookResult = result;
}

/** What an answer's status says about the request, as the webhooks counter names it. */
function resultOf(status: number, named: unknown): WebhookResult {
  if (status < 300) return named === 'duplicate' || named === 'ignored' ? named : 'accepted';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 429) return 'rate_limited';
  if (status < 500) return 'bad_request';
  return 'error';
}

/**
 * First on a webhook's route: counts the request by its answer once it is sent, so a refusal anywhere (the body
 * parser, the signature, the error handler, the abuse limiter) is counted like an acceptance.
 */
export function countWebhook(ctx: AppContext, kind: WebhookKind): RequestHandler {
  return (_req, res, next) => {
    res.on('finish', () => ctx.metrics.webhookReceived(kind, resultOf(res.statusCode, res.locals.webhookResult)));
    next();
  };
}
