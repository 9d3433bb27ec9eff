import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createQuoteAutomation, enterQuoteSent } from '../support/demo-consent.js';
import { createRigOn, engines, type Rig } from '../support/rig.js';

// Quiet hours, the frequency cap and "fresh at send time", on an injected clock (never the machine's time or zone):
// an automation message due outside the recipient's window waits as `scheduled` and goes when the window opens; the
// fourth automation message to a number within 24 hours is skipped; a message sent later than its event reads its
// deal again. Ann's number (415) is in Los Angeles: 06:00 UTC in January is 22:00 there, 16:00 UTC is 08:00.

let rig: Rig;
const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const FLORIDA_PHONE = '+13055550123';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NIGHT_IN_LA = Date.parse('2026-01-15T06:00:00Z');
const MORNING_IN_LA = Date.parse('2026-01-15T16:00:00Z');
const NOON_IN_LA = Date.parse('2026-01-15T20:00:00Z');

const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const db = () => rig.ctx.database.db;
const outbound = () => db().selectFrom('outbound_messages').selectAll().where('company_id', '=', COMPANY).orderBy('created_at').orderBy('id').execute();
const sentTo = (phone: string) => rig.tw.messagesTo(phone).filter((m) => m.direction === 'outbound-api');

/** A clock the test moves; the app reads nothing else. */
function testClock(start: number) {
  let t = start;
  return { clock: { now: () => t }, set: (ms: number) => void (t = ms), advance: (ms: number) => void (t += ms) };
}

async function rigAt(engine: (typeof engines)[number], start: number, outbox: Record<string, unknown> = {}) {
  const time = testClock(start);
  rig = await createRigOn(engine, { clock: time.clock, outbox: { rateLimit: false, quietHours: true, frequencyCap: true, ...outbox } });
  await rig.installDemo();
  return time;
}

async function setSettings(settings: Record<string, unknown>) {
  const company = (await rig.ctx.companies.find(COMPANY))!;
  await rig.ctx.companies.updateSettings(COMPANY, { ...company.parsedSettings, ...settings }, new Date().toISOString());
}

/** A consenting contact at `phone` with a deal in "Lead in". */
async function contactAt(phone: string, name: string): Promise<{ personId: number; dealId: number }> {
  const company = (await rig.ctx.companies.find(COMPANY))!;
  const person = rig.pd.addPerson(rig.demo.companyId, {
    name,
    phones: [phone],
    custom_fields: { [company.consent_field_key!]: Number(company.consent_granted_option) },
  });
  const deal = rig.pd.addDeal(rig.demo.companyId, { title: `Deal of ${name}`, person_id: person.id, stage_id: rig.demo.stages.leadIn });
  return { personId: person.id, dealId: deal.id };
}

/** The deal panel's outbound messages of Ann's deal, newest first. */
async function panelMessages(): Promise<Array<{ status: string; reason: string | null; notBefore: string | null }>> {
  const res = await request(rig.appUrl).get(`/api/panel/deals/${ann().dealId}`).set('authorization', `Bearer ${await rig.jwt()}`);
  expect(res.status).toBe(200);
  return (res.body.messages as Array<{ direction: string; status: string; reason: string | null; notBefore: string | null }>).filter((m) => m.direction === 'outbound');
}

