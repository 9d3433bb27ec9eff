import { afterEach, describe, expect, it } from 'vitest';
import { engines } from '../support/rig.js';
import { drainingRig, textsAtTwilio, until } from '../support/app-process.js';

/**
 * SIGTERM in the middle of a drain: the sends under way finish and are recorded, the claims not started go back to the
 * queue (no claim left), the process exits 0 within 10 s, and the next instance sends the rest at once.
 */
const COUNT = 30;
const TAG = 'Graceful drain';

describe.each(engines)('graceful shutdown on %s', (engine) => {
  let setup: Awaited<ReturnType<typeof drainingRig>> | undefined;
  afterEach(async () => setup?.close());

  it('finishes the sends under way, gives back the rest and exits 0 within 10 s; the next instance sends the rest', { timeout: 120_000 }, async () => {
    const s = (setup = await drainingRig(engine, TAG, COUNT));
    const r = s.rig;
    const first = await s.start();
    await until(() => textsAtTwilio(r, TAG).size >= 5, 60_000, 'the first texts at Twilio');
    const underWay = (await s.rows()).filter((m) => m.state === 'sending').length;
    const termAt = Date.now();
    first.child.kill('SIGTERM');
    const ended = await first.exited;
    const shutdownMs = ended.at - termAt;
    expect(ended.code, first.output().slice(-3000)).toBe(0);
    expect(shutdownMs).toBeLessThan(10_000);

    const after = await s.rows();
    // Every text Twilio got is recorded sent (the calls under way were finished, not cut); the rest wait, unclaimed.
    const sentBefore = textsAtTwilio(r, TAG).size;
    expect(after.filter((m) => m.state === 'sent')).toHaveLength(sentBefore);
    expect(after.filter((m) => m.state !== 'sent').every((m) => m.state === 'queued' && m.claimed_by === null && m.claimed_until === null)).toBe(true);
    expect(after.some((m) => m.state === 'queued')).toBe(true);
    expect(await r.ctx.database.db.selectFrom('workers').select('id').execute()).toEqual([]);

    const second = await s.start();
    await until(async () => (await s.rows()).every((m) => m.state === 'sent'), 30_000, 'every text sent');
    const doneAt = Date.now();
    const listeningAt = await second.listening;
    console.log(`graceful shutdown: ${JSON.stringify({ engine, underWay, sentBefore, shutdownMs, restFromListeningMs: doneAt - listeningAt })}`);
    const atTwilio = textsAtTwilio(r, TAG);
    expect(atTwilio.size).toBe(COUNT);
    expect([...atTwilio.values()].every((n) => n === 1)).toBe(true);
    // At once: no lease or heartbeat to wait for, only the sender's pace (10 a second) and Twilio's delay.
    expect(doneAt - listeningAt).toBeLessThan(6_000);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
