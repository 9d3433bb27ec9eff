import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

// Replies: every inbound text is stored and logged once as a Pipedrive activity, through signed webhooks
// from the Twilio emulator and the real SDKs against both emulators.

let rig: Rig;
const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const nora = () => rig.demo.persons.find((p) => p.name === 'Nora Noconsent')!;
const db = () => rig.ctx.database.db;
const inboundRows = () => db().selectFrom('inbound_messages').selectAll().orderBy('received_at').execute();
const jobRows = () => db().selectFrom('jobs').selectAll().execute();

async function smsType(): Promise<string> {
  const company = await rig.ctx.companies.find(COMPANY);
  return company!.activity_type_key!;
}
async function smsActivities() {
  const type = await smsType();
  return rig.pd.activities(rig.demo.companyId).filter((a) => a.type === type);
}

/** Sends Ann one automated text, so that her replies belong to a conversation. */
async function textAnn(): Promise<string> {
  await rig.ctx.automations.create(COMPANY, {
    name: 'Quote sent follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.',
  });
  await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
  await rig.drain();
  const sent = await db().selectFrom('outbound_messages').selectAll().where('state', '=', 'sent').execute();
  expect(sent).toHaveLength(1);
  return sent[0]!.id;
}

function inboundParams(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MessageSid: `SM${'a'.repeat(32)}`,
    AccountSid: rig.twAccount.sid,
    From: ANN_PHONE,
    To: FROM_NUMBER,
    Body: 'hello',
    NumMedia: '0',
    SmsStatus: 'received',
    ApiVersion: '2010-04-01',
    ...overrides,
  };
}

