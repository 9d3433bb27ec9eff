import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsentSource } from '../../server/consent/opt-out-list.js';
import { enqueuePanelMessage } from '../../server/outbox/outbox-store.js';
import { consentOf, createQuoteAutomation, enterQuoteSent } from '../support/demo-consent.js';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';

// Every way of opting out goes through one function (server/consent/consent-service.ts), so each has every effect.
// One table of sources, each run against the same situation: Ann was texted once; an earlier START's consent write is
// still waiting for Pipedrive (it refused it once; retries are an hour away); one text to her number waits for a retry
// after a 429 (its number known), another was just queued (its number read at send time). Then the opt-out must: append
// a history row with its source, cancel both waiting texts, supersede the waiting write and queue its own, and reach
// Pipedrive (the "SMS consent" field and an activity).

let rig: Rig;
const COMPANY = '1001';
const ANN_PHONE = '+14155552671';
const HOUR = 3_600_000;
const OWN_NUMBER = '+15005550010';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const db = () => rig.ctx.database.db;
const outbound = () => db().selectFrom('outbound_messages').selectAll().where('company_id', '=', COMPANY).orderBy('created_at').execute();
const consentJobs = () => db().selectFrom('jobs').selectAll().where('kind', 'in', ['pipedrive.set_consent', 'consent.mirror_by_phone']).orderBy('created_at').execute();
const reply = (body: string) => rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body });


/** The situation every source meets (see the top of the file); answers the ids of the two waiting texts. */
async function setTheScene(): Promise<{ retrying: string; fresh: string }> {
  await createQuoteAutomation(rig, COMPANY);
  await enterQuoteSent(rig, ann().dealId);
  await rig.drain();

  rig.pd.injectFault({ method: 'PATCH', path: `/api/v2/persons/${ann().id}`, status: 500, times: 1 });
  await reply('START');
  await rig.drain();
  expect(await consentJobs()).toMatchObject([{ kind: 'pipedrive.set_consent', state: 'queued', attempts: 1 }]);

  rig.tw.injectFault({ method: 'POST', path: /Messages\.json$/, status: 429, times: 1 });
  await enterQuoteSent(rig, ann().dealId);
  await rig.drain();
  await enterQuoteSent(rig, ann().dealId);
  const rows = await outbound();
  expect(rows.map((r) => [r.state, r.to_e164])).toEqual([['sent', ANN_PHONE], ['queued', ANN_PHONE], ['queued', null]]);
  return { retrying: rows[1]!.id, fresh: rows[2]!.id };
}

type Case = {
  source: ConsentSource;
  /** Makes the opt-out happen; answers the id of a text the source itself used up (the 21610 refusal), if any. */
  act(scene: { retrying: string; fresh: string }): Promise<string | null>;
  actor: string | null;
  activity: string;
};

const byService = (source: ConsentSource, extra: { actor?: string; message?: string; withPerson: boolean }) => async () => {
  await rig.ctx.consent.optOut({
    companyId: COMPANY,
    phoneE164: ANN_PHONE,
    sender: null,
    source,
    message: extra.message ?? null,
    actor: extra.actor ?? null,
    ...(extra.withPerson ? { personId: ann().id, dealId: ann().dealId } : {}),
  });
  return null;
};

const CASES: Case[] = [
  {
    source: 'inbound_keyword',
    act: async () => {
      await reply('STOP');
      return null;
    },
    actor: null,
    activity: 'SMS opt-out from Ann Granted',
  },
  {
    source: 'twilio_21610',
    act: async ({ fresh }) => {
      // Twilio blocked the number (an opt-out the app never saw): the next send is refused with 21610.
      rig.tw.block(FROM_NUMBER, ANN_PHONE);
      await rig.drain();
      expect((await db().selectFrom('outbound_messages').selectAll().where('id', '=', fresh).executeTakeFirstOrThrow())).toMatchObject({ state: 'failed', error_code: '21610' });
      return fresh;
    },
    actor: null,
    activity: 'SMS opt-out (reported by Twilio)',
  },
  { source: 'review', act: byService('review', { actor: '500', message: 'please stop', withPerson: true }), actor: '500', activity: 'SMS opt-out (reply reviewed)' },
  { source: 'import', act: byService('import', { actor: '500', message: 'list from the old CRM', withPerson: false }), actor: '500', activity: 'SMS opt-out (imported)' },
  { source: 'hand', act: byService('hand', { actor: '500', message: 'asked on the phone', withPerson: false }), actor: '500', activity: 'SMS opt-out (by hand)' },
  { source: 'pipedrive_field', act: byService('pipedrive_field', { withPerson: true }), actor: null, activity: 'SMS opt-out (set in Pipedrive)' },
  { source: 'panel', act: byService('panel', { actor: '500', withPerson: true }), actor: '500', activity: 'SMS opt-out (from the deal panel)' },
];

