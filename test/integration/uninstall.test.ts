import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRigOn, engines, FROM_NUMBER, CLIENT_ID, type Rig } from '../support/rig.js';
import { allRows, sqliteFileBytes, storedTables } from '../support/storage.js';

/**
 * Uninstalling: one user leaving keeps the company; the company's last user leaving deletes everything the app
 * holds of that company, in every table, except the consent history the opt-out rules need, and leaves it unreadable
 * in the files too. The table list comes from the database itself, so a table added without its deletion fails here.
 */
const A = '1001';
const B = '2002';
const B_ADMIN = 601;
const ANN = '+14155552671';
/** A contact of A's who texts STOP: the one number of A's that stays (in the consent history). */
const GUS = '+14155550166';
const BEA = '+14155550144';
const BOB = '+14155550155';
const STRANGER = '+14155550999';
const OLD_NUMBER = '+15005550011';
const OWN_NUMBER = '+15005550010';
const A_MARK = 'Acme-only-marker-7f3a';
const B_MARK = 'Bravo-only-marker-2c9e';

type Row = Record<string, unknown>;

/**
 * How the rows of a table without a `company_id` column belong to a company. A table with neither a `company_id`
 * column nor a rule here fails the test: whoever adds it must say whose its rows are and delete them on uninstall.
 */
type Owner = (row: Row, company: string, before: Snapshot) => boolean;
const NO_COMPANY: Owner = () => false;
const RULES: Record<string, Owner> = {
  companies: (row, company) => row.id === company,
  // Keyed by the provider's message id (a callback may arrive before its message is confirmed): a company's are the
  // callbacks of its messages.
  message_status_events: (row, company, before) => sidsOf(before, company).has(row.provider_sid as string),
  // Keyed by sender: the app's shared sender's pace is no company's; a company's own number's pace is that company's,
  // a number it used before included.
  sender_pace: (row, company, before) => sendersOf(before, company).has(row.sender_key as string),
  // Failed authentications per client address: no company's.
  abuse_limits: NO_COMPANY,
  // The outbox workers' heartbeats (host, process, time): no company's, and they move on by themselves.
  workers: NO_COMPANY,
  // The schema's own history.
  kysely_migration: NO_COMPANY,
  kysely_migration_lock: NO_COMPANY,
};
/** Kept for a company that uninstalled: the opt-out rules need the history so an opted-out number stays blocked. */
const KEPT = new Set(['consent_events']);

type Snapshot = Map<string, { columns: string[]; rows: Row[] }>;

async function snapshot(rig: Rig): Promise<Snapshot> {
  const tables: Snapshot = new Map();
  for (const table of await storedTables(rig.ctx.database)) tables.set(table.name, { columns: table.columns, rows: await allRows(rig.ctx.database, table.name) });
  return tables;
}
function sidsOf(before: Snapshot, company: string): Set<string> {
  return new Set(before.get('outbound_messages')!.rows.filter((r) => r.company_id === company && r.provider_sid).map((r) => r.provider_sid as string));
}
/** A company's own senders: the one it has configured, and any that only its messages went out from. */
function sendersOf(before: Snapshot, company: string): Set<string> {
  const row = before.get('companies')!.rows.find((r) => r.id === company)!;
  const messages = before.get('outbound_messages')!.rows;
  const others = new Set(messages.filter((r) => r.company_id !== company).map((r) => r.sender));
  const used = messages.filter((r) => r.company_id === company && !others.has(r.sender)).map((r) => r.sender);
  return new Set([row.twilio_messaging_service_sid, row.twilio_from_number, row.twilio_account_sid, ...used].filter((v): v is string => typeof v === 'string'));
}
/** The rows of `company` in a table, by its company_id column or its stated rule. */
function rowsOf(before: Snapshot, table: string, rows: Row[], company: string | null): Row[] {
  const { columns } = before.get(table)!;
  if (columns.includes('company_id')) return rows.filter((r) => r.company_id === company);
  const rule = RULES[table];
  if (!rule) throw new Error(`${table} has no company_id column and no stated rule: say here whose its rows are`);
  return company === null ? rows.filter((r) => !rule(r, A, before) && !rule(r, B, before)) : rows.filter((r) => rule(r, company, before));
}

