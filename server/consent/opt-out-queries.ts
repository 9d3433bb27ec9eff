import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';

/**
 * Whose history decides a company's list: its own events, and, when it texts through a sender, the events recorded
 * on that sender by any company (Twilio blocks a number per sender, so a STOP on the app's shared number binds every
 * company texting through it). The same rule as the send-time check of the opt-out list.
 */
export type ListScope = { companyId: string; senderKey: string | null };

/** One number on the list, as its entry shows. */
export type OptOutEntry = {
  phone: string;
  at: string;
  source: string;
  /** The contact's text or the admin's reason; null for an entry another company on the shared sender recorded. */
  message: string | null;
  personId: number | null;
};

/** Where a number stands: on the list or not, how it shows, and whether an admin may take it off. */
export type NumberStanding = { optedOut: false } | { optedOut: true; entry: OptOutEntry; removable: boolean };

/** Sources of an admin's own decision; every other opt-out came from the contact (a text, a reviewed reply, Twilio). */
const ADMIN_SOURCES = new Set(['hand', 'import']);

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

/**
 * A number's standing from its events in the scope, oldest first: on the list when the latest is an opt-out. The
 * opt-outs since the last opt-in all hold it there, so it may be taken off only when each of them is this company's
 * hand entry or import; the entry shown is one the contact made when there is one (it is why the number stays), this
 * company's own before another's, the latest first. Another company's entry (on a shared sender) shows that the
 * number is blocked, not what its contact wrote or who they are.
 */
function standingOf(events: readonly Row[], companyId: string): NumberStanding {
  const last = events.at(-1);
  if (!last || last.action !== 'opt_out') return { optedOut: false };
  const run: Row[] = [];
  for (const e of events) {
    if (e.action === 'opt_out') run.push(e);
    else run.length = 0;
  }
  const byAdmin = (e: Row) => e.company_id === companyId && ADMIN_SOURCES.has(e.source);
  const rank = (e: Row) => (byAdmin(e) ? 0 : 2) + (e.company_id === companyId ? 1 : 0);
  const shown = run.reduce((best, e) => (rank(e) >= rank(best) ? e : best));
  const own = shown.company_id === companyId;
  return {
    optedOut: true,
    removable: run.every(byAdmin),
    entry: {
      phone: shown.phone_e164,
      at: shown.created_at,
      source: shown.source,
      message: own ? shown.message : null,
      personId: own && shown.person_id !== null ? Number(shown.person_id) : null,
    },
  };
}

const inOrder = (a: Row, b: Row) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Digits only: what the search matches in the number (so "+1 (415) 555" finds +1415555…). */
export function searchDigits(q: string | undefined): string | null {
  if (q === undefined) return null;
  let digits = '';
  for (const ch of q) if (ch >= '0' && ch <= '9') digits += ch;
  return digits;
}

export function createOptOutQueries(database: Database) {
  const { db } = database;

  /** Each number's standing, its events read a few hundred numbers per statement (in the caller's transaction). */
  async function standings(scope: ListScope, phones: readonly string[], trx: Kysely<Schema> = db): Promise<Map<string, NumberStanding>> {
    const events = new Map<string, Row[]>(phones.map((p) => [p, []]));
    for (let i = 0; i < phones.length; i += CHUNK) {
      const rows = await trx
        .selectFrom('consent_events as e')
        .select(COLUMNS)
        .where('e.phone_e164', 'in', phones.slice(i, i + CHUNK))
        .where(inScope(scope, 'e'))
        .execute();
      for (const row of rows) events.get(row.phone_e164)?.push(row);
    }
    return new Map([...events].map(([phone, rows]) => [phone, standingOf(rows.sort(inOrder), scope.companyId)]));
  }

  const entriesOf = async (scope: ListScope, phones: string[]) => {
    const found = await standings(scope, phones);
    return phones.flatMap((p) => {
      const s = found.get(p);
      return s?.optedOut ? [s.entry] : [];
    });
  };

  return {
    standings,

    /**
     * The numbers on the list, the latest change first, at most `limit`; `digits` keeps those whose number contains
     * them (an empty string matches nothing: a search without a digit names no number).
     */
    async list(scope: ListScope, options: { digits: string | null; limit: number }): Promise<OptOutEntry[]> {
      if (options.digits === '') return [];
      let q = latestOptOuts(db, scope);
      if (options.digits !== null) q = q.where('e.phone_e164', 'like', `%${options.digits}%`);
      const rows = await q.orderBy('e.created_at', 'desc').orderBy('e.id', 'desc').limit(options.limit).execute();
      return entriesOf(scope, rows.map((r) => r.phone_e164));
    },

    /** The whole list in batches by number, found off the main thread (SQLite: the reader thread), for the CSV. */
    async *batches(scope: ListScope, batchSize = 1000): AsyncGenerator<OptOutEntry[]> {
      let after = '';
      for (;;) {
        const query = latestOptOuts(db, scope).where('e.phone_e164', '>', after).orderBy('e.phone_e164').limit(batchSize);
        const rows: Row[] = await database.readAside(query.compile());
        if (rows.length === 0) return;
        yield await entriesOf(scope, rows.map((r) => r.phone_e164));
        if (rows.length < batchSize) return;
        after = rows[rows.length - 1]!.phone_e164;
      }
    },
  };
}

/** Numbers per statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

export type OptOutQueries = ReturnType<typeof createOptOutQueries>;
