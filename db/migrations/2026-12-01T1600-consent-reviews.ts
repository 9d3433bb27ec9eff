import { sql, type Kysely } from 'kysely';

// Frozen in time. A reply that may be an opt-out request ("please stop texting me") waits for a person's decision:
// one review per number and company while it is pending, due 10 business days after it arrived in the company's time
// zone. The company's zone is the installing admin's, as Pipedrive gives it (users/me `timezone_name`); null until the
// next install, read as UTC.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('companies').addColumn('time_zone', 'text').execute();
  await db.schema
    .createTable('consent_reviews')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('phone_e164', 'text', (c) => c.notNull())
    // The reply that opened the review and its text (kept here too: the reply may be pruned before the decision).
    .addColumn('inbound_message_id', 'text')
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('due_by', 'text', (c) => c.notNull())
    .addColumn('deal_id', 'integer')
    .addColumn('person_id', 'integer')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
    // 'opt_out' | 'not_opt_out', who decided (the Pipedrive user's id) and when; null while pending.
    .addColumn('decision', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // The settings page's lists: pending by due date, decided by the time of the decision.
  await db.schema.createIndex('consent_reviews_pending').on('consent_reviews').columns(['company_id', 'state', 'due_by', 'id']).execute();
  await db.schema.createIndex('consent_reviews_decided').on('consent_reviews').columns(['company_id', 'state', 'decided_at', 'id']).execute();
  // "Is a review pending for this number?", asked before every automation text; unique, so two replies arriving at
  // once cannot open two. A contact's erasure finds their reviews by the same columns.
  await db.schema
    .createIndex('consent_reviews_pending_number')
    .on('consent_reviews')
    .columns(['company_id', 'phone_e164'])
    .unique()
    .where(sql.ref('state'), '=', sql.lit('pending'))
    .execute();
  await db.schema.createIndex('consent_reviews_by_number').on('consent_reviews').columns(['company_id', 'phone_e164', 'received_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('consent_reviews').execute();
  await db.schema.alterTable('companies').dropColumn('time_zone').execute();
}
