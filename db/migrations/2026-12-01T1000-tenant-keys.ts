import { sql, type Kysely } from 'kysely';

// Frozen in time. Keys that keep one company's traffic from touching another's:
// - a deal event is the same event only within its company: Pipedrive's event ids are not promised unique across
//   companies, and one company must never suppress another's texts. The table is rebuilt with the key
//   (company_id, id) because SQLite cannot change a primary key in place; every row is copied.
// - an outbound message records the Twilio account it went out through, so a status callback signed by another
//   account cannot change it;
// - a status callback received again (same message, account and status) is recorded once.
const COLUMNS = 'id, company_id, entity, action, entity_id, attempt, queued, received_at';

async function createEventsTable(db: Kysely<any>, name: string, key: 'company' | 'global'): Promise<void> {
  let table = db.schema
    .createTable(name)
    .addColumn('id', 'text', (c) => (key === 'global' ? c.primaryKey() : c.notNull()))
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('queued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', 'text', (c) => c.notNull());
  if (key === 'company') table = table.addPrimaryKeyConstraint('webhook_events_company_event', ['company_id', 'id']);
  await table.execute();
}

async function rebuildEvents(db: Kysely<any>, key: 'company' | 'global'): Promise<void> {
  await createEventsTable(db, 'webhook_events_rekeyed', key);
  // `WHERE true` lets SQLite parse the ON CONFLICT of an INSERT … SELECT; going back to one global key keeps the
  // first of events two companies shared.
  await sql`INSERT INTO webhook_events_rekeyed (${sql.raw(COLUMNS)})
            SELECT ${sql.raw(COLUMNS)} FROM webhook_events WHERE true ORDER BY received_at ON CONFLICT DO NOTHING`.execute(db);
  await db.schema.dropTable('webhook_events').execute();
  await db.schema.alterTable('webhook_events_rekeyed').renameTo('webhook_events').execute();
  await db.schema.createIndex('webhook_events_by_company').on('webhook_events').columns(['company_id', 'received_at']).execute();
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuildEvents(db, 'company');
  await db.schema.alterTable('outbound_messages').addColumn('account_sid', 'text').execute();
  await db.schema.alterTable('message_status_events').addColumn('account_sid', 'text').execute();
  await db.schema
    .createIndex('message_status_once')
    .on('message_status_events')
    .columns(['provider_sid', 'account_sid', 'status'])
    .unique()
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('message_status_once').execute();
  await db.schema.alterTable('message_status_events').dropColumn('account_sid').execute();
  await db.schema.alterTable('outbound_messages').dropColumn('account_sid').execute();
  await rebuildEvents(db, 'global');
}
