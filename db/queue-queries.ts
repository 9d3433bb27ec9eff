import { sql } from 'kysely';
import type { Database } from './database.js';
import type { Job, OutboundMessage } from './schema.js';

/**
 * Atomic claims of due work. The only engine-specific SQL outside migrations: PostgreSQL gets
 * `FOR UPDATE SKIP LOCKED` so several workers never take the same row; SQLite serialises writers, so its plain
 * UPDATE … WHERE state = 'queued' is already exclusive.
 */
async function claimDue<Row>(database: Database, table: 'outbound_messages' | 'jobs', nowIso: string, leaseUntilIso: string, limit: number): Promise<Row[]> {
  const lock = database.kind === 'postgres' ? sql` FOR UPDATE SKIP LOCKED` : sql``;
  const t = sql.table(table);
  const result = await sql<Row>`
    UPDATE ${t} SET state = 'claimed', claimed_until = ${leaseUntilIso}, updated_at = ${nowIso}
    WHERE id IN (
      SELECT id FROM ${t} WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
      ORDER BY next_attempt_at LIMIT ${limit}${lock}
    ) AND state = 'queued'
    RETURNING *`.execute(database.db);
  return result.rows;
}

export const claimDueMessages = (database: Database, nowIso: string, leaseUntilIso: string, limit: number) =>
  claimDue<OutboundMessage>(database, 'outbound_messages', nowIso, leaseUntilIso, limit);

export const claimDueJobs = (database: Database, nowIso: string, leaseUntilIso: string, limit: number) =>
  claimDue<Job>(database, 'jobs', nowIso, leaseUntilIso, limit);
