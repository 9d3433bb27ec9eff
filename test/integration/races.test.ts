import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