describe.each(engines)('one opt-out path on %s', (engine) => {
  beforeEach(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false, retryBaseMs: HOUR, retryMaxMs: HOUR } });
    await rig.installDemo();
  });
  afterEach(async () => rig.close());

  it.each(CASES.map((c) => [c.source, c] as const))('%s: history row, waiting texts cancelled, waiting write superseded, Pipedrive told', async (_source, c) => {
    const scene = await setTheScene();
    const usedUp = await c.act(scene);

    const history = await rig.ctx.optOuts.history(COMPANY, ANN_PHONE);
    expect(history.map((e) => [e.action, e.source])).toEqual([['opt_in', 'inbound_keyword'], ['opt_out', c.source]]);
    expect(history[1]).toMatchObject({ actor: c.actor });
    expect(await rig.ctx.optOuts.isOptedOut(COMPANY, FROM_NUMBER, ANN_PHONE)).toBe(true);

    const waiting = [scene.retrying, scene.fresh].filter((id) => id !== usedUp);
    const rows = await outbound();
    for (const id of waiting) expect(rows.find((r) => r.id === id)).toMatchObject({ state: 'cancelled', skip_reason: 'opted_out' });
    expect(rig.tw.messagesTo(ANN_PHONE).filter((m) => m.direction === 'outbound-api' && m.status !== 'failed')).toHaveLength(1);

    const [older, ...newer] = await consentJobs();
    expect(older).toMatchObject({ kind: 'pipedrive.set_consent', state: 'done', last_error: 'superseded by a later consent change' });
    expect(newer).toHaveLength(1);

    await rig.drain();
    expect(await consentJobs()).toMatchObject([{ state: 'done' }, { state: 'done', last_error: null }]);
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Opted out');
    const activities = rig.pd.activities(rig.demo.companyId).filter((a) => a.person_id === ann().id);
    expect(activities.map((a) => a.subject)).toContain(c.activity);
    expect(activities.filter((a) => a.subject.startsWith('SMS opt-out'))).toHaveLength(1);
  });

  it('opts back in as the mirror: history row, the field back to Granted, nothing cancelled', async () => {
    await rig.ctx.consent.optOut({ companyId: COMPANY, phoneE164: ANN_PHONE, sender: null, source: 'hand', actor: '500', message: 'asked on the phone' });
    await rig.drain();
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Opted out');
    const { retrying, fresh } = await setTheSceneAfterOptOut();

    const outcome = await rig.ctx.consent.optIn({ companyId: COMPANY, phoneE164: ANN_PHONE, sender: null, source: 'hand', actor: '500', message: 'opted in on paper' });
    expect(outcome).toEqual({ companies: [COMPANY], cancelled: 0 });
    const rows = await outbound();
    expect(rows.filter((r) => r.id === retrying || r.id === fresh).map((r) => r.state)).toEqual(['queued', 'queued']);
    expect((await rig.ctx.optOuts.history(COMPANY, ANN_PHONE)).map((e) => [e.action, e.source, e.message])).toEqual([
      ['opt_out', 'hand', 'asked on the phone'],
      ['opt_in', 'hand', 'opted in on paper'],
    ]);
    await rig.drain();
    expect(await consentOf(rig, COMPANY, ann().id)).toBe('Granted');
    expect(rig.pd.activities(rig.demo.companyId).map((a) => a.subject)).toEqual(['SMS opt-out (by hand)', 'SMS opt-in (by hand)']);
  });

  it('cancels the waiting texts of every company on the shared sender, and no other company\'s', async () => {
    // A second company on the shared sender, and a third with its own Twilio number, each with a text waiting for a
    // retry to the same number: a STOP on the shared sender binds the second (Twilio blocks the number there), not the third.
    const others = await otherCompaniesTexting(ANN_PHONE);
    const scene = await setTheScene();
    await reply('STOP');
    const rows = await db().selectFrom('outbound_messages').selectAll().execute();
    const state = (id: string) => rows.find((r) => r.id === id)!.state;
    expect([state(scene.retrying), state(scene.fresh), state(others.onSharedSender)]).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(state(others.ownSender)).toBe('queued');
  });

  it('cancels a text held for quiet hours as it cancels one waiting in the queue', async () => {
    // 22:00 in Los Angeles, Ann's zone: the automation's text waits for 08:00.
    await rig.close();
    rig = await createRigOn(engine, { clock: { now: () => Date.parse('2026-01-15T06:00:00Z') }, outbox: { rateLimit: false, quietHours: true } });
    await rig.installDemo();
    await createQuoteAutomation(rig, COMPANY);
    await enterQuoteSent(rig, ann().dealId);
    await rig.drain();
    expect((await outbound()).map((r) => [r.state, r.to_e164])).toEqual([['scheduled', ANN_PHONE]]);
    await reply('STOP');
    expect((await outbound()).map((r) => [r.state, r.skip_reason])).toEqual([['cancelled', 'opted_out']]);
  });

  it('refuses a number that is not E.164, and writes nothing', async () => {
    await expect(rig.ctx.consent.optOut({ companyId: COMPANY, phoneE164: '415 555 2671', sender: null, source: 'hand' })).rejects.toThrow(/E\.164/);
    expect(await db().selectFrom('consent_events').selectAll().execute()).toEqual([]);
  });
});

