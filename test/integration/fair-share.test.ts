import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { claimDueMessages, claimMessagesInTurns } from '../../db/queue-queries.js';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import { createRigOn, engines, SENDING_RULES_OFF, type Rig } from '../support/rig.js';

/**
 * Companies share the app's Twilio sender fairly: one company's backlog never makes another company's single text
 * wait behind it, and within a company a panel send (a person waiting) goes before its queued automation messages.
 */
const ACME = '1001';
const BRAVO = 2002;
const BRAVO_ADMIN = 601;
const BRAVO_PHONE = '+14155550199';
const BACKLOG = 500;
/** The operator's SHARED_SENDER_RATE in these tests: fast enough for seconds, slow enough for a long queue. */
const SHARED_RATE = 4;
/** What one pass may book ahead on the shared sender: the slots within the worker's two-second hold. */
const SLOTS_PER_HOLD = 2 * SHARED_RATE + 1;

/** A second installed company with one consenting contact, a deal and an automation on entering "Quote sent". */
async function addBravo(rig: Rig): Promise<{ dealId: number; quoteSent: number }> {
  rig.pd.addCompany({ id: BRAVO, name: 'Bravo Co', domain: 'bravo' });
  rig.pd.addUser({ id: BRAVO_ADMIN, companyId: BRAVO, name: 'Bea Bravo', isAdmin: true });
  expect((await rig.install(BRAVO_ADMIN)).status).toBe(200);
  const pipeline = rig.pd.addPipeline(BRAVO, { name: 'Sales' });
  const leadIn = rig.pd.addStage(BRAVO, { pipeline_id: pipeline.id, name: 'Lead in', order_nr: 1 });
  const quoteSent = rig.pd.addStage(BRAVO, { pipeline_id: pipeline.id, name: 'Quote sent', order_nr: 2 });
  const company = (await rig.ctx.companies.find(String(BRAVO)))!;
  const person = rig.pd.addPerson(BRAVO, { name: 'Bob Bravo', first_name: 'Bob', last_name: 'Bravo', owner_id: BRAVO_ADMIN, phones: [{ value: BRAVO_PHONE, primary: true, label: 'mobile' }] });
  await rig.pd.updatePerson(person.id, { custom_fields: { [company.consent_field_key!]: Number(company.consent_granted_option) } });
  const deal = rig.pd.addDeal(BRAVO, { title: 'Bravo deal', person_id: person.id, stage_id: leadIn.id, owner_id: BRAVO_ADMIN });
  await rig.ctx.automations.create(String(BRAVO), {
    name: 'Bravo follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: quoteSent.id },
    template: 'Hello from Bravo',
  });
  return { dealId: deal.id, quoteSent: quoteSent.id };
}

describe.each(engines)('fair share of the shared sender on %s', (engine) => {
  let rig: Rig;
  let operator: AppContext;
  let bravo: { dealId: number; quoteSent: number };
  const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;

  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: true } });
    await rig.installDemo();
    bravo = await addBravo(rig);
    for (let i = 1; i <= BACKLOG; i++) {
      await rig.ctx.automations.create(ACME, {
        name: `Campaign step ${i}`,
        enabled: true,
        trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
        template: `Acme campaign ${i}`,
      });
    }
    // The app as the operator runs it with SHARED_SENDER_RATE=4: its own worker, on the same database.
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    operator = createContext(
      { ...rig.config, sharedSenderRate: SHARED_RATE },
      { logger: createLogger('info', quiet), outboxOptions: { rateLimit: true, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20, ...SENDING_RULES_OFF } },
    );
  }, 120_000);
  afterAll(async () => {
    await operator?.outbox.stop();
    await operator?.database.close();
    await rig?.close();
  });

  it("sends another company's single text, and a panel send, within the next few slots, not after a 500-message backlog", async () => {
    const [acmeMove] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
    expect(JSON.parse(acmeMove!.body)).toMatchObject({ queued: BACKLOG });
    operator.outbox.start();
    const texts = () => rig.tw.messages();
    const until = async (done: () => boolean, ms: number) => {
      for (const deadline = Date.now() + ms; !done() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    };
    // Acme's backlog is draining when Bravo's one text and an Acme user's panel send are queued.
    await until(() => texts().length >= 2, 10_000);
    const before = texts().length;
    expect(before).toBeGreaterThanOrEqual(2);
    const [bravoMove] = await rig.pd.moveDealToStage(bravo.dealId, bravo.quoteSent);
    expect(JSON.parse(bravoMove!.body)).toMatchObject({ queued: 1 });
    const token = await rig.jwt();
    const panel = await request(rig.appUrl).post(`/api/panel/deals/${ann().dealId}/messages`).set('authorization', `Bearer ${token}`).send({ body: 'Are you free for a call now?' });
    expect(panel.status).toBe(202);

    const position = (match: (body: string) => boolean) => texts().slice(before).findIndex((m) => match(m.body));
    const bravoText = () => position((b) => b.startsWith('Hello from Bravo'));
    const panelText = () => position((b) => b.startsWith('Are you free'));
    await until(() => bravoText() >= 0 && panelText() >= 0, 20_000);
    await operator.outbox.stop();

    // At most the slots already booked when they were queued, plus a few: never behind the backlog.
    expect(bravoText()).toBeGreaterThanOrEqual(0);
    expect(bravoText()).toBeLessThanOrEqual(SLOTS_PER_HOLD + 3);
    expect(panelText()).toBeGreaterThanOrEqual(0);
    expect(panelText()).toBeLessThanOrEqual(SLOTS_PER_HOLD + 3);
    expect(texts().find((m) => m.body.startsWith('Hello from Bravo'))!.to).toBe(BRAVO_PHONE);
    const waiting = await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('company_id', '=', ACME).where('state', '=', 'queued').execute();
    expect(waiting.length).toBeGreaterThan(BACKLOG - 3 * SLOTS_PER_HOLD);
    // The shared sender kept to the operator's rate throughout: SHARED_RATE a second, not faster. (From the second
    // text on: the first send of a fresh process may leave late, which shortens the span without breaking the pace.)
    const times = texts().map((m) => m.dateCreated.getTime()).slice(1);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((times.length - 1) * 1000) / SHARED_RATE - 300);
  }, 60_000);
});

