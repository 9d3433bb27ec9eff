import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import * as store from '../../server/outbox/outbox-store.js';
import { createRigOn, engines, SENDING_RULES_OFF, sleep, type Rig } from '../support/rig.js';

/**
 * Two app instances on one database, as two processes behind a load balancer: what one reads may be changed by the
 * other before it writes. Each state change must hold as one conditional statement, so no update is lost.
 */
describe.each(engines)('concurrent writers on %s', (kind) => {
  let rig: Rig;
  let second: AppContext;
  let secondServer: Server;
  let secondUrl: string;

  beforeAll(async () => {
    rig = await createRigOn(kind);
    await rig.installDemo();
    second = createContext(rig.config, { logger: createLogger('warn'), outboxOptions: { retryBaseMs: 5, retryMaxMs: 20, ...SENDING_RULES_OFF } });
    const app = createApp(second);
    secondServer = createServer((req, res) => app(req, res));
    await new Promise<void>((resolve) => secondServer.listen(0, '127.0.0.1', resolve));
    secondUrl = `http://127.0.0.1:${(secondServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await second?.outbox.stop();
    await new Promise<void>((resolve) => {
      if (!secondServer) return resolve();
      secondServer.close(() => resolve());
      secondServer.closeAllConnections();
    });
    await second?.database.close();
    await rig?.close();
  });

  const newSid = () => `SM${randomBytes(16).toString('hex')}`;

  /** A message the worker sent through the app's shared account, Twilio's first answer recorded. */
  async function sentMessages(n: number, state: 'sent' | 'sending' = 'sent'): Promise<{ id: string; sid: string }[]> {
    const at = new Date().toISOString();
    const rows = Array.from({ length: n }, () => ({
      id: randomUUID(),
      company_id: String(rig.demo.companyId),
      source: 'panel' as const,
      created_by: String(rig.demo.adminUserId),
      deal_id: 1,
      person_id: 1,
      template: 'Hello',
      context: '{}',
      state,
      to_e164: '+15005550006',
      body: 'Hello',
      sid: newSid(),
      ...(state === 'sent' ? { account_sid: rig.twAccount.sid, provider_status: 'queued', sent_at: at, status_at: at } : { sending_at: at, attempts: 1 }),
      next_attempt_at: at,
      created_at: at,
      updated_at: at,
    }));
    const values = rows.map(({ sid, ...row }) => (state === 'sent' ? { ...row, provider_sid: sid } : row));
    for (let i = 0; i < values.length; i += 100) await rig.ctx.database.db.insertInto('outbound_messages').values(values.slice(i, i + 100)).execute();
    return rows.map((r) => ({ id: r.id, sid: r.sid }));
  }

  /** A status callback as Twilio posts it, signed with the shared account's token, to one of the two instances. */
  async function callback(baseUrl: string, sid: string, status: string): Promise<number> {
    const params = { AccountSid: rig.twAccount.sid, MessageSid: sid, MessageStatus: status };
    const res = await fetch(`${baseUrl}/webhooks/twilio/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': rig.signTwilio('/webhooks/twilio/status', params) },
      body: new URLSearchParams(params).toString(),
    });
    return res.status;
  }

  const statusOf = async (ids: string[]) =>
    new Map(
      (await rig.ctx.database.db.selectFrom('outbound_messages').select(['id', 'provider_status']).where('id', 'in', ids).execute()).map((r) => [
        r.id,
        r.provider_status,
      ]),
    );

  it("keeps 'delivered' when 'sent' and 'delivered' arrive together at two instances, in either order", async () => {
    const messages = await sentMessages(200);
    const codes = await Promise.all(
      messages.flatMap((m, i) => {
        // Half the messages get 'sent' first, half 'delivered' first; each callback goes to a different instance.
        const [a, b] = i % 2 === 0 ? ['sent', 'delivered'] : ['delivered', 'sent'];
        return [callback(rig.appUrl, m.sid, a!), callback(secondUrl, m.sid, b!)];
      }),
    );
    expect(codes.every((c) => c === 204)).toBe(true);
    const status = await statusOf(messages.map((m) => m.id));
    const lost = messages.filter((m) => status.get(m.id) !== 'delivered');
    expect(lost.length).toBe(0);
    // Each callback is recorded once, whichever instance took it.
    const events = await rig.ctx.database.db
      .selectFrom('message_status_events')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('provider_sid', 'in', messages.map((m) => m.sid))
      .executeTakeFirst();
    expect(Number(events?.n)).toBe(400);
  }, 60_000);

  it('resolves each pair of callbacks by rank, and moves a message sent before accounts were recorded', async () => {
    const pairs: [string, string, string][] = [
      ['delivered', 'sent', 'delivered'],
      ['delivered', 'failed', 'delivered'],
      ['delivered', 'undelivered', 'delivered'],
      ['undelivered', 'failed', 'undelivered'],
      ['failed', 'delivered', 'delivered'],
      ['delivered', 'read', 'read'],
    ];
    const messages = await sentMessages(pairs.length + 1);
    for (const [i, [first, then]] of pairs.entries()) {
      expect(await callback(rig.appUrl, messages[i]!.sid, first)).toBe(204);
      expect(await callback(secondUrl, messages[i]!.sid, then)).toBe(204);
    }
    // A row without its account (sent before the app recorded it) is judged by its company's account: the shared one.
    const legacy = messages.at(-1)!;
    await rig.ctx.database.db.updateTable('outbound_messages').set({ account_sid: null }).where('id', '=', legacy.id).execute();
    expect(await callback(secondUrl, legacy.sid, 'delivered')).toBe(204);
    const status = await statusOf(messages.map((m) => m.id));
    expect(pairs.map((_, i) => status.get(messages[i]!.id))).toEqual(pairs.map(([, , kept]) => kept));
    expect(status.get(legacy.id)).toBe('delivered');
  });

  it("keeps a callback that arrives while the send is being confirmed: 'delivered' is applied, whichever lands first", async () => {
    // The worker of one instance confirms Twilio's answer ('queued') while the other instance takes the 'delivered'
    // callback for the same sid, before the row carries it or just after.
    const messages = await sentMessages(200, 'sending');
    const at = Date.now();
    const codes = await Promise.all(
      messages.map(async (m, i) => {
        // A few milliseconds either way, so some callbacks land before the confirmation, some after, some during it.
        const confirm = async () => {
          await sleep(i % 5);
          await store.markSent(second.database.db, m.id, { sid: m.sid, accountSid: rig.twAccount.sid, status: 'queued', errorCode: null }, at);
        };
        const [code] = await Promise.all([callback(rig.appUrl, m.sid, 'delivered'), confirm()]);
        return code;
      }),
    );
    expect(codes.every((c) => c === 204)).toBe(true);
    const status = await statusOf(messages.map((m) => m.id));
    expect(messages.filter((m) => status.get(m.id) !== 'delivered').length).toBe(0);
  }, 60_000);
});

