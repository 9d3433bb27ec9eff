import type { Kysely } from 'kysely';

// Frozen in time: this migration must keep producing the same tables whatever the app's types become.
// Portable between SQLite and PostgreSQL: text ids, ISO-8601 text timestamps, integer 0/1 flags.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('companies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('domain', 'text')
    .addColumn('api_domain', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('webhook_id', 'text')
    .addColumn('webhook_user', 'text')
    .addColumn('webhook_password_sealed', 'text')
    .addColumn('consent_field_key', 'text')
    .addColumn('consent_granted_option', 'text')
    .addColumn('consent_opted_out_option', 'text')
    .addColumn('activity_type_key', 'text')
    .addColumn('provisioning_status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('provisioning_problems', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('installations')
    .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('access_token_sealed', 'text', (c) => c.notNull())
    .addColumn('refresh_token_sealed', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('api_domain', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('installations_pk', ['company_id', 'user_id'])
    .execute();

  // Append-only: every opt-out and opt-in ever recorded, kept after uninstall so an opted-out number is never texted
  // again. Deliberately no foreign key to companies: these rows outlive the company's other data.
  await db.schema
    .createTable('consent_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('company_id', 'text', (c) => c.notNull())
    .addColumn('phone_e164', 'text', (c) => c.notNull())
    .addColumn('sender', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('person_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('consent_events_by_phone')
    .on('consent_events')
    .columns(['company_id', 'phone_e164', 'created_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('consent_events').execute();
  await db.schema.dropTable('installations').execute();
  await db.schema.dropTable('companies').execute();
}
