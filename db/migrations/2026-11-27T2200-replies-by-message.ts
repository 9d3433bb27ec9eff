import type { Kysely } from 'kysely';

// Frozen in time. Reports count the replies to each message of a period: without this index every message would
// walk all of its company's replies (minutes for a company with a year of traffic).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('inbound_by_reply_to').on('inbound_messages').columns(['reply_to_message_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('inbound_by_reply_to').execute();
}
