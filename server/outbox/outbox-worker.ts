import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.js';
import { DEFAULT_RETENTION, pruneExpired, type RetentionDays } from './housekeeping.js';
import type { CompanyStore } from '../companies/company-store.js';
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
import { releaseClaimsOf, releaseScheduled } from './outbox-store.js';
import { createWorkerRegistry } from './worker-registry.js';
import type { WakeChannel } from '../../db/wake-channel.js';

export type OutboxWorkerOptions = {
  /** Messages and jobs handled at once. */
  concurrency: number;
  pollMs: number;
  /**
   * How long a claim holds before another worker may take the row back (nothing was sent yet): the last resort, for a
   * claim that names no worker. A worker that stops beating loses its claims after `deadAfterMs`.
   */
  leaseMs: number;
  /** How often the worker refreshes its heartbeat row. */
  heartbeatMs: number;
  /** A worker whose heartbeat is older than this is dead: its claims return to the queue, its sends are looked up. */
  deadAfterMs: number;
  /** A send unconfirmed for this long is looked up at Twilio (longer than the HTTP timeout). */
  sendingStaleMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  /** Per-sender pacing; the benchmark turns it off to measure the drain itself. */
  rateLimit: boolean;
  /** How often expired records are pruned (see housekeeping.ts), beside the send loop; once at start too. */
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
  heartbeatMs: 1_000,
  deadAfterMs: 5_000,
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
/** How long a stopping worker waits for a housekeeping pass under way (it deletes in batches: stopping loses nothing). */
const HOUSEKEEPING_STOP_WAIT_MS = 3_000;

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
    wake: wakeHere,
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
  let lastDeadCheck = 0;
  /** Set by stop(): the pass under way starts nothing more; what it claimed and did not start goes back. */
  let stopping = false;
  let housekeepingTimer: NodeJS.Timeout | null = null;
  let housekeeping: Promise<void> | null = null;
  const registry = createWorkerRegistry(database, randomUUID());
  let beatTimer: NodeJS.Timeout | null = null;
  /** When the loop last finished a pass (in memory: what /readyz reads to know the loop still turns). */
  let lastPass: number | null = null;

  /** Claims a dead worker left behind go back to the queue; sends it never confirmed are looked up at Twilio. */
  async function recover(): Promise<void> {
    await deps.jobs.releaseExpiredClaims();
    await recovery.recover(companyReader());
  }

  /** This worker's row, then a heartbeat every `heartbeatMs` on its own timer, whatever the loop is doing. */
  async function register(): Promise<void> {
    if (beatTimer) return;
    await registry.register(now());
    const beatLater = () => {
      beatTimer = setTimeout(() => void beat().finally(() => beatTimer && beatLater()), options.heartbeatMs);
      beatTimer.unref();
    };
    beatLater();
  }

  async function beat(): Promise<void> {
    try {
      if ((await registry.beat(now())) || !beatTimer) return;
      // Another worker saw no heartbeat for `deadAfterMs` (this process stalled) and took back its claims.
      log.warn({ workerId: registry.id }, 'this worker was taken for dead (no heartbeat for a few seconds); registered again');
      await registry.register(now());
    } catch (error) {
      log.warn({ err: error }, 'worker heartbeat failed');
    }
  }

  /**
   * A dead worker's claims (jobs and messages) go back to the queue in one statement each, and its unconfirmed sends
   * are looked up at Twilio at once; then its row goes. This worker beats first, so it never takes itself for dead.
   */
  async function takeBackFromDeadWorkers(): Promise<void> {
    lastDeadCheck = now();
    await beat();
    const liveSince = iso(now() - options.deadAfterMs);
    await deps.jobs.releaseClaimsOfDeadWorkers(liveSince);
    const taken = await recovery.recoverDeadWorkers(companyReader(), liveSince);
    await registry.removeDead(liveSince);
    if (taken > 0) log.info({ messages: taken }, 'took back the messages of a stopped worker');
  }

  /** One pass: recovery when due, then a batch of messages and jobs. Returns how many items it handled. */
  async function runOnce(): Promise<number> {
    await register();
    if (now() - lastDeadCheck >= options.heartbeatMs) await takeBackFromDeadWorkers();
    if (now() - lastRecovery > 5_000) {
      lastRecovery = now();
      await recover();
    }
    // Messages held for quiet hours join the queue once their window opens, and are paced with the rest.
    await releaseScheduled(database, iso(), RELEASE_PER_PASS);
    const lease = iso(now() + options.leaseMs);
    const companyOf = companyReader();
    const crmOf = crmReader();
    // Companies take turns, and a paced sender is claimed only up to its free slots (see fair-share.ts).
    // One wave: a pass waits for its slowest item, so a text that arrives meanwhile waits one item's time, not four.
    const messages = await fair.claim(companyOf, lease, options.concurrency, registry.id);
    const jobs = await deps.jobs.claim(lease, options.concurrency, registry.id);
    const tasks = [...messages.map((m) => () => sender.processMessage(m, companyOf, crmOf)), ...jobs.map((j) => () => deps.jobs.process(j, retry))];
    await pool(tasks, options.concurrency, () => stopping, (error) =>
      log.error({ err: error }, 'outbox item failed unexpectedly; its claim will expire and it will be retried'),
    );
    return messages.length + jobs.length;
  }

  /** The company (one read per pass, however many of its messages the pass holds) and its acting Pipedrive user. */
  const companyReader = () => oncePerKey((id) => deps.companies.find(id));
  const crmReader = () => oncePerKey((id) => deps.installations.crmFor(id));

  /** Never two at once: a call while one runs waits for that one. */
  function housekeep(): Promise<void> {
    housekeeping ??= prune().finally(() => (housekeeping = null));
    return housekeeping;
  }

  /** Beside the send loop, on its own timer: a long pass (retention has up to 10 s) never holds a send up. */
  function housekeepEvery(delayMs: number): void {
    housekeepingTimer = setTimeout(() => {
      void housekeep().finally(() => running && housekeepEvery(options.housekeepingEveryMs));
    }, delayMs);
    housekeepingTimer.unref();
  }

  async function prune(): Promise<void> {
    try {
      const deleted = await pruneExpired(database, now(), options.retention);
      if (Object.values(deleted).some((n) => n > 0)) log.info({ deleted }, 'expired records pruned');
    } catch (error) {
      // Never worth stopping the sends for: the next run tries again.
      log.warn({ err: error }, 'pruning expired records failed');
    }
  }

  /** Set by a wake, cleared when a pass begins: a wake that comes while a pass runs is not slept through. */
  let woken = false;
  function wakeHere() {
    woken = true;
    wakeUp?.();
  }

  /**
   * The other instances hear of new work too (PostgreSQL's LISTEN/NOTIFY, see db/wake-channel.ts): made at the first
   * wake or start, listened to while the loop runs, closed at stop.
   */
  let channel: WakeChannel | null | undefined;
  const wakeChannel = () => (channel === undefined ? (channel = database.wakeChannel((message, error) => log.warn({ err: error }, message))) : channel);

  /** New work was queued: this instance's loop runs a pass now, and the other instances' loops too. */
  function wake() {
    wakeHere();
    wakeChannel()?.notify();
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
      stopping = false;
      loop = (async () => {
        try {
          await register();
          // SQLite runs one instance: every other worker row is a process that is no more, and what it held is
          // taken back by the first pass, without waiting for its heartbeat to age.
          if (database.kind === 'sqlite') await registry.removeOthers();
          lastDeadCheck = 0;
        } catch (error) {
          log.error({ err: error }, 'outbox pass failed');
        }
        housekeepEvery(0);
        await wakeChannel()?.listen(wakeHere);
        while (running) {
          let handled = 0;
          woken = false;
          try {
            handled = await runOnce();
          } catch (error) {
            log.error({ err: error }, 'outbox pass failed');
          }
          lastPass = now();
          // Work queued after this pass claimed (its webhook woke nobody: the loop was busy) is claimed now.
          if (handled === 0 && running && !woken) {
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
    /**
     * Takes no new claims, lets the items already started finish (a Twilio call under way is never cut), gives back
     * in one statement each the messages and jobs it claimed and did not start, and removes its worker row.
     */
    async stop() {
      stopping = true;
      running = false;
      wakeHere();
      if (housekeepingTimer) clearTimeout(housekeepingTimer);
      housekeepingTimer = null;
      await loop;
      loop = null;
      lastPass = null;
      await channel?.close();
      channel = undefined;
      if (housekeeping) await Promise.race([housekeeping, new Promise((resolve) => setTimeout(resolve, HOUSEKEEPING_STOP_WAIT_MS).unref())]);
      if (!beatTimer) return;
      clearTimeout(beatTimer);
      beatTimer = null;
      try {
        const released = await releaseClaimsOf(database.db, registry.id, iso());
        await deps.jobs.releaseClaimsOf(registry.id);
        await registry.deregister();
        if (released > 0) log.info({ released }, 'outbox stopped: claimed messages not started are back in the queue');
      } catch (error) {
        log.warn({ err: error }, 'could not give back the claims of a stopping worker; they return once its heartbeat is old');
      }
    },
  };
}

/** Runs `tasks`, `size` at a time; once `halted()`, starts no more (the rest stay claimed for the caller to give back). */
async function pool(tasks: Array<() => Promise<void>>, size: number, halted: () => boolean, onError: (e: unknown) => void): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length && !halted()) {
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

/** `load` called at most once per key for as long as the returned reader lives (one pass). */
function oncePerKey<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>();
  return (key) => {
    let found = seen.get(key);
    if (!found) seen.set(key, (found = load(key)));
    return found;
  };
}
