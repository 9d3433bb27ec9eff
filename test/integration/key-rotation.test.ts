import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_ID, createRigOn, engines, type Rig } from '../support/rig.js';
import { runToolCommand } from '../support/tool-command.js';
import { createSecretBox, keyId, sealedPlaces, type SealedPlace } from '../../server/security/crypto.js';
import { resealSecrets, SEALED_TABLES } from '../../server/tools/reseal.js';

/**
 * Rotating ENCRYPTION_KEY on a running installation: the app restarted with a new key and the old one in
 * ENCRYPTION_KEYS_PREVIOUS keeps working (webhooks, sends through a company's own Twilio account, the panel, token
 * refreshes, which seal with the new key); the re-seal command then seals every stored secret with the new key, so
 * the old key can go; and a value no configured key opens is reported by table, column and row, and left alone.
 */
const A = '1001';
const OWN_NUMBER = '+15005550010';
const ANN_PHONE = '+14155552671';

type Stored = { place: SealedPlace; sealed: string };

describe.each(engines)('rotating the encryption key (%s)', (kind) => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  const db = () => rig.ctx.database.db;

  /** Every sealed value in the database, with its place. */
  async function storedSecrets(): Promise<Stored[]> {
    const stored: Stored[] = [];
    for (const c of await db().selectFrom('companies').selectAll().execute()) {
      if (c.webhook_password_sealed) stored.push({ place: sealedPlaces.webhookPassword(c.id), sealed: c.webhook_password_sealed });
      if (c.twilio_auth_token_sealed) stored.push({ place: sealedPlaces.twilioAuthToken(c.id), sealed: c.twilio_auth_token_sealed });
    }
    for (const i of await db().selectFrom('installations').selectAll().execute()) {
      stored.push({ place: sealedPlaces.accessToken(i.company_id, i.user_id), sealed: i.access_token_sealed });
      stored.push({ place: sealedPlaces.refreshToken(i.company_id, i.user_id), sealed: i.refresh_token_sealed });
    }
    return stored;
  }
  const keyIdsOf = async () => Object.fromEntries((await storedSecrets()).map((s) => [`${s.place.column}`, s.sealed.split('.')[1]]));

  /** A process restart with other keys, as an operator changes the environment between two starts. */
  async function restartWith(current: Buffer, previous: Buffer[]) {
    await rig.restart(async () => {
      rig.config.encryptionKey = current;
      rig.config.encryptionKeysPrevious = previous;
    });
  }

  async function connectOwnTwilio() {
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
    const res = await request(rig.appUrl)
      .put('/api/settings/twilio')
      .set('authorization', `Bearer ${await rig.jwt()}`)
      .send({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER });
    expect(res.status).toBe(200);
    return own;
  }

  /** A deal event with the stored webhook password, a text through the company's own account, and the panel. */
  async function everythingWorks(ownSid: string) {
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    const before = rig.tw.messagesTo(ANN_PHONE).length;
    await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.negotiation);
    const [delivery] = await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
    expect(delivery!.status).toBe(200);
    await rig.drain();
    const sent = rig.tw.messagesTo(ANN_PHONE);
    expect(sent).toHaveLength(before + 1);
    expect(sent.at(-1)).toMatchObject({ accountSid: ownSid, from: OWN_NUMBER });
    const panel = await request(rig.appUrl).get(`/api/panel/deals/${ann.dealId}`).set('authorization', `Bearer ${await rig.jwt()}`);
    expect(panel.status).toBe(200);
    expect(panel.body.person.name).toBe('Ann Granted');
  }

  it('keeps working after a rotation, re-seals every secret with the new key, and then needs the new key alone', async () => {
    rig = await createRigOn(kind, { outbox: { rateLimit: false } });
    const keyA = rig.config.encryptionKey;
    const keyB = randomBytes(32);
    await rig.installDemo();
    const own = await connectOwnTwilio();
    await rig.ctx.automations.create(A, {
      name: 'Quote follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is ready.',
    });
    const installed = await keyIdsOf();
    expect(Object.values(installed)).toEqual(Array(4).fill(keyId(keyA)));

    // Restarted with B, A as a previous key: the values sealed with A still open.
    await restartWith(keyB, [keyA]);
    await everythingWorks(own.sid);
    // A token refresh seals the new tokens with B; the rest stays under A until the re-seal.
    const refreshes = rig.pd.refreshCount();
    rig.pd.expireAccessTokens();
    const crm = await rig.ctx.installations.crmFor(A);
    expect((await crm.getPerson(rig.demo.persons[0]!.id))?.name).toBe(rig.demo.persons[0]!.name);
    expect(rig.pd.refreshCount()).toBe(refreshes + 1);
    expect(await keyIdsOf()).toEqual({
      webhook_password_sealed: keyId(keyA),
      twilio_auth_token_sealed: keyId(keyA),
      access_token_sealed: keyId(keyB),
      refresh_token_sealed: keyId(keyB),
    });

    // The re-seal, while the app runs: the two values under A are sealed again with B, the tokens are left as they are.
    const report = await resealSecrets(rig.ctx.database, rig.ctx.secrets, { batchSize: 1 });
    expect(report).toEqual({ examined: 4, resealed: 2, current: 2, changedMeanwhile: 0, failures: [] });
    const onlyB = createSecretBox(keyB);
    const plaintexts = new Map<string, string>();
    for (const { place, sealed } of await storedSecrets()) plaintexts.set(place.column, onlyB.open(sealed, place));
    expect(plaintexts.get('twilio_auth_token_sealed')).toBe(own.authToken);
    expect(plaintexts.get('access_token_sealed')).toBe(rig.pd.tokens.at(-1)!.accessToken);
    // Idempotent: a second run finds nothing to do.
    expect(await resealSecrets(rig.ctx.database, rig.ctx.secrets)).toMatchObject({ resealed: 0, current: 4, failures: [] });

    // Restarted with B alone: still everything works, without asking Pipedrive for a token or the company for Twilio.
    await restartWith(keyB, []);
    const tokensBefore = rig.pd.tokens.length;
    await everythingWorks(own.sid);
    expect(rig.pd.tokens.length).toBe(tokensBefore);
    expect(rig.logs.join('')).not.toContain('cannot be used');
  });

  it('reports a value no configured key opens, by table, column and row, and changes nothing for it', async () => {
    rig = await createRigOn(kind, { outbox: { rateLimit: false } });
    const keyA = rig.config.encryptionKey;
    const keyB = randomBytes(32);
    const unknown = createSecretBox(randomBytes(32));
    await rig.installDemo();
    await connectOwnTwilio();
    const user = String(rig.demo.adminUserId);
    // A Twilio token sealed with a key nobody configured, and a refresh token in the v2 format (no key id) under A.
    const foreign = unknown.seal('lost', sealedPlaces.twilioAuthToken(A));
    const [, , iv, tag, ciphertext] = createSecretBox(keyA).seal('old', sealedPlaces.refreshToken(A, user)).split('.');
    const v2UnderA = ['v2', iv, tag, ciphertext].join('.');
    await db().updateTable('companies').set({ twilio_auth_token_sealed: foreign }).where('id', '=', A).execute();
    await db().updateTable('installations').set({ refresh_token_sealed: v2UnderA }).where('company_id', '=', A).execute();
    await restartWith(keyB, []);

    const report = await resealSecrets(rig.ctx.database, rig.ctx.secrets);
    expect(report.failures).toEqual([
      { table: 'companies', column: 'webhook_password_sealed', row: { id: A }, reason: 'unknown_key', keyId: keyId(keyA) },
      { table: 'companies', column: 'twilio_auth_token_sealed', row: { id: A }, reason: 'unknown_key', keyId: unknown.keyId },
      { table: 'installations', column: 'access_token_sealed', row: { company_id: A, user_id: user }, reason: 'unknown_key', keyId: keyId(keyA) },
      { table: 'installations', column: 'refresh_token_sealed', row: { company_id: A, user_id: user }, reason: 'does_not_open' },
    ]);
    expect(report).toMatchObject({ examined: 4, resealed: 0, current: 0, changedMeanwhile: 0 });
    const company = await db().selectFrom('companies').selectAll().where('id', '=', A).executeTakeFirstOrThrow();
    expect(company.twilio_auth_token_sealed).toBe(foreign);
    expect(company.webhook_password_sealed!.split('.')[1]).toBe(keyId(keyA));
    const installation = await db().selectFrom('installations').selectAll().where('company_id', '=', A).executeTakeFirstOrThrow();
    expect(installation.refresh_token_sealed).toBe(v2UnderA);

    // The command itself, in its own process beside the running app: the same list, exit code 1; with A given back
    // as a previous key, the values under A are re-sealed and only the foreign one remains.
    const run = await runResealCommand(rig, keyB, [keyA]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`key id ${keyId(keyB)}`);
    expect(run.stdout).toContain('3 re-sealed');
    expect(run.stderr).toContain(`companies.twilio_auth_token_sealed (id=${A}): sealed with a key not configured (key id ${unknown.keyId})`);
    expect(run.stderr).not.toContain('installations.');
    for (const key of [keyA, keyB]) expect(run.stdout + run.stderr).not.toContain(key.toString('base64'));
    const after = await keyIdsOf();
    expect(after).toEqual({
      webhook_password_sealed: keyId(keyB),
      twilio_auth_token_sealed: unknown.keyId,
      access_token_sealed: keyId(keyB),
      refresh_token_sealed: keyId(keyB),
    });
  });

  it('replaces a value only if it is still the one read: what the app wrote meanwhile stays', async () => {
    rig = await createRigOn(kind);
    const keyA = rig.config.encryptionKey;
    await rig.installDemo();
    await restartWith(randomBytes(32), [keyA]);
    const companies = SEALED_TABLES.find((t) => t.table === 'companies')!;
    const { found } = await companies.batch(rig.ctx.database, null, 10);
    const read = found.find((f) => f.column === 'webhook_password_sealed')!;
    const resealed = rig.ctx.secrets.seal(rig.ctx.secrets.open(read.sealed, read.place), read.place);
    // The app (a reinstall, say) writes a new password after the re-seal read the old one and before it writes.
    const newer = rig.ctx.secrets.seal('written-by-the-app', read.place);
    await db().updateTable('companies').set({ webhook_password_sealed: newer }).where('id', '=', A).execute();
    expect(await rig.ctx.database.transaction((trx) => companies.replace(trx, read, resealed))).toBe(false);
    const company = await db().selectFrom('companies').selectAll().where('id', '=', A).executeTakeFirstOrThrow();
    expect(company.webhook_password_sealed).toBe(newer);
    // Unchanged, it is replaced.
    expect(await rig.ctx.database.transaction((trx) => companies.replace(trx, { ...read, sealed: newer }, resealed))).toBe(true);
  });

  it('knows every sealed column of the schema', async () => {
    rig = await createRigOn(kind);
    const tables = await db().introspection.getTables();
    const sealedColumns = new Set(tables.flatMap((t) => t.columns.filter((c) => c.name.endsWith('_sealed')).map((c) => `${t.name}.${c.name}`)));
    const known = new Set(SEALED_TABLES.flatMap((t) => t.columns.map((column) => `${t.table}.${column}`)));
    expect([...sealedColumns].sort()).toEqual([...known].sort());
  });
});

/** `npm run reseal` with the app's configuration, in a folder with no `.env`. */
async function runResealCommand(rig: Rig, current: Buffer, previous: Buffer[]) {
  const dir = mkdtempSync(join(tmpdir(), 'sms-pd-reseal-'));
  try {
    return await runToolCommand('reseal-cli.ts', {
      cwd: dir,
      env: {
        PIPEDRIVE_CLIENT_ID: CLIENT_ID,
        PIPEDRIVE_CLIENT_SECRET: rig.config.pipedrive.clientSecret,
        APP_URL: rig.appUrl,
        DATABASE_URL: rig.config.databaseUrl,
        ENCRYPTION_KEY: current.toString('base64'),
        ENCRYPTION_KEYS_PREVIOUS: previous.map((k) => k.toString('hex')).join(','),
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
