import { randomBytes } from 'node:crypto';
import pg from 'pg';

// PostgreSQL runs on every machine of this project (CI included) at 127.0.0.1:5432 with trust auth.
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A throwaway schema for one test file: `url` points the app at it; `drop` removes it and everything in it. */
export async function createPostgresSchema(): Promise<{ url: string; schema: string; admin: pg.Client; drop(): Promise<void> }> {
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
