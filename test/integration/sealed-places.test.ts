import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { rmSync } from 'node:fs';
import { Migrator, sql, type Migration } from 'kysely';
import { openDatabase } from '../../db/database.js';
import { migrations } from '../../db/migrations/index.js';
import { createRigOn, engines, type Rig } from '../support/rig.js';

/**
 * A sealed secret opens only where it is stored: its table, its column and its row (company, and user for a
 * Pipedrive authorisation). A value copied to another row is a failed credential there, never a working one, and the
 * values sealed before this rule existed (v1) are sealed again for their place by a migration.
 */
const A = '1001';
const B = '2002';
const B_ADMIN = 801;
const OWN_NUMBER = '+15005550010';
const MIGRATION = '2026-12-01T1100-sealed-places';

/** The v1 format the app wrote before: AES-256-GCM without additional data, bound to no place. */
function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

function dealEvent(companyId: string, dealId: number) {
  return {
    meta: { id: randomUUID(), action: 'change', entity: 'deal', company_id: companyId, entity_id: String(dealId), attempt: 1, version: '2.0' },
    data: { id: dealId, title: 'x', stage_id: 1, pipeline_id: 1 },
    previous: { title: 'y' },
  };
}

/**
 * Rebuilds the rig's (closed) database as the version before the migration left it: the schema of the migrations
 * before it, and the rows of `companies` and `installations` with the given v1 values in their sealed columns.
 */
async function rebuildBeforeMigration(rig: Rig, kind: 'sqlite' | 'postgres', v1: Record<string, string>) {
  const url = rig.config.databaseUrl;
  const current = openDatabase(url);
  const rows = {
    companies: await current.db.selectFrom('companies').selectAll().execute(),
    installations: await current.db.selectFrom('installations').selectAll().execute(),
  };
  // Other test files keep their own schemas in the same PostgreSQL database: name ours wherever Kysely would look.
  const schema = kind === 'postgres' ? /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '')![1]! : undefined;
  if (schema !== undefined) {
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(current.db);
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(current.db);
  }
  await current.close();
  if (kind === 'sqlite') for (const suffix of ['', '-wal', '-shm']) rmSync(`${rig.dbFile}${suffix}`, { force: true });

  const old = openDatabase(url);
  const before: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(migrations)) if (name < MIGRATION) before[name] = { up: (db) => migration.up(db, {}) };
  const result = await new Migrator({
    db: old.db,
    provider: { getMigrations: async () => before },
    ...(schema !== undefined ? { migrationTableSchema: schema } : {}),
  }).migrateToLatest();
  if (result.error) throw result.error;
  const tables = await old.db.introspection.getTables();
  for (const [table, list] of Object.entries(rows)) {
    const columns = new Set(tables.find((t) => t.name === table && (schema === undefined || t.schema === schema))!.columns.map((c) => c.name));
    for (const row of list) {
      const values = Object.fromEntries(Object.entries(row).filter(([column]) => columns.has(column)).map(([column, value]) => [column, v1[`${table}.${column}`] ?? value]));
      await old.db.insertInto(table as 'companies').values(values as never).execute();
    }
  }
  await old.close();
}

