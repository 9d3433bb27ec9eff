import type { Database } from '../../db/database.js';
import type { Company } from '../../db/schema.js';
import { parseCompanySettings, type CompanySettings } from './company-settings.js';

export type CompanyProfile = Company & { parsedSettings: CompanySettings };

export type OwnTwilioAccount = { accountSid: string; authTokenSealed: string; fromNumber: string | null; messagingServiceSid: string | null };

export function createCompanyStore(database: Database) {
  const { db } = database;
  return {
    async find(companyId: string): Promise<CompanyProfile | null> {
      const row = await db.selectFrom('companies').selectAll().where('id', '=', companyId).executeTakeFirst();
      return row ? { ...row, parsedSettings: parseCompanySettings(row.settings) } : null;
    },
    async updateSettings(companyId: string, settings: CompanySettings, at: string): Promise<void> {
      await db.updateTable('companies').set({ settings: JSON.stringify(settings), updated_at: at }).where('id', '=', companyId).execute();
    },
    /** The company's own Twilio account (auth token already sealed for this company's row), or null to go back to the app's default one. */
    async setTwilioAccount(companyId: string, account: OwnTwilioAccount | null, at: string): Promise<void> {
      await db
        .updateTable('companies')
        .set({
          twilio_account_sid: account?.accountSid ?? null,
          twilio_auth_token_sealed: account?.authTokenSealed ?? null,
          twilio_from_number: account?.fromNumber ?? null,
          twilio_messaging_service_sid: account?.messagingServiceSid ?? null,
          twilio_verified_at: account ? at : null,
          updated_at: at,
        })
        .where('id', '=', companyId)
        .execute();
    },
    /** Another company that already texts through this number or Messaging Service of this account, if any. */
    async otherOwnerOfSender(companyId: string, accountSid: string, address: { from?: string; messagingServiceSid?: string }): Promise<string | null> {
      const row = await db
        .selectFrom('companies')
        .select('id')
        .where('id', '!=', companyId)
        .where('twilio_account_sid', '=', accountSid)
        .where((eb) =>
          address.from !== undefined ? eb('twilio_from_number', '=', address.from) : eb('twilio_messaging_service_sid', '=', address.messagingServiceSid!),
        )
        .executeTakeFirst();
      return row?.id ?? null;
    },
  };
}

export type CompanyStore = ReturnType<typeof createCompanyStore>;
