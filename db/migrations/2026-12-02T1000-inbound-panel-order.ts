import type { Kysely } from 'kysely';

// Frozen in time. The deal panel reads a deal's replies (and the unattributed ones from the person's number) newest
// first with the id as the tie-break. The by-deal and by-phone indexes ended at the time, so they answered the filter
// but not the whole order; without statistics (the app never runs ANALYZE) SQLite then preferred the reports' page
// index (company, time, id), which matches the order but reads every reply of the company: 30-40 ms a query at a
// million messages instead of well under one. With the id at their end, these indexes answer filter and order alike.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('inbound_by_deal').execute();
  await db.schema.createIndex('inbound_by_deal').on('inbound_messages').columns(['company_id', 'deal_id', 'received_at', 'id']).execute();
  await db.schema.dropIndex('inbound_by_phone').execute();
  await db.schema.createIndex('inbound_by_phone').on('inbound_messages').columns(['company_id', 'from_e164', 'received_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('inbound_by_deal').execute();
  await db.schema.createIndex('inbound_by_deal').on('inbound_messages').columns(['company_id', 'deal_id', 'received_at']).execute();
  await db.schema.dropIndex('inbound_by_phone').execute();
  await db.schema.createIndex('inbound_by_phone').on('inbound_messages').columns(['company_id', 'from_e164', 'received_at']).execute();
}
