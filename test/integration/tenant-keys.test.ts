import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import twilio from 'twilio';
import { createRigOn, engines, type Rig } from '../support/rig.js';

/**
 * Keys that keep companies apart, on both engines: a deal event is one event only within its company, a status
 * callback changes only a message its own Twilio account sent and is recorded once, and Pipedrive's deal webhooks
 * are accepted in every recorded shape (ids as strings or numbers, timestamps as ISO text or epoch seconds).
 */
const COMPANY = '1001';
const OTHER = 2002;
const OTHER_ADMIN = 601;
const OTHER_STAGE = 77;
const ANN = '+14155552671';

describe.each(engines)('tenant keys on %s', (engine) => {
  let rig: Rig;
  const db = () => rig.ctx.database.db;
  const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
  const basic = (companyId: number) => {
    const hook = rig.pd.webhooks(companyId)[0]!;
    return `Basic ${Buffer.from(`${hook.http_auth_user}:${hook.http_auth_password}`).toString('base64')}`;
  };
  const deliver = (companyId: number, payload: unknown) =>
    request(rig.appUrl).post('/webhooks/pipedrive').set('authorization', basic(companyId)).send(payload as object);
  const queuedFor = (companyId: string) =>
    db().selectFrom('outbound_messages').select(['id', 'event_id']).where('company_id', '=', companyId).execute();

  beforeAll(async () => {
    rig = await createRigOn(engine, { outbox: { rateLimit: false } });
    await rig.installDemo();
    rig.pd.addCompany({ id: OTHER, name: 'Other Co', domain: 'other' });
    rig.pd.addUser({ id: OTHER_ADMIN, companyId: OTHER, name: 'Olga Other', isAdmin: true });
    expect((await rig.install(OTHER_ADMIN)).status).toBe(200);
    await rig.ctx.automations.create(COMPANY, {
      name: 'Quote follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is ready.',
    });
    await rig.ctx.automations.create(String(OTHER), {
      name: 'Other follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: OTHER_STAGE },
      template: 'Hello from Other Co.',
    });
  });
  afterAll(async () => rig.close());

  /** A stage change of Ann's deal in the documented v2 shape, with the meta fields given. */
  const annEntersQuoteSent = (meta: Record<string, unknown>) => ({
    data: { id: ann().dealId, title: 'Solar panels for Ann', person_id: ann().id, stage_id: rig.demo.stages.quoteSent, pipeline_id: rig.demo.pipelineId, owner_id: rig.demo.salesUserId },
    previous: { stage_id: rig.demo.stages.leadIn },
    meta: { action: 'change', entity: 'deal', company_id: COMPANY, entity_id: String(ann().dealId), version: '2.0', attempt: 1, ...meta },
  });

  describe('deal events are idempotent per company', () => {
    it('queues both companies\u2019 messages when they send events with the same meta.id', async () => {
      const shared = randomUUID();
      const a = await deliver(Number(COMPANY), annEntersQuoteSent({ id: shared }));
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ duplicate: false, queued: 1 });
      const b = await deliver(OTHER, {
        data: { id: 5, title: 'Other deal', person_id: 9, stage_id: OTHER_STAGE, pipeline_id: 1 },
        previous: { stage_id: 76 },
        meta: { id: shared, action: 'change', entity: 'deal', company_id: String(OTHER), entity_id: '5', version: '2.0', attempt: 1 },
      });
      expect(b.status).toBe(200);
      expect(b.body).toMatchObject({ duplicate: false, queued: 1 });
      expect((await queuedFor(COMPANY)).filter((r) => r.event_id === shared)).toHaveLength(1);
      expect((await queuedFor(String(OTHER))).filter((r) => r.event_id === shared)).toHaveLength(1);
      // Each company's own retry is still recognised.
      const retry = await deliver(OTHER, {
        data: { id: 5, title: 'Other deal', person_id: 9, stage_id: OTHER_STAGE, pipeline_id: 1 },
        previous: { stage_id: 76 },
        meta: { id: shared, action: 'change', entity: 'deal', company_id: String(OTHER), entity_id: '5', version: '2.0', attempt: 2 },
      });
      expect(retry.body).toMatchObject({ duplicate: true, queued: 0 });
      await db().deleteFrom('outbound_messages').execute();
    });
  });

  describe('deal webhooks in every recorded shape', () => {
    // Copied from the recorded payloads: the documented v2 form (string ids, ISO time), integration platforms' form
    // with numeric company/user/entity ids, and the form with a numeric event id and epoch-seconds time, plus the
    // fields Pipedrive adds that the app does not use.
    const recorded = () => [
      {
        name: 'documented: string ids, ISO timestamp',
        meta: {
          id: randomUUID(), company_id: COMPANY, user_id: String(rig.demo.salesUserId), entity_id: String(ann().dealId),
          timestamp: '2022-11-24T16:00:00.000Z', correlation_id: randomUUID(), is_bulk_edit: false, type: 'application',
          webhook_id: '4710827', webhook_owner_id: '12094821', change_source: 'app', host: 'acme-sandbox.pipedrive.com',
          permitted_user_ids: [String(rig.demo.salesUserId)],
        },
      },
      {
        name: 'UUID event id, numeric company/user/entity ids',
        meta: {
          id: randomUUID(), company_id: Number(COMPANY), user_id: rig.demo.salesUserId, entity_id: ann().dealId,
          timestamp: '2025-06-19T16:07:36.754Z', correlation_id: randomUUID(), is_bulk_edit: false, type: 'general',
          change_source: 'api', permitted_user_ids: [rig.demo.salesUserId],
        },
      },
      {
        name: 'numeric event id, epoch-seconds timestamp',
        meta: {
          id: 1739827361, company_id: Number(COMPANY), user_id: rig.demo.salesUserId, entity_id: ann().dealId,
          timestamp: 1739827361, is_bulk_edit: false, type: 'general', change_source: 'app', webhook_id: 4710827,
          webhook_owner_id: 12094821, host: 'acme-sandbox.pipedrive.com', version: 2, attempt: '1',
        },
      },
    ];

    it('queues the message of each recorded payload shape', async () => {
      for (const shape of recorded()) {
        const res = await deliver(Number(COMPANY), annEntersQuoteSent(shape.meta));
        expect({ shape: shape.name, status: res.status, body: res.body }).toMatchObject({ shape: shape.name, status: 200, body: { duplicate: false, queued: 1 } });
        expect((await queuedFor(COMPANY)).map((r) => r.event_id)).toContain(String(shape.meta.id));
      }
      // Liberal, not lax: a body that is not a deal event at all is still refused with 400.
      for (const body of [
        { hello: 'world' },
        { meta: { id: randomUUID(), company_id: COMPANY } },
        { meta: { id: { nested: true }, action: 'change', entity: 'deal', company_id: COMPANY }, data: {} },
        { meta: { id: 1.5, action: 'change', entity: 'deal', company_id: COMPANY }, data: {} },
        { meta: { id: '', action: 'change', entity: 'deal', company_id: COMPANY }, data: {} },
        [1, 2, 3],
      ]) {
        const res = await deliver(Number(COMPANY), body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
    });

    it('treats a numeric meta.id equal to an earlier string meta.id as the same event', async () => {
      const first = await deliver(Number(COMPANY), annEntersQuoteSent({ id: '424242', timestamp: '2025-02-17T21:22:41Z' }));
      expect(first.body).toMatchObject({ duplicate: false, queued: 1 });
      const again = await deliver(Number(COMPANY), annEntersQuoteSent({ id: 424242, timestamp: 1739827361, attempt: 2 }));
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ duplicate: true, queued: 0 });
    });

    it('accepts the emulator\u2019s numeric form end to end', async () => {
      rig.pd.numericV2Meta = true;
      try {
        await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.leadIn);
        const [delivery] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
        expect(typeof (delivery!.payload.meta as { id: unknown }).id).toBe('number');
        expect(delivery!.status).toBe(200);
        expect(JSON.parse(delivery!.body)).toMatchObject({ duplicate: false, queued: 1 });
      } finally {
        rig.pd.numericV2Meta = false;
      }
    });
  });

  describe('Twilio status callbacks', () => {
    let other: { sid: string; authToken: string };
    let sid: string;
    const statusUrl = () => `${rig.appUrl}/webhooks/twilio/status`;
    const post = (params: Record<string, string>, token: string) =>
      request(rig.appUrl).post('/webhooks/twilio/status').type('form').set('x-twilio-signature', twilio.getExpectedTwilioSignature(token, statusUrl(), params)).send(params);
    const message = () => db().selectFrom('outbound_messages').selectAll().where('provider_sid', '=', sid).executeTakeFirstOrThrow();
    const events = () => db().selectFrom('message_status_events').selectAll().where('provider_sid', '=', sid).execute();

    beforeAll(async () => {
      // Company B brings its own Twilio account, so its auth token signs callbacks the app accepts.
      other = rig.tw.addAccount();
      rig.tw.addNumber(other.sid, '+15005550042');
      const token = await rig.jwt({ userId: OTHER_ADMIN, companyId: OTHER });
      const put = await request(rig.appUrl)
        .put('/api/settings/twilio')
        .set('authorization', `Bearer ${token}`)
        .send({ accountSid: other.sid, authToken: other.authToken, fromNumber: '+15005550042' });
      expect(put.status).toBe(200);
      await db().deleteFrom('outbound_messages').execute();
      const res = await deliver(Number(COMPANY), annEntersQuoteSent({ id: randomUUID() }));
      expect(res.body.queued).toBe(1);
      await rig.drain();
      sid = rig.tw.messagesTo(ANN).at(-1)!.sid;
      expect(await message()).toMatchObject({ company_id: COMPANY, state: 'sent' });
    });

    it('ignores, with a 2xx and a log line, a callback signed by another company\u2019s account naming this message', async () => {
      const before = await message();
      const logged = rig.logs.length;
      const res = await post({ MessageSid: sid, MessageStatus: 'delivered', AccountSid: other.sid, ApiVersion: '2010-04-01' }, other.authToken);
      expect(res.status).toBeLessThan(300);
      expect(await message()).toMatchObject({ provider_status: before.provider_status, status_at: before.status_at });
      expect(await events()).toHaveLength(0);
      expect(rig.logs.slice(logged).join('')).toContain('another Twilio account');
    });

    it('applies the sending account\u2019s callback, and records a replayed one once', async () => {
      expect(await rig.tw.sendStatus(sid, 'delivered')).toBeLessThan(300);
      expect(await rig.tw.sendStatus(sid, 'delivered')).toBeLessThan(300);
      expect(await message()).toMatchObject({ provider_status: 'delivered' });
      expect((await events()).map((e) => e.status)).toEqual(['delivered']);
    });
  });
});
