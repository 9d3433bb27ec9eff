import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import SqliteDriver from 'better-sqlite3';

/**
 * A consistent copy of the app's SQLite file, taken while the app runs: SQLite's online backup API, through its own
 * read-only connection, copies the pages a little at a time (a write by the app meanwhile makes it start over, never
 * gives a torn copy). The copy is a whole database in one file, checked before it is called done. It holds the
 * sealed secrets as they are stored: it is useful only with the ENCRYPTION_KEY (or a key in ENCRYPTION_KEYS_PREVIOUS)
 * that sealed them, and should be kept apart from that key.
 */
export type BackupResult = { file: string; pages: number; companies: number; installations: number };

export async function backupSqlite(source: string, destination: string): Promise<BackupResult> {
  const from = resolve(source);
  const to = resolve(destination);
  if (!existsSync(from)) throw new Error(`there is no SQLite database at ${from}`);
  // Never over an existing file: a backup must not replace another (or, by a slip, the database itself).
  if (existsSync(to)) throw new Error(`${to} exists already: name a new file`);
  const db = new SqliteDriver(from, { readonly: true, fileMustExist: true });
  let pages: number;
  try {
    db.pragma('busy_timeout = 5000');
    pages = (await db.backup(to)).totalPages;
  } finally {
    db.close();
  }
  const copy = new SqliteDriver(to, { fileMustExist: true });
  try {
    // The copy is in WAL mode like its source; in rollback mode it is one file, with no -wal or -shm left beside it
    // (the app turns WAL on again when it opens a restored copy).
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy at ${to} failed SQLite's check: ${String(check)}`);
    const count = (table: string) => (copy.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { file: to, pages, companies: count('companies'), installations: count('installations') };
  } finally {
    copy.close();
  }
}
