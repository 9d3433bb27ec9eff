import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

let rig: Rig;
let token: string;
const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;
const get = async (dealId: number | string, t = token) => request(rig.appUrl).get(`/api/panel/deals/${dealId}`).set('authorization', `Bearer ${t}`);

describe.each(engines)('the deal panel API on %s', (engine) => {
  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    token = await rig.jwt();
    await rig.ctx.automations.create('1001', {
      name: 'Quote sent follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is ready.',
    });
  });
  afterAll(async () => rig?.close());

  describe('GET /api/panel/deals/:dealId', () => {
    it('needs a valid, unexpired Pipedrive token', async () => {
      expect((await request(rig.appUrl).get(`/api/panel/deals/${person('Ann').dealId}`)).status).toBe(401);
      expect((await get(person('Ann').dealId, 'garbage')).status).toBe(401);
      expect((await get(person('Ann').dealId, await rig.jwt(undefined, { expiresIn: '-10s' }))).status).toBe(401);
    });

    it('answers with the person, the phone as stored and as dialled, consent and messages newest first', async () => {
      await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.quoteSent);
      await rig.drain();
      const sid = rig.tw.messagesTo('+14155552671')[0]!.sid;
      await rig.tw.sendStatus(sid, 'delivered');
      await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.leadIn);
      await rig.pd.moveDealToStage(person('Ann').dealId, rig.demo.stages.quoteSent);
      await rig.drain();

      const res = await get(person('Ann').dealId);
      expect(res.status).toBe(200);
      expect(res.body.deal).toEqual({ id: person('Ann').dealId, title: 'Solar panels for Ann' });
      expect(res.body.person).toEqual({ id: person('Ann').id, name: 'Ann Granted', phone: '(415) 555-2671', e164: '+14155552671' });
      expect(res.body.consent).toBe('granted');
      expect(res.body.canSend).toEqual({ ok: true });
      expect(res.body.messages).toHaveLength(2);
      const [newest, oldest] = res.body.messages;
      expect(newest.at >= oldest.at).toBe(true);
      expect(oldest).toMatchObject({
        direction: 'outbound',
        body: 'Hi Ann, your quote is ready.\nReply STOP to opt out',
        status: 'delivered',
        automation: 'Quote sent follow-up',
        error: null,
      });
      expect(new Date(oldest.at).toISOString()).toBe(oldest.at);
    });

    it('shows why a message was not sent, and an opted-out or unconsented contact as such', async () => {
      await rig.pd.moveDealToStage(person('Nora').dealId, rig.demo.stages.quoteSent);
      await rig.drain();
      const nora = await get(person('Nora').dealId);
      expect(nora.body.consent).toBe('none');
      expect(nora.body.canSend).toMatchObject({ ok: false, reason: 'no_consent' });
      expect(nora.body.messages[0]).toMatchObject({ status: 'skipped', error: expect.stringContaining('consent') });

      const olly = await get(person('Olly').dealId);
      expect(olly.body.consent).toBe('opted_out');
      expect(olly.body.canSend).toMatchObject({ ok: false, reason: 'opted_out' });
    });

    it('takes the opt-out list over the Pipedrive field, and shows when and how consent changed', async () => {
      await rig.ctx.optOuts.record({ companyId: '1001', phoneE164: '+14155552671', sender: FROM_NUMBER, action: 'opt_out', source: 'inbound_keyword', message: 'STOP' });
      const res = await request(rig.appUrl).get(`/api/panel/deals/${person('Ann').dealId}`).set('authorization', `Bearer ${token}`);
      expect(res.body.consent).toBe('opted_out');
      expect(res.body.consentHistory[0]).toMatchObject({ action: 'opt_out', source: 'inbound_keyword', message: 'STOP' });
      await rig.ctx.optOuts.record({ companyId: '1001', phoneE164: '+14155552671', sender: FROM_NUMBER, action: 'opt_in', source: 'inbound_keyword', message: 'START' });
      expect((await get(person('Ann').dealId)).body.consent).toBe('granted');
    });

    it('answers a deal without a person, an unknown deal, and a malformed id', async () => {
      const lonely = rig.pd.addDeal(1001, { title: 'Nobody', stage_id: rig.demo.stages.leadIn });
      const res = await get(lonely.id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ person: null, consent: 'none', messages: [], canSend: { ok: false, reason: 'no_person' } });
      expect((await get(987654)).status).toBe(404);
      expect((await get('abc')).status).toBe(404);
    });

    it("never shows one company's deal or messages to another company", async () => {
      const other = rig.pd.addCompany({ id: 3003, name: 'Third Co', domain: 'third' });
      const admin = rig.pd.addUser({ id: 901, companyId: other.id, name: 'Tom Third', isAdmin: true });
      expect((await rig.install(admin.id)).status).toBe(200);
      const theirs = await rig.jwt({ userId: admin.id, companyId: other.id });
      const res = await get(person('Ann').dealId, theirs);
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain('Ann');
    });

    it('shares one Pipedrive read between panels opened at the same moment', async () => {
      const deal = rig.pd.addDeal(1001, { title: 'Popular', person_id: person('Ann').id, stage_id: rig.demo.stages.leadIn });
      rig.pd.clearRequests();
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(deal.id)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(rig.pd.requests.filter((r) => r.path === `/api/v2/deals/${deal.id}`)).toHaveLength(1);
    });

    it('reads Pipedrive once for repeated loads (briefly cached)', async () => {
      const dealId = person('Ivan').dealId;
      await get(dealId);
      rig.pd.clearRequests();
      await get(dealId);
      await get(dealId);
      expect(rig.pd.requests.filter((r) => r.path.startsWith('/api/'))).toHaveLength(0);
    });
  });

  describe('POST /api/panel/deals/:dealId/messages', () => {
    it('queues a typed message through the outbox and sends it', async () => {
      const dealId = person('Ann').dealId;
      const res = await request(rig.appUrl).post(`/api/panel/deals/${dealId}/messages`).set('authorization', `Bearer ${token}`).send({ body: 'Quick question: does Tuesday work?' });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ ok: true, body: 'Quick question: does Tuesday work?\nReply STOP to opt out', segments: 1, encoding: 'GSM-7' });
      await rig.drain();
      expect(rig.tw.messagesTo('+14155552671').at(-1)!.body).toBe('Quick question: does Tuesday work?\nReply STOP to opt out');
      const view = await get(dealId);
      expect(view.body.messages[0]).toMatchObject({ direction: 'outbound', automation: null, body: 'Quick question: does Tuesday work?\nReply STOP to opt out' });
    });

    it('refuses to text an opted-out or unconsented contact, and a message that breaks the rules', async () => {
      const post = (dealId: number, body: object) => request(rig.appUrl).post(`/api/panel/deals/${dealId}/messages`).set('authorization', `Bearer ${token}`).send(body);
      const olly = await post(person('Olly').dealId, { body: 'Hello' });
      expect(olly.status).toBe(409);
      expect(olly.body.error.code).toBe('opted_out');
      expect((await post(person('Nora').dealId, { body: 'Hello' })).body.error.code).toBe('no_consent');
      expect((await post(person('Ivan').dealId, { body: 'Hello' })).body.error.code).toBe('invalid_phone');
      const long = await post(person('Ann').dealId, { body: 'x'.repeat(200) });
      expect(long.status).toBe(400);
      expect(long.body.error.details.reason).toBe('too_long');
      expect((await post(person('Ann').dealId, { body: 'see bit.ly/x' })).status).toBe(400);
      expect((await post(person('Ann').dealId, { body: '   ' })).status).toBe(400);
      expect((await post(person('Ann').dealId, {})).status).toBe(400);
    });
  });
});
