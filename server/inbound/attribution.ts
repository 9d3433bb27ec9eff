import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import { companiesOnSender } from '../consent/sender-companies.js';
import type { ReceivingSender } from '../twilio/senders.js';

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
 * Which company a reply belongs to: a company's own sender belongs to that company. On the shared sender the company is
 * the one that last texted the number through it. Deal and person come from the latest message sent to the number on
 * that sender. A number nobody texted belongs to the sender's only company when there is one; with several, guessing
 * would show one company's contact to another, so the text stays unattributed.
 */
export async function attributeInbound(db: Kysely<Schema>, received: ReceivingSender | null, fromE164: string | null): Promise<Attribution> {
  if (!received || !fromE164) return NOBODY;
  const { sender, ownerCompanyId } = received;
  let latestQuery = db
    .selectFrom('outbound_messages')
    .select(['id', 'company_id', 'deal_id', 'person_id'])
    .where('to_e164', '=', fromE164)
    .where('sender', '=', sender.key)
    .where('sent_at', 'is not', null);
  if (ownerCompanyId !== null) latestQuery = latestQuery.where('company_id', '=', ownerCompanyId);
  const latest = await latestQuery.orderBy('sent_at', 'desc').limit(1).executeTakeFirst();
  if (latest) {
    return { how: 'conversation', companyId: latest.company_id, dealId: latest.deal_id, personId: latest.person_id, replyToMessageId: latest.id };
  }
  const companies = await companiesOnSender(db, { shared: sender.shared, ownerCompanyId }, 2);
  if (companies.length === 1) return { ...NOBODY, how: 'phone_search', companyId: companies[0]! };
  return NOBODY;
}
