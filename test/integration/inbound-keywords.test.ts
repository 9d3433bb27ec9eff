import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION } from '../../server/messaging/index.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

// STOP / START / HELP keywords end to end: the simulated phone applies Twilio's own keyword handling, then posts
// the signed webhook; consent and activities are checked in the Pipedrive emulator, sends in the Twilio one.

let rig: Rig;
const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const nora = () => rig.demo.persons.find((p) => p.name === 'Nora Noconsent')!;
const db = () => rig.ctx.database.db;

async function company() {
  return (await rig.ctx.companies.find(COMPANY))!;
}
async function consentOf(personId: number): Promise<'Granted' | 'Opted out' | null> {
  const c = await company();
  const value = rig.pd.person(personId)!.custom_fields[c.consent_field_key!];
  if (value === Number(c.consent_granted_option)) return 'Granted';
  if (value === Number(c.consent_opted_out_option)) return 'Opted out';
  return null;
}
async function smsActivities() {
  const type = (await company()).activity_type_key;
  return rig.pd.activities(rig.demo.companyId).filter((a) => a.type === type);
}
const history = () => rig.ctx.optOuts.history(COMPANY, ANN_PHONE);
const outbound = () => db().selectFrom('outbound_messages').selectAll().orderBy('created_at').execute();

async function createAutomation() {
  await rig.ctx.automations.create(COMPANY, {
    name: 'Quote sent follow-up',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template: 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.',
  });
}
/** A stage event for Ann's deal: out of "Quote sent" (when there) and into it again. */
async function enterQuoteSent(): Promise<void> {
  if (rig.pd.deal(ann().dealId)!.stage_id === rig.demo.stages.quoteSent) await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.leadIn);
  const deliveries = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
  expect(deliveries.map((d) => d.status)).toEqual([200]);
}
async function textAnn(): Promise<void> {
  await createAutomation();
  await enterQuoteSent();
  await rig.drain();
  expect(rig.tw.messagesTo(ANN_PHONE)).toHaveLength(1);
}
const reply = (body: string) => rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body });
const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

