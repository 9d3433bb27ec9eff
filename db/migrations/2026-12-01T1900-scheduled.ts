import type { Kysely } from 'kysely';

// Frozen in time. Quiet hours and the frequency cap.
// A message due outside the recipient's sending window waits in state 'scheduled' with `next_attempt_at` at the moment
// the window opens; `not_before` keeps that moment (shown while it waits, and afterwards the mark of a message sent
// later than its event). The claim reads state 'queued' only, so waiting rows are never read by it; they are moved
// back to 'queued' when due through the existing (state, next_attempt_at) index, a seek that reads only the due ones.
// The cap counts a company's automation messages to one number that started sending in the last 24 hours: the
// (number, sending time) index reads exactly those.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbound_messages').addColumn('not_before', 'text').execute();
  await db.schema.createIndex('outbound_by_phone_sending').on('outbound_messages').columns(['to_e164', 'sending_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbound_by_phone_sending').execute();
  await db.schema.alterTable('outbound_messages').dropColumn('not_before').execute();
}
