import type { Kysely } from 'kysely';

// Frozen in time. The per-sender pace lives in the database so that every worker, in every process, takes its turn
// from the same clock: the next moment each sender may send (milliseconds since the epoch).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sender_pace')
    .addColumn('sender_key', 'text', (c) => c.primaryKey())
    .addColumn('next_free_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sender_pace').execute();
}
