import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDueMessages } from '../../db/queue-queries.js';
import { createRig, type Rig } from '../support/rig.js';

// PostgreSQL runs on every machine of this project (CI included) at 127.0.0.1:5432 with trust auth.
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_${randomBytes(6).toString('hex')}`;
let rig: Rig;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(ADMIN_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  rig = await createRig({ databaseUrl: url.toString(), outbox: { rateLimit: false } });
  await rig.installDemo();
});

afterAll(async () => {
  await rig?.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('the same code on PostgreSQL', () => {
  it('migrates, installs, and texts a consenting contact exactly once', async () => {
    expect(rig.ctx.database.kind).toBe('postgres');
    await rig.ctx.automations.create('1001', {
      name: 'Quote',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}',
    });
    const ann = rig.demo.persons[0]!;
    const [delivery] = await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
    expect(delivery!.status).toBe(200);
    await rig.pd.redeliver(delivery!.eventId);
    await rig.drain();
    expect(rig.tw.messagesTo('+14155552671').map((m) => m.body)).toEqual(['Hi Ann\nReply STOP to opt out']);
    const { rows } = await admin.query(`SELECT state FROM ${schema}.outbound_messages`);
    expect(rows).toEqual([{ state: 'sent' }]);
  });

  it('never hands the same row to two concurrent claimers', async () => {
    const at = new Date().toISOString();
    await rig.ctx.database.db
      .insertInto('outbound_messages')
      .values(
        Array.from({ length: 40 }, (_, i) => ({
          id: `pg-claim-${i}`,
          company_id: '1001',
          source: 'automation' as const,
          template: 'x',
          state: 'queued' as const,
          next_attempt_at: at,
          created_at: at,
          updated_at: at,
        })),
      )
      .execute();
    const lease = new Date(Date.now() + 60_000).toISOString();
    const now = new Date().toISOString();
    const batches = await Promise.all(Array.from({ length: 6 }, () => claimDueMessages(rig.ctx.database, now, lease, 10)));
    const ids = batches.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(40);
  });

  it('deletes the company on the last uninstall and keeps the opt-out history', async () => {
    await rig.ctx.optOuts.record({ companyId: '1001', phoneE164: '+14155552671', sender: null, action: 'opt_out', source: 'inbound_keyword' });
    expect((await rig.pd.uninstall({ userId: rig.demo.adminUserId })).status).toBe(200);
    const companies = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.companies`);
    const history = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.consent_events`);
    expect(companies.rows[0].n).toBe(0);
    expect(history.rows[0].n).toBe(1);
  });
});
