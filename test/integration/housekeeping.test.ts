import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRigOn, FROM_NUMBER, engines, type Rig } from '../support/rig.js';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

describe.each(engines)('pruning expired records on %s', (kind) => {
  let rig: Rig;
  const db = () => rig.ctx.database.db;

  beforeAll(async () => {
    rig = await createRigOn(kind, { outbox: { rateLimit: false } });
    await rig.installDemo();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('deletes old deal events, status callbacks and finished jobs, in batches, and keeps everything else', async () => {
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    await rig.ctx.automations.create('1001', {
      name: 'Quote',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
      template: 'Hi {{person.first_name}}',
    });
    // Real traffic: a deal event that texts Ann, its status callback, her reply (and its activity job).
    const [recent] = await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
    await rig.drain();
    const [sms] = rig.tw.messagesTo('+14155552671');
    expect(await rig.tw.sendStatus(sms!.sid, 'delivered')).toBe(204);
    await rig.tw.reply({ from: '+14155552671', to: FROM_NUMBER, body: 'Thanks' });
    await rig.settle();

    // Old debris, more than one batch of it.
    const old = ago(40);
    const events = Array.from({ length: 4_500 }, () => ({
      id: randomUUID(), company_id: '1001', entity: 'deal', action: 'change', entity_id: '1', attempt: 1, queued: 0, received_at: old,
    }));
    for (let i = 0; i < events.length; i += 500) await db().insertInto('webhook_events').values(events.slice(i, i + 500)).execute();
    await db().insertInto('message_status_events').values({ id: randomUUID(), provider_sid: `SM${'1'.repeat(32)}`, status: 'sent', error_code: null, received_at: old }).execute();
    const job = (state: 'done' | 'failed' | 'queued') => ({
      id: randomUUID(), company_id: '1001', kind: 'pipedrive.add_activity', payload: '{}', state, next_attempt_at: old, created_at: old, updated_at: old,
    });
    const [doneJob, failedJob, waitingJob] = [job('done'), job('failed'), job('queued')];
    await db().insertInto('jobs').values([doneJob, failedJob, waitingJob]).execute();
    // A message and a reply that old stay: they are the conversation.
    await db().updateTable('outbound_messages').set({ created_at: old }).execute();
    await db().updateTable('inbound_messages').set({ received_at: old }).execute();

    await rig.ctx.outbox.housekeep();

    const left = await db().selectFrom('webhook_events').select(['id', 'received_at']).execute();
    expect(left.map((e) => e.id)).toEqual([recent!.eventId]);
    const statuses = await db().selectFrom('message_status_events').select('provider_sid').execute();
    expect(statuses.map((s) => s.provider_sid)).toEqual([sms!.sid]);
    const jobs = await db().selectFrom('jobs').select(['id', 'state']).execute();
    expect(jobs.map((j) => j.id)).toContain(waitingJob.id);
    expect(jobs.map((j) => j.id)).not.toContain(doneJob.id);
    expect(jobs.map((j) => j.id)).not.toContain(failedJob.id);
    // Jobs finished today (the reply's activity) stay for their 30 days.
    expect(jobs.filter((j) => j.state === 'done').length).toBeGreaterThan(0);
    expect(await db().selectFrom('outbound_messages').select('id').execute()).toHaveLength(1);
    expect(await db().selectFrom('inbound_messages').select('id').execute()).toHaveLength(1);

    // The recent event still guards against Pipedrive's retry.
    const again = await rig.pd.redeliver(recent!.eventId);
    expect(JSON.parse(again.body)).toMatchObject({ duplicate: true, queued: 0 });
  });
});
