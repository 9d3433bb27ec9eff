import type { Transaction } from 'kysely';
import type { Schema } from './schema.js';

/**
 * Every table that holds a company's data, in deletion order (children first). When the company's last user
 * uninstalls, all of them are emptied for that company. `consent_events` is deliberately absent: the opt-out
 * history must survive so that an opted-out number stays blocked if the company ever reinstalls.
 * A new company-scoped table must be added here: the uninstall test walks every table the database has, and fails
 * on one that keeps rows of the uninstalled company or has no stated rule for whose its rows are.
 */
export const COMPANY_TABLES = [
  'message_status_events',
  'sender_pace',
  'consent_reviews',
  'inbound_messages',
  'jobs',
  'outbound_messages',
  'webhook_events',
  'automations',
  'installations',
  'companies',
] as const;

export async function deleteCompanyData(trx: Transaction<Schema>, companyId: string): Promise<void> {
  for (const table of COMPANY_TABLES) {
    if (table === 'companies') await trx.deleteFrom('companies').where('id', '=', companyId).execute();
    else if (table === 'message_status_events') {
      // Keyed by provider sid only (a callback may arrive before its message is confirmed).
      await trx
        .deleteFrom('message_status_events')
        .where('provider_sid', 'in', (eb) =>
          eb.selectFrom('outbound_messages').select('provider_sid').where('company_id', '=', companyId).where('provider_sid', 'is not', null),
        )
        .execute();
    }
    else if (table === 'sender_pace') {
      const senders = await ownSenders(trx, companyId);
      if (senders.length > 0) await trx.deleteFrom('sender_pace').where('sender_key', 'in', senders).execute();
    }
    else if (table === 'inbound_messages') {
      await trx.deleteFrom('inbound_messages').where('company_id', '=', companyId).execute();
      // Texts no company could be told apart from belong to whoever uses the shared sender: once the last company
      // is gone nobody can see them any more, so they go too.
      const others = await trx.selectFrom('companies').select('id').where('id', '!=', companyId).limit(1).execute();
      if (others.length === 0) await trx.deleteFrom('inbound_messages').where('company_id', 'is', null).execute();
    }
    else await trx.deleteFrom(table).where('company_id', '=', companyId).execute();
  }
}

/**
 * The senders whose pace is the company's own: its Twilio number, messaging service or account as configured now,
 * and the senders its messages went out from (a number it used before switching back to the shared one). A sender
 * another company's messages also went out from (the app's shared one) is not the company's, and keeps its pace.
 */
async function ownSenders(trx: Transaction<Schema>, companyId: string): Promise<string[]> {
  const company = await trx
    .selectFrom('companies')
    .select(['twilio_messaging_service_sid', 'twilio_from_number', 'twilio_account_sid'])
    .where('id', '=', companyId)
    .executeTakeFirst();
  const used = await trx.selectFrom('outbound_messages').select('sender').distinct().where('company_id', '=', companyId).where('sender', 'is not', null).execute();
  const candidates = [company?.twilio_messaging_service_sid, company?.twilio_from_number, company?.twilio_account_sid, ...used.map((r) => r.sender)];
  const mine = [...new Set(candidates.filter((key): key is string => typeof key === 'string'))];
  if (mine.length === 0) return [];
  const shared = await trx
    .selectFrom('outbound_messages')
    .select('sender')
    .distinct()
    .where('company_id', '!=', companyId)
    .where('sender', 'in', mine)
    .execute();
  const sharedKeys = new Set(shared.map((r) => r.sender));
  return mine.filter((key) => !sharedKeys.has(key));
}
