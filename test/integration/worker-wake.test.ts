import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
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
});
