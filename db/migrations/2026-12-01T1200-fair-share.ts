import { sql, type Kysely } from 'kysely';

// Frozen in time. Indexes for claiming queued messages company by company: one seek finds the next company with
// waiting messages and its oldest due one; the partial index finds a company's panel sends (few, and first in line)
// without reading its automation backlog.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('outbound_queued_by_company').on('outbound_messages').columns(['state', 'company_id', 'next_attempt_at']).execute();
  // Partial: only queued panel sends are in it. The leading state and source let the planner prefer it for that lookup.
  await sql`CREATE INDEX outbound_queued_panel ON outbound_messages (state, source, company_id, next_attempt_at) WHERE state = 'queued' AND source = 'panel'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbound_queued_panel').execute();
  await db.schema.dropIndex('outbound_queued_by_company').execute();
}