describe.each(engines)('uninstall on %s', (engine) => {
  describe('one user leaving', () => {
    let rig: Rig;
    beforeEach(async () => {
      rig = await createRigOn(engine);
    });
    afterEach(async () => rig?.close());
    const installationRows = () => rig.ctx.database.db.selectFrom('installations').selectAll().execute();

    it('refuses a DELETE without the client credentials and keeps the installation', async () => {
      await rig.install();
      const body = { client_id: CLIENT_ID, company_id: rig.demo.companyId, user_id: rig.demo.adminUserId, timestamp: new Date().toISOString() };
      const none = await request(rig.appUrl).delete('/oauth/callback').send(body);
      expect(none.status).toBe(401);
      const wrong = await request(rig.appUrl).delete('/oauth/callback').auth(CLIENT_ID, 'not-the-secret').send(body);
      expect(wrong.status).toBe(401);
      const malformed = await request(rig.appUrl)
        .delete('/oauth/callback')
        .auth(CLIENT_ID, rig.config.pipedrive.clientSecret)
        .set('content-type', 'application/json')
        .send('{"company_id":');
      expect(malformed.status).toBe(400);
      expect(await installationRows()).toHaveLength(1);
    });

    it("removes one user's installation and keeps the company while another user remains", async () => {
      await rig.install(rig.demo.adminUserId);
      await rig.install(rig.demo.salesUserId);
      const result = await rig.pd.uninstall({ userId: rig.demo.salesUserId });
      expect(result.status).toBe(200);
      expect((await installationRows()).map((r) => r.user_id)).toEqual([String(rig.demo.adminUserId)]);
      expect(await rig.ctx.database.db.selectFrom('companies').selectAll().where('id', '=', A).executeTakeFirst()).toBeDefined();
    });
  });

  describe("the last user leaving, with two companies' real traffic", () => {
    let rig: Rig;
    let before: Snapshot;
    let after: Snapshot;
    let filesBefore = '';

    /** An automation made through the API, and one deal per contact moved into its stage through Pipedrive's webhook. */
    async function textThrough(company: number, token: string, mark: string, stageId: number, dealIds: number[]) {
      const created = await request(rig.appUrl)
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({ name: `${mark} automation`, trigger: { event: 'deal.stage_entered', stageId }, template: `${mark} template for {{person.first_name}}` });
      expect(created.status).toBe(201);
      for (const dealId of dealIds) expect((await rig.pd.moveDealToStage(dealId, stageId)).map((d) => d.status)).toEqual([200]);
    }

    beforeAll(async () => {
      // The pace of each sender is kept in the database only when sends are paced.
      rig = await createRigOn(engine, { outbox: { rateLimit: true } });
      await rig.installDemo();
      expect((await rig.install(rig.demo.salesUserId)).status).toBe(200);
      const companyA = (await rig.ctx.companies.find(A))!;
      const gus = rig.pd.addPerson(Number(A), { name: 'Gus Acme', phones: [{ value: GUS, primary: true, label: 'mobile' }] });
      await rig.pd.updatePerson(gus.id, { custom_fields: { [companyA.consent_field_key!]: Number(companyA.consent_granted_option) } });
      const gusDeal = rig.pd.addDeal(Number(A), { title: 'Gus deal', person_id: gus.id, stage_id: rig.demo.stages.leadIn });

      rig.pd.addCompany({ id: Number(B), name: 'Bravo Other Co', domain: 'bravo' });
      rig.pd.addUser({ id: B_ADMIN, companyId: Number(B), name: 'Olga Other', isAdmin: true });
      expect((await rig.install(B_ADMIN)).status).toBe(200);
      const companyB = (await rig.ctx.companies.find(B))!;
      const [firstStage, secondStage] = rig.pd.stages(Number(B));
      const bDeals = [];
      for (const [name, phone] of [['Bea Bravo', BEA], ['Bob Bravo', BOB]] as const) {
        const person = rig.pd.addPerson(Number(B), { name, phones: [{ value: phone, primary: true, label: 'mobile' }] });
        await rig.pd.updatePerson(person.id, { custom_fields: { [companyB.consent_field_key!]: Number(companyB.consent_granted_option) } });
        bDeals.push(rig.pd.addDeal(Number(B), { title: `${name} deal`, person_id: person.id, stage_id: firstStage!.id }).id);
      }

      // Both companies on the shared sender: an automation, its webhook events, sends through the outbox to Twilio,
      // a delivery report, a reply (a job logs it in Pipedrive) and a STOP (the consent history, the consent job).
      const tokenA = await rig.jwt();
      const tokenB = await rig.jwt({ userId: B_ADMIN, companyId: Number(B) });
      const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
      await textThrough(Number(A), tokenA, A_MARK, rig.demo.stages.quoteSent, [ann.dealId, gusDeal.id]);
      await textThrough(Number(B), tokenB, B_MARK, secondStage!.id, bDeals);
      await rig.settle();
      for (const phone of [ANN, GUS, BEA, BOB]) {
        const [sent] = rig.tw.messagesTo(phone);
        expect(sent, phone).toBeDefined();
        expect(await rig.tw.sendStatus(sent!.sid, 'delivered')).toBe(204);
      }
      for (const [phone, body] of [[ANN, `${A_MARK} reply`], [BEA, `${B_MARK} reply`], [GUS, 'STOP'], [BOB, 'STOP']] as const) {
        expect((await rig.tw.reply({ from: phone, to: FROM_NUMBER, body })).status).toBe(200);
      }
      // A text nobody can be told apart (two companies on the shared sender, a number neither texted).
      expect((await rig.tw.reply({ from: STRANGER, to: FROM_NUMBER, body: 'Who is this?' })).status).toBe(200);

      // A then brings its own Twilio account and texts Ann through it, then replaces it by another and texts her
      // again: each of its own senders gets a pace of its own, the one it no longer uses included.
      for (const number of [OLD_NUMBER, OWN_NUMBER]) {
        const own = rig.tw.addAccount();
        rig.tw.addNumber(own.sid, number);
        const connected = await request(rig.appUrl)
          .put('/api/settings/twilio')
          .set('authorization', `Bearer ${tokenA}`)
          .send({ accountSid: own.sid, authToken: own.authToken, fromNumber: number, pointRepliesHere: true });
        expect(connected.status).toBe(200);
        await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.leadIn);
        await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
        await rig.settle();
        expect(rig.tw.messagesTo(ANN).at(-1)).toMatchObject({ from: number });
      }
      expect((await rig.tw.reply({ from: ANN, to: OWN_NUMBER, body: `${A_MARK} reply to the own number` })).status).toBe(200);
      // Last, as a pending review holds back the number's automation texts: a reply that may be an opt-out request.
      expect((await rig.tw.reply({ from: ANN, to: OWN_NUMBER, body: 'STOP NOW' })).status).toBe(200);
      expect((await rig.tw.reply({ from: BEA, to: FROM_NUMBER, body: 'STOP NOW' })).status).toBe(200);
      await rig.settle();

      before = await snapshot(rig);
      // Checkpointed, so A's data is in the main file as it would be after a while in production.
      await rig.ctx.database.scrubDeleted([]);
      if (engine === 'sqlite') filesBefore = sqliteFileBytes(rig.dbFile);

      // A's two users leave: the first keeps the company, the last deletes it.
      expect((await rig.pd.uninstall({ userId: rig.demo.salesUserId })).status).toBe(200);
      expect(await rig.ctx.companies.find(A)).toBeDefined();
      expect((await rig.pd.uninstall({ userId: rig.demo.adminUserId })).status).toBe(200);
      after = await snapshot(rig);
    }, 60_000);
    afterAll(async () => rig?.close());

    it('had traffic of both companies in every company table', () => {
      for (const table of before.keys()) {
        if (RULES[table] === NO_COMPANY) continue;
        const rows = before.get(table)!.rows;
        expect(rowsOf(before, table, rows, A).length, `${table}: rows of A`).toBeGreaterThan(0);
        // B has no own sender, so no pace of its own; the shared sender's is nobody's.
        if (table !== 'sender_pace') expect(rowsOf(before, table, rows, B).length, `${table}: rows of B`).toBeGreaterThan(0);
      }
    });

    it('leaves A no row in any table but its consent history, and B every row it had', () => {
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [table, { rows }] of before) {
        const now = after.get(table)!.rows;
        expect(rowsOf(before, table, now, A), `${table}: rows of A`).toEqual(KEPT.has(table) ? rowsOf(before, table, rows, A) : []);
        expect(rowsOf(before, table, now, B), `${table}: rows of B`).toEqual(rowsOf(before, table, rows, B));
        // Rows of no company (the shared sender's pace, a text nobody could be told apart while B still shares the
        // sender, the schema's history) stay as they were.
        if (table !== 'workers') expect(rowsOf(before, table, now, null), `${table}: rows of no company`).toEqual(rowsOf(before, table, rows, null));
      }
      // What is kept of A, exactly: Gus's opt-out, with its number, sender, source and message.
      expect(rowsOf(before, 'consent_events', after.get('consent_events')!.rows, A)).toMatchObject([
        { company_id: A, phone_e164: GUS, sender: FROM_NUMBER, action: 'opt_out', source: 'inbound_keyword', message: 'STOP' },
      ]);
      expect(after.get('inbound_messages')!.rows.filter((r) => r.company_id === null)).toMatchObject([{ from_e164: STRANGER }]);
    });

    // The files are SQLite's: PostgreSQL's storage is the server's, and its VACUUM is what the app can ask for there.
    it.runIf(engine === 'sqlite')("leaves none of A's messages, numbers or names readable in the files, the WAL included", () => {
      const gone = [A_MARK, ANN, '(415) 555-2671', OLD_NUMBER, OWN_NUMBER, 'Acme Sandbox Inc.'];
      for (const text of [...gone, B_MARK, GUS]) expect(filesBefore, `before: ${text}`).toContain(text);
      const files = sqliteFileBytes(rig.dbFile);
      for (const text of gone) expect(files, text).not.toContain(text);
      // Kept: B's data, and the number in A's consent history.
      expect(files).toContain(B_MARK);
      expect(files).toContain(GUS);
    });
  });
});
