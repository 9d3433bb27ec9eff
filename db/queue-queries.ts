import { sql, type Kysely } from 'kysely';
import type { Database } from './database.js';
import type { Job, OutboundMessage, Schema } from './schema.js';

/**
 * Atomic claims of due work. The only engine-specific SQL outside migrations: PostgreSQL gets
 * `FOR UPDATE SKIP LOCKED` so several workers never take the same row; SQLite serialises writers, so its plain
 * UPDATE … WHERE state = 'queued' is already exclusive.
 */
async function claimDue<Row>(
  database: Database,
  table: 'outbound_messages' | 'jobs',
  nowIso: string,
  leaseUntilIso: string,
  limit: number,
  workerId: string | null,
): Promise<Row[]> {
  const t = sql.table(table);
  if (database.kind === 'postgres') {
    // The locked, limited selection in a CTE: PostgreSQL may run an IN (SELECT … LIMIT … SKIP LOCKED) subquery more
    // than once per UPDATE, each run skipping the rows the last one locked, and so claim far more than `limit`.
    const result = await sql<Row>`
      WITH due AS (
        SELECT id FROM ${t} WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
        ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE ${t} SET state = 'claimed', claimed_until = ${leaseUntilIso}, claimed_by = ${workerId}, updated_at = ${nowIso}
      FROM due WHERE ${t}.id = due.id
      RETURNING ${t}.*`.execute(database.db);
    return result.rows;
  }
  // SQLite serialises writers and runs the subquery once, so the plain form is already exclusive and exact. `+state`
  // keeps the planner from walking the state index over every queued row: the chosen ids are looked up instead.
  const result = await sql<Row>`
    UPDATE ${t} SET state = 'claimed', claimed_until = ${leaseUntilIso}, claimed_by = ${workerId}, updated_at = ${nowIso}
    WHERE id IN (
      SELECT id FROM ${t} WHERE state = 'queued' AND next_attempt_at <= ${nowIso}
      ORDER BY next_attempt_at LIMIT ${limit}
    ) AND +state = 'queued'
    RETURNING *`.execute(database.db);
  return result.rows;
}

/** `workerId`: the worker that will hold the claims (`claimed_by`), so they return to the queue as soon as it dies. */
export const claimDueMessages = (database: Database, nowIso: string, leaseUntilIso: string, limit: number, workerId: string | null = null) =>
  claimDue<OutboundMessage>(database, 'outbound_messages', nowIso, leaseUntilIso, limit, workerId);

export const claimDueJobs = (database: Database, nowIso: string, leaseUntilIso: string, limit: number, workerId: string | null = null) =>
  claimDue<Job>(database, 'jobs', nowIso, leaseUntilIso, limit, workerId);

/** A company with messages waiting, the moment its oldest one became (or becomes) due, and whether a panel send waits. */
export type WaitingCompany = { companyId: string; firstDueAt: string; panelWaiting: boolean };

/**
 * The companies that have queued messages, in id order after `after`, at most `max` of them. A loose index scan:
 * one index seek per company (never a pass over every queued row), so a company with 500,000 waiting messages costs
 * the same as one with one. `more` says the walk stopped at `max` and companies after the last one were not looked at.
 */
export async function companiesWithQueuedMessages(database: Database, after: string, max: number): Promise<{ companies: WaitingCompany[]; more: boolean }> {
  const { rows } = await sql<{ company_id: string; first_due_at: string; panel: number | null }>`
    WITH RECURSIVE walk(company_id, n) AS (
      SELECT (SELECT company_id FROM outbound_messages WHERE state = 'queued' AND company_id > ${after} ORDER BY company_id LIMIT 1), 1
      UNION ALL
      SELECT (SELECT m.company_id FROM outbound_messages m WHERE m.state = 'queued' AND m.company_id > walk.company_id ORDER BY m.company_id LIMIT 1), walk.n + 1
      FROM walk WHERE walk.company_id IS NOT NULL AND walk.n < ${max}
    )
    SELECT walk.company_id,
      (SELECT m.next_attempt_at FROM outbound_messages m WHERE m.state = 'queued' AND m.company_id = walk.company_id ORDER BY m.next_attempt_at LIMIT 1) AS first_due_at,
      (SELECT 1 FROM outbound_messages m WHERE m.state = 'queued' AND m.source = 'panel' AND m.company_id = walk.company_id LIMIT 1) AS panel
    FROM walk WHERE walk.company_id IS NOT NULL`.execute(database.db);
  const companies = rows.map((r) => ({ companyId: r.company_id, firstDueAt: r.first_due_at, panelWaiting: r.panel !== null }));
  return { companies, more: companies.length >= max };
}

/** How many due messages one claim may take from a company; `panel: false` skips looking for its panel sends. */
export type CompanyQuota = { companyId: string; take: number; panel?: boolean };

/**
 * Claims due messages company by company, in turns: each listed company's first message, then each one's second,
 * and so on, at most `take` from a company and `limit` in all. Within a company a panel send (a person waiting)
 * comes before automation messages, then the oldest first. Each company's candidates are read with index seeks
 * limited to its quota, so a claim costs O(limit), however long the queue. Answers the rows in that turn order.
 */
