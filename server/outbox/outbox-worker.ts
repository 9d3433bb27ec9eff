import type { Database } from '../../db/database.js';
import { DEFAULT_RETENTION, pruneExpired, type RetentionDays } from './housekeeping.js';
import type { CompanyProfile, CompanyStore } from '../companies/company-store.js';
import type { OptOutList } from '../consent/opt-out-list.js';
import type { ConsentService } from '../consent/consent-service.js';
import type { Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import type { Installations } from '../pipedrive/installations.js';
import type { SenderDirectory } from '../twilio/senders.js';
import type { SmsPort } from '../twilio/sms-port.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { createSenderPace } from './sender-pace.js';
import { createFairShare } from './fair-share.js';
import { createRetryPolicy } from './retry-policy.js';
import { createRecovery } from './recovery.js';
import { createOutboxSender } from './outbox-sender.js';
import { createSendRules } from './send-rules.js';
import { createRecipientZones, type RecipientZones } from '../geo/recipient-zones.js';
import { releaseScheduled } from './outbox-store.js';

export type OutboxWorkerOptions = {
  /** Messages and jobs handled at once. */
  concurrency: number;
  pollMs: number;
  /** How long a claim holds before another worker may take the row back (nothing was sent yet). */
  leaseMs: number;
  /** A send unconfirmed for this long is looked up at Twilio (longer than the HTTP timeout). */
  sendingStaleMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  /** Per-sender pacing; the benchmark turns it off to measure the drain itself. */
  rateLimit: boolean;
  /** How often expired records are pruned (see housekeeping.ts); the first pass after start does it too. */
  housekeepingEveryMs: number;
  retention: RetentionDays;
  /** Automation messages wait for the recipient's sending window (the company's quiet hours, the state limits). */
  quietHours: boolean;
  /** Automation messages meet the company's frequency cap. */
  frequencyCap: boolean;
};

export const DEFAULT_WORKER_OPTIONS: OutboxWorkerOptions = {
  concurrency: 16,
  pollMs: 500,
  leaseMs: 60_000,
  sendingStaleMs: 120_000,
  retryBaseMs: 2_000,
  retryMaxMs: 10 * 60_000,
  maxAttempts: 8,
  rateLimit: true,
  housekeepingEveryMs: 60 * 60_000,
  retention: DEFAULT_RETENTION,
  quietHours: true,
  frequencyCap: true,
};

export type OutboxDeps = {
  database: Database;
  installations: Installations;
  companies: CompanyStore;
  optOuts: OptOutList;
  consent: ConsentService;
  sms: SmsPort;
  logger: Logger;
  now: () => number;
  appUrl: string;
  senders: SenderDirectory;
  /** Messages per second on the app's shared sender (SHARED_SENDER_RATE), all companies together. */
  sharedSenderRate: number;
  /** The Pipedrive write-back jobs, run in the same passes as the messages with the same retry policy. */
  jobs: JobRunner;
  /** The recipient's time zones, from the number (for quiet hours); the worker builds its own when not given one. */
  zones?: RecipientZones;
  /** Sends, latencies and retries are counted here (the context's registry; a throwaway one when not given). */
  metrics?: Metrics;
};

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;

/** The longest a claimed message waits for its sender's slot; what lies beyond stays queued. */
const HOLD_MS = 2_000;
/** Held messages whose window opened, moved back to the queue per pass: more than a pass claims, so none lags. */
const RELEASE_PER_PASS = 1_000;

/**
 * The loop: claims due messages (companies taking turns) and jobs, hands each to its processor a few at a time,
 * recovers what a dead worker left behind and prunes expired records now and then. What happens to one message is
 * outbox-sender.ts; when it is tried again, retry-policy.ts; unconfirmed sends, recovery.ts.
 */
export function createOutboxWorker(deps: OutboxDeps, overrides: Partial<OutboxWorkerOptions> = {}) {
  const options = { ...DEFAULT_WORKER_OPTIONS, ...overrides };
  const { database, sms, now } = deps;
  const log = deps.logger.child({ subsystem: 'outbox' });
  const metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
  const pace = createSenderPace(database, now);
  const fair = createFairShare({ database, senders: deps.senders, pace, sharedSenderRate: deps.sharedSenderRate, now }, { rateLimit: options.rateLimit, holdMs: HOLD_MS });
  const retry = createRetryPolicy(database, options, now, metrics);
  const recovery = createRecovery({ database, sms, senders: deps.senders, log, now, retry, sendingStaleMs: options.sendingStaleMs });
  const sender = createOutboxSender({
    database,
    installations: deps.installations,
    optOuts: deps.optOuts,
    consent: deps.consent,
    sms,
    senders: deps.senders,
    log,
    now,
    appUrl: deps.appUrl,
    pace,
    fair,
    retry,
    recovery,
    rateLimit: options.rateLimit,
    holdMs: HOLD_MS,
    wake,
    rules: createSendRules({ zones: deps.zones ?? createRecipientZones() }),
    quietHours: options.quietHours,
    frequencyCap: options.frequencyCap,
    metrics,
  });
  const iso = (ms = now()) => new Date(ms).toISOString();

  let running = false;
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  let lastRecovery = 0;
  let lastHousekeeping = 0;
  /** When the loop last finished a pass (in memory: what /readyz reads to know the loop still turns). */
  let lastPass: number | null = null;

  /** Claims a dead worker left behind go back to the queue; sends it never confirmed are looked up at Twilio. */
  async function recover(): Promise<void> {
    await deps.jobs.releaseExpiredClaims();
    await recovery.recover(companyReader());
  }

  /** One pass: recovery when due, then a batch of messages and jobs. Returns how many items it handled. */
  async function runOnce(): Promise<number> {
    if (now() - lastRecovery > 5_000) {
      lastRecovery = now();
      await recover();
    }
    if (now() - lastHousekeeping > options.housekeepingEveryMs) {
      lastHousekeeping = now();
      await housekeep();
    }
    // Messages held for quiet hours join the queue once their window opens, and are paced with the rest.
    await releaseScheduled(database, iso(), RELEASE_PER_PASS);
    const lease = iso(now() + options.leaseMs);
    const companyOf = companyReader();
    // Companies take turns, and a paced sender is claimed only up to its free slots (see fair-share.ts).
    const messages = await fair.claim(companyOf, lease, options.concurrency * 4);
    const jobs = await deps.jobs.claim(lease, options.concurrency);
    await pool([...messages.map((m) => () => sender.processMessage(m, companyOf)), ...jobs.map((j) => () => deps.jobs.process(j, retry))], options.concurrency, (error) =>
      log.error({ err: error }, 'outbox item failed unexpectedly; its claim will expire and it will be retried'),
    );
    return messages.length + jobs.length;
  }

  /** One company read per pass, however many of its messages the pass holds. */
  function companyReader(): (id: string) => Promise<CompanyProfile | null> {
    const companies = new Map<string, Promise<CompanyProfile | null>>();
    return (id) => {
      let found = companies.get(id);
      if (!found) companies.set(id, (found = deps.companies.find(id)));
      return found;
    };
  }

  async function housekeep(): Promise<void> {
    try {
      const deleted = await pruneExpired(database, now(), options.retention);
      if (Object.values(deleted).some((n) => n > 0)) log.info({ deleted }, 'expired records pruned');
    } catch (error) {
      // Never worth stopping the sends for: the next pass tries again.
      log.warn({ err: error }, 'pruning expired records failed');
    }
  }

  function wake() {
    wakeUp?.();
  }

  return {
    runOnce,
    recover: async () => {
      lastRecovery = now();
      await recover();
    },
    wake,
    housekeep,
    /** When the running loop last finished a pass; null when the loop is not running. */
    lastPassAt: (): number | null => (running ? lastPass : null),
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          let handled = 0;
          try {
            handled = await runOnce();
          } catch (error) {
            log.error({ err: error }, 'outbox pass failed');
          }
          lastPass = now();
          if (handled === 0 && running) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, options.pollMs);
              wakeUp = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wakeUp = null;
          }
        }
      })();
    },
    async stop() {
      running = false;
      wake();
      await loop;
      loop = null;
      lastPass = null;
    },
  };
}

async function pool(tasks: Array<() => Promise<void>>, size: number, onError: (e: unknown) => void): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        onError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, lane));
}
