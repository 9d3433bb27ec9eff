import type { Kysely } from 'kysely';

// Frozen in time. The settings page lists a period's messages and replies newest first, a page at a time, continuing
// after the (time, id) of the last row shown. With these indexes a page is one seek and as many index steps as it has
// rows, however deep in a year of traffic it is; without them every page would sort the company's whole period.
// The company's messages by time supersedes the earlier (company, time) index, so that one goes: one index less to
// write on every message.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('outbound_report_page').on('outbound_messages').columns(['company_id', 'created_at', 'id']).execute();
  // One automation's messages (automation_id null: the deal panel's).
  await db.schema.createIndex('outbound_report_by_automation').on('outbound_messages').columns(['company_id', 'automation_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('inbound_report_page').on('inbound_messages').columns(['company_id', 'received_at', 'id']).execute();
  await db.schema.dropIndex('outbound_by_company_created').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('outbound_by_company_created').on('outbound_messages').columns(['company_id', 'created_at']).execute();
  await db.schema.dropIndex('inbound_report_page').execute();
  await db.schema.dropIndex('outbound_report_by_automation').execute();
  await db.schema.dropIndex('outbound_report_page').execute();
}
