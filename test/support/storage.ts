import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';

/** A table as the database itself describes it (not as db/schema.ts says it should be). */
export type StoredTable = { name: string; columns: string[] };

/**
 * Every table of the app's schema, read from the database: `sqlite_master` and its table_info on SQLite,
 * `information_schema` for the connection's own schema on PostgreSQL (other test files keep their schemas in the
 * same database). Kysely's migration tables included: a test that walks every table must say what they are.
 */
export async function storedTables(database: Database): Promise<StoredTable[]> {
  const { db } = database;
  const columns =
    database.kind === 'sqlite'
      ? await sql<{ table_name: string; column_name: string }>`
          SELECT m.name AS table_name, c.name AS column_name
          FROM sqlite_master m, pragma_table_info(m.name) c
          WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
          ORDER BY m.name, c.cid`.execute(db)
      : await sql<{ table_name: string; column_name: string }>`
          SELECT c.table_name, c.column_name
          FROM information_schema.columns c
          JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
          ORDER BY c.table_name, c.ordinal_position`.execute(db);
  const tables = new Map<string, string[]>();
  for (const row of columns.rows) tables.set(row.table_name, [...(tables.get(row.table_name) ?? []), row.column_name]);
  return [...tables].map(([name, cols]) => ({ name, columns: cols }));
}

/** Every row of a table, in a stable order (for comparing a table before and after). */
export async function allRows(database: Database, table: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(database.db);
  return rows.map((row) => JSON.stringify(row)).sort().map((text) => JSON.parse(text) as Record<string, unknown>);
}

/** The tables whose rows hold `text` anywhere (any column, as stored): where a value that should be sealed is in clear. */
export async function tablesHolding(database: Database, text: string): Promise<string[]> {
  const found: string[] = [];
  for (const table of await storedTables(database)) {
    if ((await allRows(database, table.name)).some((row) => JSON.stringify(row).includes(text))) found.push(table.name);
  }
  return found;
}

/**
 * The bytes of a SQLite database as they are on disk: the main file, the write-ahead log and its index. A write
 * lands in the WAL first and reaches the main file only at a checkpoint, so a check of the main file alone misses
 * a value written a moment ago (or deleted a moment ago but still in an old WAL frame).
 */
export function sqliteFileBytes(dbFile: string): string {
  return ['', '-wal', '-shm']
    .map((suffix) => `${dbFile}${suffix}`)
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file).toString('latin1'))
    .join('\n');
}