describe.each(engines)('inbound replies on %s', (engine) => {
  describe('replies', () => {
    beforeEach(async () => {
      rig = await createRigOn(engine, { outbox: { rateLimit: false } });
      await rig.installDemo();
    });
    afterEach(async () => rig.close());

    it('logs a free-text reply as exactly one done SMS activity on the deal and person of the conversation', async () => {
      const outboundId = await textAnn();
      const reply = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Sounds good, call me tomorrow' });
      expect(reply.status).toBe(200);
      expect(reply.twiml).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      expect(rig.tw.inboundWebhooks.at(-1)!.status).toBe(200);

      // Stored before Pipedrive is touched: the webhook answered without any activity yet.
      expect(await smsActivities()).toHaveLength(0);
      const [row] = await inboundRows();
      expect(row).toMatchObject({
        company_id: COMPANY,
        provider_sid: reply.messageSid,
        from_e164: ANN_PHONE,
        to_address: FROM_NUMBER,
        body: 'Sounds good, call me tomorrow',
        kind: 'none',
        possible_opt_out: 0,
        attribution: 'conversation',
        reply_to_message_id: outboundId,
        deal_id: ann().dealId,
        person_id: ann().id,
        auto_reply: null,
      });

      await rig.settle();
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]).toMatchObject({
        subject: 'SMS reply from Ann Granted',
        done: true,
        deal_id: ann().dealId,
        person_id: ann().id,
        participants: [{ person_id: ann().id, primary: true }],
      });
      expect(activities[0]!.note).toContain('<p>Sounds good, call me tomorrow</p>');

      const [view] = await rig.ctx.inboundMessages.listForDeal(COMPANY, ann().dealId, ANN_PHONE);
      expect(view).toMatchObject({ body: 'Sounds good, call me tomorrow', kind: 'none', possibleOptOut: false, activity: 'logged' });
    });

    it('does nothing more when Twilio posts the same MessageSid again', async () => {
      await textAnn();
      const first = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Yes please' });
      await rig.settle();
      const again = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Yes please', messageSid: first.messageSid });
      expect(again.status).toBe(200);
      expect(again.twiml).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      await rig.settle();
      expect(await inboundRows()).toHaveLength(1);
      expect(await smsActivities()).toHaveLength(1);
      expect((await jobRows()).filter((j) => j.kind === 'inbound.log_reply')).toHaveLength(1);
    });

    it('records one message and one activity when the same MessageSid arrives twice at once', async () => {
      // On PostgreSQL the two deliveries really run at the same time, in two connections.
      await textAnn();
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const results = await Promise.all([
        rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Thanks!', messageSid: sid }),
        rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Thanks!', messageSid: sid }),
      ]);
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      await rig.settle();
      const rows = await db().selectFrom('inbound_messages').select(['kind', 'deal_id', 'person_id', 'attribution']).where('provider_sid', '=', sid).execute();
      expect(rows).toEqual([{ kind: 'none', deal_id: ann().dealId, person_id: ann().id, attribution: 'conversation' }]);
      const activities = rig.pd.activities(rig.demo.companyId).filter((a) => a.subject === 'SMS reply from Ann Granted');
      expect(activities).toHaveLength(1);
      const [view] = await rig.ctx.inboundMessages.listForDeal(COMPANY, ann().dealId, ANN_PHONE);
      expect(view).toMatchObject({ body: 'Thanks!', dealId: ann().dealId, personId: ann().id, activity: 'logged' });
    });

    it('refuses a missing (400) or wrong (403) signature and stores nothing', async () => {
      const params = inboundParams();
      const missing = await request(rig.appUrl).post('/webhooks/twilio/inbound').type('form').send(params);
      expect(missing.status).toBe(400);
      const wrong = await request(rig.appUrl)
        .post('/webhooks/twilio/inbound')
        .type('form')
        .set('X-Twilio-Signature', rig.signTwilio('/webhooks/twilio/inbound', { ...params, Body: 'something else' }))
        .send(params);
      expect(wrong.status).toBe(403);
      const otherAccount = inboundParams({ AccountSid: `AC${'b'.repeat(32)}` });
      const stranger = await request(rig.appUrl)
        .post('/webhooks/twilio/inbound')
        .type('form')
        .set('X-Twilio-Signature', rig.signTwilio('/webhooks/twilio/inbound', otherAccount))
        .send(otherAccount);
      expect(stranger.status).toBe(403);
      expect(await inboundRows()).toHaveLength(0);
      expect(await jobRows()).toHaveLength(0);

      // The same request correctly signed is accepted: the refusals above were about the signature alone.
      const signed = await request(rig.appUrl)
        .post('/webhooks/twilio/inbound')
        .type('form')
        .set('X-Twilio-Signature', rig.signTwilio('/webhooks/twilio/inbound', params))
        .send(params);
      expect(signed.status).toBe(200);
      expect(signed.headers['content-type']).toMatch(/^text\/xml/);
      expect(await inboundRows()).toHaveLength(1);
    });

    it('refuses a signed request without a valid MessageSid (400) and stores nothing', async () => {
      const params = inboundParams({ MessageSid: 'not-a-sid' });
      const res = await request(rig.appUrl)
        .post('/webhooks/twilio/inbound')
        .type('form')
        .set('X-Twilio-Signature', rig.signTwilio('/webhooks/twilio/inbound', params))
        .send(params);
      expect(res.status).toBe(400);
      expect(await inboundRows()).toHaveLength(0);
    });

    it('escapes markup in the reply before it goes into the activity note', async () => {
      await textAnn();
      await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: '<script>alert("x")</script> & <b>bold</b>\nline two' });
      await rig.settle();
      const [activity] = await smsActivities();
      expect(activity!.note).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;<br>line two');
      expect(activity!.note).not.toContain('<script>');
      expect(activity!.note).not.toContain('<b>');
    });

    it('keeps a reply from an unknown number and shows it, unlinked, for the only company on the sender', async () => {
      const stranger = '+14155550123';
      const reply = await rig.tw.reply({ from: stranger, to: FROM_NUMBER, body: 'Who is this?' });
      expect(reply.status).toBe(200);
      await rig.settle();
      const [row] = await inboundRows();
      expect(row).toMatchObject({ company_id: COMPANY, from_e164: stranger, attribution: 'phone_search', deal_id: null, person_id: null, body: 'Who is this?' });

      // Visible in Pipedrive (an activity naming the number) and in the app (the company's unattributed replies).
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]).toMatchObject({ subject: `SMS reply from ${stranger}`, deal_id: null, person_id: null, participants: [] });
      expect(activities[0]!.note).toContain('not linked to anyone');
      const unattributed = await rig.ctx.inboundMessages.listForCompany(COMPANY, { unattributed: true });
      expect(unattributed.map((m) => m.body)).toEqual(['Who is this?']);
      expect(unattributed[0]!.activity).toBe('logged');
    });

    it('logs a reply from a person the app never texted to that person only, found by the primary phone', async () => {
      // Nora's phone is stored as "+44 20 7946 0958"; the app has never texted her.
      const reply = await rig.tw.reply({ from: '+442079460958', to: FROM_NUMBER, body: 'Is the heat pump quote ready?' });
      expect(reply.status).toBe(200);
      await rig.settle();
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]).toMatchObject({
        subject: 'SMS reply from Nora Noconsent',
        deal_id: null,
        person_id: nora().id,
        participants: [{ person_id: nora().id, primary: true }],
      });
      // The phone search happened in the job, not in the webhook.
      const searches = rig.pd.requests.filter((r) => r.path === '/api/v2/persons/search');
      expect(searches.map((r) => r.query.term)).toEqual(['2079460958', '+442079460958']);
      // The deal panel finds it by the person's number.
      const forDeal = await rig.ctx.inboundMessages.listForDeal(COMPANY, nora().dealId, '+442079460958');
      expect(forDeal.map((m) => m.body)).toEqual(['Is the heat pump quote ready?']);
    });

    it('never guesses between several persons with the number, nor matches a secondary phone', async () => {
      const shared = '+14155550177';
      rig.pd.addPerson(rig.demo.companyId, { name: 'Twin One', phones: [{ value: '(415) 555-0177', primary: true, label: 'mobile' }] });
      rig.pd.addPerson(rig.demo.companyId, { name: 'Twin Two', phones: [{ value: '+1 415 555 0177', primary: true, label: 'work' }] });
      const secondary = '+14155550188';
      rig.pd.addPerson(rig.demo.companyId, {
        name: 'Second Phone',
        phones: [
          { value: '(415) 555-0100', primary: true, label: 'work' },
          { value: '(415) 555-0188', primary: false, label: 'mobile' },
        ],
      });
      await rig.tw.reply({ from: shared, to: FROM_NUMBER, body: 'Hi from one of the twins' });
      await rig.tw.reply({ from: secondary, to: FROM_NUMBER, body: 'Hi from a second phone' });
      await rig.settle();
      const activities = await smsActivities();
      expect(activities).toHaveLength(2);
      const twins = activities.find((a) => a.subject === `SMS reply from ${shared}`)!;
      expect(twins).toMatchObject({ person_id: null, deal_id: null });
      expect(twins.note).toContain('several persons have it as their primary phone');
      expect(activities.find((a) => a.subject === `SMS reply from ${secondary}`)).toMatchObject({ person_id: null, deal_id: null });
    });

    it('logs the reply on the person when the deal of the conversation was deleted since', async () => {
      await textAnn();
      await rig.pd.deleteDeal(ann().dealId);
      await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Hello again' });
      await rig.settle();
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]).toMatchObject({ subject: 'SMS reply from Ann Granted', deal_id: null, person_id: ann().id });
    });

    it('creates the activity once when Pipedrive answers 500 and then 200', async () => {
      await textAnn();
      rig.pd.injectFault({ method: 'POST', path: '/api/v2/activities', status: 500, times: 1 });
      const reply = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Still interested' });
      expect(reply.status).toBe(200);
      await rig.settle();
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]!.subject).toBe('SMS reply from Ann Granted');
      const posts = rig.pd.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/activities');
      expect(posts.map((r) => r.status)).toEqual([500, 200]);
      const [job] = (await jobRows()).filter((j) => j.kind === 'inbound.log_reply');
      expect(job).toMatchObject({ state: 'done', attempts: 2 });
    });

    it('keeps the activity through 429s beyond the client retries, a 503 and a 401, and logs it once', async () => {
      await textAnn();
      // The client retries a 429 three times itself; the fourth goes back to the outbox. A 401 refreshes the token.
      rig.pd.injectFault({ method: 'POST', path: '/api/v2/activities', status: 429, times: 4, headers: { 'x-ratelimit-reset': '0' } });
      rig.pd.injectFault({ method: 'POST', path: '/api/v2/activities', status: 503, times: 1 });
      rig.pd.injectFault({ method: 'POST', path: '/api/v2/activities', status: 401, times: 1 });
      await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Any news?' });
      await rig.settle();
      expect(await smsActivities()).toHaveLength(1);
      const posts = rig.pd.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/activities');
      expect(posts.map((r) => r.status)).toEqual([429, 429, 429, 429, 503, 401, 200]);
      const [view] = await rig.ctx.inboundMessages.listForCompany(COMPANY);
      expect(view!.activity).toBe('logged');
    });
  });

  describe('replies nobody can be attributed', () => {
    beforeEach(async () => {
      rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    });
    afterEach(async () => rig.close());

    it('stores a text that arrives while no company is installed, and deletes it with the last company', async () => {
      const early = await rig.tw.reply({ from: '+14155550123', to: FROM_NUMBER, body: 'Hello?' });
      expect(early.status).toBe(200);
      const [row] = await inboundRows();
      expect(row).toMatchObject({ company_id: null, attribution: 'none', body: 'Hello?', activity_job_id: null });
      expect(await jobRows()).toHaveLength(0);

      await rig.installDemo();
      await rig.tw.reply({ from: '+14155550123', to: FROM_NUMBER, body: 'Hello again' });
      expect((await inboundRows()).map((r) => r.company_id)).toEqual([null, COMPANY]);

      const result = await rig.pd.uninstall({ userId: rig.demo.adminUserId });
      expect(result.status).toBe(200);
      expect(await inboundRows()).toHaveLength(0);
    });
  });
});