describe.each(engines)('quiet hours, the frequency cap and fresh at send time on %s', (engine) => {
  afterEach(async () => rig?.close());

  describe('quiet hours', () => {
    it('holds an automation message due at night and sends it when the window opens, not a minute before', async () => {
      const time = await rigAt(engine, NIGHT_IN_LA);
      await createQuoteAutomation(rig, COMPANY);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();

      const [held] = await outbound();
      expect(held).toMatchObject({ state: 'scheduled', to_e164: ANN_PHONE, claimed_until: null, not_before: new Date(MORNING_IN_LA).toISOString() });
      expect(sentTo(ANN_PHONE)).toHaveLength(0);
      // The panel shows it waiting, and until when.
      expect((await panelMessages())[0]).toMatchObject({ status: 'scheduled', notBefore: new Date(MORNING_IN_LA).toISOString(), reason: null });
      // So do the reports: the message list with its time, and the counts as a message still to go.
      const auth = `Bearer ${await rig.jwt()}`;
      const list = await request(rig.appUrl).get('/api/reports/messages').set('authorization', auth);
      expect(list.status).toBe(200);
      expect(list.body.messages[0]).toMatchObject({ status: 'scheduled', notBefore: new Date(MORNING_IN_LA).toISOString(), reason: null });
      const counts = await request(rig.appUrl).get('/api/reports').set('authorization', auth);
      expect(counts.body.totals).toMatchObject({ total: 1, pending: 1 });

      time.set(MORNING_IN_LA - MINUTE);
      await rig.drain();
      expect((await outbound())[0]!.state).toBe('scheduled');
      expect(sentTo(ANN_PHONE)).toHaveLength(0);

      time.set(MORNING_IN_LA);
      await rig.drain();
      expect((await outbound())[0]).toMatchObject({ state: 'sent', sending_at: new Date(MORNING_IN_LA).toISOString() });
      const [sms] = sentTo(ANN_PHONE);
      // Thirteen hours until 21:00 there: Twilio may keep it four hours at most.
      expect(sms!.params.ValidityPeriod).toBe('14400');
    });

    it('gives Twilio no longer than until the window closes, and sends panel messages at night at once without a validity', async () => {
      const time = await rigAt(engine, Date.parse('2026-01-16T04:00:00Z')); // 20:00 in Los Angeles
      await createQuoteAutomation(rig, COMPANY);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      expect(sentTo(ANN_PHONE)[0]!.params.ValidityPeriod).toBe('3600');

      time.set(Date.parse('2026-01-16T07:00:00Z')); // 23:00 in Los Angeles
      const token = await rig.jwt();
      const res = await request(rig.appUrl).post(`/api/panel/deals/${ann().dealId}/messages`).set('authorization', `Bearer ${token}`).send({ body: 'Your installer is on the way' });
      expect(res.status).toBe(202);
      await rig.drain();
      const panel = sentTo(ANN_PHONE).find((m) => m.body.startsWith('Your installer'));
      expect(panel).toBeDefined();
      expect(panel!.params.ValidityPeriod).toBeUndefined();
      expect((await outbound()).map((r) => [r.source, r.state])).toEqual([['automation', 'sent'], ['panel', 'sent']]);
    });

    it('keeps Florida numbers to 08:00-20:00 with quiet hours off, and skips a message no minute of the week allows', async () => {
      const time = await rigAt(engine, Date.parse('2026-01-16T01:30:00Z')); // 20:30 in Miami
      await setSettings({ quietHours: null });
      await createQuoteAutomation(rig, COMPANY);
      const fred = await contactAt(FLORIDA_PHONE, 'Fred Florida');
      await enterQuoteSent(rig, fred.dealId);
      await rig.drain();
      const opens = Date.parse('2026-01-16T13:00:00Z'); // 08:00 in Miami
      expect((await outbound())[0]).toMatchObject({ state: 'scheduled', not_before: new Date(opens).toISOString() });

      // A window across midnight has no minute in common with the Florida limit: skipped, never held for ever.
      await setSettings({ quietHours: { start: '22:00', end: '06:00' } });
      time.set(opens);
      await rig.drain();
      expect((await outbound())[0]).toMatchObject({ state: 'skipped', skip_reason: 'no_sending_window' });
      expect(sentTo(FLORIDA_PHONE)).toHaveLength(0);
    });

    it('loses none and sends none early across a restart while messages are held', async () => {
      const time = await rigAt(engine, NIGHT_IN_LA);
      await setSettings({ frequencyCap: 0 });
      for (let i = 0; i < 3; i++) await createQuoteAutomation(rig, COMPANY);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      expect((await outbound()).map((r) => r.state)).toEqual(['scheduled', 'scheduled', 'scheduled']);

      await rig.restart();
      time.set(MORNING_IN_LA - 1);
      await rig.drain();
      expect((await outbound()).map((r) => r.state)).toEqual(['scheduled', 'scheduled', 'scheduled']);
      expect(sentTo(ANN_PHONE)).toHaveLength(0);

      await rig.restart();
      time.set(MORNING_IN_LA + 5 * MINUTE);
      await rig.drain();
      expect((await outbound()).map((r) => r.state)).toEqual(['sent', 'sent', 'sent']);
      expect(sentTo(ANN_PHONE)).toHaveLength(3);
    });
  });

  describe('fresh at send time', () => {
    it.each([
      ['moved to another stage', () => rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.negotiation)],
      ['won', () => rig.pd.updateDeal(ann().dealId, { status: 'won' })],
      ['lost', () => rig.pd.updateDeal(ann().dealId, { status: 'lost' })],
      ['deleted', () => rig.pd.deleteDeal(ann().dealId)],
    ])('skips a held message whose deal was %s meanwhile (stage_changed)', async (_what, change) => {
      const time = await rigAt(engine, NIGHT_IN_LA);
      await createQuoteAutomation(rig, COMPANY);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      await change();
      time.set(MORNING_IN_LA);
      await rig.drain();
      expect((await outbound())[0]).toMatchObject({ state: 'skipped', skip_reason: 'stage_changed' });
      expect(sentTo(ANN_PHONE)).toHaveLength(0);
      if (_what !== 'deleted') expect((await panelMessages())[0]).toMatchObject({ status: 'skipped', reason: 'stage_changed', notBefore: null });
    });

    it('re-reads the deal of a retried message, and retries (never sends blind) when Pipedrive fails while re-reading', async () => {
      const time = await rigAt(engine, NOON_IN_LA);
      await createQuoteAutomation(rig, COMPANY);
      // First try: Pipedrive fails reading the person, so the message is tried again later.
      rig.pd.injectFault({ method: 'GET', path: `/api/v2/persons/${ann().id}`, status: 503, times: 1 });
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      expect((await outbound())[0]).toMatchObject({ state: 'queued', error_code: 'pipedrive_503' });

      // The retry reads the deal first; Pipedrive failing there is retried too.
      rig.pd.injectFault({ method: 'GET', path: `/api/v2/deals/${ann().dealId}`, status: 503, times: 1 });
      time.advance(HOUR);
      await rig.drain();
      expect((await outbound())[0]).toMatchObject({ state: 'queued', error_code: 'pipedrive_503' });
      expect(sentTo(ANN_PHONE)).toHaveLength(0);

      // The deal moved on before the next try: skipped, not sent.
      await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.negotiation);
      time.advance(HOUR);
      await rig.drain();
      expect((await outbound())[0]).toMatchObject({ state: 'skipped', skip_reason: 'stage_changed' });
      expect(sentTo(ANN_PHONE)).toHaveLength(0);
    });

    it('sends a held message whose deal is still open in its stage', async () => {
      const time = await rigAt(engine, NIGHT_IN_LA);
      await createQuoteAutomation(rig, COMPANY);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      await rig.pd.updateDeal(ann().dealId, { title: 'Solar panels for Ann, renamed' });
      time.set(MORNING_IN_LA);
      await rig.drain();
      expect((await outbound())[0]!.state).toBe('sent');
    });
  });

  describe('the frequency cap', () => {
    it('skips the fourth automation message to a number within 24 hours, even when all four are sent at once', async () => {
      const time = await rigAt(engine, NOON_IN_LA);
      // Four automations on one stage: one event queues four messages to Ann, handled side by side in one pass.
      for (let i = 0; i < 4; i++) await createQuoteAutomation(rig, COMPANY);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      const first = await outbound();
      expect(first.filter((r) => r.state === 'sent')).toHaveLength(3);
      expect(first.filter((r) => r.state === 'skipped').map((r) => r.skip_reason)).toEqual(['frequency_cap']);
      expect((await panelMessages()).filter((m) => m.reason === 'frequency_cap')).toHaveLength(1);
      expect(sentTo(ANN_PHONE)).toHaveLength(3);

      // A panel message is neither counted nor capped.
      const token = await rig.jwt();
      const res = await request(rig.appUrl).post(`/api/panel/deals/${ann().dealId}/messages`).set('authorization', `Bearer ${token}`).send({ body: 'Call me back?' });
      expect(res.status).toBe(202);
      await rig.drain();
      expect(sentTo(ANN_PHONE)).toHaveLength(4);

      // 23 hours later the three are still within the day; a minute past 24 hours they are not.
      time.advance(23 * HOUR);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      expect(sentTo(ANN_PHONE)).toHaveLength(4);
      expect((await outbound()).filter((r) => r.skip_reason === 'frequency_cap')).toHaveLength(5);

      time.advance(HOUR + MINUTE);
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      expect(sentTo(ANN_PHONE)).toHaveLength(7);
    });

    it('counts per number and per company, and 0 switches it off', async () => {
      await rigAt(engine, NOON_IN_LA);
      await setSettings({ frequencyCap: 1 });
      await createQuoteAutomation(rig, COMPANY);
      await createQuoteAutomation(rig, COMPANY);
      const fred = await contactAt('+12125550199', 'Nina NewYork');
      await enterQuoteSent(rig, ann().dealId);
      await enterQuoteSent(rig, fred.dealId);
      await rig.drain();
      expect(sentTo(ANN_PHONE)).toHaveLength(1);
      expect(sentTo('+12125550199')).toHaveLength(1);

      await setSettings({ frequencyCap: 0 });
      await enterQuoteSent(rig, ann().dealId);
      await rig.drain();
      expect(sentTo(ANN_PHONE)).toHaveLength(3);
    });
  });
});
