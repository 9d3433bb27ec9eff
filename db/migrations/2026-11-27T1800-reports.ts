import type { Kysely } from 'kysely';

// Frozen in time. Reports count a company's messages created in a period: without this index that is a walk over
// every message the company ever sent.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('outbound_by_company_created').on('outbound_messages').columns(['company_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbound_by_company_created').execute();
}
