import type { Kysely } from 'kysely';

// Frozen in time. Failed authentications counted per client address, shared by every instance of a PostgreSQL
// deployment (the layout rate-limiter-flexible's PostgreSQL store reads and writes; `expire` is milliseconds since
// the epoch). Created here rather than by the library at run time, so the app never needs DDL rights to serve.
// SQLite deployments are one process and count in memory; the table is created there too so both schemas match.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('abuse_limits')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('abuse_limits').execute();
}