/** For the opt-in case: two texts a user queued in the panel for Ann while she was opted out. */
async function setTheSceneAfterOptOut(): Promise<{ retrying: string; fresh: string }> {
  const ids: string[] = [];
  for (const body of ['First', 'Second']) {
    const id = randomUUID();
    const at = new Date().toISOString();
    await enqueuePanelMessage(db(), { id, companyId: COMPANY, createdBy: '500', dealId: ann().dealId, personId: ann().id, template: body, context: '{}', at });
    ids.push(id);
  }
  return { retrying: ids[0]!, fresh: ids[1]! };
}

/**
 * Installs company 2002 (on the shared sender) and 3003 (its own Twilio number), each with a consenting person whose
 * primary phone is `phone`, and leaves one text of each waiting for a retry after a 429, its number known.
 */
async function otherCompaniesTexting(phone: string): Promise<{ onSharedSender: string; ownSender: string }> {
  const ids: string[] = [];
  for (const [companyId, adminId, own] of [[2002, 601, false], [3003, 701, true]] as const) {
    rig.pd.addCompany({ id: companyId, name: `Company ${companyId}`, domain: `c${companyId}` });
    rig.pd.addUser({ id: adminId, companyId, name: `Admin ${companyId}`, isAdmin: true });
    expect((await rig.install(adminId)).status).toBe(200);
    const company = (await rig.ctx.companies.find(String(companyId)))!;
    if (own) {
      const account = rig.tw.addAccount();
      rig.tw.addNumber(account.sid, OWN_NUMBER);
      const token = await rig.jwt({ userId: adminId, companyId });
      const connected = await request(rig.appUrl)
        .put('/api/settings/twilio')
        .set('authorization', `Bearer ${token}`)
        .send({ accountSid: account.sid, authToken: account.authToken, fromNumber: OWN_NUMBER });
      expect(connected.status).toBe(200);
    }
    const pipeline = rig.pd.addPipeline(companyId, { name: 'Sales' });
    const leadIn = rig.pd.addStage(companyId, { pipeline_id: pipeline.id, name: 'Lead in', order_nr: 1 });
    const quoteSent = rig.pd.addStage(companyId, { pipeline_id: pipeline.id, name: 'Quote sent', order_nr: 2 });
    const person = rig.pd.addPerson(companyId, { name: 'Same Number', phones: [{ value: phone, primary: true, label: 'mobile' }] });
    await rig.pd.updatePerson(person.id, { custom_fields: { [company.consent_field_key!]: Number(company.consent_granted_option) } });
    const deal = rig.pd.addDeal(companyId, { title: 'Deal', person_id: person.id, stage_id: leadIn.id });
    await rig.ctx.automations.create(String(companyId), { name: 'Hello', enabled: true, trigger: { event: 'deal.stage_entered', stageId: quoteSent.id }, template: 'Hello' });
    rig.tw.injectFault({ method: 'POST', path: /Messages\.json$/, status: 429, times: 1 });
    await rig.pd.moveDealToStage(deal.id, quoteSent.id);
    await rig.drain();
    const row = await db().selectFrom('outbound_messages').selectAll().where('company_id', '=', String(companyId)).executeTakeFirstOrThrow();
    expect({ companyId, ...row }).toMatchObject({ companyId, state: 'queued', to_e164: phone });
    ids.push(row.id);
  }
  return { onSharedSender: ids[0]!, ownSender: ids[1]! };
}
