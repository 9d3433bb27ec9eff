import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OptOutWords } from '../../server/messaging/index.js';
import { OPT_OUT_CONFIRMATION } from '../../server/messaging/index.js';
import { consentOf, createQuoteAutomation, enterQuoteSent } from '../support/demo-consent.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

// Opt-out words as people write them, end to end: the simulated phone applies Twilio's own keyword handling (single
// words only), then posts the signed webhook. "OPT OUT" and "OPT-OUT" are opt-out keywords Twilio does not handle, so
// the app confirms them and its own list keeps the number from being texted; a company may also read any reply that
// contains an opt-out word as an opt-out.

let rig: Rig;
const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const db = () => rig.ctx.database.db;
const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const CONFIRMED = `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${OPT_OUT_CONFIRMATION}</Message></Response>`;

async function setOptOutWords(optOutWords: OptOutWords): Promise<void> {
  const c = (await rig.ctx.companies.find(COMPANY))!;
  await rig.ctx.companies.updateSettings(COMPANY, { ...c.parsedSettings, optOutWords }, new Date().toISOString());
}
async function textAnn(): Promise<void> {
  await createQuoteAutomation(rig, COMPANY);
  await enterQuoteSent(rig, ann().dealId);
  await rig.drain();
  expect(sentToAnn()).toHaveLength(1);
}
const sentToAnn = () => rig.tw.messagesTo(ANN_PHONE).filter((m) => m.direction === 'outbound-api');
const confirmations = () => rig.tw.inbox(ANN_PHONE).filter((e) => e.body === OPT_OUT_CONFIRMATION);
const reply = (body: string) => rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body });
const history = () => rig.ctx.optOuts.history(COMPANY, ANN_PHONE);
const inbound = () => db().selectFrom('inbound_messages').selectAll().orderBy('received_at').execute();
const outbound = () => db().selectFrom('outbound_messages').selectAll().orderBy('created_at').execute();

/** The next stage event queues a text: sent when Ann may be texted, skipped as opted out when not. */
async function nextTextTo(): Promise<'sent' | 'skipped'> {
  const before = sentToAnn().length;
  await enterQuoteSent(rig, ann().dealId);
  await rig.settle();
  const last = (await outbound()).at(-1)!;
  if (last.state === 'skipped') expect(last.skip_reason).toBe('opted_out');
  expect(sentToAnn().length).toBe(last.state === 'sent' ? before + 1 : before);
  return last.state as 'sent' | 'skipped';
}

describe.each(engines)('opt-out words on %s', (engine) => {
  beforeEach(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    await textAnn();
  });
  afterEach(async () => rig.close());

  describe('the exact reading (the default)', () => {
    it.each(['OPT OUT', 'OPT-OUT', 'opt out!', ' Opt-out. '])('%j opts out; Twilio does not handle it, so the app confirms it once and its own list stops the texts', async (body) => {
      const res = await reply(body);
      expect(res.status).toBe(200);
      expect(res.keyword).toBeNull(); // Twilio neither answered nor blocked it
      expect(res.twiml).toBe(CONFIRMED);
      expect(rig.tw.isBlocked(FROM_NUMBER, ANN_PHONE)).toBe(false);

      expect(await history()).toMatchObject([{ action: 'opt_out', source: 'inbound_keyword', message: body, sender: FROM_NUMBER, person_id: String(ann().id) }]);
      expect(await inbound()).toMatchObject([{ kind: 'opt_out', possible_opt_out: 0, auto_reply: OPT_OUT_CONFIRMATION }]);
      await rig.settle();
      expect(confirmations()).toEqual([expect.objectContaining({ kind: 'twiml-reply' })]);
      expect(await consentOf(rig, COMPANY, ann().id)).toBe('Opted out');
      expect(await nextTextTo()).toBe('skipped');
    });

    it('flags "please stop texting me" as a possible opt-out only: nobody is opted out, nothing is confirmed', async () => {
      const res = await reply('please stop texting me');
      expect(res.twiml).toBe(EMPTY);
      expect(await inbound()).toMatchObject([{ kind: 'possible_opt_out', possible_opt_out: 1, auto_reply: null }]);
      await rig.settle();
      expect(await history()).toEqual([]);
      expect(confirmations()).toEqual([]);
      expect(await consentOf(rig, COMPANY, ann().id)).toBe('Granted');
      // A person decides whether it was one: until then automations leave the number alone.
      expect(await db().selectFrom('consent_reviews').select(['state', 'body']).execute()).toEqual([{ state: 'pending', body: 'please stop texting me' }]);
      await enterQuoteSent(rig, ann().dealId);
      await rig.settle();
      expect((await outbound()).at(-1)).toMatchObject({ state: 'skipped', skip_reason: 'opt_out_review' });
    });
  });

  describe('a company that reads any opt-out word as an opt-out', () => {
    beforeEach(async () => setOptOutWords('any'));

    it('opts "please stop texting me" out at once, confirms it once (a retry by Twilio is not answered again), and cancels the queued text', async () => {
      await enterQuoteSent(rig, ann().dealId); // queued, not yet sent
      expect((await outbound())[1]!.state).toBe('queued');

      const res = await reply('please stop texting me');
      expect(res.twiml).toBe(CONFIRMED);
      const again = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'please stop texting me', messageSid: res.messageSid });
      expect(again.twiml).toBe(EMPTY);

      expect((await outbound())[1]).toMatchObject({ state: 'cancelled', skip_reason: 'opted_out' });
      expect(await history()).toMatchObject([{ action: 'opt_out', source: 'inbound_keyword', message: 'please stop texting me' }]);
      expect(await inbound()).toMatchObject([{ kind: 'opt_out', possible_opt_out: 0 }]);
      await rig.settle();
      expect(confirmations()).toHaveLength(1);
      expect(await consentOf(rig, COMPANY, ann().id)).toBe('Opted out');
      const activities = rig.pd.activities(rig.demo.companyId).filter((a) => a.person_id === ann().id && a.subject.startsWith('SMS opt-out'));
      expect(activities.map((a) => a.subject)).toEqual(['SMS opt-out from Ann Granted']);
      expect(await nextTextTo()).toBe('skipped');
    });

    it('leaves Twilio to confirm its own single-word keywords, so a contact never gets the confirmation twice', async () => {
      const res = await reply('STOP');
      expect(res.keyword).toBe('STOP');
      expect(res.twiml).toBe(EMPTY);
      await rig.settle();
      expect(confirmations()).toEqual([expect.objectContaining({ kind: 'auto-reply' })]);
    });

    it('still needs the whole reply for START: "START again" is no opt-in, "yes, stop" is an opt-out', async () => {
      await reply('STOP');
      await reply('START again');
      expect(await history()).toHaveLength(1);
      await reply('yes, stop');
      await rig.settle();
      expect((await history()).map((e) => e.action)).toEqual(['opt_out', 'opt_out']);
      expect((await inbound()).map((r) => r.kind)).toEqual(['opt_out', 'none', 'opt_out']);
    });
  });

  it.each<OptOutWords>(['exact', 'any'])('never reads "stopwatch" as an opt-out (%s)', async (mode) => {
    await setOptOutWords(mode);
    for (const body of ['stopwatch', 'Non-stop flights please', 'the unstoppable offer']) {
      const res = await reply(body);
      expect(res.twiml).toBe(EMPTY);
    }
    await rig.settle();
    expect((await inbound()).map((r) => r.kind)).toEqual(['none', 'none', 'none']);
    expect(await history()).toEqual([]);
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Granted');
    expect(await nextTextTo()).toBe('sent');
  });
});
