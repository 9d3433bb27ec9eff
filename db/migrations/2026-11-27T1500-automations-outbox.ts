import type { Kysely } from 'kysely';

// Frozen in time. Automations, the webhook events they react to, the outbound message outbox and a generic
// job queue for Pipedrive write-backs (consent field, activities) that must survive Pipedrive outages.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('automations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('trigger_event', 'text', (c) => c.notNull())
    .addColumn('stage_id', 'integer', (c) => c.notNull())
    .addColumn('pipeline_id', 'integer')
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('automations_by_company').on('automations').columns(['company_id', 'trigger_event', 'stage_id']).execute();

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('queued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_events_by_company').on('webhook_events').columns(['company_id', 'received_at']).execute();

  await db.schema
    .createTable('outbound_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('automation_id', 'text')
    .addColumn('automation_name', 'text')
    .addColumn('event_id', 'text')
    .addColumn('created_by', 'text')
    .addColumn('deal_id', 'integer')
    .addColumn('person_id', 'integer')
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('context', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('phone_raw', 'text')
    .addColumn('to_e164', 'text')
    .addColumn('sender', 'text')
    .addColumn('body', 'text')
    .addColumn('segments', 'integer')
    .addColumn('encoding', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('skip_reason', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('sending_at', 'text')
    .addColumn('provider_sid', 'text', (c) => c.unique())
    .addColumn('provider_status', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('sent_at', 'text')
    .addColumn('status_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('outbound_once_per_event', ['event_id', 'automation_id'])
    .execute();
  await db.schema.createIndex('outbound_due').on('outbound_messages').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('outbound_by_deal').on('outbound_messages').columns(['company_id', 'deal_id', 'created_at']).execute();
  await db.schema.createIndex('outbound_by_phone').on('outbound_messages').columns(['to_e164', 'sent_at']).execute();

  // Every status callback as received: callbacks can arrive before the send is confirmed, out of order, or twice.
  await db.schema
    .createTable('message_status_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_sid', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('message_status_by_sid').on('message_status_events').columns(['provider_sid']).execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'next_attempt_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['jobs', 'message_status_events', 'outbound_messages', 'webhook_events', 'automations']) await db.schema.dropTable(t).execute();
}
