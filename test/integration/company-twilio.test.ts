import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import twilio from 'twilio';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';
import { sealedPlaces } from '../../server/security/crypto.js';
import { sqliteFileBytes, tablesHolding } from '../support/storage.js';

/**
 * A company that brings its own Twilio account instead of the app's shared one: connected on the settings page, verified with Twilio
 * before it is stored, used for that company's texts, and recognised on its replies and status callbacks.
 */
let rig: Rig;
let admin: string;
let sales: string;
const COMPANY = '1001';
const ANN = '+14155552671';
const OWN_NUMBER = '+15005550010';
let own: { sid: string; authToken: string };

const api = () => request(rig.appUrl);
const put = (body: object, token = admin) => api().put('/api/settings/twilio').set('authorization', `Bearer ${token}`).send(body);
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;

/** The signature Twilio would send, computed by the real SDK. */
function signWith(authToken: string, url: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

describe.each(engines)('a company Twilio account on %s', (engine) => {
  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    expect((await rig.install(rig.demo.salesUserId)).status).toBe(200);
    admin = await rig.jwt();
    sales = await rig.jwt({ userId: rig.demo.salesUserId, companyId: rig.demo.companyId });
    own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
    await rig.ctx.automations.create(COMPANY, {
      name: 'Quote follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is ready.',
    });
  });
  afterAll(async () => rig?.close());

  describe('connecting a company Twilio account', () => {
    it('starts on the default account, which the settings show without its account id', async () => {
      const res = await api().get('/api/settings/twilio').set('authorization', `Bearer ${sales}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        mode: 'default',
        accountSid: null,
        fromNumber: FROM_NUMBER,
        messagingServiceSid: null,
        verifiedAt: null,
        inboundUrl: `${rig.appUrl}/webhooks/twilio/inbound`,
        defaultAvailable: true,
      });
      const settings = await api().get('/api/settings').set('authorization', `Bearer ${admin}`);
      expect(settings.body.twilio.mode).toBe('default');
    });

    it('refuses malformed input naming the field, non-admins, and callers without a token', async () => {
      const good = { accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER };
      const bad = await put({ ...good, accountSid: 'AC123' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('accountSid');
      expect((await put({ ...good, authToken: 'secret' })).body.error.message).toContain('authToken');
      expect((await put({ ...good, fromNumber: '(415) 555-2671' })).body.error.message).toContain('E.164');
      expect((await put({ ...good, messagingServiceSid: `MG${'a'.repeat(32)}` })).body.error.message).toContain('exactly one');
      expect((await put({ accountSid: own.sid, authToken: own.authToken })).status).toBe(400);
      expect((await put({ ...good, colour: 'red' })).status).toBe(400);
      const forbidden = await put(good, sales);
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error.message).toContain('admin');
      expect((await api().put('/api/settings/twilio').send(good)).status).toBe(401);
      expect((await rig.ctx.companies.find(COMPANY))!.twilio_account_sid).toBeNull();
    });

    it('asks Twilio first: wrong credentials, a number of another account, or Twilio down store nothing', async () => {
      const wrongToken = await put({ accountSid: own.sid, authToken: 'f'.repeat(32), fromNumber: OWN_NUMBER });
      expect(wrongToken.status).toBe(400);
      expect(wrongToken.body.error).toMatchObject({ details: { reason: 'credentials_refused' } });
      const notTheirs = await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: FROM_NUMBER });
      expect(notTheirs.status).toBe(400);
      expect(notTheirs.body.error.details.reason).toBe('sender_not_found');
      rig.tw.injectFault({ path: new RegExp(`/Accounts/${own.sid}\\.json$`), status: 503, times: 1 });
      expect((await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER })).status).toBe(502);
      expect((await rig.ctx.companies.find(COMPANY))!.twilio_account_sid).toBeNull();
    });

    it('stores the account with its auth token sealed, never echoed or logged, and can point replies at the app', async () => {
      const res = await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ mode: 'own', accountSid: own.sid, fromNumber: OWN_NUMBER, messagingServiceSid: null });
      expect(res.body.replies).toEqual({ currentUrl: null, pointsHere: false, canPointHere: true });
      expect(JSON.stringify(res.body)).not.toContain(own.authToken);

      const pointed = await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER, pointRepliesHere: true });
      expect(pointed.body.replies).toEqual({ currentUrl: `${rig.appUrl}/webhooks/twilio/inbound`, pointsHere: true, canPointHere: true });
      expect(rig.tw.number(OWN_NUMBER)?.smsUrl).toBe(`${rig.appUrl}/webhooks/twilio/inbound`);

      const row = (await rig.ctx.companies.find(COMPANY))!;
      expect(row.twilio_auth_token_sealed).not.toContain(own.authToken);
      expect(rig.ctx.secrets.open(row.twilio_auth_token_sealed!, sealedPlaces.twilioAuthToken(COMPANY))).toBe(own.authToken);
      expect(await tablesHolding(rig.ctx.database, own.authToken)).toEqual([]);
      // On SQLite, the files themselves: the WAL too, where a value written in clear sits until a checkpoint.
      if (engine === 'sqlite') expect(sqliteFileBytes(rig.dbFile)).not.toContain(own.authToken);
      expect(rig.logs.join('')).not.toContain(own.authToken);
    });
  });

  describe('a sender belongs to one company', () => {
    it("refuses the app's shared number and a number another company already connected", async () => {
      const shared = await put({ accountSid: rig.twAccount.sid, authToken: rig.twAccount.authToken, fromNumber: FROM_NUMBER });
      expect(shared.status).toBe(409);
      expect(shared.body.error.code).toBe('sender_in_use');

      rig.pd.addCompany({ id: 3003, name: 'Third Co' });
      rig.pd.addUser({ id: 701, companyId: 3003, name: 'Theo Third', isAdmin: true });
      expect((await rig.install(701)).status).toBe(200);
      const third = await rig.jwt({ userId: 701, companyId: 3003 });
      const taken = await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER }, third);
      expect(taken.status).toBe(409);
      expect(taken.body.error.message).toContain('another Pipedrive company');
      expect((await rig.ctx.companies.find('3003'))!.twilio_account_sid).toBeNull();
      // The company that owns it may save it again.
      expect((await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER })).status).toBe(200);
    });
  });

  describe('texting through the company account', () => {
    it('sends from the company number with its account, and takes its status callbacks', async () => {
      const [delivery] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
      expect(delivery!.status).toBe(200);
      await rig.drain();
      const [sent] = rig.tw.messagesTo(ANN);
      expect(sent).toMatchObject({ accountSid: own.sid, from: OWN_NUMBER, body: 'Hi Ann, your quote is ready.\nReply STOP to opt out' });
      expect(await rig.tw.sendStatus(sent!.sid, 'delivered')).toBe(204);
      const row = await rig.ctx.database.db.selectFrom('outbound_messages').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'sent', provider_sid: sent!.sid, provider_status: 'delivered', sender: OWN_NUMBER });

      // A callback naming the company account but signed with the default account's token is refused.
      const params = { MessageSid: sent!.sid, MessageStatus: 'failed', AccountSid: own.sid, To: ANN, From: OWN_NUMBER };
      const forged = await api()
        .post('/webhooks/twilio/status')
        .type('form')
        .set('x-twilio-signature', signWith(rig.twAccount.authToken, `${rig.appUrl}/webhooks/twilio/status`, params))
        .send(params);
      expect(forged.status).toBe(403);
    });

    it('attributes replies to the number to its company, and applies STOP to that sender', async () => {
      const reply = await rig.tw.reply({ from: ANN, to: OWN_NUMBER, body: 'Sounds good' });
      expect(reply.status).toBe(200);
      const inbound = await rig.ctx.database.db.selectFrom('inbound_messages').selectAll().where('provider_sid', '=', reply.messageSid).executeTakeFirstOrThrow();
      expect(inbound).toMatchObject({ company_id: COMPANY, attribution: 'conversation', deal_id: ann().dealId, sender: OWN_NUMBER, account_sid: own.sid });

      // A number the app never texted, with more than one company installed: the number's owner is the company.
      rig.pd.addCompany({ id: 2002, name: 'Other Co' });
      rig.pd.addUser({ id: 601, companyId: 2002, name: 'Olga Other', isAdmin: true });
      expect((await rig.install(601)).status).toBe(200);
      const stranger = await rig.tw.reply({ from: '+14155550123', to: OWN_NUMBER, body: 'Who is this?' });
      const strangerRow = await rig.ctx.database.db.selectFrom('inbound_messages').selectAll().where('provider_sid', '=', stranger.messageSid).executeTakeFirstOrThrow();
      expect(strangerRow).toMatchObject({ company_id: COMPANY, attribution: 'phone_search' });

      await rig.tw.reply({ from: ANN, to: OWN_NUMBER, body: 'STOP' });
      const history = await rig.ctx.database.db.selectFrom('consent_events').selectAll().where('phone_e164', '=', ANN).execute();
      expect(history).toEqual([expect.objectContaining({ company_id: COMPANY, sender: OWN_NUMBER, action: 'opt_out' })]);
      await rig.settle();
    });

    it('goes back to the default account when the company disconnects its own', async () => {
      await rig.tw.reply({ from: ANN, to: OWN_NUMBER, body: 'START' });
      await rig.settle();
      const res = await api().delete('/api/settings/twilio').set('authorization', `Bearer ${admin}`);
      expect(res.status).toBe(200);
      expect(res.body.mode).toBe('default');
      const row = (await rig.ctx.companies.find(COMPANY))!;
      expect(row.twilio_auth_token_sealed).toBeNull();
      await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.leadIn);
      await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
      await rig.drain();
      expect(rig.tw.messagesTo(ANN).at(-1)).toMatchObject({ accountSid: rig.twAccount.sid, from: FROM_NUMBER });
      // The company's own account no longer signs anything it will accept.
      const params = { MessageSid: `SM${'0'.repeat(32)}`, MessageStatus: 'delivered', AccountSid: own.sid };
      const stale = await api()
        .post('/webhooks/twilio/status')
        .type('form')
        .set('x-twilio-signature', signWith(own.authToken, `${rig.appUrl}/webhooks/twilio/status`, params))
        .send(params);
      expect(stale.status).toBe(403);
    });
  });

  describe('a send left unconfirmed by a process that died', () => {
    /** What a process that died during the Twilio call leaves: the row in `sending` since ten minutes ago. */
    async function unconfirmed(sender: string, body: string) {
      const at = new Date().toISOString();
      const id = `unconfirmed-${sender}`;
      await rig.ctx.database.db
        .insertInto('outbound_messages')
        .values({
          id, company_id: COMPANY, source: 'automation', template: body, deal_id: ann().dealId, person_id: ann().id,
          to_e164: ANN, body, sender, state: 'sending', attempts: 1,
          sending_at: new Date(Date.now() - 10 * 60_000).toISOString(), next_attempt_at: at, created_at: at, updated_at: at,
        })
        .execute();
      return id;
    }
    const row = (id: string) => rig.ctx.database.db.selectFrom('outbound_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    it('is looked up in the company account it went out through, and marked sent without a second text', async () => {
      expect((await put({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER })).status).toBe(200);
      const body = 'Hi Ann, one more thing.\nReply STOP to opt out';
      // Twilio got it (through the company's account) before the process died.
      const accepted = await rig.ctx.sms.send({ accountSid: own.sid, authToken: own.authToken }, { to: ANN, body, from: OWN_NUMBER });
      const id = await unconfirmed(OWN_NUMBER, body);
      const before = rig.tw.messagesTo(ANN).length;
      await rig.ctx.outbox.recover();
      expect(await row(id)).toMatchObject({ state: 'sent', provider_sid: accepted.sid });
      expect(rig.tw.messagesTo(ANN)).toHaveLength(before);
    });

    it('is recorded failed, not resent, when the account it went out through is no longer configured', async () => {
      const id = await unconfirmed('+15005550099', 'Hi Ann, from an account since replaced.\nReply STOP to opt out');
      const before = rig.tw.messagesTo(ANN).length;
      await rig.ctx.outbox.recover();
      await rig.settle();
      expect(await row(id)).toMatchObject({ state: 'failed', error_code: 'unconfirmed' });
      expect(rig.tw.messagesTo(ANN)).toHaveLength(before);
    });
  });
});
