import { statSync } from 'node:fs';
import SqliteDriver from 'better-sqlite3';
import pg from 'pg';

/**
 * Where the panel seeder's rows go: the app's SQLite file or its PostgreSQL schema. The seeder (panel-seed.ts) makes
 * the same rows for both; a writer only knows how its engine takes a million of them fast.
 *
 * The rows go in inside one transaction (`begin` … `commit`), with the tables' secondary indexes dropped first and
 * rebuilt after from their own definitions (a sorted build is several times faster than a million random inserts).
 * Indexes behind a primary key or unique constraint stay, as in production. SQLite takes the rows through one
 * prepared statement per table; PostgreSQL through COPY, a batch at a time, loading one while the next is made (a
 * million rows in about 85 s on the 2-core bench machine with other work on it; INSERT … SELECT FROM unnest() of
 * array parameters took about twice as long, most of it in node-postgres's array conversion and the server's parsing).
 */
export type SeedWriter = {
  /** A `select … as n` with `?` placeholders, answered as a number. */
  count(sql: string, params: unknown[]): Promise<number>;
  /** Drops the secondary indexes of `tables` and starts the transaction. */
  begin(tables: string[]): Promise<void>;
  /**
   * Rows given in `columns` order; `ignoreConflicts` skips a row whose key is there already. May resolve before the
   * rows are in (PostgreSQL keeps one batch in flight): every other call waits for them, and fails if they did.
   */
  insert(table: string, columns: readonly string[], rows: unknown[][], options?: { ignoreConflicts?: boolean }): Promise<void>;
  commit(): Promise<void>;
  rebuildIndexes(): Promise<void>;
  /** What production would have done to the grown tables by the time anyone reads them; named for the phase timing. */
  settle: { phase: string; run(): Promise<void> };
  /** The database's size on disk: the file, or the schema's tables with their indexes and TOAST. */
  bytes(): Promise<number>;
  close(): Promise<void>;
};

/** The tables that grow by a million rows: what PostgreSQL's settle step vacuums and analyzes. */
const SEEDED = ['outbound_messages', 'inbound_messages', 'jobs', 'consent_events', 'companies'];

