import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { z } from 'zod';
import { createRigOn, engines, FROM_NUMBER, type Rig } from '../support/rig.js';
import {
  apiErrorSchema,
  automationListSchema,
  automationSchema,
  contactErasedSchema,
  fieldProblemsSchema,
  messagesPageSchema,
  optOutAddedSchema,
  optOutListSchema,
  optOutRemovedSchema,
  panelSentSchema,
  panelViewSchema,
  pipelineListSchema,
  repliesPageSchema,
  reportSchema,
  reviewListSchema,
  reviewSchema,
  settingsSavedSchema,
  settingsViewSchema,
  templatePreviewSchema,
  templateRefusalSchema,
  twilioConnectedSchema,
  twilioRefusalSchema,
  twilioViewSchema,
} from '../../server/http/contracts/index.js';

/**
 * Every /api route's real answer, through the app over HTTP, read with its contract's response schema. The schemas
 * are strict (an unknown key fails), so a server that answers a shape the settings page and the panel do not know
 * fails here, as a type change fails the typecheck.
 */
let rig: Rig;
let token: string;
const ANN = '+14155552671';
const OWN_NUMBER = '+15005550010';
const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
const as = (test: request.Test) => test.set('authorization', `Bearer ${token}`);
const api = () => request(rig.appUrl);

/** The body read with the schema: it parses, and parsing changes nothing (no key stripped, no value coerced). */
function expectShape(schema: z.ZodType, res: request.Response, status: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const parsed = schema.safeParse(res.body);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  expect(parsed.data).toEqual(res.body);
}

/** A refusal: the error body's contract, and its details' own. */
function expectRefusal(res: request.Response, status: number, details?: z.ZodType) {
  expectShape(apiErrorSchema, res, status);
  if (details) expect(details.safeParse(res.body.error.details).success, JSON.stringify(res.body.error.details)).toBe(true);
}

