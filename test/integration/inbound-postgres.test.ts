import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSchema } from '../support/postgres.js';
import { createRig, FROM_NUMBER, type Rig } from '../support/rig.js';

// The inbound side on PostgreSQL (as in postgres.test.ts: a server on 127.0.0.1:5432 with trust auth), where
// Twilio's retries of one MessageSid may really run at the same time in two connections.
const ANN_PHONE = '+14155552671';
let rig: Rig;
let pgSchema: Awaited<ReturnType<typeof createPostgresSchema>>;
let admin: pg.Client;
let schema: string;

beforeAll(async () => {
  pgSchema = await createPostgresSchema();
  ({ admin, schema } = pgSchema);
  rig = await createRig({ databaseUrl: pgSchema.url, outbox: { rateLimit: false } });
  await rig.installDemo();
  await rig.ctx.automations.create('1001', {
    name: 'Quote',
    enabled: true,
    trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
    template: 'Hi {{person.first_name}}',
  });
  await rig.pd.moveDealToStage(rig.demo.persons[0]!.dealId, rig.demo.stages.quoteSent);
  await rig.drain();
});

afterAll(async () => {
  await rig?.close();
  await pgSchema.drop();
});

describe('inbound texts on PostgreSQL', () => {
  it('records one message and one activity when the same MessageSid arrives twice at once', async () => {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const results = await Promise.all([
      rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Thanks!', messageSid: sid }),
      rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'Thanks!', messageSid: sid }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await rig.settle();
    const { rows } = await admin.query(`SELECT kind, deal_id, person_id, attribution FROM ${schema}.inbound_messages WHERE provider_sid = $1`, [sid]);
    const ann = rig.demo.persons[0]!;
    expect(rows).toEqual([{ kind: 'none', deal_id: ann.dealId, person_id: ann.id, attribution: 'conversation' }]);
    const activities = rig.pd.activities(rig.demo.companyId).filter((a) => a.subject === 'SMS reply from Ann Granted');
    expect(activities).toHaveLength(1);
    const [view] = await rig.ctx.inboundMessages.listForDeal('1001', ann.dealId, ANN_PHONE);
    expect(view).toMatchObject({ body: 'Thanks!', dealId: ann.dealId, personId: ann.id, activity: 'logged' });
  });

  it('records STOP ALL, answers it once, and sets the consent field', async () => {
    const res = await rig.tw.reply({ from: ANN_PHONE, to: FROM_NUMBER, body: 'STOP ALL' });
    expect(res.twiml).toContain('<Message>You have successfully been unsubscribed.');
    await rig.settle();
    expect(await rig.ctx.optOuts.isOptedOut('1001', FROM_NUMBER, ANN_PHONE)).toBe(true);
    const company = (await rig.ctx.companies.find('1001'))!;
    expect(rig.pd.person(rig.demo.persons[0]!.id)!.custom_fields[company.consent_field_key!]).toBe(Number(company.consent_opted_out_option));
  });
});
