import type { Kysely } from 'kysely';

// Frozen in time. The consent history keeps who made a change when a person made it (a user deciding a possible
// opt-out, an admin adding or removing a number); null for a change the contact made by text or Twilio reported.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('consent_events').addColumn('actor', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('consent_events').dropColumn('actor').execute();
}