describe.each(engines)('claiming in turns on %s', (engine) => {
  let rig: Rig;
  const at = () => new Date().toISOString();
  const lease = () => new Date(Date.now() + 60_000).toISOString();

  /** Bare queued rows: material for the claim query alone. */
  async function queue(companyId: string, prefix: string, n: number, source: 'automation' | 'panel' = 'automation', ageMs = 0) {
    const when = (i: number) => new Date(Date.now() - 60_000 + ageMs + i).toISOString();
    await rig.ctx.database.db
      .insertInto('outbound_messages')
      .values(
        Array.from({ length: n }, (_, i) => ({
          id: `${prefix}-${String(i).padStart(4, '0')}`,
          company_id: companyId,
          source,
          template: 'x',
          state: 'queued' as const,
          next_attempt_at: when(i),
          created_at: when(i),
          updated_at: when(i),
        })),
      )
      .execute();
  }

  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    await addBravo(rig);
  }, 60_000);
  afterAll(async () => rig?.close());

  it('takes turns between companies, a panel send first within its company, and never more than asked', async () => {
    await queue(ACME, 'acme', 40);
    await queue(String(BRAVO), 'bravo', 2);
    // Queued last, yet first of Acme's.
    await queue(ACME, 'acme-panel', 1, 'panel', 1_000);
    const quotas = [
      { companyId: String(BRAVO), take: 3 },
      { companyId: ACME, take: 3 },
    ];
    const claimed = await claimMessagesInTurns(rig.ctx.database, at(), lease(), quotas, 4);
    expect(claimed.map((r) => r.id)).toEqual(['bravo-0000', 'acme-panel-0000', 'bravo-0001', 'acme-0000']);
    expect(claimed.every((r) => r.state === 'claimed')).toBe(true);
    // A quota is a ceiling per company: Bravo has nothing left, Acme gives at most 3.
    const next = await claimMessagesInTurns(rig.ctx.database, at(), lease(), quotas, 10);
    expect(next.map((r) => r.id)).toEqual(['acme-0001', 'acme-0002', 'acme-0003']);
    await rig.ctx.database.db.deleteFrom('outbound_messages').execute();
  });

  it('never hands the same row to two concurrent claimers, and keeps each claim to its limit', async () => {
    await queue(ACME, 'race-a', 60);
    await queue(String(BRAVO), 'race-b', 60);
    const quotas = [
      { companyId: ACME, take: 7 },
      { companyId: String(BRAVO), take: 7 },
    ];
    const ids: string[] = [];
    // Rounds of six claimers at once until the queue is empty (a claimer may come back short while others hold rows).
    for (let round = 0; round < 50; round++) {
      const batches = await Promise.all(Array.from({ length: 6 }, () => claimMessagesInTurns(rig.ctx.database, at(), lease(), quotas, 10)));
      for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(10);
      ids.push(...batches.flat().map((r) => r.id));
      if (batches.every((b) => b.length === 0)) break;
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(120);
    await rig.ctx.database.db.deleteFrom('outbound_messages').execute();
  });

  // The plain claim, oldest first and without turns (the outbox store's claimDue).
  it('never hands the same row to two concurrent plain claimers', async () => {
    await queue(ACME, 'plain', 40);
    const batches = await Promise.all(Array.from({ length: 6 }, () => claimDueMessages(rig.ctx.database, at(), lease(), 10)));
    const ids = batches.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(40);
    await rig.ctx.database.db.deleteFrom('outbound_messages').execute();
  });

  it('claims no more rows than asked, even with SKIP LOCKED', async () => {
    const waiting = await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('state', '=', 'queued').execute();
    await queue(ACME, 'limit', 10);
    const first = await claimDueMessages(rig.ctx.database, at(), lease(), 3);
    expect(first).toHaveLength(3);
    const rest = await claimDueMessages(rig.ctx.database, at(), lease(), 100);
    expect(rest).toHaveLength(waiting.length + 10 - 3);
    await rig.ctx.database.db.deleteFrom('outbound_messages').execute();
  });
});
