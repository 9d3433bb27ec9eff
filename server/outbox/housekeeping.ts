import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import { parseCompanySettings } from '../companies/company-settings.js';
import { deleteFinishedBefore } from './outbox-store.js';

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
 * reports, then the messages and replies a company asked to keep for a limited time (see pruneByRetention).
 * The consent history is never touched. Deal events go company by company, through the (company_id, received_at)
 * index the webhook path already keeps, rather than through one more index that every webhook would have to write;
 * the other two have their own.
 */
export async function pruneExpired(
  database: Database,
  now: number,
  retention: RetentionDays = DEFAULT_RETENTION,
  options: { budgetMs?: number } = {},
): Promise<Record<string, number>> {
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
  const kept = await pruneByRetention(database, now, options.budgetMs ?? RETENTION_BUDGET_MS);
  return { ...deleted, ...kept };
}

/** Rows per retention batch: each batch is one short transaction (a message row carries several indexes). */
const RETENTION_BATCH = 500;
/** How long one housekeeping pass spends on retention; a larger backlog goes on at the next pass. */
const RETENTION_BUDGET_MS = 10_000;

/**
 * Each company's retention: messages (with their delivery reports) and replies older than its `retentionDays` are
 * deleted, and made unreadable in the database files as an erasure is. Companies take turns a batch at a time, so a
 * company with a million old rows neither holds the write lock for long nor keeps another company's rows waiting;
 * after the time budget the rest waits for the next pass. The cut-off comes from the caller's clock.
 */
export async function pruneByRetention(database: Database, now: number, budgetMs = RETENTION_BUDGET_MS): Promise<{ messages: number; replies: number }> {
  const { db } = database;
  const started = performance.now();
  const deleted = { messages: 0, replies: 0 };
  let turns = (await db.selectFrom('companies').select(['id', 'settings']).execute()).flatMap(({ id, settings }) => {
    const days = parseCompanySettings(settings).retentionDays;
    return days === null ? [] : [{ id, before: new Date(now - days * 86_400_000).toISOString() }];
  });
  // A round at least, however small the budget: every company with old rows gets a batch on every pass.
  for (let round = 0; turns.length > 0 && (round === 0 || performance.now() - started < budgetMs); round++) {
    const next: typeof turns = [];
    for (const company of turns) {
      const batch = await database.transaction(async (trx) => {
        const messages = await deleteFinishedBefore(trx, company.id, company.before, RETENTION_BATCH);
        const replies = await trx
          .deleteFrom('inbound_messages')
          .where('id', 'in', (eb) =>
            eb.selectFrom('inbound_messages').select('id').where('company_id', '=', company.id).where('received_at', '<', company.before).orderBy('received_at').limit(RETENTION_BATCH),
          )
          .executeTakeFirst();
        return { messages, replies: Number(replies.numDeletedRows) };
      });
      deleted.messages += batch.messages;
      deleted.replies += batch.replies;
      if (batch.messages === RETENTION_BATCH || batch.replies === RETENTION_BATCH) next.push(company);
      // SQLite runs on this thread: let webhooks in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    turns = next;
  }
  if (deleted.messages + deleted.replies > 0) await database.scrubDeleted(['message_status_events', 'outbound_messages', 'inbound_messages']);
  return deleted;
}
