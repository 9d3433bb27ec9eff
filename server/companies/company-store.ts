import type { Database } from '../../db/database.js';
import type { Company } from '../../db/schema.js';
import { parseCompanySettings, type CompanySettings } from './company-settings.js';

export type CompanyProfile = Company & { parsedSettings: CompanySettings };

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
  };
}

export type CompanyStore = ReturnType<typeof createCompanyStore>;
