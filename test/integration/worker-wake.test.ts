import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import { createRigOn, SENDING_RULES_OFF, sleep, type Rig } from '../support/rig.js';

/**
 * The running worker sleeps only when a pass found nothing and nobody woke it meanwhile. A webhook that queues a text
 * while a pass is under way (after that pass looked for messages) must be sent at once, not after the poll interval.
 * The window is made wide on PostgreSQL: another connection holds the jobs table locked, so the pass that found no
 * message waits at its jobs claim while the webhook arrives.
 */
describe('worker wake during a pass on postgres', () => {
  let rig: Rig;
  const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;

  beforeAll(async () => {
    // A poll interval far longer than the test: a text that waits for it fails the test.
    rig = await createRigOn('postgres', { outbox: { pollMs: 120_000, ...SENDING_RULES_OFF } });
    await rig.installDemo();
    await rig.ctx.automations.create(String(rig.demo.companyId), {
      name: 'Follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}, your quote is on its way.',
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.ctx.outbox.stop();
    await rig?.close();
  });

  it('sends a text queued while a pass that found nothing is still running, without waiting for the poll', async () => {
    rig.ctx.outbox.start();
    // The first passes run (start-up, recovery) and the loop goes to sleep for the long poll.
    await sleep(1_500);
    const locker = new pg.Client({ connectionString: rig.config.databaseUrl });
    await locker.connect();
    // One pass now, so the next one has no dead-worker check due (that one touches the jobs table first).
    rig.ctx.outbox.wake();
    await sleep(100);
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
      // A pass with nothing to do: it finds no message, then waits at the locked jobs table.
      rig.ctx.outbox.wake();
      await sleep(300);
      const [move] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
      expect(JSON.parse(move!.body)).toMatchObject({ queued: 1 });
      await sleep(200);
      expect(rig.tw.messages()).toHaveLength(0);
    } finally {
      await locker.query('COMMIT').catch(() => {});
      await locker.end();
    }
    const deadline = Date.now() + 5_000;
    while (rig.tw.messages().length === 0 && Date.now() < deadline) await sleep(20);
    expect(rig.tw.messages().map((m) => m.to)).toEqual(['+14155552671']);
  }, 30_000);

  it("wakes another instance's idle worker when this one queues a text (LISTEN/NOTIFY), instead of leaving it to its poll", async () => {
    await rig.ctx.outbox.stop();
    // A second instance on the same database, its worker idle with a poll far longer than the test; this instance
    // (the rig's, which receives the webhook) runs no worker at all, so only the other one can send.
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    const other: AppContext = createContext(rig.config, { logger: createLogger('info', quiet), outboxOptions: { pollMs: 120_000, ...SENDING_RULES_OFF } });
    try {
      other.outbox.start();
      await sleep(1_500);
      const before = rig.tw.messages().length;
      const [move] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.negotiation);
      expect(move!.status).toBe(200);
      await rig.ctx.automations.create(String(rig.demo.companyId), {
        name: 'Welcome',
        enabled: true,
        trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.won },
        template: 'Hi {{person.first_name}}, welcome aboard.',
      });
      const [won] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.won);
      expect(JSON.parse(won!.body)).toMatchObject({ queued: 1 });
      const deadline = Date.now() + 5_000;
      while (rig.tw.messages().length === before && Date.now() < deadline) await sleep(20);
      expect(rig.tw.messages().slice(before).map((m) => m.body)).toEqual(['Hi Ann, welcome aboard.\nReply STOP to opt out']);
    } finally {
      await other.outbox.stop();
      await other.database.close();
    }
  }, 30_000);

  it('listens again after its connection is lost, and then wakes for new work as before', async () => {
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    const other: AppContext = createContext(rig.config, { logger: createLogger('info', quiet), outboxOptions: { pollMs: 120_000, ...SENDING_RULES_OFF } });
    const admin = new pg.Client({ connectionString: rig.config.databaseUrl });
    await admin.connect();
    try {
      // The listening connections there are before this instance starts (other test files share the server).
      const listening = async () =>
        (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN sms_outbox_wake'`)).rows.map((r) => r.pid);
      const others = new Set(await listening());
      other.outbox.start();
      await sleep(1_000);
      const mine = (await listening()).filter((pid) => !others.has(pid));
      expect(mine).toHaveLength(1);
      // The database drops the listening connection (a restart, a failover, an idle timeout in between).
      const killed = await admin.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [mine[0]]);
      expect(killed.rows[0]?.done).toBe(true);
      await sleep(300);
      expect(await listening()).not.toContain(mine[0]);
      await sleep(2_500);
      const before = rig.tw.messages().length;
      const [lead] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.leadIn);
      expect(lead!.status).toBe(200);
      const [won] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.won);
      expect(JSON.parse(won!.body)).toMatchObject({ queued: 1 });
      const deadline = Date.now() + 5_000;
      while (rig.tw.messages().length === before && Date.now() < deadline) await sleep(20);
      expect(rig.tw.messages()).toHaveLength(before + 1);
    } finally {
      await admin.end();
      await other.outbox.stop();
      await other.database.close();
    }
  }, 30_000);
});
