import type { Kysely } from 'kysely';

// Frozen in time. Crash recovery in seconds: each running worker (one per process) has a row it refreshes about every
// second, and every claim names the worker that holds it. A worker whose heartbeat is a few seconds old is dead: its
// claims go back to the queue and its unconfirmed sends are looked up at Twilio at once, instead of after the lease.
// `host` and `pid` are for operators only. The claims are found by state through the existing (state, …) indexes:
// claimed and sending rows are few, so no index on claimed_by is needed.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('workers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('outbound_messages').addColumn('claimed_by', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('claimed_by', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('claimed_by').execute();
  await db.schema.alterTable('outbound_messages').dropColumn('claimed_by').execute();
  await db.schema.dropTable('workers').execute();
}
