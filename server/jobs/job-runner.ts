import type { Database } from '../../db/database.js';
import type { Job } from '../../db/schema.js';
import type { CompanyProfile, CompanyStore } from '../companies/company-store.js';
import { PipedriveApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { CrmPort } from '../pipedrive/crm-port.js';
import type { Installations } from '../pipedrive/installations.js';
import { claimDue, releaseClaimsOf, releaseClaimsOfDeadWorkers, releaseExpiredClaims, type JobKind, type JobPayloads } from './job-queue.js';

/** A job that cannot do its work and never will by trying again (a field not provisioned, an unknown kind). */
export class JobSkipped extends Error {}

export type JobHandler<K extends JobKind> = (payload: JobPayloads[K], company: CompanyProfile, crm: CrmPort) => Promise<void>;

/** When a failed job runs again; the worker passes its retry policy. */
export type JobRetry = { maxAttempts: number; backoff(attempts: number): number };

export type JobRunnerDeps = {
  database: Database;
  companies: CompanyStore;
  installations: Installations;
  logger: Logger;
  now: () => number;
  /** Retries and give-ups are counted here. */
  metrics?: Metrics;
};

/** Runs claimed jobs with the handler registered for their kind; Pipedrive's 429/5xx retry with backoff. */
export function createJobRunner(deps: JobRunnerDeps) {
  const { database, now } = deps;
  const { db } = database;
  const log = deps.logger.child({ subsystem: 'jobs' });
  const iso = (ms = now()) => new Date(ms).toISOString();
  const handlers = new Map<string, (payload: unknown, company: CompanyProfile, crm: CrmPort) => Promise<void>>();

  function register<K extends JobKind>(kind: K, handler: JobHandler<K>): void {
    if (handlers.has(kind)) throw new Error(`a handler for job kind ${kind} is already registered`);
    handlers.set(kind, handler as (payload: unknown, company: CompanyProfile, crm: CrmPort) => Promise<void>);
  }

  async function run(job: Job, company: CompanyProfile, crm: CrmPort): Promise<void> {
    const handler = handlers.get(job.kind);
    if (!handler) throw new JobSkipped(`unknown job kind ${job.kind}`);
    await handler(JSON.parse(job.payload), company, crm);
  }

  async function process(job: Job, retry: JobRetry): Promise<void> {
    const done = (set: Partial<Job>) =>
      db.updateTable('jobs').set({ ...set, claimed_until: null, claimed_by: null, updated_at: iso() }).where('id', '=', job.id).where('state', '=', 'claimed').execute();
    const company = await deps.companies.find(job.company_id);
    if (!company) return void (await done({ state: 'failed', last_error: 'company removed' }));
    try {
      await run(job, company, await deps.installations.crmFor(job.company_id));
      await done({ state: 'done', attempts: job.attempts + 1, last_error: null });
    } catch (error) {
      const attempts = job.attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      const retryable = error instanceof PipedriveApiError && error.retryable;
      if (retryable) deps.metrics?.jobRetry(handlers.has(job.kind) ? job.kind : 'unknown', attempts >= retry.maxAttempts ? 'gave_up' : 'retry');
      if (!retryable || attempts >= retry.maxAttempts) {
        if (!(error instanceof JobSkipped)) log.warn({ jobId: job.id, kind: job.kind, err: error }, 'Pipedrive write-back failed');
        await done({ state: 'failed', attempts, last_error: message });
      } else {
        await done({ state: 'queued', attempts, last_error: message, next_attempt_at: iso(now() + retry.backoff(attempts)) });
      }
    }
  }

  return {
    register,
    process,
    claim: (leaseUntilIso: string, limit: number, workerId: string | null = null) => claimDue(database, iso(), leaseUntilIso, limit, workerId),
    releaseExpiredClaims: () => releaseExpiredClaims(db, iso()),
    releaseClaimsOfDeadWorkers: (liveSinceIso: string) => releaseClaimsOfDeadWorkers(db, liveSinceIso, iso()),
    releaseClaimsOf: (workerId: string) => releaseClaimsOf(db, workerId, iso()),
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
