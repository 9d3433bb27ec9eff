import { sql } from 'kysely';
import type { Database } from '../../db/database.js';

export type RetentionDays = {
  /** Deal events are kept for idempotency (Pipedrive retries within hours); a month is ample. */
  webhookEvents: number;
  /** Raw Twilio status callbacks; the message row already holds the latest status. */
  statusEvents: number;
  /** Jobs that finished (done or given up). */
  finishedJobs: number;
};

export const DEFAULT_RETENTION: RetentionDays = { webhookEvents: 30, statusEvents: 30, finishedJobs: 30 };

/** At most this many rows per statement, so a large backlog never holds the write lock for long. */
const BATCH = 2_000;

/**
 * Deletes records that only serve a short window, so the database does not grow with every deal edit Pipedrive
 * reports. Conversations, consent history and message rows are never touched: they are the product's record.
 * Deal events go company by company, through the (company_id, received_at) index the webhook path already keeps,
 * rather than through one more index that every webhook would have to write; the other two have their own.
 */
export async function pruneExpired(database: Database, now: number, retention: RetentionDays = DEFAULT_RETENTION): Promise<Record<string, number>> {
  const { db } = database;
  const cutoff = (days: number) => new Date(now - days * 86_400_000).toISOString();
  const deleted: Record<string, number> = { webhookEvents: 0, statusEvents: 0, finishedJobs: 0 };

  const drain = async (statement: () => Promise<bigint | number>) => {
    let total = 0;
    for (;;) {
      const n = Number(await statement());
      total += n;
      if (n < BATCH) return total;
      // SQLite runs on this thread: let webhooks in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const companies = await db.selectFrom('companies').select('id').execute();
  const eventsBefore = cutoff(retention.webhookEvents);
  for (const { id } of companies) {
    deleted.webhookEvents! += await drain(async () => {
      // An event id is unique only within its company: another company's event with the same id is not expired.
      const r = await sql`
        DELETE FROM webhook_events WHERE company_id = ${id} AND id IN (
          SELECT id FROM webhook_events WHERE company_id = ${id} AND received_at < ${eventsBefore} LIMIT ${BATCH})`.execute(db);
      return r.numAffectedRows ?? 0n;
    });
  }
  const statusBefore = cutoff(retention.statusEvents);
  deleted.statusEvents = await drain(async () => {
    const r = await sql`
      DELETE FROM message_status_events WHERE id IN (
        SELECT id FROM message_status_events WHERE received_at < ${statusBefore} LIMIT ${BATCH})`.execute(db);
    return r.numAffectedRows ?? 0n;
  });
  const jobsBefore = cutoff(retention.finishedJobs);
  deleted.finishedJobs = await drain(async () => {
    const r = await sql`
      DELETE FROM jobs WHERE id IN (
        SELECT id FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ${jobsBefore} LIMIT ${BATCH})`.execute(db);
    return r.numAffectedRows ?? 0n;
  });
  return deleted;
}
