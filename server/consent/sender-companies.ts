import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';

/** A sender as consent sees it: its key, and whether several companies text through it (the app's default account). */
export type ConsentSender = { key: string; shared: boolean };

/**
 * Every company that texts through the sender: the owner of a company's own sender; on the app's shared sender,
 * every installed company that has not brought its own account. Twilio blocks an opted-out number per sender, so an
 * opt-out received on the shared sender binds all of them.
 */
export async function companiesOnSender(db: Kysely<Schema>, sender: { shared: boolean; ownerCompanyId: string | null }, limit?: number): Promise<string[]> {
  if (sender.ownerCompanyId !== null) return [sender.ownerCompanyId];
  if (!sender.shared) return [];
  let query = db.selectFrom('companies').select('id').where('twilio_account_sid', 'is', null).orderBy('id');
  if (limit !== undefined) query = query.limit(limit);
  return (await query.execute()).map((r) => r.id);
}
