import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import twilio from 'twilio';
import { claimDueMessages } from '../../db/queue-queries.js';
import { isForeignKeyViolation } from '../../db/database.js';
import { parseDealWebhook } from '../../server/automations/deal-event.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

let rig: Rig;
const COMPANY = '1001';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const person = (name: string) => rig.demo.persons.find((p) => p.name.startsWith(name))!;
const rows = () => rig.ctx.database.db.selectFrom('outbound_messages').selectAll().orderBy('created_at').execute();

async function automation(template = 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready. {{user.name}}') {
  return rig.ctx.automations.create(COMPANY, {
    name: 'Quote sent follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template,
  });
}

async function moveToQuoteSent(dealId: number) {
  const deliveries = await rig.pd.moveDealToStage(dealId, rig.demo.stages.quoteSent);
  expect(deliveries.map((d) => d.status)).toEqual([200]);
  return deliveries[0]!;
}

const ANN_BODY = 'Hi Ann, your quote for Solar panels for Ann is ready. Sam Sales\nReply STOP to opt out';

/** What a process that died during the Twilio call leaves behind: the (only) row in `sending` since ten minutes ago. */
async function leaveUnconfirmedSend() {
  const [row] = await rows();
  await rig.ctx.database.db
    .updateTable('outbound_messages')
    .set({ state: 'sending', sending_at: new Date(Date.now() - 10 * 60_000).toISOString(), to_e164: '+14155552671', body: ANN_BODY, sender: FROM_NUMBER, attempts: 1 })
    .where('id', '=', row!.id)
    .execute();
}

/** A Twilio client on the emulator, as if it were another process that had already sent. */
function directTwilio() {
  const origin = new URL(rig.tw.url);
  class Rewrite extends twilio.RequestClient {
    override request<T>(opts: Parameters<twilio.RequestClient['request']>[0]) {
      const uri = new URL(opts.uri);
      uri.protocol = origin.protocol;
      uri.host = origin.host;
      return super.request<T>({ ...opts, uri: uri.toString() } as never) as never;
    }
  }
  return twilio(rig.twAccount.sid, rig.twAccount.authToken, { httpClient: new Rewrite() });
}

