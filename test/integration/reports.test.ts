import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

/**
 * Reports are counted from what really happened: the traffic below goes through the app's own webhooks, the outbox,
 * the Twilio emulator's status callbacks and simulated replies.
 */
let rig: Rig;
let token: string;
const COMPANY = '1001';
const ANN = '+14155552671';
const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;
const api = () => request(rig.appUrl);
const report = (query = '', t = token) => api().get(`/api/reports${query}`).set('authorization', `Bearer ${t}`);
type Row = { name: string; automationId: string | null; exists: boolean; source: string } & Record<string, unknown>;

let quote: { id: string };
let nudge: { id: string };
let thanks: { id: string };
let early: { id: string };

async function move(name: string, stageId: number) {
  const deliveries = await rig.pd.moveDealToStage(person(name).dealId, stageId);
  expect(deliveries.map((d) => d.status)).toEqual([200]);
}

const lastSidTo = (phone: string) => rig.tw.messagesTo(phone).at(-1)!.sid;

describe.each(engines)('reports on %s', (engine) => {
  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    token = await rig.jwt();
    const create = (name: string, stageId: number, template = 'Hi {{person.first_name|there}}, about {{deal.title}}.') =>
      rig.ctx.automations.create(COMPANY, { name, enabled: true, trigger: { event: 'deal.stage_entered', stageId }, template });
    quote = await create('Quote follow-up', rig.demo.stages.quoteSent);
    nudge = await create('Negotiation nudge', rig.demo.stages.negotiation);
    thanks = await create('Won thanks', rig.demo.stages.won);
    early = await create('Lead welcome', rig.demo.stages.leadIn);

    // Quote follow-up: Ann gets it, it is delivered and she answers; the other three are skipped by the rules.
    await move('Ann', rig.demo.stages.quoteSent);
    for (const name of ['Olly', 'Nora', 'Ivan']) await move(name, rig.demo.stages.quoteSent);
    await rig.drain();
    expect(await rig.tw.sendStatus(lastSidTo(ANN), 'delivered')).toBe(204);
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Sounds good, call me tomorrow' });
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Actually, Tuesday is better' });

    // The deal panel's send box.
    const panel = await api().post(`/api/panel/deals/${person('Ann').dealId}/messages`).set('authorization', `Bearer ${token}`).send({ body: 'Does Tuesday work?' });
    expect(panel.status).toBe(202);
    await rig.drain();

    // Negotiation nudge: sent, then Ann opts out in reply; the automation is deleted afterwards.
    await move('Ann', rig.demo.stages.negotiation);
    await rig.drain();
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'STOP' });
    await rig.settle();
    expect(await rig.ctx.automations.remove(COMPANY, nudge.id)).toBe(true);

    // Quote follow-up again: Ann opted back in with the app, but Twilio still blocks the pair → 21610.
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'START' });
    await rig.settle();
    rig.tw.block(FROM_NUMBER, ANN);
    await move('Ann', rig.demo.stages.quoteSent);
    await rig.settle();

    // Lead welcome: queued, not sent yet (no worker pass).
    await move('Ann', rig.demo.stages.leadIn);
  });
  afterAll(async () => rig?.close());

  describe('GET /api/reports', () => {
    it('counts, per automation, what was sent, delivered, failed, skipped and why, replied, opted out and pending', async () => {
      const res = await report();
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.days).toBe(30);
      expect(new Date(res.body.until).getTime() - new Date(res.body.since).getTime()).toBe(30 * 86_400_000);
      const rows = res.body.rows as Row[];
      expect(rows.map((r) => [r.name, r.exists, r.source])).toEqual([
        ['Lead welcome', true, 'automation'],
        ['Quote follow-up', true, 'automation'],
        ['Won thanks', true, 'automation'],
        ['Negotiation nudge', false, 'automation'],
        ['Sent from the deal panel', true, 'panel'],
      ]);
      const byName = new Map(rows.map((r) => [r.name, r]));
      expect(byName.get('Quote follow-up')).toEqual({
        automationId: quote.id,
        name: 'Quote follow-up',
        source: 'automation',
        exists: true,
        total: 5,
        pending: 0,
        sent: 1,
        delivered: 1,
        failed: 1,
        skipped: 3,
        skippedByReason: { opted_out: 1, no_consent: 1, invalid_phone: 1 },
        // Two replies to one message: one message replied to.
        replied: 1,
        // The 21610 refusal.
        optedOut: 1,
      });
      expect(byName.get('Negotiation nudge')).toMatchObject({ automationId: nudge.id, total: 1, sent: 1, delivered: 0, replied: 0, optedOut: 1 });
      expect(byName.get('Sent from the deal panel')).toMatchObject({ automationId: null, total: 1, sent: 1, replied: 0, optedOut: 0 });
      expect(byName.get('Lead welcome')).toMatchObject({ automationId: early.id, total: 1, pending: 1, sent: 0 });
      expect(byName.get('Won thanks')).toMatchObject({ automationId: thanks.id, total: 0, sent: 0, skippedByReason: {} });
      expect(res.body.totals).toEqual({
        total: 8,
        pending: 1,
        sent: 3,
        delivered: 1,
        failed: 1,
        skipped: 3,
        skippedByReason: { opted_out: 1, no_consent: 1, invalid_phone: 1 },
        replied: 1,
        optedOut: 2,
      });
    });

    it('counts a message in the period it was created in', async () => {
      const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
      const [first] = await rig.ctx.database.db
        .selectFrom('outbound_messages')
        .select('id')
        .where('automation_id', '=', early.id)
        .execute();
      await rig.ctx.database.db.updateTable('outbound_messages').set({ created_at: old }).where('id', '=', first!.id).execute();
      const month = (await report('?days=30')).body.rows.find((r: Row) => r.name === 'Lead welcome');
      const quarter = (await report('?days=90')).body.rows.find((r: Row) => r.name === 'Lead welcome');
      expect(month).toMatchObject({ total: 0, pending: 0 });
      expect(quarter).toMatchObject({ total: 1, pending: 1 });
    });

    it('answers bad periods with 400, and only to a caller of an installed company', async () => {
      for (const days of ['0', '366', 'abc', '1.5']) {
        const res = await report(`?days=${days}`);
        expect(res.status).toBe(400);
        expect(res.body.error.message).toMatch(/days/);
      }
      expect((await api().get('/api/reports')).status).toBe(401);
      expect((await report('', await rig.jwt({ userId: 9, companyId: 424242 }))).status).toBe(403);
    });

    it("never counts another company's messages", async () => {
      rig.pd.addCompany({ id: 2002, name: 'Other Co' });
      rig.pd.addUser({ id: 601, companyId: 2002, name: 'Olga Other', isAdmin: true });
      expect((await rig.install(601)).status).toBe(200);
      const other = await rig.jwt({ userId: 601, companyId: 2002 });
      const res = await report('', other);
      expect(res.status).toBe(200);
      expect(res.body.rows).toEqual([]);
      expect(res.body.totals.total).toBe(0);
    });
  });
});
