import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';

export type ConsentAction = 'opt_out' | 'opt_in';
/**
 * How a change came: a keyword by text, Twilio's 21610 refusal, a person's decision on a possible opt-out, an admin's
 * import or hand entry, the "SMS consent" field changed in Pipedrive, or a user in the deal panel.
 */
export type ConsentSource = 'inbound_keyword' | 'twilio_21610' | 'review' | 'import' | 'hand' | 'pipedrive_field' | 'panel';

/** One row of the consent history, as the consent service appends it. */
export type ConsentEventInput = {
  companyId: string;
  phoneE164: string;
  /** The sending identity (a number or a Messaging Service) the opt-out was received on. */
  sender: string | null;
  action: ConsentAction;
  source: ConsentSource;
  /** The contact's text, or the reason an admin gave. */
  message?: string | null;
  personId?: number | null;
  /** Who made the change when a person did (the user's id). */
  actor?: string | null;
};

/** Ten columns a row: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 500;

let lastStamp = 0;
/** Strictly increasing timestamps within the process, so "latest event" is never a tie. */
function monotonicIso(now: number): string {
  lastStamp = Math.max(now, lastStamp + 1);
  return new Date(lastStamp).toISOString();
}

/** The history row of a change, stamped now. */
function rowOf(change: ConsentEventInput, now: number) {
  return {
    id: randomUUID(),
    company_id: change.companyId,
    phone_e164: change.phoneE164,
    sender: change.sender,
    action: change.action,
    source: change.source,
    message: change.message ?? null,
    person_id: change.personId === null || change.personId === undefined ? null : String(change.personId),
    actor: change.actor ?? null,
    created_at: monotonicIso(now),
  };
}

/**
 * The company's opt-out list as an append-only history (every change is kept): the current state of a number is its latest
 * event. On a shared sender an opt-out applies to every company texting through it (Twilio blocks a number
 * per sender), so the lookup takes the
 * latest event of this company or of this sender.
 */
export function createOptOutList(database: Database, now: () => number) {
  return {
    /**
     * Appends one row to the history. The consent service (consent-service.ts) is its only caller in the app, since
     * a change has more effects than the row; tests set up a history with it.
     */
    async record(change: ConsentEventInput, db: Kysely<Schema> = database.db): Promise<string> {
      const row = rowOf(change, now());
      await db.insertInto('consent_events').values(row).execute();
      return row.created_at;
    },

    /**
     * Appends many rows, a few hundred per statement, in the order given (each later than the one before): the
     * consent service's batch of one company's own decisions (an import).
     */
    async recordMany(changes: readonly ConsentEventInput[], db: Kysely<Schema>): Promise<void> {
      const rows = changes.map((change) => rowOf(change, now()));
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await db.insertInto('consent_events').values(rows.slice(i, i + ROWS_PER_INSERT)).execute();
    },

    async isOptedOut(companyId: string, sender: string | null, phoneE164: string, db: Kysely<Schema> = database.db): Promise<boolean> {
      const latest = await db
        .selectFrom('consent_events')
        .select('action')
        .where('phone_e164', '=', phoneE164)
        .where((eb) => (sender ? eb.or([eb('company_id', '=', companyId), eb('sender', '=', sender)]) : eb('company_id', '=', companyId)))
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return latest?.action === 'opt_out';
    },

    /**
     * A contact's erasure: the history keeps that the number opted out (when, how, who decided) so it is never texted
     * again, but no longer their words nor which Pipedrive person they were.
     */
    async eraseMessages(companyId: string, phoneE164: string, db: Kysely<Schema> = database.db): Promise<number> {
      const erased = await db
        .updateTable('consent_events')
        .set({ message: null, person_id: null })
        .where('company_id', '=', companyId)
        .where('phone_e164', '=', phoneE164)
        .where((eb) => eb.or([eb('message', 'is not', null), eb('person_id', 'is not', null)]))
        .executeTakeFirst();
      return Number(erased.numUpdatedRows);
    },

    async history(companyId: string, phoneE164: string) {
      return database.db
        .selectFrom('consent_events')
        .selectAll()
        .where('company_id', '=', companyId)
        .where('phone_e164', '=', phoneE164)
        .orderBy('created_at', 'asc')
        .execute();
    },
  };
}

export type OptOutList = ReturnType<typeof createOptOutList>;
