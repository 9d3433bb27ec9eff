import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.js';
import { migrations } from '../../db/migrations/index.js';
import { createPostgresSchema } from '../support/postgres.js';
import { engines } from '../support/rig.js';

/**
 * The migration that makes deal events idempotent per company rebuilds their table: every stored event survives it,
 * on both engines, and afterwards the same event id may be stored once per company.
 */
const BEFORE = '2026-11-27T2200-replies-by-message';
const TARGET = '2026-12-01T1000-tenant-keys';
const at = '2026-11-30T10:00:00.000Z';

describe.each(engines)('the tenant-keys migration on %s', (engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  /** The PostgreSQL schema of this test; Kysely must be told it, as other files keep their own in the same database. */
  let schema: string | undefined;

  afterEach(async () => {
    await database.close();
    await cleanup();
  });

  async function open(): Promise<Kysely<any>> {
    if (engine === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'sms-pd-migration-'));
      database = openDatabase(`file:${join(dir, 'app.db')}`);
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const pg = await createPostgresSchema();
      schema = pg.schema;
      database = openDatabase(pg.url);
      cleanup = () => pg.drop();
    }
    return database.db as Kysely<any>;
  }

  it('keeps every deal event and then keys them by company and event id', async () => {
    const db = await open();
    // No sealed secrets are stored here, so no migration needs the encryption key.
    const steps = Object.fromEntries(Object.entries(migrations).map(([name, m]) => [name, { up: (d: Kysely<any>) => (m.up as (db: Kysely<any>, input: object) => Promise<void>)(d, {}), down: m.down }]));
    const migrator = new Migrator({ db, provider: { getMigrations: async () => steps }, ...(schema ? { migrationTableSchema: schema } : {}) });
    expect((await migrator.migrateTo(BEFORE)).error).toBeUndefined();
    for (const id of ['1001', '2002']) {
      await db.insertInto('companies').values({ id, name: `Company ${id}`, api_domain: 'https://x.pipedrive.com', created_at: at, updated_at: at }).execute();
    }
    const events = [
      { id: 'df47d877-b58c-4886-91cd-1aa83e1d7366', company_id: '1001', entity: 'deal', action: 'change', entity_id: '8', attempt: 2, queued: 1, received_at: at },
      { id: '424242', company_id: '1001', entity: 'deal', action: 'create', entity_id: null, attempt: 1, queued: 0, received_at: at },
      { id: 'v1:7:deal:9:1739827361', company_id: '2002', entity: 'deal', action: 'change', entity_id: '9', attempt: 1, queued: 0, received_at: at },
    ];
    await db.insertInto('webhook_events').values(events).execute();

    expect((await migrator.migrateTo(TARGET)).error).toBeUndefined();

    const kept = await db.selectFrom('webhook_events').selectAll().orderBy('company_id').orderBy('id').execute();
    expect(kept).toEqual(
      [...events].sort((a, b) => a.company_id.localeCompare(b.company_id) || a.id.localeCompare(b.id)),
    );
    // The same event id in another company is another event; in the same company it is refused.
    await db.insertInto('webhook_events').values({ ...events[0]!, company_id: '2002' }).execute();
    await expect(db.insertInto('webhook_events').values({ ...events[1]! }).execute()).rejects.toThrow();
    // The company's events still go with the company.
    await db.deleteFrom('companies').where('id', '=', '2002').execute();
    expect(await db.selectFrom('webhook_events').select('company_id').distinct().execute()).toEqual([{ company_id: '1001' }]);
    // And back down: the events are kept under the old key too.
    expect((await migrator.migrateTo(BEFORE)).error).toBeUndefined();
    expect((await db.selectFrom('webhook_events').select('id').orderBy('id').execute()).map((e) => e.id)).toEqual(['424242', 'df47d877-b58c-4886-91cd-1aa83e1d7366']);
  });
});
