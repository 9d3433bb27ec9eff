import type { Kysely } from 'kysely';

// Frozen in time. The opt-out lookup is by phone across the company and the shared sender (an opt-out on a shared
// sender applies to every company on it): an index that starts with the phone serves both branches of that OR.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('consent_events_by_phone_only').on('consent_events').columns(['phone_e164', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('consent_events_by_phone_only').execute();
}
