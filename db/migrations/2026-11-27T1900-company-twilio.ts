import type { Kysely } from 'kysely';

// Frozen in time. A company may text through its own Twilio account instead of the app's default one:
// the account, its auth token sealed like the OAuth tokens, and exactly one of a number or a Messaging Service.
// The columns live on the company row, so they go with it when the company is deleted.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('companies').addColumn('twilio_account_sid', 'text').execute();
  await db.schema.alterTable('companies').addColumn('twilio_auth_token_sealed', 'text').execute();
  await db.schema.alterTable('companies').addColumn('twilio_from_number', 'text').execute();
  await db.schema.alterTable('companies').addColumn('twilio_messaging_service_sid', 'text').execute();
  await db.schema.alterTable('companies').addColumn('twilio_verified_at', 'text').execute();
  // Webhooks name the account; its company is found by it.
  await db.schema.createIndex('companies_by_twilio_account').on('companies').columns(['twilio_account_sid']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('companies_by_twilio_account').execute();
  for (const column of ['twilio_verified_at', 'twilio_messaging_service_sid', 'twilio_from_number', 'twilio_auth_token_sealed', 'twilio_account_sid']) {
    await db.schema.alterTable('companies').dropColumn(column).execute();
  }
}
