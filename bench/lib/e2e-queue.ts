import SqliteDriver from 'better-sqlite3';
import pg from 'pg';
import type { HostInfo } from './app-host.js';

/**
 * How the section's texts ended in the app's own table, read beside the app (a read-only SQLite connection, or a
 * PostgreSQL client on the run's schema): a text that went on its first try has state `sent` and one attempt; a retry,
 * a wait for the sender's pace or a hold for quiet hours shows up here, and would explain a late text.
 */

export type QueueFact = { state: string; attempts: number; errorCode: string | null; held: boolean; n: number };

const SQL = `SELECT state, attempts, error_code, not_before IS NOT NULL AS held, count(*) AS n
  FROM outbound_messages GROUP BY state, attempts, error_code, not_before IS NOT NULL ORDER BY n DESC`;

type Row = { state: string; attempts: number | string; error_code: string | null; held: number | boolean; n: number | string };

export async function queueFacts(info: HostInfo): Promise<QueueFact[]> {
  let rows: Row[];
  if (info.engine === 'sqlite') {
    const reader = new SqliteDriver(info.dbFile, { readonly: true, fileMustExist: true });
    try {
      rows = reader.prepare(SQL).all() as Row[];
    } finally {
      reader.close();
    }
  } else {
    const client = new pg.Client({ connectionString: info.databaseUrl });
    await client.connect();
    try {
      rows = (await client.query<Row>(SQL)).rows;
    } finally {
      await client.end();
    }
  }
  return rows.map((r) => ({ state: r.state, attempts: Number(r.attempts), errorCode: r.error_code, held: Boolean(r.held), n: Number(r.n) }));
}

/** What is not a text sent on its first try, said in a few words (empty when every text was). */
export function queueSurprises(facts: QueueFact[]): string[] {
  return facts
    .filter((f) => !(f.state === 'sent' && f.attempts === 1 && f.errorCode === null && !f.held))
    .map((f) => `${f.n} ${f.state}, ${f.attempts} attempt(s)${f.errorCode ? `, error ${f.errorCode}` : ''}${f.held ? ', held for quiet hours' : ''}`);
}
