import type { Kysely } from 'kysely';

// Frozen in time. Housekeeping deletes old status callbacks and finished jobs by age; without these indexes each
// pass would read both tables whole.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('message_status_by_received').on('message_status_events').columns(['received_at']).execute();
  await db.schema.createIndex('jobs_finished').on('jobs').columns(['state', 'updated_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('jobs_finished').execute();
  await db.schema.dropIndex('message_status_by_received').execute();
}
