import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import { createRig, createRigOn, FROM_NUMBER, engines, SENDING_RULES_OFF, type Rig } from '../support/rig.js';

/**
 * The per-sender pace holds across processes: two app instances (two contexts, each with its own database
 * connection and worker) draining one queue still text through one sender no faster than its rate.
 */
describe.each(engines)('two workers sharing one sender on %s', (kind) => {
  let rig: Rig;
  let second: AppContext;
  const secondLogs: string[] = [];

  beforeAll(async () => {
    // One message at a time per worker, so each instance claims its own rows of the same sender.
    const outbox = { rateLimit: true, concurrency: 1 };
    rig = await createRigOn(kind, { outbox });
    await rig.installDemo();
    const sink = new Writable({
      write(chunk, _enc, done) {
        secondLogs.push(chunk.toString());
        done();
      },
    });
    second = createContext(rig.config, { logger: createLogger('info', sink), outboxOptions: { ...outbox, retryBaseMs: 5, retryMaxMs: 20, ...SENDING_RULES_OFF } });
  });
  afterAll(async () => {
    await second?.database.close();
    await rig?.close();
  });

  it('keeps one sender to its rate whichever instance sends: one slot a second between them', async () => {
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    for (let i = 1; i <= 6; i++) {
      await rig.ctx.automations.create('1001', {
        name: `Follow-up ${i}`,
        enabled: true,
        trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
        template: `Message ${i} for {{person.first_name}}`,
      });
    }
    const [delivery] = await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
    expect(JSON.parse(delivery!.body)).toMatchObject({ queued: 6 });

    const deadline = Date.now() + 15_000;
    while (rig.tw.messages().length < 4 && Date.now() < deadline) {
      // Both instances at once, as two processes would.
      await Promise.all([rig.ctx.outbox.runOnce(), second.outbox.runOnce()]);
      await new Promise((r) => setTimeout(r, 50));
    }
    const times = rig.tw
      .messages()
      .map((m) => m.dateCreated.getTime())
      .sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(4);
    // Slots are a second apart; a send can leave some way after its slot when both workers share one busy event loop
    // (as here, and more so on a loaded CI machine). Without a shared pace the two would send at the same moment.
    // Measured from the second text: the first send of a fresh process opens its connection and may leave late, which
    // shortens the first gap without breaking the pace.
    const paced = times.slice(1);
    for (let i = 1; i < paced.length; i++) expect(paced[i]! - paced[i - 1]!).toBeGreaterThanOrEqual(500);
    expect(paced.at(-1)! - paced[0]!).toBeGreaterThanOrEqual((paced.length - 1) * 1000 - 300);
    // Both instances did part of the work, so the pace really was shared between them.
    const sent = (logs: string[]) => logs.filter((l) => l.includes('"msg":"SMS sent"')).length;
    expect(sent(rig.logs)).toBeGreaterThan(0);
    expect(sent(secondLogs)).toBeGreaterThan(0);
    expect(sent(rig.logs) + sent(secondLogs)).toBe(times.length);
  }, 30_000);
});

/**
 * The app's shared sender belongs to the operator: it is paced by SHARED_SENDER_RATE whatever any company sets. A
 * company's own sending speed, bounded, applies only to its own Twilio sender.
 */
