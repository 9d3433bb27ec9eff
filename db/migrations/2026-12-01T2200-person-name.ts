import type { Kysely } from 'kysely';

// Frozen in time. The reports name the contact a message went to as Pipedrive named them when it was sent, without
// asking Pipedrive for every row; the name goes with the message (retention, erasure, uninstall).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbound_messages').addColumn('person_name', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbound_messages').dropColumn('person_name').execute();
}
