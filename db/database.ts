import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import SqliteDriver from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type CompiledQuery, type Migration, type Transaction } from 'kysely';
import { migrations, type MigrationInput } from './migrations/index.js';
import type { Schema } from './schema.js';
import { createWakeChannel, type WakeChannel } from './wake-channel.js';

const require = createRequire(import.meta.url);

export type DatabaseKind = 'sqlite' | 'postgres';

export type Database = {
  kind: DatabaseKind;
  db: Kysely<Schema>;
  /** Runs fn in one transaction; rolled back when fn throws. */
  transaction<T>(fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T>;
  /**
   * Brings the schema and the stored data up to date. Data migrations may need `input` (the encryption key, to seal
   * stored secrets again); without it they fail with a clear message when there is such data to migrate.
   */
  migrate(input?: MigrationInput): Promise<void>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /**
   * Runs a long read-only query without holding up the event loop: SQLite (synchronous) runs it on a worker thread
   * with its own read-only connection; PostgreSQL runs it as any other query. For reports, not for hot paths.
   */
  readAside<R>(query: CompiledQuery<R>): Promise<R[]>;
  /**
   * Makes deleted rows unreadable from the files too: SQLite runs with secure_delete (freed pages are zeroed) and the
   * WAL is checkpointed and truncated so no old frame still holds the data. PostgreSQL: VACUUM of the named tables.
   */
  scrubDeleted(tables: readonly string[]): Promise<void>;
  /**
   * How an instance wakes the other instances' workers (see wake-channel.ts); null on SQLite, which runs one instance.
   * Each call makes a new channel, which its owner closes.
   */
  wakeChannel(warn: (message: string, error: unknown) => void): WakeChannel | null;
  close(): Promise<void>;
};

/** `file:PATH` (SQLite, created with its folder when missing) or `postgres://…`. */
export function openDatabase(url: string): Database {
  if (url.startsWith('file:')) return openSqlite(url.slice('file:'.length));
  if (/^postgres(?:ql)?:\/\//.test(url)) return openPostgres(url);
  throw new Error(`unsupported DATABASE_URL scheme: ${url.split(':')[0]}`);
}

/**
 * The database named by DATABASE_URL cannot be reached or opened: said as a connection problem, naming the variable
 * and where it points (never its password), so an operator does not go looking for a broken migration.
 */
export class DatabaseConnectionError extends Error {
  constructor(detail: string) {
    super(`Database connection problem (DATABASE_URL): ${detail}`);
    this.name = 'DatabaseConnectionError';
  }
}

function openSqlite(path: string): Database {
  const file = path === ':memory:' ? path : resolve(path);
  const driver = openSqliteFile(file);
  // Writers wait for each other instead of failing with SQLITE_BUSY (several processes may share the file).
  driver.pragma('busy_timeout = 5000');
  driver.pragma('synchronous = NORMAL');
  driver.pragma('foreign_keys = ON');
  driver.pragma('secure_delete = ON');
  // 32 MB of page cache (the default is 2 MB): the panel and the opt-out lookups read scattered pages.
  driver.pragma('cache_size = -32768');
  // Checkpointing inside a commit stalls that request for milliseconds (the checkpoint writes and syncs the file),
  // so commits never checkpoint; a worker thread with its own connection does it in the background instead.
  const checkpointer = file === ':memory:' ? null : startCheckpointer(file);
  if (checkpointer) driver.pragma('wal_autocheckpoint = 0');
  // Kysely prepares every query anew; preparing is a large share of a small query's cost, so statements are kept
  // per SQL text (the set is bounded: the app builds a fixed number of query shapes; IN-lists are capped).
  const statements = new Map<string, SqliteDriver.Statement>();
  const database = {
    prepare(text: string) {
      let stmt = statements.get(text);
      if (!stmt) {
        stmt = driver.prepare(text);
        if (statements.size >= 500) statements.clear();
        statements.set(text, stmt);
      }
      return stmt;
    },
    close: () => driver.close(),
  };
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database }) });
  const reader = file === ':memory:' ? null : createSqliteReader(file);
  return {
    kind: 'sqlite',
    db,
    transaction: (fn) => db.transaction().execute(fn),
    migrate: (input) => runMigrations(db, input),
    ping: () => ping(db),
    async readAside<R>(query: CompiledQuery<R>) {
      if (!reader) return (await db.executeQuery(query)).rows;
      return reader.all<R>(query.sql, query.parameters);
    },
    async scrubDeleted() {
      driver.pragma('wal_checkpoint(TRUNCATE)');
    },
    // One instance: its own worker is woken in its process.
    wakeChannel: () => null,
    async close() {
      await checkpointer?.terminate();
      await reader?.close();
      await db.destroy();
    },
  };
}

