import { afterEach, describe, expect, it } from 'vitest';
import { engines } from '../support/rig.js';
import { drainingRig, textsAtTwilio, until } from '../support/app-process.js';

/**
 * A process killed (SIGKILL) in the middle of a drain, with Twilio calls under way, and started again: every text goes
 * out within 10 s of the restart, and none twice. On SQLite the new process takes back its predecessor's claims as it
 * starts; on PostgreSQL the dead worker's heartbeat ages out (5 s) and its claims return then.
 */
const COUNT = 30;
const TAG = 'Crash drain';

describe.each(engines)('crash recovery on %s', (engine) => {
  let setup: Awaited<ReturnType<typeof drainingRig>> | undefined;
  afterEach(async () => setup?.close());

  it('sends every message once within 10 s of a restart after a SIGKILL mid-drain', { timeout: 120_000 }, async () => {
    const s = (setup = await drainingRig(engine, TAG, COUNT));
    const r = s.rig;
    const first = await s.start();
    await until(() => textsAtTwilio(r, TAG).size >= 5, 60_000, 'the first texts at Twilio');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const left = await s.rows();
    // The kill left work behind: claims of the dead process, and sends it never confirmed.
    const heldByDead = left.filter((m) => m.state === 'claimed' || m.state === 'sending').length;
    const sendingAtKill = left.filter((m) => m.state === 'sending').length;
    expect(heldByDead).toBeGreaterThan(0);

    const second = await s.start();
    await until(async () => (await s.rows()).every((m) => m.state === 'sent'), 30_000, 'every text sent');
    const doneAt = Date.now();
    const listeningAt = await second.listening;
    const recovery = { engine, heldByDead, sendingAtKill, fromSpawnMs: doneAt - second.spawnedAt, fromListeningMs: doneAt - listeningAt };
    console.log(`crash recovery: ${JSON.stringify(recovery)}`);

    const atTwilio = textsAtTwilio(r, TAG);
    expect(atTwilio.size).toBe(COUNT);
    expect([...atTwilio.values()].every((n) => n === 1)).toBe(true);
    expect(recovery.fromListeningMs).toBeLessThan(10_000);
    expect((await s.rows()).every((m) => m.claimed_by === null)).toBe(true);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    // The stopped process removed its worker row; the killed one's row was removed by its successor.
    expect(await r.ctx.database.db.selectFrom('workers').select('id').execute()).toEqual([]);
  });
});
