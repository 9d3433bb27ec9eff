import type { Transaction } from 'kysely';
import type { Schema } from './schema.js';

/**
 * Every table that holds a company's data, in deletion order (children first). When the company's last user
 * uninstalls, all of them are emptied for that company. `consent_events` is deliberately absent: the opt-out
 * history must survive so that an opted-out number stays blocked if the company ever reinstalls.
 * A new company-scoped table must be added here (the uninstall test checks every table but consent_events).
 */
export const COMPANY_TABLES = [
  'message_status_events',
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
