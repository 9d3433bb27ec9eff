import { randomBytes } from 'node:crypto';
import pg from 'pg';

// PostgreSQL runs on every machine of this project (CI included) at 127.0.0.1:5432 with trust auth.
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type PostgresSchema = { url: string; schema: string; admin: pg.Client; drop(): Promise<void> };

/** A throwaway schema for one test file: `url` points the app at it; `drop` removes it and everything in it. */
export async function createPostgresSchema(): Promise<PostgresSchema> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(ADMIN_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    admin,
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/**
 * Migrated schemas of finished rigs, emptied, waiting for the next rig of the same test file. Migrating a fresh
 * schema takes most of a second on PostgreSQL; emptying one takes a few milliseconds, and suites that run every test
 * on both engines start dozens of rigs. Kept on globalThis so the setup file's last hook finds them (see setup.ts).
 */
type Reusable = PostgresSchema & { shape: string };
const IDLE = Symbol.for('sms-pd.idle-postgres-schemas');
const idle = ((globalThis as Record<symbol, Reusable[] | undefined>)[IDLE] ??= []);

/** A migrated, empty schema left by an earlier rig of this file, or null (the caller then makes a new one). */
export function takeIdleSchema(): Reusable | null {
  return idle.pop() ?? null;
}

/** What makes two schemas interchangeable: their tables, columns, indexes, constraints and applied migrations. */
export async function schemaShape(s: PostgresSchema): Promise<string> {
  const { rows } = await s.admin.query<{ part: string | null }>(
    `SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, ''), ',' ORDER BY table_name, column_name) AS part
       FROM information_schema.columns WHERE table_schema = $1
     UNION ALL
     SELECT string_agg(indexname || ' ' || indexdef, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = $1
     UNION ALL
     SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ',' ORDER BY conname) FROM pg_constraint WHERE connamespace = $1::regnamespace`,
    [s.schema],
  );
  const migrations = await s.admin.query<{ part: string | null }>(`SELECT string_agg(name, ',' ORDER BY name) AS part FROM ${s.schema}.kysely_migration`).catch(() => ({ rows: [{ part: 'none' }] }));
  return [...rows, ...migrations.rows].map((r) => r.part ?? '').join('\n').replaceAll(s.schema, '<schema>');
}

/**
 * Empties a finished rig's schema and keeps it for the next rig, when it still has the shape it was migrated to
 * (a test that changed the schema itself gets its schema dropped instead).
 */
export async function releaseSchema(s: PostgresSchema, shape: string): Promise<void> {
  if ((await schemaShape(s)) !== shape) return s.drop();
  const { rows } = await s.admin.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name NOT IN ('kysely_migration', 'kysely_migration_lock')`,
    [s.schema],
  );
  if (rows.length > 0) await s.admin.query(`TRUNCATE ${rows.map((r) => `${s.schema}."${r.name}"`).join(', ')}`);
  idle.push({ ...s, shape });
}

/** Drops the schemas kept for reuse: the end of a test file. */
export async function dropIdleSchemas(): Promise<void> {
  for (const s of idle.splice(0)) await s.drop();
}