describe.each(engines)('inbound keywords on %s', (engine) => {
  describe('opt-out keywords', () => {
    beforeEach(async () => {
      rig = await createRigOn(engine, { outbox: { rateLimit: false } });
      await rig.installDemo();
    });
    afterEach(async () => rig.close());

    it.each(['STOP', ' stop ', 'Stop.', 'STOPALL'])('%j opts the sender out everywhere, and a later stage event sends nothing', async (body) => {
      await textAnn();
      const res = await reply(body);
      expect(res.status).toBe(200);
      // Twilio answers its own keywords; the app adds nothing.
      expect(res.twiml).toBe(EMPTY);

      expect(await history()).toMatchObject([
        { action: 'opt_out', source: 'inbound_keyword', message: body, sender: FROM_NUMBER, person_id: String(ann().id) },
      ]);
      expect(await rig.ctx.optOuts.isOptedOut(COMPANY, FROM_NUMBER, ANN_PHONE)).toBe(true);
      const [row] = await db().selectFrom('inbound_messages').selectAll().execute();
      expect(row).toMatchObject({ kind: 'opt_out', possible_opt_out: 0, deal_id: ann().dealId, person_id: ann().id, auto_reply: null });

      await rig.settle();
      expect(await consentOf(ann().id)).toBe('Opted out');
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]).toMatchObject({ subject: 'SMS opt-out from Ann Granted', done: true, deal_id: ann().dealId, person_id: ann().id });
      expect(activities[0]!.note).toContain('opt-out list');

      await enterQuoteSent();
      await rig.settle();
      expect(rig.tw.messagesTo(ANN_PHONE)).toHaveLength(1);
      const rows = await outbound();
      expect(rows).toHaveLength(2);
      expect(rows[1]!.state).toBe('skipped');
      expect(rig.tw.inbox(ANN_PHONE).filter((e) => e.body === OPT_OUT_CONFIRMATION).length).toBeLessThanOrEqual(1);
    });

    it('answers "STOP ALL" (which Twilio does not handle) with the exact confirmation, once', async () => {
      await textAnn();
      const res = await reply('STOP ALL');
      expect(res.keyword).toBeNull();
      expect(res.twiml).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Message>${OPT_OUT_CONFIRMATION}</Message></Response>`);
      await rig.settle();

      const confirmations = rig.tw.inbox(ANN_PHONE).filter((e) => e.body === OPT_OUT_CONFIRMATION);
      expect(confirmations).toHaveLength(1);
      expect(confirmations[0]!.kind).toBe('twiml-reply');
      expect(rig.tw.inbox(ANN_PHONE).filter((e) => e.kind === 'auto-reply')).toHaveLength(0);

      expect(await history()).toMatchObject([{ action: 'opt_out', message: 'STOP ALL' }]);
      expect(await rig.ctx.optOuts.isOptedOut(COMPANY, FROM_NUMBER, ANN_PHONE)).toBe(true);
      expect(await consentOf(ann().id)).toBe('Opted out');
      const [activity] = await smsActivities();
      expect(activity!.subject).toBe('SMS opt-out from Ann Granted');
      expect(activity!.note).toContain(`Answered automatically: ${OPT_OUT_CONFIRMATION}`);

      await enterQuoteSent();
      await rig.settle();
      expect(rig.tw.messagesTo(ANN_PHONE).filter((m) => m.direction === 'outbound-api')).toHaveLength(1);
      expect((await outbound())[1]).toMatchObject({ state: 'skipped', skip_reason: 'opted_out' });
    });

    it('does not send the confirmation again when Twilio retries a "STOP ALL"', async () => {
      await textAnn();
      const first = await reply('STOP ALL');
      const again = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'STOP ALL', messageSid: first.messageSid });
      expect(again.twiml).toBe(EMPTY);
      await rig.settle();
      expect(rig.tw.inbox(ANN_PHONE).filter((e) => e.body === OPT_OUT_CONFIRMATION)).toHaveLength(1);
      expect(await history()).toHaveLength(1);
      expect(await smsActivities()).toHaveLength(1);
    });

    it('cancels messages already queued for the number', async () => {
      await textAnn();
      await enterQuoteSent(); // queued, not yet sent
      expect((await outbound())[1]!.state).toBe('queued');
      await reply('STOP');
      expect((await outbound())[1]).toMatchObject({ state: 'cancelled', skip_reason: 'opted_out' });
      await rig.settle();
      expect(rig.tw.messagesTo(ANN_PHONE)).toHaveLength(1);
    });

    it('logs "STOP NOW" as a reply flagged as a possible opt-out request, without opting out', async () => {
      await textAnn();
      const res = await reply('STOP NOW');
      expect(res.twiml).toBe(EMPTY);
      await rig.settle();
      expect(await history()).toHaveLength(0);
      expect(await consentOf(ann().id)).toBe('Granted');
      const [row] = await db().selectFrom('inbound_messages').selectAll().execute();
      expect(row).toMatchObject({ kind: 'possible_opt_out', possible_opt_out: 1 });
      const activities = await smsActivities();
      expect(activities).toHaveLength(1);
      expect(activities[0]!.subject).toBe('SMS reply from Ann Granted: possible opt-out request');
      expect(activities[0]!.note).toContain('<p>STOP NOW</p>');
      const [view] = await rig.ctx.inboundMessages.listForCompany(COMPANY, { flagged: true });
      expect(view).toMatchObject({ body: 'STOP NOW', possibleOptOut: true });

      // Not an opt-out, but a person must decide first: until then the next stage event's text is skipped.
      await enterQuoteSent();
      await rig.settle();
      expect(rig.tw.messagesTo(ANN_PHONE)).toHaveLength(1);
      const last = await db().selectFrom('outbound_messages').select('skip_reason').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      expect(last.skip_reason).toBe('opt_out_review');
    });

    it('records an opt-out from a number the app never texted on the person found by phone', async () => {
      const res = await rig.tw.reply({ from: '+442079460958', to: FROM_NUMBER, body: 'STOP' });
      expect(res.status).toBe(200);
      await rig.settle();
      expect(await rig.ctx.optOuts.history(COMPANY, '+442079460958')).toMatchObject([{ action: 'opt_out', person_id: null }]);
      expect(await consentOf(nora().id)).toBe('Opted out');
      expect((await smsActivities())[0]).toMatchObject({ subject: 'SMS opt-out from Nora Noconsent', person_id: nora().id, deal_id: null });
    });
  });

  describe('opt-in and help', () => {
    beforeEach(async () => {
      rig = await createRigOn(engine, { outbox: { rateLimit: false } });
      await rig.installDemo();
    });
    afterEach(async () => rig.close());

    it('START after STOP sets consent back to Granted, is logged, and sending works again', async () => {
      await textAnn();
      await reply('STOP');
      await rig.settle();
      expect(await consentOf(ann().id)).toBe('Opted out');

      const res = await reply('START');
      expect(res.keyword).toBe('START');
      expect(res.twiml).toBe(EMPTY);
      await rig.settle();
      expect(await consentOf(ann().id)).toBe('Granted');
      expect((await history()).map((e) => e.action)).toEqual(['opt_out', 'opt_in']);
      expect(await rig.ctx.optOuts.isOptedOut(COMPANY, FROM_NUMBER, ANN_PHONE)).toBe(false);
      expect((await smsActivities()).map((a) => a.subject)).toEqual(['SMS opt-out from Ann Granted', 'SMS opt-in from Ann Granted']);

      await enterQuoteSent();
      await rig.settle();
      const sent = rig.tw.messagesTo(ANN_PHONE).filter((m) => m.direction === 'outbound-api');
      expect(sent).toHaveLength(2);
      expect((await outbound())[1]!.state).toBe('sent');
    });

    it('keeps the opt-out history append-only: STOP, START, STOP leaves three rows and the number opted out', async () => {
      await textAnn();
      for (const body of ['STOP', 'START', 'STOP']) {
        await reply(body);
        await rig.settle();
      }
      const rows = await history();
      expect(rows.map((e) => [e.action, e.message, e.source])).toEqual([
        ['opt_out', 'STOP', 'inbound_keyword'],
        ['opt_in', 'START', 'inbound_keyword'],
        ['opt_out', 'STOP', 'inbound_keyword'],
      ]);
      expect(new Set(rows.map((e) => e.created_at)).size).toBe(3);
      expect(await rig.ctx.optOuts.isOptedOut(COMPANY, FROM_NUMBER, ANN_PHONE)).toBe(true);
      expect(await consentOf(ann().id)).toBe('Opted out');
    });

    it('a later START wins over an opt-out whose consent write is still waiting for Pipedrive', async () => {
      await rig.close();
      // Retries far in the future: the failed "Opted out" write is still queued when START arrives.
      rig = await createRigOn(engine, { outbox: { rateLimit: false, retryBaseMs: 60_000, retryMaxMs: 60_000 } });
      await rig.installDemo();
      await textAnn();
      rig.pd.injectFault({ method: 'PATCH', path: `/api/v2/persons/${ann().id}`, status: 500, times: 1 });
      await reply('STOP');
      await rig.drain();
      const waiting = await db().selectFrom('jobs').selectAll().where('kind', '=', 'pipedrive.set_consent').execute();
      expect(waiting).toMatchObject([{ state: 'queued', attempts: 1 }]);

      await reply('START');
      await rig.drain();
      expect(await consentOf(ann().id)).toBe('Granted');
      const jobs = await db().selectFrom('jobs').selectAll().where('kind', '=', 'pipedrive.set_consent').orderBy('created_at').execute();
      expect(jobs.map((j) => [j.state, j.last_error])).toEqual([
        ['done', 'superseded by a later consent change'],
        ['done', null],
      ]);
    });

    it('answers HELP with the help text when the company has the app answer keywords, and not otherwise', async () => {
      await textAnn();
      const byTwilio = await reply('HELP');
      expect(byTwilio.twiml).toBe(EMPTY);

      const c = await company();
      await rig.ctx.companies.updateSettings(COMPANY, { ...c.parsedSettings, keywordReplies: 'app' }, new Date().toISOString());
      const byApp = await reply('help');
      const help = 'Acme Sandbox Inc.: reply STOP to opt out, START to opt back in. Msg&amp;data rates may apply.';
      expect(byApp.twiml).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Message>${help}</Message></Response>`);
      expect(rig.tw.inbox(ANN_PHONE).at(-1)).toMatchObject({ kind: 'twiml-reply', body: 'Acme Sandbox Inc.: reply STOP to opt out, START to opt back in. Msg&data rates may apply.' });

      await rig.ctx.companies.updateSettings(COMPANY, { ...c.parsedSettings, keywordReplies: 'app', helpText: 'Acme: call 555-0100 for help. Reply STOP to opt out.' }, new Date().toISOString());
      const custom = await reply('INFO');
      expect(custom.twiml).toContain('<Message>Acme: call 555-0100 for help. Reply STOP to opt out.</Message>');

      await rig.settle();
      expect((await smsActivities()).map((a) => a.subject)).toEqual(Array(3).fill('SMS help request from Ann Granted'));
      expect(await history()).toHaveLength(0);
    });

    it('confirms STOP and START itself when the company has the app answer keywords', async () => {
      await textAnn();
      const c = await company();
      await rig.ctx.companies.updateSettings(COMPANY, { ...c.parsedSettings, keywordReplies: 'app' }, new Date().toISOString());
      expect((await reply('STOP')).twiml).toContain(`<Message>${OPT_OUT_CONFIRMATION}</Message>`);
      expect((await reply('START')).twiml).toContain(`<Message>${OPT_IN_CONFIRMATION.replace('&', '&amp;')}</Message>`);
      expect(rig.tw.inbox(ANN_PHONE).at(-1)).toMatchObject({ kind: 'twiml-reply', body: OPT_IN_CONFIRMATION });
    });
  });
});
