import type { Database } from '../../db/database.js';
import { SealedSecretError, sealedPlaces, type SealedPlace, type SecretBox } from '../security/crypto.js';

/**
 * Seals every stored secret again with the current key, so that after a rotation the previous keys can be dropped.
 * Safe while the app runs: each value is replaced only if it is still the one that was read (a value the app wrote
 * meanwhile is already sealed with the current key), and rows are taken a batch at a time, each batch one short
 * transaction. Running it again changes nothing. A value no key opens is reported (table, column, row) and left as it
 * is: the caller exits non-zero, and the operator either finds the key it was sealed with or lets that company
 * reinstall or reconnect its Twilio account.
 */

/** Where a failure is: the table, the column and the row's key (never the value). */
export type ResealFailure = {
  table: SealedPlace['table'];
  column: SealedPlace['column'];
  row: Record<string, string>;
  reason: SealedSecretError['reason'];
  /** The id of the unknown key a v3 value names. */
  keyId?: string;
};

export type ResealReport = {
  /** Non-null sealed values looked at. */
  examined: number;
  /** Sealed again with the current key. */
  resealed: number;
  /** Already sealed with the current key in the current format: nothing to do. */
  current: number;
  /**
   * Replaced by the app between the read and the update (so sealed with the current key), or its row deleted (an
   * uninstall): left as the app made it.
   */
  changedMeanwhile: number;
  failures: ResealFailure[];
};

type Found = { column: SealedPlace['column']; place: SealedPlace; row: Record<string, string>; sealed: string };

/** One table's sealed columns: how to read a batch after a row, and how to replace one value if it is unchanged. */
type SealedTable = {
  table: SealedPlace['table'];
  columns: readonly SealedPlace['column'][];
  /** The next rows in key order after `after` (null: from the start), with their sealed values; and the last key. */
  batch(database: Database, after: string[] | null, size: number): Promise<{ found: Found[]; last: string[] | null }>;
  replace(trx: Parameters<Parameters<Database['transaction']>[0]>[0], found: Found, sealed: string): Promise<boolean>;
};

const COMPANY_COLUMNS = ['webhook_password_sealed', 'twilio_auth_token_sealed'] as const;
const INSTALLATION_COLUMNS = ['access_token_sealed', 'refresh_token_sealed'] as const;

/** Every sealed column of the schema; the integration test compares this with the columns named `*_sealed`. */
export const SEALED_TABLES: readonly SealedTable[] = [
  {
    table: 'companies',
    columns: COMPANY_COLUMNS,
    async batch(database, after, size) {
      let query = database.db.selectFrom('companies').select(['id', ...COMPANY_COLUMNS]).orderBy('id').limit(size);
      if (after) query = query.where('id', '>', after[0]!);
      const rows = await query.execute();
      const found: Found[] = [];
      for (const row of rows) {
        const place = {
          webhook_password_sealed: sealedPlaces.webhookPassword(row.id),
          twilio_auth_token_sealed: sealedPlaces.twilioAuthToken(row.id),
        };
        for (const column of COMPANY_COLUMNS) {
          const sealed = row[column];
          if (sealed !== null) found.push({ column, place: place[column], row: { id: row.id }, sealed });
        }
      }
      return { found, last: rows.length === size ? [rows.at(-1)!.id] : null };
    },
    async replace(trx, found, sealed) {
      const result = await trx
        .updateTable('companies')
        .set({ [found.column]: sealed })
        .where('id', '=', found.row.id!)
        .where(found.column as (typeof COMPANY_COLUMNS)[number], '=', found.sealed)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  },
  {
    table: 'installations',
    columns: INSTALLATION_COLUMNS,
    async batch(database, after, size) {
      let query = database.db
        .selectFrom('installations')
        .select(['company_id', 'user_id', ...INSTALLATION_COLUMNS])
        .orderBy('company_id')
        .orderBy('user_id')
        .limit(size);
      if (after) {
        const [companyId, userId] = after as [string, string];
        query = query.where((eb) => eb.or([eb('company_id', '>', companyId), eb.and([eb('company_id', '=', companyId), eb('user_id', '>', userId)])]));
      }
      const rows = await query.execute();
      const found: Found[] = [];
      for (const row of rows) {
        const place = {
          access_token_sealed: sealedPlaces.accessToken(row.company_id, row.user_id),
          refresh_token_sealed: sealedPlaces.refreshToken(row.company_id, row.user_id),
        };
        const key = { company_id: row.company_id, user_id: row.user_id };
        for (const column of INSTALLATION_COLUMNS) found.push({ column, place: place[column], row: key, sealed: row[column] });
      }
      const last = rows.at(-1);
      return { found, last: rows.length === size && last ? [last.company_id, last.user_id] : null };
    },
    async replace(trx, found, sealed) {
      const result = await trx
        .updateTable('installations')
        .set({ [found.column]: sealed })
        .where('company_id', '=', found.row.company_id!)
        .where('user_id', '=', found.row.user_id!)
        .where(found.column as (typeof INSTALLATION_COLUMNS)[number], '=', found.sealed)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  },
];

export async function resealSecrets(
  database: Database,
  secrets: SecretBox,
  options: { batchSize?: number; onBatch?: (table: string, report: ResealReport) => void } = {},
): Promise<ResealReport> {
  const size = options.batchSize ?? 200;
  const report: ResealReport = { examined: 0, resealed: 0, current: 0, changedMeanwhile: 0, failures: [] };
  for (const table of SEALED_TABLES) {
    let after: string[] | null = null;
    do {
      const { found, last } = await table.batch(database, after, size);
      const work: { found: Found; sealed: string }[] = [];
      for (const value of found) {
        report.examined += 1;
        try {
          const { plaintext, current } = secrets.inspect(value.sealed, value.place);
          if (current) report.current += 1;
          else work.push({ found: value, sealed: secrets.seal(plaintext, value.place) });
        } catch (error) {
          if (!(error instanceof SealedSecretError)) throw error;
          report.failures.push({
            table: value.place.table,
            column: value.column,
            row: value.row,
            reason: error.reason,
            ...(error.keyId !== undefined ? { keyId: error.keyId } : {}),
          });
        }
      }
      if (work.length > 0) {
        const replaced = await database.transaction(async (trx) => {
          let count = 0;
          for (const item of work) if (await table.replace(trx, item.found, item.sealed)) count += 1;
          return count;
        });
        report.resealed += replaced;
        report.changedMeanwhile += work.length - replaced;
      }
      options.onBatch?.(table.table, report);
      after = last;
    } while (after !== null);
  }
  return report;
}
