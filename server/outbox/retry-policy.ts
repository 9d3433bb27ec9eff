import type { Database } from '../../db/database.js';
import type { OutboundMessage } from '../../db/schema.js';
import { PipedriveApiError, SmsProviderError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import * as store from './outbox-store.js';

export type RetryOptions = { retryBaseMs: number; retryMaxMs: number; maxAttempts: number };

/** What a failed send to Twilio means for the message. */
export type SendFailure =
  /** Twilio says the recipient unsubscribed (21610): an opt-out, recorded and mirrored to Pipedrive. */
  | 'unsubscribed'
  /** Refused for good (a bad number, a blocked destination …): failed, not retried. */
  | 'refused'
  /** Twilio documents a 429 as not processed: safe to send again later. */
  | 'resend'
  /** A 5xx or a dropped connection may hide an accepted message: look at Twilio before sending again. */
  | 'look_first';

export function classifySendFailure(error: SmsProviderError): SendFailure {
  if (error.providerCode === 21610) return 'unsubscribed';
  if (!error.retryable) return 'refused';
  if (error.status === 429) return 'resend';
  return 'look_first';
}

/** Pipedrive's 429 and 5xx (and a token it cannot refresh yet) pass; anything else will not by trying again. */
export const isRetryablePipedriveError = (error: unknown): error is PipedriveApiError => error instanceof PipedriveApiError && error.retryable;

export function createRetryPolicy(database: Database, options: RetryOptions, now: () => number, metrics?: Metrics) {
  function backoff(attempts: number): number {
    const ceiling = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    // Half fixed, half random: spreads retries of a burst without ever retrying immediately.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** Queues the message again after a backoff, or gives up once it has had its attempts. */
  async function retryLater(row: OutboundMessage, fromState: store.HeldState, attempts: number, error: { code: string | null; message: string }): Promise<void> {
    if (attempts >= options.maxAttempts) {
      metrics?.messageRetry('gave_up');
      await store.markFailed(database.db, row.id, fromState, { code: error.code, message: `${error.message} (gave up after ${attempts} attempts)` }, now());
      return;
    }
    metrics?.messageRetry('retry');
    await store.retryLater(database.db, row.id, fromState, now() + backoff(attempts), error, now());
  }

  return { backoff, retryLater, maxAttempts: options.maxAttempts };
}

export type RetryPolicy = ReturnType<typeof createRetryPolicy>;