export function sqliteWriter(dbFile: string): SeedWriter {
  const db = new SqliteDriver(dbFile);
  db.pragma('busy_timeout = 5000');
  // Durability is pointless for a bench fixture; a big page cache keeps the random index inserts in memory.
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -2097152');
  const statements = new Map<string, SqliteDriver.Statement>();
  let indexes: Array<{ name: string; sql: string }> = [];
  return {
    async count(sql, params) {
      return (db.prepare(sql).get(...params) as { n: number }).n;
    },
    async begin(tables) {
      indexes = db
        .prepare(`select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${tables.map(() => '?').join(', ')})`)
        .all(...tables) as Array<{ name: string; sql: string }>;
      // The app's prepared statements re-prepare on the schema change.
      for (const ix of indexes) db.exec(`drop index ${ix.name}`);
      db.exec('begin');
    },
    async insert(table, columns, rows, options) {
      const key = `${table} ${columns.join(',')} ${options?.ignoreConflicts ? 'ignore' : ''}`;
      let statement = statements.get(key);
      if (!statement) {
        statement = db.prepare(`insert ${options?.ignoreConflicts ? 'or ignore ' : ''}into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
        statements.set(key, statement);
      }
      for (const row of rows) statement.run(row);
    },
    async commit() {
      db.exec('commit');
    },
    async rebuildIndexes() {
      for (const ix of indexes) db.exec(ix.sql);
    },
    // No ANALYZE: the app never runs one, so the query planner sees what it sees in production. The WAL is folded
    // into the file so its size is the database's.
    settle: {
      phase: 'checkpoint',
      async run() {
        db.pragma('wal_checkpoint(TRUNCATE)');
      },
    },
    async bytes() {
      return statSync(dbFile).size;
    },
    async close() {
      db.close();
    },
  };
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A row in COPY's text format: tab-separated, \N for NULL, a backslash, tab, newline or carriage return escaped (rare here). */
function copyLine(row: unknown[]): string {
  let line = '';
  for (let c = 0; c < row.length; c++) {
    const v = row[c];
    if (c > 0) line += '\t';
    if (v === null || v === undefined) line += '\\N';
    else if (typeof v === 'number') line += String(v);
    else {
      const s = String(v);
      line += SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (ch) => ESCAPES[ch]!) : s;
    }
  }
  return line;
}

/**
 * COPY … FROM STDIN through node-postgres: a query whose answer to the server's CopyInResponse is the data, sent in
 * chunks, then CopyDone (what pg-copy-streams does, without the dependency). The server then answers as to any
 * statement, so the query's own completion and error handling apply.
 */
class CopyIn extends pg.Query {
  constructor(
    text: string,
    private readonly chunks: Buffer[],
    callback: (error: Error | null) => void,
  ) {
    super(text);
    (this as unknown as { callback: (error: Error | null) => void }).callback = callback;
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }): void {
    for (const chunk of this.chunks) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
  }
}

export async function postgresWriter(databaseUrl: string): Promise<SeedWriter> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  // A bench fixture: no waiting for the WAL flush at commit, and room for the index builds to sort in memory.
  await client.query(`SET synchronous_commit = off`);
  await client.query(`SET maintenance_work_mem = '512MB'`);
  let indexes: Array<{ name: string; sql: string }> = [];
  let inFlight: Promise<void> = Promise.resolve();
  const settled = async () => {
    const pending = inFlight;
    inFlight = Promise.resolve();
    await pending;
  };
  return {
    async count(sql, params) {
      await settled();
      let n = 0;
      const { rows } = await client.query<{ n: string }>(sql.replaceAll('?', () => `$${++n}`), params);
      return Number(rows[0]?.n ?? 0);
    },
    async begin(tables) {
      const { rows } = await client.query<{ name: string; sql: string }>(
        `SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i
          WHERE i.schemaname = current_schema() AND i.tablename = ANY($1)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.connamespace = current_schema()::regnamespace AND c.conname = i.indexname)`,
        [tables],
      );
      indexes = rows;
      await client.query('BEGIN');
      for (const ix of indexes) await client.query(`DROP INDEX ${ix.name}`);
    },
    async insert(table, columns, rows, options) {
      if (options?.ignoreConflicts) {
        // A handful of rows that may be there already (COPY has no ON CONFLICT).
        await settled();
        for (const row of rows) {
          await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT DO NOTHING`, row);
        }
        return;
      }
      // COPY: no SQL to parse per row or per value, and the text format needs almost no escaping.
      const chunks: Buffer[] = [];
      let lines: string[] = [];
      for (const row of rows) {
        lines.push(copyLine(row));
        if (lines.length === 2_000) {
          chunks.push(Buffer.from(`${lines.join('\n')}\n`));
          lines = [];
        }
      }
      if (lines.length) chunks.push(Buffer.from(`${lines.join('\n')}\n`));
      // The server loads this batch while the seeder makes the next: one COPY in flight at a time, awaited before
      // the next one and by every other call.
      await settled();
      inFlight = new Promise<void>((resolve, reject) => {
        void client.query(new CopyIn(`COPY ${table} (${columns.join(', ')}) FROM STDIN`, chunks, (error) => (error ? reject(error) : resolve())));
      });
      // Handled here so a failure waits for the next call instead of ending the process; that call throws it.
      inFlight.catch(() => undefined);
    },
    async commit() {
      await settled();
      await client.query('COMMIT');
    },
    async rebuildIndexes() {
      for (const ix of indexes) await client.query(ix.sql);
    },
    // Production's autovacuum would VACUUM and ANALYZE a table that grew by a million rows (its insert and analyze
    // thresholds are a fraction of the table) long before anyone read it; left to itself here, it would do so a
    // minute into the measured rounds, changing the plans and taking a core midway. So both are done now: ANALYZE
    // gives the planner the statistics production has, VACUUM the visibility map its index-only scans rely on.
    settle: {
      phase: 'vacuumAnalyze',
      async run() {
        await client.query(`VACUUM (ANALYZE) ${SEEDED.join(', ')}`);
      },
    },
    async bytes() {
      const { rows } = await client.query<{ n: string | null }>(
        `SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'`,
      );
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      await settled().catch(() => undefined);
      await client.end();
    },
  };
}
