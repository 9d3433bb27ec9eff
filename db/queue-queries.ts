import { sql } from 'kysely';
import type { Database } from './database.js';
import type { Job, OutboundMessage } from './schema.js';

/**
 * Atomic claims of due work. The only engine-specific SQL outside migrations: PostgreSQL gets
 * `FOR UPDATE SKIP LOCKED` so several workers never take the same row; SQLite serialises writers, so its plain
 * UPDATE … WHERE state = 'queued' is already exclusive.
 */
async function claimDue<Row>(database: Database, table: 'outbound_messages' | 'jobs', nowIso: string, leaseUntilIso: string, limit: number): Promise<Row[]> {
  const t = sql.table(table);
  if (database.kind === 'postgres') {
    // The locked, limited selection in a CTE: PostgreSQL may run an IN (SELECT … LIMIT … SKIP LOCKED) subquery more
    // than once per UPDATE, each run skipping the rows the last one locked, and so claim far more than `limit`.
    const result = await sql<Row>`
      WITH due AS (
        SELECT id FROM ${t} WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
        ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE ${t} SET state = 'claimed', claimed_until = ${leaseUntilIso}, updated_at = ${nowIso}
      FROM due WHERE ${t}.id = due.id
      RETURNING ${t}.*`.execute(database.db);
    return result.rows;
  }
  // SQLite serialises writers and runs the subquery once, so the plain form is already exclusive and exact.
  const result = await sql<Row>`
    UPDATE ${t} SET state = 'claimed', claimed_until = ${leaseUntilIso}, updated_at = ${nowIso}
    WHERE id IN (
      SELECT id FROM ${t} WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
      ORDER BY next_attempt_at LIMIT ${limit}
    ) AND state = 'queued'
    RETURNING *`.execute(database.db);
  return result.rows;
}

export const claimDueMessages = (database: Database, nowIso: string, leaseUntilIso: string, limit: number) =>
  claimDue<OutboundMessage>(database, 'outbound_messages', nowIso, leaseUntilIso, limit);

export const claimDueJobs = (database: Database, nowIso: string, leaseUntilIso: string, limit: number) =>
  claimDue<Job>(database, 'jobs', nowIso, leaseUntilIso, limit);