describe.each(engines)('every /api answer matches its contract on %s', (engine) => {
  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    token = await rig.jwt();
  });
  afterAll(async () => rig?.close());

  it('the automations, the preview and the pipelines', async () => {
    const created = await as(api().post('/api/automations')).send({
      name: 'Quote sent follow-up',
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent, pipelineId: null },
      template: 'Hi {{person.first_name|there}}, your quote is ready.',
    });
    expectShape(automationSchema, created, 201);
    expectShape(automationListSchema, await as(api().get('/api/automations')), 200);
    expectShape(automationSchema, await as(api().get(`/api/automations/${created.body.id}`)), 200);
    expectShape(automationSchema, await as(api().patch(`/api/automations/${created.body.id}`)).send({ enabled: false }), 200);
    expectShape(automationSchema, await as(api().patch(`/api/automations/${created.body.id}`)).send({ enabled: true }), 200);
    expectRefusal(await as(api().post('/api/automations')).send({ name: '' }), 400, fieldProblemsSchema);
    const tooLong = await as(api().post('/api/automations')).send({
      name: 'Long',
      trigger: { event: 'deal.created', stageId: rig.demo.stages.quoteSent },
      template: 'Thanks for your order. '.repeat(8),
    });
    expectRefusal(tooLong, 400, templateRefusalSchema);
    expectRefusal(await as(api().get('/api/automations/nope')), 404);

    const temporary = await as(api().post('/api/automations')).send({
      name: 'Temporary',
      enabled: false,
      trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn },
      template: 'Welcome',
    });
    const removed = await as(api().delete(`/api/automations/${temporary.body.id}`));
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');

    const preview = await as(api().post('/api/templates/preview')).send({ template: 'Hi {{person.first_name}} bit.ly/x', sample: { person: { first_name: 'Ann' } } });
    expectShape(templatePreviewSchema, preview, 200);
    expect(preview.body.problems).toEqual(['link_shortener']);
    expectShape(pipelineListSchema, await as(api().get('/api/pipelines')), 200);
  });

  it('the settings, read and changed, with the automations a change leaves not fitting', async () => {
    const view = await as(api().get('/api/settings'));
    expectShape(settingsViewSchema, view, 200);
    // The settings are at the top level, next to what the page needs around them.
    expect(view.body).toMatchObject({ maxSegments: 1, keywordReplies: 'provider', helpText: null, optOutWords: 'exact', sendRatePerSecond: 1, canEdit: true });
    expect(view.body).not.toHaveProperty('settings');

    const roomy = await as(api().patch('/api/settings')).send({ maxSegments: 3 });
    expectShape(settingsSavedSchema, roomy, 200);
    await as(api().post('/api/automations')).send({
      name: 'Two segments',
      trigger: { event: 'deal.created', stageId: rig.demo.stages.leadIn },
      template: 'Thanks for your order. '.repeat(8),
    });
    const tight = await as(api().patch('/api/settings')).send({ maxSegments: 1, optOutWords: 'any', helpText: 'Acme: call 555-0100.' });
    expectShape(settingsSavedSchema, tight, 200);
    expect(tight.body.warnings.map((w: { name: string }) => w.name)).toEqual(['Two segments']);
    expect(tight.body).toMatchObject({ maxSegments: 1, optOutWords: 'any', helpText: 'Acme: call 555-0100.' });

    expectRefusal(await as(api().patch('/api/settings')).send({ optOutWords: 'some' }), 400, fieldProblemsSchema);
    expectRefusal(await as(api().patch('/api/settings')).send({ settings: { maxSegments: 2 } }), 400, fieldProblemsSchema);
    expectShape(settingsSavedSchema, await as(api().patch('/api/settings')).send({ optOutWords: 'exact', helpText: null }), 200);
  });

  it('the company Twilio account: shown, refused, connected and disconnected', async () => {
    expectShape(twilioViewSchema, await as(api().get('/api/settings/twilio')), 200);
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
    expectRefusal(await as(api().put('/api/settings/twilio')).send({ accountSid: 'AC1', authToken: own.authToken }), 400, fieldProblemsSchema);
    const refused = await as(api().put('/api/settings/twilio')).send({ accountSid: own.sid, authToken: 'f'.repeat(32), fromNumber: OWN_NUMBER });
    expectRefusal(refused, 400, twilioRefusalSchema);
    const shared = await as(api().put('/api/settings/twilio')).send({ accountSid: rig.twAccount.sid, authToken: rig.twAccount.authToken, fromNumber: FROM_NUMBER });
    expectRefusal(shared, 409);

    const connected = await as(api().put('/api/settings/twilio')).send({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER, pointRepliesHere: true });
    expectShape(twilioConnectedSchema, connected, 200);
    expect(connected.body.mode).toBe('own');
    expectShape(settingsViewSchema, await as(api().get('/api/settings')), 200);
    expectShape(twilioViewSchema, await as(api().get('/api/settings/twilio')), 200);
    expectShape(twilioViewSchema, await as(api().delete('/api/settings/twilio')), 200);
  });

  it('the deal panel, with both directions of the conversation, and its send box', async () => {
    await rig.ctx.automations.create('1001', {
      name: 'Panel follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.negotiation },
      template: 'Hi {{person.first_name}}, any questions?',
    });
    await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.negotiation);
    await rig.drain();
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'Yes, call me' });
    await rig.settle();

    const view = await as(api().get(`/api/panel/deals/${ann().dealId}?limit=50`));
    expectShape(panelViewSchema, view, 200);
    expect(view.body.messages.map((m: { direction: string }) => m.direction).sort()).toEqual(['inbound', 'outbound']);
    const sent = await as(api().post(`/api/panel/deals/${ann().dealId}/messages`)).send({ body: 'See you at 3' });
    expectShape(panelSentSchema, sent, 202);
    await rig.drain();
    expectShape(panelViewSchema, await as(api().get(`/api/panel/deals/${ann().dealId}`)), 200);
    expectRefusal(await as(api().post(`/api/panel/deals/${ann().dealId}/messages`)).send({ body: ' ' }), 400, fieldProblemsSchema);
    expectRefusal(await as(api().get('/api/panel/deals/999999')), 404);
  });

  it('the counts report', async () => {
    const report = await as(api().get('/api/reports?days=7'));
    expectShape(reportSchema, report, 200);
    expect(report.body.rows.length).toBeGreaterThan(0);
    expect(report.body.totals.total).toBeGreaterThan(0);
    expectRefusal(await as(api().get('/api/reports?days=0')), 400, fieldProblemsSchema);
  });

  it('the lists of messages and replies behind the report', async () => {
    const messages = await as(api().get('/api/reports/messages?days=7&limit=1'));
    expectShape(messagesPageSchema, messages, 200);
    expect(messages.body.messages).toHaveLength(1);
    const replies = await as(api().get('/api/reports/replies?days=7'));
    expectShape(repliesPageSchema, replies, 200);
    expect(replies.body.replies.length).toBeGreaterThan(0);
    expectRefusal(await as(api().get('/api/reports/messages?limit=0')), 400, fieldProblemsSchema);
    expectRefusal(await as(api().get('/api/reports/replies?cursor=nope')), 400, fieldProblemsSchema);
  });

  it("a contact's erasure, and the retention setting", async () => {
    expectShape(contactErasedSchema, await as(api().delete(`/api/contacts/${encodeURIComponent('+14155550199')}`)), 200);
    expectRefusal(await as(api().delete('/api/contacts/not-a-number')), 400, fieldProblemsSchema);
    expectShape(settingsSavedSchema, await as(api().patch('/api/settings')).send({ retentionDays: 365 }), 200);
    expectRefusal(await as(api().patch('/api/settings')).send({ retentionDays: 7 }), 400, fieldProblemsSchema);
    expectShape(settingsSavedSchema, await as(api().patch('/api/settings')).send({ retentionDays: null }), 200);
  });

  it('the opt-out list: added by hand and by CSV, listed, removed, refused', async () => {
    expectShape(optOutAddedSchema, await as(api().post('/api/consent/opt-outs')).send({ phones: ['+12125550143', 'nope'], reason: 'Asked by email' }), 200);
    expectShape(optOutAddedSchema, await as(api().post('/api/consent/opt-outs')).set('content-type', 'text/csv').send('phone,reason\n+16465550199,x\n'), 200);
    const listed = await as(api().get('/api/consent/opt-outs?q=212'));
    expectShape(optOutListSchema, listed, 200);
    expect(listed.body.optOuts).toHaveLength(1);
    expectShape(optOutRemovedSchema, await as(api().delete('/api/consent/opt-outs/%2B12125550143')), 200);
    expectRefusal(await as(api().post('/api/consent/opt-outs')).send({ phones: [] }), 400, fieldProblemsSchema);
    expectRefusal(await as(api().post('/api/consent/opt-outs')).set('content-type', 'text/csv').send('number\n1\n'), 400, fieldProblemsSchema);
    expectRefusal(await as(api().get('/api/consent/opt-outs?format=xml')), 400, fieldProblemsSchema);
    expectRefusal(await as(api().delete('/api/consent/opt-outs/not-a-number')), 400, fieldProblemsSchema);
    expectRefusal(await as(api().delete('/api/consent/opt-outs/%2B12125550143')), 404);
  });

  it('the possible opt-outs: listed pending and decided, shown in the panel, decided once', async () => {
    await rig.tw.reply({ from: ANN, to: FROM_NUMBER, body: 'please stop texting me' });
    const pending = await as(api().get('/api/consent/reviews?state=pending'));
    expectShape(reviewListSchema, pending, 200);
    const [review] = pending.body.reviews;
    expect(review).toMatchObject({ phone: ANN, state: 'pending' });
    const panel = await as(api().get(`/api/panel/deals/${ann().dealId}`));
    expectShape(panelViewSchema, panel, 200);
    expect(panel.body.review).toMatchObject({ id: review.id });
    expectShape(reviewSchema, await as(api().post(`/api/consent/reviews/${review.id}`)).send({ decision: 'not_opt_out' }), 200);
    expectShape(reviewListSchema, await as(api().get('/api/consent/reviews?state=decided&limit=5')), 200);
    expectRefusal(await as(api().post(`/api/consent/reviews/${review.id}`)).send({ decision: 'opt_out' }), 409);
    expectRefusal(await as(api().post(`/api/consent/reviews/${review.id}`)).send({ decision: 'perhaps' }), 400, fieldProblemsSchema);
    expectRefusal(await as(api().get('/api/consent/reviews?state=soon')), 400, fieldProblemsSchema);
    expectRefusal(await as(api().get('/api/consent/reviews?limit=0')), 400, fieldProblemsSchema);
    expectRefusal(await as(api().post('/api/consent/reviews/00000000-0000-4000-8000-000000000000')).send({ decision: 'opt_out' }), 404);
  });

  it('refusals of the caller: no token, and a company that has not installed the app', async () => {
    expectRefusal(await api().get('/api/settings'), 401);
    const stranger = await rig.jwt({ userId: 9, companyId: 424242 });
    expectRefusal(await api().get('/api/automations').set('authorization', `Bearer ${stranger}`), 403);
  });

  // The check above must be able to fail: the old nested settings, a key the contract does not know, a missing one.
  it('refuses answers that are not the contract', async () => {
    const view = (await as(api().get('/api/settings'))).body;
    const { maxSegments, keywordReplies, helpText, optOutWords, sendRatePerSecond, ...rest } = view;
    expect(settingsViewSchema.safeParse({ ...rest, settings: { maxSegments, keywordReplies, helpText, optOutWords, sendRatePerSecond } }).success).toBe(false);
    expect(settingsViewSchema.safeParse({ ...view, extra: 1 }).success).toBe(false);
    expect(settingsViewSchema.safeParse({ ...view, twilio: { ...view.twilio, authToken: 'x' } }).success).toBe(false);
    const panel = (await as(api().get(`/api/panel/deals/${ann().dealId}`))).body;
    const { more: _more, ...withoutMore } = panel;
    expect(panelViewSchema.safeParse(withoutMore).success).toBe(false);
    const report = (await as(api().get('/api/reports'))).body;
    expect(reportSchema.safeParse({ ...report, totals: { ...report.totals, sent: String(report.totals.sent) } }).success).toBe(false);
  });
});
