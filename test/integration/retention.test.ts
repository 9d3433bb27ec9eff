import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { pruneByRetention } from '../../server/outbox/housekeeping.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';
import { allRows, sqliteFileBytes, storedTables } from '../support/storage.js';

/**
 * A company's retention: the hourly housekeeping deletes its messages and replies older than `retentionDays`, on the
 * app's clock, and nothing else: not newer ones, not another company's, never the consent history.
 */
const A = '1001';
const B = '2002';
const B_ADMIN = 601;
const GUS = '+14155550166';
const BEA = '+14155550144';
const DAY = 86_400_000;
const OLD_MARK = 'Acme-first-month-5d1e';
const NEW_MARK = 'Acme-second-month-8b2a';
const B_MARK = 'Bravo-kept-3f9c';

type Snapshot = Map<string, Record<string, unknown>[]>;
async function snapshot(rig: Rig): Promise<Snapshot> {
  const tables: Snapshot = new Map();
  for (const table of await storedTables(rig.ctx.database)) tables.set(table.name, await allRows(rig.ctx.database, table.name));
  return tables;
}

describe.each(engines)('retention on %s', (engine) => {
  let rig: Rig;
  const start = Date.now();
  let now = start;
  const clock = { now: () => now };
  const db = () => rig.ctx.database.db;
  let gusDeal = 0;
  let firstMonth: Snapshot;
  const aStages = () => [rig.demo.stages.leadIn, rig.demo.stages.quoteSent] as const;

  /** Moves a deal into the automation's stage, delivers the text and has the contact answer, at the clock's time. */
  async function conversation(dealId: number, [from, to]: readonly [number, number], phone: string, answer: string) {
    await rig.pd.moveDealToStage(dealId, from);
    await rig.pd.moveDealToStage(dealId, to);
    await rig.settle();
    const sent = rig.tw.messagesTo(phone).at(-1)!;
    expect(await rig.tw.sendStatus(sent.sid, 'delivered')).toBe(204);
    expect((await rig.tw.reply({ from: phone, to: FROM_NUMBER, body: answer })).status).toBe(200);
    await rig.settle();
  }

  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false }, clock });
    await rig.installDemo();
    const tokenA = await rig.jwt();
    const person = async (company: string, name: string, phone: string, stageId: number) => {
      const c = (await rig.ctx.companies.find(company))!;
      const p = rig.pd.addPerson(Number(company), { name, phones: [{ value: phone, primary: true, label: 'mobile' }] });
      await rig.pd.updatePerson(p.id, { custom_fields: { [c.consent_field_key!]: Number(c.consent_granted_option) } });
      return rig.pd.addDeal(Number(company), { title: `${name} deal`, person_id: p.id, stage_id: stageId }).id;
    };
    rig.pd.addCompany({ id: Number(B), name: 'Bravo Other Co', domain: 'bravo' });
    rig.pd.addUser({ id: B_ADMIN, companyId: Number(B), name: 'Olga Other', isAdmin: true });
    expect((await rig.install(B_ADMIN)).status).toBe(200);
    const tokenB = await rig.jwt({ userId: B_ADMIN, companyId: Number(B) });
    const [bFirst, bSecond] = rig.pd.stages(Number(B));
    const beaDeal = await person(B, 'Bea Bravo', BEA, bFirst!.id);
    gusDeal = await person(A, 'Gus Acme', GUS, rig.demo.stages.leadIn);
    for (const [token, stageId, mark] of [[tokenA, rig.demo.stages.quoteSent, 'Acme'], [tokenB, bSecond!.id, 'Bravo']] as const) {
      const created = await request(rig.appUrl)
        .post('/api/automations')
        .set('authorization', `Bearer ${token}`)
        .send({ name: `${mark} follow-up`, trigger: { event: 'deal.stage_entered', stageId }, template: `${mark} text for {{person.first_name}}` });
      expect(created.status).toBe(201);
    }
    // A keeps 30 days; B keeps everything (the default).
    const saved = await request(rig.appUrl).patch('/api/settings').set('authorization', `Bearer ${tokenA}`).send({ retentionDays: 30 });
    expect(saved.status).toBe(200);
    expect(saved.body.retentionDays).toBe(30);

    // The first month: Gus and Bea text back; Ann texts STOP (the consent history, never pruned).
    await conversation(gusDeal, aStages(), GUS, `${OLD_MARK} Gus answers`);
    await conversation(beaDeal, [bFirst!.id, bSecond!.id], BEA, `${B_MARK} Bea answers`);
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    await conversation(ann.dealId, aStages(), '+14155552671', 'STOP');
    firstMonth = await snapshot(rig);
    // Twenty days later, Gus again.
    now = start + 20 * DAY;
    await conversation(gusDeal, aStages(), GUS, `${NEW_MARK} Gus answers`);
  }, 90_000);
  afterAll(async () => rig?.close());

  it('keeps everything younger than the retention', async () => {
    now = start + 29 * DAY;
    const before = await snapshot(rig);
    expect(await pruneByRetention(rig.ctx.database, now)).toEqual({ messages: 0, replies: 0 });
    expect(await snapshot(rig)).toEqual(before);
  });

  it("deletes only that company's messages and replies older than its retention", async () => {
    now = start + 31 * DAY;
    const before = await snapshot(rig);
    const cutoff = new Date(now - 30 * DAY).toISOString();
    const isOld = (table: string) => (r: Record<string, unknown>) =>
      r.company_id === A &&
      ((table === 'outbound_messages' && String(r.created_at) < cutoff) || (table === 'inbound_messages' && String(r.received_at) < cutoff));
    const oldSids = new Set(before.get('outbound_messages')!.filter(isOld('outbound_messages')).map((r) => r.provider_sid));
    const expected = {
      messages: before.get('outbound_messages')!.filter(isOld('outbound_messages')).length,
      replies: before.get('inbound_messages')!.filter(isOld('inbound_messages')).length,
    };
    // The first month's texts of A (Gus and Ann), their replies (Gus's, Ann's STOP) and their delivery reports.
    expect(expected).toEqual({ messages: 2, replies: 2 });
    expect(before.get('message_status_events')!.filter((r) => oldSids.has(r.provider_sid)).length).toBeGreaterThan(0);

    expect(await pruneByRetention(rig.ctx.database, now)).toEqual(expected);

    const after = await snapshot(rig);
    for (const [table, rows] of before) {
      const gone = table === 'message_status_events' ? (r: Record<string, unknown>) => oldSids.has(r.provider_sid) : isOld(table);
      expect(after.get(table), table).toEqual(rows.filter((r) => !gone(r)));
    }
    // The consent history is as it was in the first month: Ann's STOP still blocks her.
    expect(after.get('consent_events')).toEqual(firstMonth.get('consent_events'));
    expect(await rig.ctx.optOuts.isOptedOut(A, FROM_NUMBER, '+14155552671')).toBe(true);
  });

  // The copies of a reply's text in the job that logged it in Pipedrive go with the finished jobs (30 days), in the
  // same pass: the files hold none of them afterwards.
  it('runs in the hourly housekeeping, on the clock of the app, and leaves the texts unreadable in the files', async () => {
    now = start + 51 * DAY;
    if (engine === 'sqlite') await rig.ctx.database.scrubDeleted([]);
    const filesBefore = engine === 'sqlite' ? sqliteFileBytes(rig.dbFile) : '';
    await rig.ctx.outbox.housekeep();
    if (engine === 'sqlite') {
      for (const text of [`${OLD_MARK} Gus answers`, `${NEW_MARK} Gus answers`, `${B_MARK} Bea answers`]) expect(filesBefore, text).toContain(text);
      const files = sqliteFileBytes(rig.dbFile);
      expect(files).not.toContain(`${OLD_MARK} Gus answers`);
      expect(files).not.toContain(`${NEW_MARK} Gus answers`);
      expect(files).toContain(`${B_MARK} Bea answers`);
    }
    const left = await db().selectFrom('inbound_messages').select(['company_id', 'body']).orderBy('company_id').execute();
    expect(left).toEqual([{ company_id: B, body: `${B_MARK} Bea answers` }]);
    const messages = await db().selectFrom('outbound_messages').select('company_id').execute();
    expect(messages.map((m) => m.company_id)).toEqual([B]);
  });

  it('takes companies in turns, a batch each, so a large backlog holds up no one', async () => {
    // Two companies with years of old messages: A's 30 days, and C's 60.
    const C = '3003';
    const at = new Date(now).toISOString();
    await db().insertInto('companies').values({ id: C, name: 'Charlie', domain: null, api_domain: 'https://charlie.example', settings: JSON.stringify({ retentionDays: 60 }), created_at: at, updated_at: at }).execute();
    const old = new Date(now - 400 * DAY).toISOString();
    const rows = (company: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: randomUUID(), company_id: company, source: 'automation' as const, template: 't', to_e164: `+1415555${String(i % 10_000).padStart(4, '0')}`,
        body: 'old text', state: 'sent' as const, next_attempt_at: old, created_at: old, updated_at: old,
      }));
    for (const [company, n] of [[A, 1_600], [C, 700]] as const) {
      const batch = rows(company, n);
      for (let i = 0; i < batch.length; i += 200) await db().insertInto('outbound_messages').values(batch.slice(i, i + 200)).execute();
    }
    const count = async (company: string) => (await db().selectFrom('outbound_messages').select('id').where('company_id', '=', company).execute()).length;

    // A pass with no time to spare still gives each company one batch (500 rows), then stops.
    const started = performance.now();
    expect(await pruneByRetention(rig.ctx.database, now, 0)).toEqual({ messages: 1_000, replies: 0 });
    const pass = performance.now() - started;
    expect([await count(A), await count(C)]).toEqual([1_100, 200]);
    // The next passes finish C and then A.
    expect(await pruneByRetention(rig.ctx.database, now, 0)).toEqual({ messages: 700, replies: 0 });
    expect(await pruneByRetention(rig.ctx.database, now)).toEqual({ messages: 600, replies: 0 });
    expect([await count(A), await count(C), await count(B)]).toEqual([0, 0, 1]);
    console.log(`retention on ${engine}: a round of two 500-row batches took ${pass.toFixed(0)} ms`);
  });
});
