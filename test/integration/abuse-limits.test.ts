import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SelectQueryNode, TableNode, type KyselyPlugin } from 'kysely';
import { createApp } from '../../server/app.js';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import { openDatabase } from '../../db/database.js';
import type { WebhookDelivery } from '../../emulators/pipedrive/emulator.js';
import { startTwilioEmulator } from '../../emulators/twilio/emulator.js';
import { createTwilioGateway } from '../../server/twilio/twilio-gateway.js';
import { createRigOn, FROM_NUMBER, engines, type Rig } from '../support/rig.js';

/**
 * Unauthenticated failures are limited per client address; valid traffic from the same address never is. Each test
 * sends from its own loopback address (127.0.0.x), so the addresses are real socket addresses, not headers.
 */
const LIMITS = { failures: 5, windowSeconds: 600, blockSeconds: 300 };

type Answer = { status: number; retryAfter: string | undefined; body: string };

function call(base: string, from: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        localAddress: from,
        agent: false,
        headers: { ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}), ...init.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const json = { 'content-type': 'application/json' };
const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** Counts reads of the companies table, where the webhook's Basic user is looked up. */
function companyReads(onRead: () => void): KyselyPlugin {
  return {
    transformQuery({ node }) {
      if (SelectQueryNode.is(node) && node.from?.froms.some((f) => TableNode.is(f) && f.table.identifier.name === 'companies')) onRead();
      return node;
    },
    async transformResult({ result }) {
      return result;
    },
  };
}

type Instance = { ctx: AppContext; url: string; reads: { companies: number }; close(): Promise<void> };

/** One more app instance on the rig's database, as a second process of a deployment would be. */
async function startInstance(rig: Rig, config: Partial<Rig['config']> = {}): Promise<Instance> {
  const reads = { companies: 0 };
  const raw = openDatabase(rig.config.databaseUrl);
  const database = { ...raw, db: raw.db.withPlugin(companyReads(() => reads.companies++)) };
  const now = Date.now();
  const ctx = createContext({ ...rig.config, ...config }, { logger: createLogger('warn'), database, clock: { now: () => now }, abuseLimits: LIMITS });
  const server: Server = createServer(createApp(ctx));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ctx,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reads,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ctx.outbox.stop();
      await raw.close();
    },
  };
}