describe.each(engines)('sealed secrets bound to their place (%s)', (kind) => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  const db = () => rig.ctx.database.db;
  const companyRow = (id: string) => db().selectFrom('companies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const webhookPassword = (companyId: string) => rig.pd.webhooks(Number(companyId)).at(-1)!.http_auth_password!;
  const postWebhook = (user: string, password: string, companyId: string) =>
    request(rig.appUrl).post('/webhooks/pipedrive').auth(user, password).send(dealEvent(companyId, 4242));

  async function addCompanyB() {
    rig.pd.addCompany({ id: Number(B), name: 'Other Co', domain: 'other' });
    rig.pd.addUser({ id: B_ADMIN, companyId: Number(B), name: 'Olga Other', isAdmin: true });
    expect((await rig.install(B_ADMIN)).status).toBe(200);
  }

  async function connectOwnTwilio(companyId: string, userId: number) {
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
    const res = await request(rig.appUrl)
      .put('/api/settings/twilio')
      .set('authorization', `Bearer ${await rig.jwt({ userId, companyId: Number(companyId) })}`)
      .send({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER });
    expect(res.status).toBe(200);
    return own;
  }

  it('re-seals the v1 values of an existing database for their place, and everything keeps working', async () => {
    rig = await createRigOn(kind, { outbox: { rateLimit: false } });
    await rig.installDemo();
    const own = await connectOwnTwilio(A, rig.demo.adminUserId);

    // The database as the previous version left it: the schema before this migration, every secret in the v1 format.
    const key = rig.config.encryptionKey;
    const token = rig.pd.tokens.at(-1)!;
    await rig.restart(async () => {
      await rebuildBeforeMigration(rig, kind, {
        'companies.webhook_password_sealed': sealV1(key, webhookPassword(A)),
        'companies.twilio_auth_token_sealed': sealV1(key, own.authToken),
        'installations.access_token_sealed': sealV1(key, token.accessToken),
        'installations.refresh_token_sealed': sealV1(key, token.refreshToken),
      });
      // Started without the key, or with another one, the migration stops with a clear message and changes nothing.
      const database = openDatabase(rig.config.databaseUrl);
      await expect(database.migrate()).rejects.toThrow(/sealed-places failed: 4 stored secret\(s\) must be sealed again .* needs the encryption key \(ENCRYPTION_KEY\)/);
      await expect(database.migrate({ encryptionKey: randomBytes(32) })).rejects.toThrow('none of the 4 stored secret(s) opens with this ENCRYPTION_KEY');
      const untouched = await database.db.selectFrom('installations').select('access_token_sealed').executeTakeFirstOrThrow();
      expect(untouched.access_token_sealed.startsWith('v1.')).toBe(true);
      await database.close();
    });
    await rig.ctx.automations.create(A, {
      name: 'Quote follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is ready.',
    });

    const company = await companyRow(A);
    const installation = await db().selectFrom('installations').selectAll().where('company_id', '=', A).executeTakeFirstOrThrow();
    const stored = [company.webhook_password_sealed, company.twilio_auth_token_sealed, installation.access_token_sealed, installation.refresh_token_sealed];
    expect(stored.every((value) => value?.startsWith('v2.'))).toBe(true);

    // Pipedrive's webhook with the stored password, the worker texting through the company's own account with the
    // installation's token, and the panel reading the deal: all with the re-sealed values, no re-install.
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    const [delivery] = await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
    expect(delivery!.status).toBe(200);
    await rig.drain();
    expect(rig.tw.messagesTo('+14155552671')).toMatchObject([{ accountSid: own.sid, from: OWN_NUMBER, body: 'Hi Ann, your quote is ready.\nReply STOP to opt out' }]);
    const panel = await request(rig.appUrl).get(`/api/panel/deals/${ann.dealId}`).set('authorization', `Bearer ${await rig.jwt()}`);
    expect(panel.status).toBe(200);
    expect(panel.body.person.name).toBe('Ann Granted');
    // Pipedrive was not asked for a new token: the stored one opened.
    expect(rig.pd.tokens.at(-1)!.accessToken).toBe(token.accessToken);
  });

  it("refuses every webhook of a company whose row holds another company's sealed password, until it reinstalls", async () => {
    rig = await createRigOn(kind);
    await rig.installDemo();
    await addCompanyB();
    const passwordOfA = webhookPassword(A);
    const passwordOfB = webhookPassword(B);
    await db().updateTable('companies').set({ webhook_password_sealed: (await companyRow(A)).webhook_password_sealed }).where('id', '=', B).execute();
    await rig.restart();

    // Whoever knows A's password (A's admins see it in Pipedrive) cannot post events as B, nor can anyone else.
    expect((await postWebhook(`pd-${B}`, passwordOfA, B)).status).toBe(401);
    expect((await postWebhook(`pd-${B}`, passwordOfB, B)).status).toBe(401);
    expect(await db().selectFrom('webhook_events').selectAll().execute()).toEqual([]);
    // A itself is unaffected.
    expect((await postWebhook(`pd-${A}`, passwordOfA, A)).status).toBe(200);
    const log = rig.logs.join('');
    expect(log).toContain('stored webhook password cannot be used');
    expect(log).not.toContain(passwordOfA);

    // Reinstalling gives B a new webhook with a password sealed for B's row.
    expect((await rig.install(B_ADMIN)).status).toBe(200);
    const renewed = webhookPassword(B);
    expect(rig.pd.webhooks(Number(B))).toHaveLength(1);
    expect(renewed).not.toBe(passwordOfB);
    // The route keeps a company's credentials for a few seconds; a restart is the quickest way past them.
    await rig.restart();
    expect((await postWebhook(`pd-${B}`, renewed, B)).status).toBe(200);
  });

  it("refuses an installation whose row holds another installation's tokens, and never calls Pipedrive with them", async () => {
    rig = await createRigOn(kind);
    await rig.installDemo();
    expect((await rig.install(rig.demo.salesUserId)).status).toBe(200);
    await addCompanyB();
    const ofA = await db().selectFrom('installations').selectAll().where('company_id', '=', A).where('user_id', '=', String(rig.demo.adminUserId)).executeTakeFirstOrThrow();
    const copied = { access_token_sealed: ofA.access_token_sealed, refresh_token_sealed: ofA.refresh_token_sealed };
    await db().updateTable('installations').set(copied).where('company_id', '=', B).execute();
    // The admin's tokens in the sales user's row of the same company: the sales user must not act as the admin.
    await db().updateTable('installations').set(copied).where('company_id', '=', A).where('user_id', '=', String(rig.demo.salesUserId)).execute();
    await rig.restart();
    rig.pd.clearRequests();

    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    const asB = await request(rig.appUrl).get(`/api/panel/deals/${ann.dealId}`).set('authorization', `Bearer ${await rig.jwt({ userId: B_ADMIN, companyId: Number(B) })}`);
    expect(asB.status).toBeGreaterThanOrEqual(400);
    expect(asB.status).toBeLessThan(500);
    expect(JSON.stringify(asB.body)).not.toContain('Ann');
    await expect(rig.ctx.installations.crmFor(A, String(rig.demo.salesUserId))).rejects.toMatchObject({ code: 'installation_revoked' });
    expect(rig.pd.requests.filter((r) => r.path.startsWith('/api/') || r.path === '/oauth/token')).toEqual([]);
    expect(rig.logs.join('')).toContain('stored Pipedrive tokens cannot be used');

    // The rightful installations still work.
    const asA = await request(rig.appUrl).get(`/api/panel/deals/${ann.dealId}`).set('authorization', `Bearer ${await rig.jwt()}`);
    expect(asA.status).toBe(200);
  });

  it("never texts through another company's Twilio account copied into its row, nor falls back to the shared one", async () => {
    rig = await createRigOn(kind);
    await rig.installDemo();
    await connectOwnTwilio(A, rig.demo.adminUserId);
    await addCompanyB();
    const ofA = await companyRow(A);
    await db()
      .updateTable('companies')
      .set({ twilio_account_sid: ofA.twilio_account_sid, twilio_auth_token_sealed: ofA.twilio_auth_token_sealed, twilio_from_number: '+15005550011' })
      .where('id', '=', B)
      .execute();
    await rig.restart();

    const person = rig.pd.addPerson(Number(B), { name: 'Bea Other', phones: [{ value: '+14155550123', primary: true, label: 'mobile' }] });
    const deal = rig.pd.addDeal(Number(B), { title: 'Deal of B', person_id: person.id });
    const panel = await request(rig.appUrl).get(`/api/panel/deals/${deal.id}`).set('authorization', `Bearer ${await rig.jwt({ userId: B_ADMIN, companyId: Number(B) })}`);
    expect(panel.status).toBe(200);
    expect(panel.body.canSend).toMatchObject({ ok: false, reason: 'no_sender' });
    expect(rig.logs.join('')).toContain('stored Twilio auth token cannot be used');
  });
});