function openSqliteFile(file: string): SqliteDriver.Database {
  if (file !== ':memory:') {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      throw new DatabaseConnectionError(`the folder ${dirname(file)} of the SQLite file cannot be created or opened (${codeOf(error)})`);
    }
  }
  try {
    const driver = new SqliteDriver(file);
    driver.pragma('journal_mode = WAL');
    return driver;
  } catch (error) {
    throw new DatabaseConnectionError(`the SQLite file ${file} cannot be opened (${codeOf(error)}: ${(error as Error).message})`);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/**
 * A worker thread with a read-only connection, started on first use. Queries run one after another there, so a
 * report of a year of messages (seconds of SQLite work) never stalls the webhooks served on the main thread.
 */
function createSqliteReader(file: string) {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (rows: never[]) => void; reject: (error: Error) => void }>();

  const start = () => {
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.module);
       const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
       db.pragma('busy_timeout = 5000');
       parentPort.on('message', ({ id, sql, params }) => {
         try { parentPort.postMessage({ id, rows: db.prepare(sql).all(...params) }); }
         catch (error) { parentPort.postMessage({ id, error: String(error && error.message || error) }); }
       });`,
      { eval: true, workerData: { file, module: require.resolve('better-sqlite3') } },
    );
    w.on('message', ({ id, rows, error }: { id: number; rows?: never[]; error?: string }) => {
      const waiting = pending.get(id);
      pending.delete(id);
      if (pending.size === 0) w.unref();
      if (error !== undefined) waiting?.reject(new Error(error));
      else waiting?.resolve(rows ?? []);
    });
    // A crashed reader fails what it held; the next query starts a new one.
    w.on('error', (error) => {
      for (const waiting of pending.values()) waiting.reject(error);
      pending.clear();
      worker = null;
    });
    w.unref();
    return w;
  };

  return {
    all<R>(text: string, parameters: readonly unknown[]): Promise<R[]> {
      worker ??= start();
      const id = nextId++;
      // Held while a query is out, so a process waiting on a report does not exit under it.
      worker.ref();
      return new Promise<R[]>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (rows: never[]) => void, reject });
        worker!.postMessage({ id, sql: text, params: parameters });
      });
    },
    async close() {
      await worker?.terminate();
      worker = null;
    },
  };
}

/** Every 500 ms a PASSIVE checkpoint (it never blocks writers); the thread does not keep the process alive. */
function startCheckpointer(file: string): Worker {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const Database = require(workerData.module);
     const db = new Database(workerData.file, { fileMustExist: true });
     db.pragma('busy_timeout = 5000');
     setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, 500);`,
    { eval: true, workerData: { file, module: require.resolve('better-sqlite3') } },
  );
  worker.unref();
  worker.on('error', () => undefined);
  return worker;
}

function openPostgres(url: string): Database {
  // The worker sends 16 at a time, each holding a connection for its transaction, beside the webhooks' group commit
  // and the API: with 10, most of the worker's checkouts waited for one (bench, end to end at 500 webhooks/s).
  const pool = new pg.Pool({ connectionString: url, max: 24 });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    db,
    transaction: (fn) => db.transaction().execute(fn),
    async migrate(input) {
      await checkPostgresConnection(url);
      // Kysely looks for its migration tables in every schema unless told which one: a database shared by several
      // deployments (or test runs) would find another schema's lock table and then miss its own.
      const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
      await runMigrations(db, input, rows[0]?.schema);
    },
    ping: () => ping(db),
    async readAside<R>(query: CompiledQuery<R>) {
      return (await db.executeQuery(query)).rows;
    },
    async scrubDeleted(tables) {
      for (const table of tables) await sql`VACUUM ${sql.table(table)}`.execute(db);
    },
    wakeChannel: (warn) => createWakeChannel({ url, send: (statement, params) => pool.query(statement, params), warn }),
    close: () => db.destroy(),
  };
}

/**
 * One connection made before migrating, with a deadline (the pool waits forever for a host that never answers), so
 * an unreachable server is reported as such: refused, unknown host, failed authentication, missing database.
 */
async function checkPostgresConnection(url: string): Promise<void> {
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  } catch {
    throw new DatabaseConnectionError('the PostgreSQL URL cannot be read (expected postgres://user:password@host:port/database)');
  }
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    void client.end().catch(() => undefined);
    const where = `PostgreSQL at ${client.host}:${client.port}, database "${client.database ?? ''}"`;
    const password = typeof client.password === 'string' ? client.password : '';
    throw new DatabaseConnectionError(`cannot connect to ${where}: ${postgresProblem(error, password)}`);
  }
  await client.end();
}

function postgresProblem(error: unknown, password: string): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running, and on this host and port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ETIMEDOUT':
      return 'no answer from the host';
    case '28P01':
    case '28000':
      return 'authentication failed (user or password)';
    case '3D000':
      return 'the database does not exist';
  }
  const message = typeof e?.message === 'string' ? e.message : String(error);
  // A driver message never carries the password today; this keeps it that way if one ever did.
  return password ? message.split(password).join('***') : message;
}

async function runMigrations(db: Kysely<Schema>, input: MigrationInput = {}, schema?: string): Promise<void> {
  // Kysely calls `up(db)`; each migration gets the input as its second argument (schema migrations ignore it).
  const withInput: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(migrations)) {
    const down = migration.down?.bind(migration);
    withInput[name] = { up: (trx) => migration.up(trx, input), ...(down ? { down } : {}) };
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => withInput },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const cause = error instanceof Error ? error.message : String(error ?? '');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${cause}`);
  }
}

async function ping(db: Kysely<Schema>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/** A write refused because a referenced row is gone (SQLite and PostgreSQL word it differently). */
export function isForeignKeyViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e?.code === '23503' || (typeof e?.message === 'string' && e.message.includes('FOREIGN KEY constraint failed'));
}
