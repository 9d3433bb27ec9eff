import { sql } from 'kysely';
import type { Database } from './database.js';
import type { Job, OutboundMessage } from './schema.js';

/**
 * Atomic claims of due work. The only engine-specific SQL outside migrations: PostgreSQL gets
 * `FOR UPDATE SKIP LOCKED` so several workers never take the same row; SQLite serialises writers, so its plain
 * UPDATE … WHERE state = 'queued' is already exclusive.
 */
export async function claimDueMessages(database: Database, nowIso: string, leaseUntilIso: string, limit: number): Promise<OutboundMessage[]> {
  const lock = database.kind === 'postgres' ? sql` FOR UPDATE SKIP LOCKED` : sql``;
  const result = await sql<OutboundMessage>`
    UPDATE outbound_messages SET state = 'claimed', claimed_until = ${leaseUntilIso}, updated_at = ${nowIso}
    WHERE id IN (
      SELECT id FROM outbound_messages WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
      ORDER BY next_attempt_at LIMIT ${limit}${lock}
    ) AND state = 'queued'
    RETURNING *`.execute(database.db);
  return result.rows;
}

export async function claimDueJobs(database: Database, nowIso: string, leaseUntilIso: string, limit: number): Promise<Job[]> {
  const lock = database.kind === 'postgres' ? sql` FOR UPDATE SKIP LOCKED` : sql``;
  const result = await sql<Job>`
    UPDATE jobs SET state = 'claimed', claimed_until = ${leaseUntilIso}, updated_at = ${nowIso}
    WHERE id IN (
      SELECT id FROM jobs WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
      ORDER BY next_attempt_at LIMIT ${limit}${lock}
    ) AND state = 'queued'
    RETURNING *`.execute(database.db);
  return result.rows;
}
