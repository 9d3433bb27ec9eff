import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSchema } from '../support/postgres.js';
import { claimDueMessages } from '../../db/queue-queries.js';
import { isForeignKeyViolation } from '../../db/database.js';
import { parseDealWebhook } from '../../server/automations/deal-event.js';
import { createRig, FROM_NUMBER, type Rig } from '../support/rig.js';

let rig: Rig;
let pgSchema: Awaited<ReturnType<typeof createPostgresSchema>>;
let admin: pg.Client;
let schema: string;

beforeAll(async () => {
  pgSchema = await createPostgresSchema();
  ({ admin, schema } = pgSchema);
  rig = await createRig({ databaseUrl: pgSchema.url, outbox: { rateLimit: false } });
  await rig.installDemo();
});

/** `n` queued outbound rows with nothing else to them: material for the claim queries. */
async function queueBareMessages(prefix: string, n: number): Promise<void> {
  const at = new Date().toISOString();
  await rig.ctx.database.db
    .insertInto('outbound_messages')
    .values(
      Array.from({ length: n }, (_, i) => ({
        id: `${prefix}-${i}`,
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
}

afterAll(async () => {
  await rig?.close();
  await pgSchema.drop();
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
    // The reports' aggregates (COUNT DISTINCT over CASE, bigint counts) read the same on PostgreSQL.
    await rig.tw.reply({ from: '+14155552671', to: FROM_NUMBER, body: 'Thanks!' });
    const report = await rig.ctx.reports.report('1001', { since: new Date(Date.now() - 86_400_000), until: new Date(Date.now() + 1000) });
    expect(report.rows).toEqual([expect.objectContaining({ name: 'Quote', exists: true, total: 1, sent: 1, replied: 1, skippedByReason: {} })]);
  });

  it('never hands the same row to two concurrent claimers', async () => {
    await queueBareMessages('pg-claim', 40);
    const lease = new Date(Date.now() + 60_000).toISOString();
    const now = new Date().toISOString();
    const batches = await Promise.all(Array.from({ length: 6 }, () => claimDueMessages(rig.ctx.database, now, lease, 10)));
    const ids = batches.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(40);
  });

  it('records a burst of deal events in one commit, and the rest of it when one event cannot be written', async () => {
    const ann = rig.demo.persons[0]!;
    const event = (id: string, companyId = '1001') => {
      const parsed = parseDealWebhook({
        meta: { id, action: 'change', entity: 'deal', company_id: companyId, entity_id: String(ann.dealId), attempt: 1, version: '2.0' },
        data: { id: ann.dealId, title: 'Solar', person_id: ann.id, stage_id: rig.demo.stages.quoteSent, pipeline_id: 1 },
        previous: { stage_id: rig.demo.stages.leadIn },
      });
      if (!parsed.ok) throw new Error(parsed.message);
      return parsed.event;
    };
    const ids = Array.from({ length: 6 }, () => randomUUID());
    // PostgreSQL aborts the whole transaction on the orphan's foreign-key error; every other event must still land.
    const burst = [...ids.map((id) => event(id)), event(ids[0]!), event(randomUUID(), '7777')];
    const results = await Promise.allSettled(burst.map((e) => rig.ctx.dealEvents.record(e, Date.now())));
    expect(results.slice(0, 6)).toEqual(ids.map(() => ({ status: 'fulfilled', value: { duplicate: false, queued: 1 } })));
    expect(results[6]).toEqual({ status: 'fulfilled', value: { duplicate: true, queued: 0 } });
    expect(results[7]!.status).toBe('rejected');
    expect(isForeignKeyViolation((results[7] as PromiseRejectedResult).reason)).toBe(true);
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.outbound_messages WHERE event_id = ANY($1)`, [ids]);
    expect(rows[0].n).toBe(6);
  });

  it('claims no more rows than asked, even with SKIP LOCKED', async () => {
    const waiting = await rig.ctx.database.db.selectFrom('outbound_messages').select('id').where('state', '=', 'queued').execute();
    await queueBareMessages('pg-limit', 10);
    const lease = new Date(Date.now() + 60_000).toISOString();
    const first = await claimDueMessages(rig.ctx.database, new Date().toISOString(), lease, 3);
    expect(first).toHaveLength(3);
    const rest = await claimDueMessages(rig.ctx.database, new Date().toISOString(), lease, 100);
    expect(rest).toHaveLength(waiting.length + 10 - 3);
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