/** Two instances, each with its own connection and worker, sending automation messages from one queue. */
async function secondInstance(rig: Rig, outbox: Record<string, unknown> = {}): Promise<AppContext> {
  return createContext(rig.config, { logger: createLogger('warn'), outboxOptions: { retryBaseMs: 5, retryMaxMs: 20, ...SENDING_RULES_OFF, ...outbox } });
}

describe.each(engines)('the frequency cap and the token refresh with two instances on %s', (kind) => {
  let rig: Rig | undefined;
  let second: AppContext | undefined;
  afterEach(async () => {
    await second?.outbox.stop();
    await second?.database.close();
    await rig?.close();
    rig = undefined;
    second = undefined;
  });

  it('sends no more than the cap to one number when both instances decide at once', async () => {
    // No sender pace, so the messages are decided side by side rather than a second apart.
    const outbox = { frequencyCap: true, rateLimit: false };
    rig = await createRigOn(kind, { outbox });
    await rig.installDemo();
    second = await secondInstance(rig, outbox);
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    // Eight automations on one stage: one deal event queues eight messages to Ann; the cap is three a day.
    for (let i = 1; i <= 8; i++) {
      await rig.ctx.automations.create('1001', {
        name: `Follow-up ${i}`,
        enabled: true,
        trigger: { event: 'deal.stage_entered', stageId: rig.demo.stages.quoteSent },
        template: `Message ${i} for {{person.first_name}}`,
      });
    }
    await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent);
    // Both instances at once, as two processes would, until nothing waits (a retry is due a few milliseconds later).
    const waiting = () => rig!.ctx.database.db.selectFrom('outbound_messages').select('id').where('state', 'in', ['queued', 'claimed', 'sending']).execute();
    for (let pass = 0; pass < 100 && (await waiting()).length > 0; pass++) {
      await Promise.all([rig.ctx.outbox.runOnce(), second.outbox.runOnce()]);
      await sleep(10);
    }
    const rows = await rig.ctx.database.db.selectFrom('outbound_messages').select(['state', 'skip_reason']).execute();
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(3);
    expect(rows.filter((r) => r.state === 'skipped' && r.skip_reason === 'frequency_cap')).toHaveLength(5);
    expect(rig.tw.messages()).toHaveLength(3);
  }, 60_000);

  it('keeps the installation when both instances refresh its Pipedrive token at once', async () => {
    // Tokens that live 30 s are inside the refresh margin: each instance's first call refreshes.
    rig = await createRigOn(kind, { accessTokenTtlSeconds: 30 });
    await rig.installDemo();
    second = await secondInstance(rig);
    const before = rig.pd.refreshCount();
    const person = rig.demo.persons[0]!;
    const [a, b] = await Promise.all([rig.ctx, second].map(async (ctx) => (await ctx.installations.crmFor('1001')).getPerson(person.id)));
    expect([a?.id, b?.id]).toEqual([person.id, person.id]);
    expect(rig.pd.refreshCount() - before).toBeGreaterThanOrEqual(1);
    // Whichever refresh was stored last, the stored tokens still work: a fresh instance reads them and calls Pipedrive.
    rig.pd.expireAccessTokens();
    await rig.restart();
    expect((await (await rig.ctx.installations.crmFor('1001')).getPerson(person.id))?.id).toBe(person.id);
  }, 60_000);
});
