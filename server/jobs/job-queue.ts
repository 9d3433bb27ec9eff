import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Job, Schema } from '../../db/schema.js';
import { claimDueJobs } from '../../db/queue-queries.js';

/**
 * Pipedrive write-backs that must not be lost when Pipedrive is down (consent field changes, activities): written
 * to the jobs table in the transaction that decided them, run and retried by the worker. A module that owns a kind
 * of job adds its payload here by declaration merging and registers its handler at the composition root, so this
 * module never imports the modules that use it.
 */
export interface JobPayloads {
  /** `phoneE164`: the number the change came for, so a later change to that number supersedes it while queued. */
  'pipedrive.set_consent': { personId: number; consent: 'granted' | 'opted_out'; phoneE164?: string };
  'pipedrive.add_activity': { subject: string; note: string; dealId: number | null; personId: number | null };
}
export type JobKind = keyof JobPayloads;

/** Queues a job in `db` (the caller's transaction, with the change that decided it); answers the new job's id. */
export async function enqueueJob<K extends JobKind>(
  db: Kysely<Schema>,
  companyId: string,
  kind: K,
  payload: JobPayloads[K],
  now: number,
): Promise<string> {
  const row = jobRow(companyId, { kind, payload } as QueuedJob, now);
  await db.insertInto('jobs').values(row).execute();
  return row.id;
}

function jobRow(companyId: string, job: QueuedJob, now: number) {
  const at = new Date(now).toISOString();
  return {
    id: randomUUID(),
    company_id: companyId,
    kind: job.kind,
    payload: JSON.stringify(job.payload),
    state: 'queued' as const,
    next_attempt_at: at,
    created_at: at,
    updated_at: at,
  };
}

/** Queues many jobs of one company in `db`, a few hundred per statement (an import's Pipedrive writes). */
export async function enqueueJobs(db: Kysely<Schema>, companyId: string, jobs: readonly QueuedJob[], now: number): Promise<void> {
  const rows = jobs.map((job) => jobRow(companyId, job, now));
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('jobs').values(rows.slice(i, i + 500)).execute();
}

/** A job to queue: its kind and that kind's payload. */
export type QueuedJob = { [K in JobKind]: { kind: K; payload: JobPayloads[K] } }[JobKind];

/** Due jobs, oldest first, claimed until `leaseUntilIso` by `workerId`. */
export const claimDue = (database: Database, nowIso: string, leaseUntilIso: string, limit: number, workerId: string | null = null): Promise<Job[]> =>
  claimDueJobs(database, nowIso, leaseUntilIso, limit, workerId);

const backToQueue = (at: string) => ({ state: 'queued' as const, claimed_until: null, claimed_by: null, updated_at: at });

/** Claims whose lease ran out (their worker died mid-job) go back to the queue: the last resort. */
export async function releaseExpiredClaims(db: Kysely<Schema>, at: string): Promise<void> {
  await db.updateTable('jobs').set(backToQueue(at)).where('state', '=', 'claimed').where('claimed_until', '<', at).execute();
}

/**
 * Claims of workers not alive (no heartbeat since `liveSinceIso`, or no row at all) go back to the queue at once. A
 * job that was running when its worker died runs again: Pipedrive writes are safe to repeat or superseded.
 */
export async function releaseClaimsOfDeadWorkers(db: Kysely<Schema>, liveSinceIso: string, at: string): Promise<void> {
  await db
    .updateTable('jobs')
    .set(backToQueue(at))
    .where('state', '=', 'claimed')
    .where('claimed_by', 'is not', null)
    .where('claimed_by', 'not in', db.selectFrom('workers').select('id').where('heartbeat_at', '>=', liveSinceIso))
    .execute();
}

/** A stopping worker gives back, in one statement, the jobs it claimed and has not started. */
export async function releaseClaimsOf(db: Kysely<Schema>, workerId: string, at: string): Promise<void> {
  await db.updateTable('jobs').set(backToQueue(at)).where('state', '=', 'claimed').where('claimed_by', '=', workerId).execute();
}