export async function claimMessagesInTurns(
  database: Database,
  nowIso: string,
  leaseUntilIso: string,
  quotas: CompanyQuota[],
  limit: number,
  workerId: string | null = null,
): Promise<OutboundMessage[]> {
  const seen = new Set<string>();
  const turns = quotas.filter((q) => Number.isInteger(q.take) && q.take > 0 && !seen.has(q.companyId) && seen.add(q.companyId));
  if (turns.length === 0 || limit <= 0) return [];
  const postgres = database.kind === 'postgres';
  // PostgreSQL: each candidate list is locked as it is read and rows another worker holds are skipped; a CTE with a
  // row lock is evaluated exactly once. SQLite serialises writers, so the same statement is already exclusive.
  const lock = postgres ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const candidates = (q: CompanyQuota, panel: boolean) => sql`
      SELECT id, next_attempt_at FROM outbound_messages
      WHERE state = 'queued' AND company_id = ${q.companyId} AND next_attempt_at <= ${nowIso} AND ${sql.raw(panel ? "source = 'panel'" : "source <> 'panel'")}
      ORDER BY next_attempt_at LIMIT ${q.take} ${lock}`;
  // Most companies have no panel send waiting: their panel list is left out, which halves the statement.
  const lists = turns.flatMap((q, i) => [...(q.panel !== false ? [{ q, i, panel: true }] : []), { q, i, panel: false }]);
  const name = (l: (typeof lists)[number]) => sql.raw(`c${l.i}${l.panel ? 'p' : 'a'}`);
  // PostgreSQL reads each list in its own CTE (a CTE with a row lock runs exactly once); SQLite reads them inline.
  const from = (l: (typeof lists)[number]) => (postgres ? name(l) : sql`(${candidates(l.q, l.panel)})`);
  const pool = sql.join(
    lists.map((l) => sql`SELECT id, ${sql.lit(l.panel ? 0 : 1)} AS p, next_attempt_at AS at, ${sql.lit(l.i)} AS pos, CAST(${l.q.take} AS integer) AS quota FROM ${from(l)} ${name(l)}`),
    sql` UNION ALL `,
  );
  // The ranking runs over the candidates only (at most twice the quotas), never over the queue.
  const picked = sql`
    picked AS MATERIALIZED (
      SELECT id FROM (
        SELECT id, pos, quota, row_number() OVER (PARTITION BY pos ORDER BY p, at) AS turn FROM (${pool}) pool
      ) ranked
      WHERE turn <= quota ORDER BY turn, pos LIMIT ${limit}
    )`;
  const ctes = sql.join([...(postgres ? lists.map((l) => sql`${name(l)} AS (${candidates(l.q, l.panel)})`) : []), picked], sql`, `);
  // SQLite: `+state` keeps the planner from walking the state index over every queued row; the ids are looked up.
  const result = postgres
    ? await sql<OutboundMessage>`
        WITH ${ctes}
        UPDATE outbound_messages SET state = 'claimed', claimed_until = ${leaseUntilIso}, claimed_by = ${workerId}, updated_at = ${nowIso}
        FROM picked WHERE outbound_messages.id = picked.id AND outbound_messages.state = 'queued'
        RETURNING outbound_messages.*`.execute(database.db)
    : await sql<OutboundMessage>`
        WITH ${ctes}
        UPDATE outbound_messages SET state = 'claimed', claimed_until = ${leaseUntilIso}, claimed_by = ${workerId}, updated_at = ${nowIso}
        WHERE id IN (SELECT id FROM picked) AND +state = 'queued'
        RETURNING *`.execute(database.db);
  return inTurnOrder(result.rows, turns);
}

/** The claimed rows in the order the claim chose them: by turn, then by the companies' order in `quotas`. */
function inTurnOrder(rows: OutboundMessage[], quotas: CompanyQuota[]): OutboundMessage[] {
  const position = new Map(quotas.map((q, i) => [q.companyId, i]));
  const byCompany = new Map<string, OutboundMessage[]>();
  for (const row of rows) byCompany.set(row.company_id, [...(byCompany.get(row.company_id) ?? []), row]);
  const ranked: Array<{ row: OutboundMessage; turn: number; pos: number }> = [];
  for (const [companyId, list] of byCompany) {
    list.sort((a, b) => Number(b.source === 'panel') - Number(a.source === 'panel') || (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : 0));
    list.forEach((row, turn) => ranked.push({ row, turn, pos: position.get(companyId) ?? 0 }));
  }
  return ranked.sort((a, b) => a.turn - b.turn || a.pos - b.pos).map((r) => r.row);
}

/**
 * Moves messages held for quiet hours whose window has opened back to the queue, the earliest first, at most `limit`.
 * A seek on (state, next_attempt_at) that reads only the due ones: a night's worth of held messages costs nothing
 * until its morning. Several workers may run it at once; moving a row twice is harmless.
 */
export async function releaseDueScheduled(database: Database, nowIso: string, limit: number): Promise<number> {
  if (database.kind === 'postgres') {
    const result = await sql`
      WITH due AS (
        SELECT id FROM outbound_messages WHERE state = 'scheduled' AND next_attempt_at <= ${nowIso}
        ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE outbound_messages SET state = 'queued', updated_at = ${nowIso}
      FROM due WHERE outbound_messages.id = due.id`.execute(database.db);
    return Number(result.numAffectedRows ?? 0);
  }
  const result = await sql`
    UPDATE outbound_messages SET state = 'queued', updated_at = ${nowIso}
    WHERE id IN (
      SELECT id FROM outbound_messages WHERE state = 'scheduled' AND next_attempt_at <= ${nowIso}
      ORDER BY next_attempt_at LIMIT ${limit}
    ) AND +state = 'scheduled'`.execute(database.db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Serialises, until the end of the transaction `db` runs, every decision about texting one number for one company:
 * two PostgreSQL workers counting a number's recent messages for the frequency cap must not both pass it. A
 * transaction-scoped advisory lock on a hash of the pair (a collision only makes two numbers wait for each other).
 * SQLite runs one write transaction at a time already.
 */
export async function lockRecipient(database: Database, db: Kysely<Schema>, companyId: string, e164: string): Promise<void> {
  if (database.kind !== 'postgres') return;
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`outbound:${companyId}:${e164}`}, 0))`.execute(db);
}