describe('who sets the pace of a sender', () => {
  const SHARED_RATE = 4;
  const OWN_NUMBER = '+15005550010';
  let rig: Rig;
  let operator: AppContext;
  let admin: string;
  const ann = () => rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
  const patch = (body: object) => request(rig.appUrl).patch('/api/settings').set('authorization', `Bearer ${admin}`).send(body);

  beforeAll(async () => {
    rig = await createRig({ outbox: { rateLimit: true } });
    await rig.installDemo();
    admin = await rig.jwt();
    for (let i = 1; i <= 4; i++) {
      await rig.ctx.automations.create('1001', {
        name: `Step ${i}`,
        enabled: true,
        trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
        template: `Step ${i} for {{person.first_name}}`,
      });
    }
    // The app as the operator runs it, with SHARED_SENDER_RATE=4, on the same database.
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    operator = createContext({ ...rig.config, sharedSenderRate: SHARED_RATE }, { logger: createLogger('info', quiet), outboxOptions: { rateLimit: true, retryBaseMs: 5, retryMaxMs: 20, ...SENDING_RULES_OFF } });
  });
  afterAll(async () => {
    await operator?.database.close();
    await rig?.close();
  });

  /** Moves Ann's deal into "Quote sent" (four texts) and answers when each left, as Twilio saw it. */
  async function fourTexts(): Promise<Array<{ at: number; from: string }>> {
    const before = rig.tw.messages().length;
    await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.leadIn);
    const [delivery] = await rig.pd.moveDealToStage(ann().dealId, rig.demo.stages.quoteSent);
    expect(JSON.parse(delivery!.body)).toMatchObject({ queued: 4 });
    for (const deadline = Date.now() + 6_000; rig.tw.messages().length < before + 4 && Date.now() < deadline; ) {
      await operator.outbox.runOnce();
      await new Promise((r) => setTimeout(r, 20));
    }
    return rig.tw
      .messages()
      .slice(before)
      .map((m) => ({ at: m.dateCreated.getTime(), from: m.from }))
      .sort((a, b) => a.at - b.at);
  }
  /**
   * The time between one text and the next, from the second on: the first send on an account opens its connection
   * and can leave late, which shortens the first gap without breaking the pace.
   */
  const gaps = (texts: Array<{ at: number }>) => texts.slice(2).map((t, i) => t.at - texts[i + 1]!.at);

  it("paces the shared sender at SHARED_SENDER_RATE, whatever rate a company asks for", async () => {
    // Tiny, huge, and a tiny value stored before the bounds existed (read back clamped, never an error).
    const stored = async () => {
      const settings = JSON.stringify({ maxSegments: 2, sendRatePerSecond: 0.0001 });
      await rig.ctx.database.db.updateTable('companies').set({ settings }).where('id', '=', '1001').execute();
      const seen = await request(rig.appUrl).get('/api/settings').set('authorization', `Bearer ${admin}`);
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ maxSegments: 2, sendRatePerSecond: 0.1 });
    };
    for (const set of [() => patch({ sendRatePerSecond: 0.1 }), () => patch({ sendRatePerSecond: 100 }), stored]) {
      const answer = await set();
      if (answer) expect(answer.status).toBe(200);
      const texts = await fourTexts();
      expect(texts).toHaveLength(4);
      expect(texts.every((t) => t.from === FROM_NUMBER)).toBe(true);
      // A quarter of a second apart (some slack for a busy machine), never the company's 10 ms or 10 s.
      for (const gap of gaps(texts)) expect(gap).toBeGreaterThanOrEqual(150);
      expect(texts.at(-1)!.at - texts[0]!.at).toBeLessThan(2_000);
    }
  }, 30_000);

  it('refuses a company rate outside 0.1 to 100 messages a second with 400 and the reason', async () => {
    expect((await patch({ sendRatePerSecond: 1 })).status).toBe(200);
    for (const [value, reason] of [
      [0.0001, 'at least 0.1'],
      [0.05, 'at least 0.1'],
      [0, 'at least 0.1'],
      [101, 'at most 100'],
      [1000, 'at most 100'],
    ] as const) {
      const res = await patch({ sendRatePerSecond: value });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('sendRatePerSecond');
      expect(res.body.error.message).toContain(reason);
    }
    expect((await patch({ sendRatePerSecond: 'fast' })).status).toBe(400);
    const seen = await request(rig.appUrl).get('/api/settings').set('authorization', `Bearer ${admin}`);
    expect(seen.body.sendRatePerSecond).toBe(1);
  });

  it("paces a company's own Twilio sender at the company's own rate", async () => {
    const own = rig.tw.addAccount();
    rig.tw.addNumber(own.sid, OWN_NUMBER);
    const connect = await request(rig.appUrl)
      .put('/api/settings/twilio')
      .set('authorization', `Bearer ${admin}`)
      .send({ accountSid: own.sid, authToken: own.authToken, fromNumber: OWN_NUMBER });
    expect(connect.status).toBe(200);
    // Slower than the shared sender's 4 a second, so the texts show whose pace they kept.
    expect((await patch({ sendRatePerSecond: 2 })).status).toBe(200);
    const texts = await fourTexts();
    expect(texts).toHaveLength(4);
    expect(texts.every((t) => t.from === OWN_NUMBER)).toBe(true);
    for (const gap of gaps(texts)) expect(gap).toBeGreaterThanOrEqual(400);
  }, 30_000);
});
