import type { Kysely } from 'kysely';

// Frozen in time. Every inbound SMS as received, with what the app made of it: the company, deal and person it
// was attributed to (when it could be), its keyword classification, the reply the app answered with, and the job
// that logs it as a Pipedrive activity.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inbound_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Null when no company could be told apart (a stranger texting a shared sender): kept, never dropped.
    .addColumn('company_id', 'text', (c) => c.references('companies.id').onDelete('cascade'))
    // Twilio's MessageSid: its retries carry the same one.
    .addColumn('provider_sid', 'text', (c) => c.notNull().unique())
    .addColumn('account_sid', 'text', (c) => c.notNull())
    .addColumn('sender', 'text')
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('from_e164', 'text')
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('num_media', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('possible_opt_out', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attribution', 'text', (c) => c.notNull())
    .addColumn('reply_to_message_id', 'text')
    .addColumn('deal_id', 'integer')
    .addColumn('person_id', 'integer')
    .addColumn('activity_job_id', 'text')
    .addColumn('auto_reply', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inbound_by_deal').on('inbound_messages').columns(['company_id', 'deal_id', 'received_at']).execute();
  await db.schema.createIndex('inbound_by_phone').on('inbound_messages').columns(['company_id', 'from_e164', 'received_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('inbound_messages').execute();
}
