import type { Kysely } from 'kysely';

// Frozen in time. A STOP received on the app's shared sender binds every company texting through it, so the opt-out
// list and the send-time check also read the history by sender; without this index each of those reads scanned the
// whole consent history of every company.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('consent_events_by_sender').on('consent_events').columns(['sender', 'phone_e164', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('consent_events_by_sender').execute();
}
