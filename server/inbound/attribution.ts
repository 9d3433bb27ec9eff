import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { TwilioConfig } from '../config.js';
import { defaultSender, type Sender } from '../twilio/senders.js';

export type InboundAddress = { accountSid: string; to: string; messagingServiceSid: string | null };

/**
 * The sender an inbound text arrived on. Only the default account exists today (its webhook signature was checked
 * with that account's token); a company's own account would be recognised here by its AccountSid.
 */
export function receivingSender(address: InboundAddress, twilio: TwilioConfig | null): Sender | null {
  const sender = defaultSender(twilio);
  return sender && sender.account.accountSid === address.accountSid ? sender : null;
}

export type Attribution = {
  /**
   * `conversation`: the latest message the app sent to that number gives company, deal and person.
   * `phone_search`: the company is known (the only one on the sender) but the app never texted the number; the
   * person is looked up in Pipedrive when the activity is logged. `none`: no company can be told apart.
   */
  how: 'conversation' | 'phone_search' | 'none';
  companyId: string | null;
  dealId: number | null;
  personId: number | null;
  replyToMessageId: string | null;
};

const NOBODY: Attribution = { how: 'none', companyId: null, dealId: null, personId: null, replyToMessageId: null };

/**
 * R11: on a shared sender the company is the one that last texted the number through it, and deal and person
 * come from that same message. A number nobody texted belongs to the sender's only company when there is one;
 * with several, guessing would show one company's contact to another, so the text stays unattributed.
 */
export async function attributeInbound(db: Kysely<Schema>, sender: Sender | null, fromE164: string | null): Promise<Attribution> {
  if (!sender || !fromE164) return NOBODY;
  const latest = await db
    .selectFrom('outbound_messages')
    .select(['id', 'company_id', 'deal_id', 'person_id'])
    .where('to_e164', '=', fromE164)
    .where('sender', '=', sender.key)
    .where('sent_at', 'is not', null)
    .orderBy('sent_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (latest) {
    return { how: 'conversation', companyId: latest.company_id, dealId: latest.deal_id, personId: latest.person_id, replyToMessageId: latest.id };
  }
  const companies = await companiesOnSender(db, sender, 2);
  if (companies.length === 1) return { ...NOBODY, how: 'phone_search', companyId: companies[0]! };
  return NOBODY;
}

/** Every company that texts through the sender; on the shared default sender that is every installed company. */
export async function companiesOnSender(db: Kysely<Schema>, sender: Sender, limit?: number): Promise<string[]> {
  // Companies cannot bring their own sender yet, so every sender the app knows is the shared default one.
  if (!sender.shared) return [];
  let query = db.selectFrom('companies').select('id').orderBy('id');
  if (limit !== undefined) query = query.limit(limit);
  return (await query.execute()).map((r) => r.id);
}
