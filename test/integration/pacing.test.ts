import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import { createRigOn, type Rig } from '../support/rig.js';

/**
 * The per-sender pace holds across processes: two app instances (two contexts, each with its own database
 * connection and worker) draining one queue still text through one sender no faster than its rate.
 */
describe.each(['sqlite', 'postgres'] as const)('two workers sharing one sender on %s', (kind) => {
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
    second = createContext(rig.config, { logger: createLogger('info', sink), outboxOptions: { ...outbox, retryBaseMs: 5, retryMaxMs: 20 } });
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
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(500);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual((times.length - 1) * 1000 - 300);
    // Both instances did part of the work, so the pace really was shared between them.
    const sent = (logs: string[]) => logs.filter((l) => l.includes('"msg":"SMS sent"')).length;
    expect(sent(rig.logs)).toBeGreaterThan(0);
    expect(sent(secondLogs)).toBeGreaterThan(0);
    expect(sent(rig.logs) + sent(secondLogs)).toBe(times.length);
  }, 30_000);
});
