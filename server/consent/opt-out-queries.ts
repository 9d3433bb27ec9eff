import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';

/**
 * Whose history decides a company's list: its own events, and, when it texts through a sender, the events recorded
 * on that sender by any company (Twilio blocks a number per sender, so a STOP on the app's shared number binds every
 * company texting through it). The same rule as the send-time check of the opt-out list.
 */
export type ListScope = { companyId: string; senderKey: string | null };

/** One number on the list: its latest consent event, an opt-out. */
export type OptOutEntry = {
  phone: string;
  at: string;
  source: string;
  /** The contact's text or the admin's reason; null for an entry another company on the shared sender recorded. */
  message: string | null;
  personId: number | null;
  /** Whether this company recorded it (false: another company on the same shared sender). */
  own: boolean;
};

type Row = { id: string; company_id: string; phone_e164: string; action: string; source: string; message: string | null; person_id: string | null; created_at: string };

const COLUMNS = ['e.id', 'e.company_id', 'e.phone_e164', 'e.action', 'e.source', 'e.message', 'e.person_id', 'e.created_at'] as const;

function inScope(scope: ListScope, table: 'e' | 'l') {
  return <DB, TB extends keyof DB>(eb: ExpressionBuilder<DB, TB>) => {
    const company = eb(sql.ref<string>(`${table}.company_id`), '=', scope.companyId);
    return scope.senderKey === null ? company : eb.or([company, eb(sql.ref<string>(`${table}.sender`), '=', scope.senderKey)]);
  };
}

/** The events of the scope that are their number's latest (no later event of the scope for the same number). */
function latestOptOuts(db: Kysely<Schema>, scope: ListScope) {
  return db
    .selectFrom('consent_events as e')
    .select(COLUMNS)
    .where(inScope(scope, 'e'))
    .where('e.action', '=', 'opt_out')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('consent_events as l')
            .select('l.id')
            .whereRef('l.phone_e164', '=', 'e.phone_e164')
            .where(inScope(scope, 'l'))
            .where((eb) => eb.or([eb('l.created_at', '>', eb.ref('e.created_at')), eb.and([eb('l.created_at', '=', eb.ref('e.created_at')), eb('l.id', '>', eb.ref('e.id'))])])),
        ),
      ),
    );
}

/** Another company's entry on a shared sender shows that the number is blocked, not what its contact wrote or who they are. */
function toEntry(row: Row, companyId: string): OptOutEntry {
  const own = row.company_id === companyId;
  return {
    phone: row.phone_e164,
    at: row.created_at,
    source: row.source,
    message: own ? row.message : null,
    personId: own && row.person_id !== null ? Number(row.person_id) : null,
    own,
  };
}

/** Digits only: what the search matches in the number (so "+1 (415) 555" finds +1415555…). */
export function searchDigits(q: string | undefined): string | null {
  if (q === undefined) return null;
  let digits = '';
  for (const ch of q) if (ch >= '0' && ch <= '9') digits += ch;
  return digits;
}

export function createOptOutQueries(database: Database) {
  const { db } = database;
  return {
    /**
     * The numbers on the list, newest first, at most `limit`; `digits` keeps those whose number contains them (an
     * empty string matches nothing: a search without a digit names no number).
     */
    async list(scope: ListScope, options: { digits: string | null; limit: number }): Promise<OptOutEntry[]> {
      if (options.digits === '') return [];
      let q = latestOptOuts(db, scope);
      if (options.digits !== null) q = q.where('e.phone_e164', 'like', `%${options.digits}%`);
      const rows = await q.orderBy('e.created_at', 'desc').orderBy('e.id', 'desc').limit(options.limit).execute();
      return rows.map((r) => toEntry(r, scope.companyId));
    },

    /** The whole list in batches by number, read off the main thread (SQLite: the reader thread), for the CSV. */
    async *batches(scope: ListScope, batchSize = 1000): AsyncGenerator<OptOutEntry[]> {
      let after = '';
      for (;;) {
        const query = latestOptOuts(db, scope).where('e.phone_e164', '>', after).orderBy('e.phone_e164').limit(batchSize);
        const rows: Row[] = await database.readAside(query.compile());
        if (rows.length === 0) return;
        yield rows.map((r) => toEntry(r, scope.companyId));
        if (rows.length < batchSize) return;
        after = rows[rows.length - 1]!.phone_e164;
      }
    },

    /**
     * Each number's latest event in the scope (absent: never on the list), in statements of a few hundred numbers:
     * what an import or a removal checks first, in the caller's transaction.
     */
    async latest(scope: ListScope, phones: readonly string[], trx: Kysely<Schema> = db): Promise<Map<string, OptOutEntry & { action: string }>> {
      const found = new Map<string, Row>();
      for (let i = 0; i < phones.length; i += CHUNK) {
        const rows = await trx
          .selectFrom('consent_events as e')
          .select(COLUMNS)
          .where('e.phone_e164', 'in', phones.slice(i, i + CHUNK))
          .where(inScope(scope, 'e'))
          .execute();
        for (const row of rows) {
          const seen = found.get(row.phone_e164);
          if (!seen || row.created_at > seen.created_at || (row.created_at === seen.created_at && row.id > seen.id)) found.set(row.phone_e164, row);
        }
      }
      return new Map([...found].map(([phone, row]) => [phone, { ...toEntry(row, scope.companyId), action: row.action }]));
    },
  };
}

/** Numbers per statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

export type OptOutQueries = ReturnType<typeof createOptOutQueries>;