describe.each(engines)('deal automations on %s', (engine) => {
  beforeEach(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
  });
  afterEach(async () => rig?.close());

  describe('a deal entering a stage', () => {
    it('texts the consenting contact exactly once, on the E.164 of the primary phone, with the merged text and STOP clause', async () => {
      await automation();
      const delivery = await moveToQuoteSent(ann().dealId);
      expect(JSON.parse(delivery.body)).toMatchObject({ ok: true, duplicate: false, queued: 1 });
      await rig.drain();

      const sent = rig.tw.messagesTo('+14155552671');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.body).toBe('Hi Ann, your quote for Solar panels for Ann is ready. Sam Sales\nReply STOP to opt out');
      expect(sent[0]!.from).toBe(FROM_NUMBER);
      expect(sent[0]!.params.StatusCallback).toBe(`${rig.appUrl}/webhooks/twilio/status`);
      expect(rig.tw.messages()).toHaveLength(1);

      const [row] = await rows();
      expect(row).toMatchObject({
        state: 'sent',
        provider_sid: sent[0]!.sid,
        to_e164: '+14155552671',
        phone_raw: '(415) 555-2671',
        deal_id: ann().dealId,
        person_id: ann().id,
        automation_name: 'Quote sent follow-up',
        segments: 1,
        encoding: 'GSM-7',
      });
      // The stored Pipedrive value is never rewritten.
      expect(rig.pd.person(ann().id)!.phones[0]!.value).toBe('(415) 555-2671');
    });

    it('sends nothing more when Pipedrive retries the same event (same meta.id, attempt 2)', async () => {
      await automation();
      const first = await moveToQuoteSent(ann().dealId);
      await rig.drain();
      const again = await rig.pd.redeliver(first.eventId);
      expect(again.status).toBe(200);
      expect(JSON.parse(again.body)).toMatchObject({ duplicate: true, queued: 0 });
      expect((again.payload.meta as { attempt: number }).attempt).toBe(2);
      await rig.drain();
      expect(rig.tw.messages()).toHaveLength(1);
      expect(await rows()).toHaveLength(1);
    });

    it('sends nothing for a title edit, a move into another stage, or a disabled automation', async () => {
      const a = await automation();
      const edit = await rig.pd.updateDeal(ann().dealId, { title: 'Bigger solar panels' });
      expect(JSON.parse(edit[0]!.body)).toMatchObject({ queued: 0 });
      await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.negotiation);
      await rig.ctx.automations.update(COMPANY, a.id, { ...a, enabled: false });
      await rig.pd.moveDealToStage(person('Nora').dealId, rig.demo.stages.quoteSent);
      await rig.drain();
      expect(rig.tw.messages()).toHaveLength(0);
      expect(await rows()).toHaveLength(0);
    });

    it('honours deal.created and the optional pipeline filter', async () => {
      await rig.ctx.automations.create(COMPANY, {
        name: 'Welcome',
        enabled: true,
        trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn, pipelineId: rig.demo.pipelineId },
        template: 'Welcome {{person.first_name}}!',
      });
      await rig.ctx.automations.create(COMPANY, {
        name: 'Other pipeline',
        enabled: true,
        trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn, pipelineId: 999 },
        template: 'Never',
      });
      await rig.pd.createDealAndNotify(Number(COMPANY), { title: 'Second deal', person_id: ann().id, stage_id: rig.demo.stages.leadIn, owner_id: rig.demo.salesUserId });
      await rig.drain();
      expect(rig.tw.messages().map((m) => m.body)).toEqual(['Welcome Ann!\nReply STOP to opt out']);
    });

    it('refuses wrong webhook credentials with 401 and queues nothing', async () => {
      await automation();
      const payload = {
        meta: { id: randomUUID(), action: 'change', entity: 'deal', company_id: COMPANY, entity_id: String(ann().dealId), attempt: 1, version: '2.0' },
        data: { id: ann().dealId, title: 'x', person_id: ann().id, stage_id: rig.demo.stages.quoteSent, pipeline_id: 1 },
        previous: { stage_id: rig.demo.stages.leadIn },
      };
      expect((await request(rig.appUrl).post('/webhooks/pipedrive').send(payload)).status).toBe(401);
      expect((await request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-1001', 'wrong').send(payload)).status).toBe(401);
      expect((await request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-9999', 'wrong').send(payload)).status).toBe(401);
      const events = await rig.ctx.database.db.selectFrom('webhook_events').selectAll().execute();
      expect(events).toHaveLength(0);
      expect(await rows()).toHaveLength(0);
    });

    it('answers malformed payloads with a clear 4xx, never a 5xx', async () => {
      const password = rig.pd.webhooks(1001)[0]!.http_auth_password!;
      const post = () => request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-1001', password);
      expect((await post().set('content-type', 'application/json').send('{"meta":')).status).toBe(400);
      expect((await post().send({ hello: 'world' })).status).toBe(400);
      expect((await post().send({ meta: { id: 'x', action: 'change', entity: 'deal' } })).status).toBe(400);
      const foreign = await post().send({ meta: { id: randomUUID(), action: 'change', entity: 'deal', company_id: '2002' }, data: null, previous: null });
      expect(foreign.status).toBe(403);
      const huge = await post().send({ meta: { id: randomUUID() }, data: { blob: 'x'.repeat(600_000) } });
      expect(huge.status).toBe(413);
      const person = await post().send({ meta: { id: randomUUID(), action: 'change', entity: 'person', company_id: '1001' }, data: { id: 1 }, previous: { name: 'a' } });
      expect(person.status).toBe(200);
    });

    it('answers 401, not an error, for an event that arrives after the company uninstalled', async () => {
      await automation();
      const password = rig.pd.webhooks(1001)[0]!.http_auth_password!;
      await moveToQuoteSent(ann().dealId); // warms the credentials cache
      expect((await rig.pd.uninstall({ userId: rig.demo.adminUserId })).status).toBe(200);
      const late = {
        meta: { id: randomUUID(), action: 'change', entity: 'deal', company_id: COMPANY, entity_id: String(ann().dealId), attempt: 1, version: '2.0' },
        data: { id: ann().dealId, title: 'x', person_id: ann().id, stage_id: rig.demo.stages.won, pipeline_id: 1 },
        previous: { stage_id: rig.demo.stages.quoteSent },
      };
      const res = await request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-1001', password).send(late);
      expect(res.status).toBe(401);
      expect(await rig.ctx.database.db.selectFrom('webhook_events').selectAll().execute()).toHaveLength(0);
    });

    it('accepts the v1 webhook shape as a fallback', async () => {
      await automation();
      const password = rig.pd.webhooks(1001)[0]!.http_auth_password!;
      const current = { id: ann().dealId, title: 'Solar panels for Ann', person_id: ann().id, user_id: rig.demo.salesUserId, stage_id: rig.demo.stages.quoteSent, pipeline_id: 1 };
      const body = {
        v: 1,
        meta: { action: 'updated', object: 'deal', id: ann().dealId, company_id: 1001, user_id: 501, webhook_id: '1', timestamp: 1739827361, timestamp_micro: 1739827361322662 },
        current,
        previous: { ...current, stage_id: rig.demo.stages.leadIn },
        retry: 0,
        event: 'updated.deal',
      };
      const res = await request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-1001', password).send(body);
      expect(res.body).toMatchObject({ queued: 1 });
      const retried = await request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-1001', password).send({ ...body, retry: 1 });
      expect(retried.body).toMatchObject({ duplicate: true });
      await rig.drain();
      expect(rig.tw.messagesTo('+14155552671')).toHaveLength(1);
    });
  });

  describe('a burst of deliveries (group commit)', () => {
    const stageChange = (eventId: string, dealId: number, stageId: number) => ({
      meta: { id: eventId, action: 'change', entity: 'deal', company_id: COMPANY, entity_id: String(dealId), attempt: 1, version: '2.0' },
      data: { id: dealId, title: 'Solar panels for Ann', person_id: ann().id, owner_id: rig.demo.salesUserId, stage_id: stageId, pipeline_id: 1 },
      previous: { stage_id: rig.demo.stages.leadIn },
    });

    it('records every concurrent delivery once and answers each with its own result; a retry inside the burst queues nothing', async () => {
      await automation();
      const password = rig.pd.webhooks(1001)[0]!.http_auth_password!;
      const post = (body: object) => request(rig.appUrl).post('/webhooks/pipedrive').auth('pd-1001', password).send(body).then((r) => r);
      const moves = Array.from({ length: 12 }, () => stageChange(randomUUID(), ann().dealId, rig.demo.stages.quoteSent));
      const elsewhere = Array.from({ length: 12 }, () => stageChange(randomUUID(), ann().dealId, rig.demo.stages.won));
      const retried = stageChange(randomUUID(), ann().dealId, rig.demo.stages.quoteSent);
      const copies = Array.from({ length: 5 }, (_, i) => ({ ...retried, meta: { ...retried.meta, attempt: i + 1 } }));

      const answers = await Promise.all([...moves, ...elsewhere, ...copies].map(post));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      expect(answers.slice(0, 12).map((a) => a.body)).toEqual(moves.map(() => ({ ok: true, duplicate: false, queued: 1 })));
      expect(answers.slice(12, 24).map((a) => a.body)).toEqual(elsewhere.map(() => ({ ok: true, duplicate: false, queued: 0 })));
      const copyAnswers = answers.slice(24).map((a) => a.body as { duplicate: boolean; queued: number });
      expect(copyAnswers.filter((a) => !a.duplicate)).toEqual([{ ok: true, duplicate: false, queued: 1 }]);
      expect(copyAnswers.filter((a) => a.duplicate)).toHaveLength(4);

      const events = await rig.ctx.database.db.selectFrom('webhook_events').select(['id', 'queued']).execute();
      expect(events).toHaveLength(25);
      const queued = await rows();
      expect(queued).toHaveLength(13);
      expect(new Set(queued.map((r) => r.event_id))).toEqual(new Set([...moves, retried].map((m) => m.meta.id)));
    });

    it('still records the rest of a burst when one event in it cannot be written', async () => {
      await automation();
      const ids = Array.from({ length: 6 }, () => randomUUID());
      const events = ids.map((id) => {
        const parsed = parseDealWebhook(stageChange(id, ann().dealId, rig.demo.stages.quoteSent));
        if (!parsed.ok) throw new Error(parsed.message);
        return parsed.event;
      });
      // A company that uninstalled a moment ago: its row is gone, so its event trips the foreign key. PostgreSQL
      // aborts the whole transaction on that error; every other event of the burst must still land, once.
      const orphan = { ...events[1]!, eventId: randomUUID(), companyId: '7777' };
      const burst = [events[0]!, events[1]!, events[2]!, orphan, ...events.slice(3), events[0]!];
      const results = await Promise.allSettled(burst.map((e) => rig.ctx.dealEvents.record(e, Date.now())));
      const fresh = { status: 'fulfilled', value: { duplicate: false, queued: 1 } };
      expect([...results.slice(0, 3), ...results.slice(4, 7)]).toEqual(ids.map(() => fresh));
      expect(results[3]!.status).toBe('rejected');
      expect(isForeignKeyViolation((results[3] as PromiseRejectedResult).reason)).toBe(true);
      expect(results[7]).toEqual({ status: 'fulfilled', value: { duplicate: true, queued: 0 } });
      const recorded = await rig.ctx.database.db.selectFrom('webhook_events').select('id').execute();
      expect(recorded.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(await rows()).toHaveLength(6);
      const queued = await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('event_id', 'in', ids).execute();
      expect(queued).toHaveLength(6);
    });
  });

  describe('the send-time checks', () => {
    it('records why nobody was texted: no consent, opted out, invalid phone, shortener or too long after merging', async () => {
      await automation('Hi {{person.first_name}}, about {{deal.title}}');
      await rig.pd.updateDeal(ann().dealId, { title: 'the offer at bit.ly/deal' });
      await moveToQuoteSent(ann().dealId);
      for (const name of ['Nora', 'Olly', 'Ivan']) await moveToQuoteSent(person(name).dealId);
      const longTitle = rig.pd.addDeal(1001, { title: 'x'.repeat(200), person_id: ann().id, stage_id: rig.demo.stages.leadIn, owner_id: rig.demo.salesUserId });
      await moveToQuoteSent(longTitle.id);
      const noPhone = rig.pd.addPerson(1001, { name: 'Pat Nophone', phones: [] });
      const field = (await rig.ctx.companies.find(COMPANY))!;
      await rig.pd.updatePerson(noPhone.id, { custom_fields: { [field.consent_field_key!]: Number(field.consent_granted_option) } });
      const noPhoneDeal = rig.pd.addDeal(1001, { title: 'No phone', person_id: noPhone.id, stage_id: rig.demo.stages.leadIn });
      await moveToQuoteSent(noPhoneDeal.id);
      const noPersonDeal = rig.pd.addDeal(1001, { title: 'Nobody', stage_id: rig.demo.stages.leadIn });
      await moveToQuoteSent(noPersonDeal.id);
      await rig.drain();

      expect(rig.tw.messages()).toHaveLength(0);
      const byDeal = new Map((await rows()).map((r) => [r.deal_id, r]));
      expect(byDeal.get(ann().dealId)).toMatchObject({ state: 'skipped', skip_reason: 'link_shortener' });
      expect(byDeal.get(person('Nora').dealId)).toMatchObject({ state: 'skipped', skip_reason: 'no_consent' });
      expect(byDeal.get(person('Olly').dealId)).toMatchObject({ state: 'skipped', skip_reason: 'opted_out' });
      expect(byDeal.get(person('Ivan').dealId)).toMatchObject({ state: 'skipped', skip_reason: 'invalid_phone' });
      expect(byDeal.get(longTitle.id)).toMatchObject({ state: 'skipped', skip_reason: 'too_long', segments: 2 });
      expect(byDeal.get(noPhoneDeal.id)).toMatchObject({ state: 'skipped', skip_reason: 'missing_phone' });
      expect(byDeal.get(noPersonDeal.id)).toMatchObject({ state: 'skipped', skip_reason: 'no_person' });
    });

    it('re-reads consent at send time: consent withdrawn after queueing means no SMS', async () => {
      await automation();
      await moveToQuoteSent(ann().dealId);
      const company = (await rig.ctx.companies.find(COMPANY))!;
      await rig.pd.updatePerson(ann().id, { custom_fields: { [company.consent_field_key!]: Number(company.consent_opted_out_option) } });
      await rig.drain();
      expect(rig.tw.messages()).toHaveLength(0);
      expect((await rows())[0]).toMatchObject({ state: 'skipped', skip_reason: 'opted_out' });
    });

    it('sends none of the queued messages once a STOP is recorded for the number', async () => {
      await automation();
      await automation('Second automation for {{person.first_name}}');
      await moveToQuoteSent(ann().dealId);
      expect(await rows()).toHaveLength(2);
      await rig.ctx.optOuts.record({ companyId: COMPANY, phoneE164: '+14155552671', sender: FROM_NUMBER, action: 'opt_out', source: 'inbound_keyword', message: 'STOP' });
      await rig.drain();
      expect(rig.tw.messages()).toHaveLength(0);
      expect((await rows()).map((r) => r.skip_reason)).toEqual(['opted_out', 'opted_out']);
    });

    it('applies an opt-out on the shared sender to every company texting through it', async () => {
      await automation();
      await rig.ctx.optOuts.record({ companyId: '2002', phoneE164: '+14155552671', sender: FROM_NUMBER, action: 'opt_out', source: 'inbound_keyword', message: 'STOP' });
      await moveToQuoteSent(ann().dealId);
      await rig.drain();
      expect(rig.tw.messages()).toHaveLength(0);
    });
  });

  describe('Twilio failures', () => {
    it('treats 21610 as an opt-out: recorded, mirrored to Pipedrive, not retried', async () => {
      await automation();
      const company = (await rig.ctx.companies.find(COMPANY))!;
      const unsubscribed = rig.pd.addPerson(1001, { name: 'Una Subscribed', phones: ['+1 500 555 0004'] });
      await rig.pd.updatePerson(unsubscribed.id, { custom_fields: { [company.consent_field_key!]: Number(company.consent_granted_option) } });
      const deal = rig.pd.addDeal(1001, { title: 'Una deal', person_id: unsubscribed.id, stage_id: rig.demo.stages.leadIn });
      await moveToQuoteSent(deal.id);
      await rig.drain();

      expect((await rows())[0]).toMatchObject({ state: 'failed', error_code: '21610' });
      const events = await rig.ctx.optOuts.history(COMPANY, '+15005550004');
      expect(events).toMatchObject([{ action: 'opt_out', source: 'twilio_21610', sender: FROM_NUMBER }]);
      expect(rig.pd.person(unsubscribed.id)!.custom_fields[company.consent_field_key!]).toBe(Number(company.consent_opted_out_option));
      const activities = rig.pd.activities(1001).filter((a) => a.deal_id === deal.id);
      expect(activities).toHaveLength(1);
      expect(activities[0]).toMatchObject({ type: company.activity_type_key, done: true });
      expect(rig.tw.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('does not retry other permanent refusals (21614)', async () => {
      await automation();
      const company = (await rig.ctx.companies.find(COMPANY))!;
      const landline = rig.pd.addPerson(1001, { name: 'Lan Dline', phones: ['+1 500 555 0009'] });
      await rig.pd.updatePerson(landline.id, { custom_fields: { [company.consent_field_key!]: Number(company.consent_granted_option) } });
      await moveToQuoteSent(rig.pd.addDeal(1001, { title: 'L', person_id: landline.id, stage_id: rig.demo.stages.leadIn }).id);
      await rig.drain();
      expect((await rows())[0]).toMatchObject({ state: 'failed', error_code: '21614' });
      expect(rig.tw.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('retries a 429, and 500 twice, then sends exactly one message', async () => {
      await automation();
      rig.tw.injectFault({ method: 'POST', path: /Messages\.json$/, status: 429, times: 1 });
      await moveToQuoteSent(ann().dealId);
      await rig.settle();
      expect(rig.tw.messagesTo('+14155552671')).toHaveLength(1);
      expect((await rows())[0]).toMatchObject({ state: 'sent', attempts: 2 });

      rig.tw.injectFault({ method: 'POST', path: /Messages\.json$/, status: 500, times: 2 });
      const company = (await rig.ctx.companies.find(COMPANY))!;
      await rig.pd.updatePerson(person('Nora').id, { custom_fields: { [company.consent_field_key!]: Number(company.consent_granted_option) } });
      await moveToQuoteSent(person('Nora').dealId);
      await rig.settle();
      expect(rig.tw.messagesTo('+442079460958')).toHaveLength(1);
      const nora = (await rows()).filter((r) => r.to_e164 === '+442079460958' && r.state === 'sent');
      expect(nora).toHaveLength(1);
      expect(nora[0]!.attempts).toBe(3);
    });

    it('retries a dropped connection after checking that Twilio did not get it', async () => {
      await automation();
      rig.tw.injectFault({ method: 'POST', path: /Messages\.json$/, dropConnection: true, times: 1 });
      await moveToQuoteSent(ann().dealId);
      await rig.settle();
      expect(rig.tw.messagesTo('+14155552671')).toHaveLength(1);
      expect(rig.tw.requests.filter((r) => r.method === 'GET' && /Messages\.json/.test(r.path)).length).toBeGreaterThanOrEqual(1);
    });
  });

  describe('a process that dies mid-send', () => {
    it('re-queues a claim whose lease ran out and sends it once after restart', async () => {
      await automation();
      await moveToQuoteSent(ann().dealId);
      // The dead process claimed the row and never came back: its lease is over.
      const past = new Date(Date.now() - 1_000).toISOString();
      expect(await claimDueMessages(rig.ctx.database, new Date().toISOString(), past, 10)).toHaveLength(1);
      await rig.restart();
      await rig.ctx.outbox.recover();
      await rig.drain();
      expect(rig.tw.messagesTo('+14155552671')).toHaveLength(1);
    });

    it('does not send twice when Twilio accepted the message but the process died before recording it', async () => {
      await automation();
      await moveToQuoteSent(ann().dealId);
      const accepted = await directTwilio().messages.create({ to: '+14155552671', from: FROM_NUMBER, body: ANN_BODY });
      await leaveUnconfirmedSend();
      await rig.restart();
      await rig.ctx.outbox.recover();
      await rig.drain();
      expect(rig.tw.messagesTo('+14155552671')).toHaveLength(1);
      expect((await rows())[0]).toMatchObject({ state: 'sent', provider_sid: accepted.sid });
    });

    it('sends once when the process died before Twilio got the message', async () => {
      await automation();
      await moveToQuoteSent(ann().dealId);
      await leaveUnconfirmedSend();
      await rig.restart();
      await rig.ctx.outbox.recover();
      await rig.settle();
      expect(rig.tw.messagesTo('+14155552671')).toHaveLength(1);
      expect((await rows())[0]).toMatchObject({ state: 'sent', attempts: 2 });
    });
  });

  describe('status callbacks', () => {
    async function sentSid() {
      await automation();
      await moveToQuoteSent(ann().dealId);
      await rig.drain();
      return rig.tw.messagesTo('+14155552671')[0]!.sid;
    }

    it('refuses a missing signature with 400 and a wrong one with 403, changing nothing', async () => {
      const sid = await sentSid();
      const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: rig.twAccount.sid };
      const missing = await request(rig.appUrl).post('/webhooks/twilio/status').type('form').send(params);
      expect(missing.status).toBe(400);
      const wrong = await request(rig.appUrl).post('/webhooks/twilio/status').type('form').set('x-twilio-signature', 'AAAA').send(params);
      expect(wrong.status).toBe(403);
      const otherUrl = twilio.getExpectedTwilioSignature(rig.twAccount.authToken, `${rig.appUrl}/webhooks/twilio/inbound`, params);
      expect((await request(rig.appUrl).post('/webhooks/twilio/status').type('form').set('x-twilio-signature', otherUrl).send(params)).status).toBe(403);
      expect((await rows())[0]!.provider_status).toBe('queued');
    });

    it('moves the status forward only: a late "sent" never overwrites "delivered"', async () => {
      const sid = await sentSid();
      expect(await rig.tw.sendStatus(sid, 'delivered')).toBe(204);
      expect(await rig.tw.sendStatus(sid, 'sent')).toBe(204);
      expect(await rig.tw.sendStatus(sid, 'queued')).toBe(204);
      expect((await rows())[0]).toMatchObject({ state: 'sent', provider_status: 'delivered' });
      const history = await rig.ctx.database.db.selectFrom('message_status_events').select('status').where('provider_sid', '=', sid).execute();
      // Every status once; the rows have no order of their own.
      expect(history.map((h) => h.status).sort()).toEqual(['delivered', 'queued', 'sent']);
    });

    it('keeps the error code of an undelivered message', async () => {
      const sid = await sentSid();
      expect(await rig.tw.sendStatus(sid, 'undelivered', { errorCode: 30007 })).toBe(204);
      expect((await rows())[0]).toMatchObject({ provider_status: 'undelivered', error_code: '30007' });
    });

    it('keeps a status that arrives before the send is confirmed', async () => {
      await automation();
      await moveToQuoteSent(ann().dealId);
      // Twilio accepted the message, the process died before recording it, and the delivery report came first.
      const accepted = await directTwilio().messages.create({ to: '+14155552671', from: FROM_NUMBER, body: ANN_BODY });
      await leaveUnconfirmedSend();
      const params = { MessageSid: accepted.sid, SmsSid: accepted.sid, AccountSid: rig.twAccount.sid, MessageStatus: 'delivered', To: '+14155552671', From: FROM_NUMBER };
      const early = await request(rig.appUrl)
        .post('/webhooks/twilio/status')
        .type('form')
        .set('x-twilio-signature', rig.signTwilio('/webhooks/twilio/status', params))
        .send(params);
      expect(early.status).toBe(204);
      await rig.ctx.outbox.recover();
      expect((await rows())[0]).toMatchObject({ state: 'sent', provider_sid: accepted.sid, provider_status: 'delivered' });
    });

    it('answers a malformed callback with 400', async () => {
      const params = { MessageSid: 'nope', MessageStatus: 'delivered', AccountSid: rig.twAccount.sid };
      const res = await request(rig.appUrl).post('/webhooks/twilio/status').type('form').set('x-twilio-signature', rig.signTwilio('/webhooks/twilio/status', params)).send(params);
      expect(res.status).toBe(400);
    });
  });

  describe('pacing', () => {
    it('keeps to the per-sender rate (1 message a second by default)', async () => {
      await rig.close();
      rig = await createRigOn(engine, { outbox: { rateLimit: true } });
      await rig.installDemo();
      await automation();
      await automation('Another one for {{person.first_name}}');
      await automation('And a third for {{person.first_name}}');
      await moveToQuoteSent(ann().dealId);
      const started = Date.now();
      for (let i = 0; i < 20 && rig.tw.messages().length < 3; i++) {
        await rig.ctx.outbox.runOnce();
        await new Promise((r) => setTimeout(r, 100));
      }
      const times = rig.tw.messages().map((m) => m.dateCreated.getTime());
      expect(times).toHaveLength(3);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(900);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    });
  });
});