describe.each(engines)('abuse limits on %s', (kind) => {
  let rig: Rig;
  let app: Instance;
  let acme: WebhookDelivery;
  let other: WebhookDelivery;

  const replay = (instance: Instance, from: string, delivery: WebhookDelivery) =>
    call(instance.url, from, 'POST', '/webhooks/pipedrive', {
      headers: { ...json, authorization: delivery.headers.authorization! },
      body: JSON.stringify(delivery.payload),
    });
  const wrongPassword = (instance: Instance, from: string, user = 'pd-1001') =>
    call(instance.url, from, 'POST', '/webhooks/pipedrive', {
      headers: { ...json, authorization: basic(user, randomBytes(32).toString('base64url')) },
      body: JSON.stringify(acme.payload),
    });
  const twilioForm = (path: string, params: Record<string, string>, signature: string | null) => ({
    headers: { ...form, ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    body: new URLSearchParams(params).toString(),
  });
  const statusParams = () => ({ MessageSid: `SM${randomBytes(16).toString('hex')}`, MessageStatus: 'delivered', AccountSid: rig.twAccount.sid });
  const inboundParams = () => ({
    MessageSid: `SM${randomBytes(16).toString('hex')}`,
    AccountSid: rig.twAccount.sid,
    From: '+14155550199',
    To: FROM_NUMBER,
    Body: 'hello',
    NumMedia: '0',
  });

  beforeAll(async () => {
    rig = await createRigOn(kind, { outbox: { rateLimit: false } });
    await rig.installDemo();
    rig.pd.addCompany({ id: 2002, name: 'Other Co' });
    rig.pd.addUser({ id: 601, companyId: 2002, name: 'Olga Other', isAdmin: true });
    expect((await rig.install(601)).status).toBe(200);
    // Real deliveries (to the rig's own app) give each company's valid credentials and a well-formed body.
    const ann = rig.demo.persons.find((p) => p.name === 'Ann Granted')!;
    acme = (await rig.pd.moveDealToStage(ann.dealId, rig.demo.stages.quoteSent))[0]!;
    other = (await rig.pd.createDealAndNotify(2002, { title: 'Other deal' })).deliveries[0]!;
    expect([acme.status, other.status]).toEqual([200, 200]);
    app = await startInstance(rig);
  });
  afterAll(async () => {
    await app?.close();
    await rig?.close();
  });

  it('answers 429 with Retry-After once an address is over its limit of bad webhook credentials; valid webhooks from it, and other addresses, are unaffected', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < LIMITS.failures; i++) expect((await wrongPassword(app, from)).status).toBe(401);
    const limited = await wrongPassword(app, from);
    expect(limited.status).toBe(429);
    expect(limited.retryAfter).toMatch(/^\d+$/);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(LIMITS.blockSeconds);
    expect(JSON.parse(limited.body)).toEqual({ error: { code: 'too_many_requests', message: expect.any(String) } });

    // Pipedrive sends every company's webhooks from a few shared addresses: valid ones are served while blocked.
    expect((await replay(app, from, acme)).status).toBe(200);
    expect((await replay(app, from, other)).status).toBe(200);
    expect((await wrongPassword(app, from)).status).toBe(429);
    expect((await wrongPassword(app, '127.0.0.3')).status).toBe(401);
  });

  it('counts every kind of unauthenticated failure: uninstall Basic, Twilio signatures, panel and API tokens', async () => {
    const from = '127.0.0.4';
    const expired = await rig.jwt(undefined, { expiresIn: '2 minutes ago' });
    const forged = await rig.jwt(undefined, { secret: 'not-the-secret' });
    const failures = [
      call(app.url, from, 'DELETE', '/oauth/callback', {
        headers: { ...json, authorization: basic('test-client-id', 'wrong') },
        body: JSON.stringify({ client_id: 'test-client-id', company_id: 1001, user_id: 1 }),
      }),
      call(app.url, from, 'POST', '/webhooks/twilio/inbound', twilioForm('/webhooks/twilio/inbound', inboundParams(), null)),
      call(app.url, from, 'POST', '/webhooks/twilio/status', twilioForm('/webhooks/twilio/status', statusParams(), 'bm90IGEgc2lnbmF0dXJl')),
      call(app.url, from, 'GET', '/api/settings', { headers: { authorization: `Bearer ${expired}` } }),
      call(app.url, from, 'GET', `/panel?token=${forged}`),
    ];
    const statuses = [];
    for (const failure of failures) statuses.push((await failure).status);
    expect(statuses).toEqual([401, 400, 403, 401, 401]);

    const limited = [await call(app.url, from, 'GET', '/settings'), await call(app.url, from, 'GET', '/api/settings')];
    expect(limited.map((r) => r.status)).toEqual([429, 429]);
    expect(limited.every((r) => /^\d+$/.test(r.retryAfter ?? ''))).toBe(true);

    // The same address with valid credentials is served.
    const token = await rig.jwt();
    expect((await call(app.url, from, 'GET', '/api/settings', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const status = statusParams();
    expect((await call(app.url, from, 'POST', '/webhooks/twilio/status', twilioForm('/webhooks/twilio/status', status, rig.signTwilio('/webhooks/twilio/status', status)))).status).toBe(204);
    const inbound = inboundParams();
    expect((await call(app.url, from, 'POST', '/webhooks/twilio/inbound', twilioForm('/webhooks/twilio/inbound', inbound, rig.signTwilio('/webhooks/twilio/inbound', inbound)))).status).toBe(200);
  });

  it('remembers an unknown webhook user for a while: a flood of it reads the companies table once', async () => {
    const from = '127.0.0.5';
    const before = app.reads.companies;
    const statuses = [];
    for (let i = 0; i <= LIMITS.failures; i++) statuses.push((await wrongPassword(app, from, 'pd-999999')).status);
    expect(statuses).toEqual([...Array<number>(LIMITS.failures).fill(401), 429]);
    expect(app.reads.companies - before).toBe(1);
  });

  it('behind a trusted load balancer, counts the client named by X-Forwarded-For, and never trusts the header otherwise', async () => {
    const proxied = await startInstance(rig, { trustProxy: 1 });
    try {
      // Every request reaches the app from the balancer's address; the client is the last hop it appended.
      const via = (client: string) => ({ ...json, 'x-forwarded-for': client });
      const wrongVia = (instance: Instance, client: string) =>
        call(instance.url, '127.0.0.7', 'POST', '/webhooks/pipedrive', {
          headers: { ...via(client), authorization: basic('pd-1001', randomBytes(32).toString('base64url')) },
          body: JSON.stringify(acme.payload),
        });
      for (let i = 0; i < LIMITS.failures; i++) expect((await wrongVia(proxied, '203.0.113.9')).status).toBe(401);
      expect((await wrongVia(proxied, '203.0.113.9')).status).toBe(429);
      // Another client behind the same balancer is not blocked by the first one's failures.
      expect((await wrongVia(proxied, '198.51.100.4')).status).toBe(401);

      // Without TRUST_PROXY the header is the client's own word and is ignored: a flooder cannot dodge its count by
      // inventing a new address each time.
      const from = '127.0.0.8';
      for (let i = 0; i < LIMITS.failures; i++) {
        const r = await call(app.url, from, 'POST', '/webhooks/pipedrive', {
          headers: { ...via(`192.0.2.${i}`), authorization: basic('pd-1001', 'wrong') },
          body: JSON.stringify(acme.payload),
        });
        expect(r.status).toBe(401);
      }
      expect((await wrongPassword(app, from)).status).toBe(429);
    } finally {
      await proxied.close();
    }
  });

  it.runIf(kind === 'postgres')('adds up the failures seen by every instance of a deployment', async () => {
    const second = await startInstance(rig);
    try {
      const from = '127.0.0.6';
      for (let i = 0; i < 3; i++) expect((await wrongPassword(app, from)).status).toBe(401);
      for (let i = 3; i < LIMITS.failures; i++) expect((await wrongPassword(second, from)).status).toBe(401);
      expect((await wrongPassword(app, from)).status).toBe(429);
      expect((await wrongPassword(second, from)).status).toBe(429);
      expect((await replay(second, from, acme)).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

describe('the Twilio client cache', () => {
  it('keeps at most its bound of accounts, and only credentials Twilio accepted', async () => {
    const tw = await startTwilioEmulator();
    try {
      const gateway = createTwilioGateway({ apiUrl: tw.url, maxClients: 3 });
      const accounts = Array.from({ length: 5 }, (_, i) => {
        const account = tw.addAccount();
        tw.addNumber(account.sid, `+1500555002${i}`);
        return { accountSid: account.sid, authToken: account.authToken, from: `+1500555002${i}` };
      });
      for (const { from, ...account } of accounts) expect(await gateway.checkSender(account, { from })).toMatchObject({ ok: true });
      const newest = accounts.slice(2).map((a) => a.accountSid);
      expect(gateway.cachedAccounts().sort()).toEqual([...newest].sort());

      // Refused credentials, whether checked on the settings page or used to send, leave nothing behind.
      const [first, second] = accounts;
      const wrong = (a: typeof first) => ({ accountSid: a!.accountSid, authToken: randomBytes(16).toString('hex') });
      expect(await gateway.checkSender(wrong(first), { from: first!.from })).toMatchObject({ ok: false, reason: 'credentials_refused' });
      await expect(gateway.send(wrong(second), { to: '+14155552671', body: 'hi', from: second!.from })).rejects.toMatchObject({ status: 401, providerCode: 20003 });
      expect(gateway.cachedAccounts().sort()).toEqual([...newest].sort());

      // A cached account whose token Twilio now refuses (rotated in the console) is dropped.
      const rotated = accounts[4]!;
      await expect(gateway.send({ accountSid: rotated.accountSid, authToken: rotated.authToken }, { to: '+14155552671', body: 'hi', from: rotated.from })).resolves.toMatchObject({ sid: expect.any(String) });
      tw.injectFault({ method: 'POST', path: /\/Messages\.json$/, status: 401, code: 20003 });
      await expect(gateway.send({ accountSid: rotated.accountSid, authToken: rotated.authToken }, { to: '+14155552671', body: 'hi', from: rotated.from })).rejects.toMatchObject({ status: 401 });
      expect(gateway.cachedAccounts()).not.toContain(rotated.accountSid);
    } finally {
      await tw.close();
    }
  });
});
