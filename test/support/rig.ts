import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import twilio from 'twilio';
import { createApp } from '../../server/app.js';
import { createPostgresSchema, releaseSchema, schemaShape, takeIdleSchema } from './postgres.js';
import { loadConfig, type ReadyConfig } from '../../server/config.js';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import type { OutboxWorkerOptions } from '../../server/outbox/outbox-worker.js';
import { createSandboxRouter } from '../../server/sandbox/walkthrough.js';
import type { DemoData } from '../../emulators/demo-data.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import type { TwilioEmulator, TwilioAccount } from '../../emulators/twilio/emulator.js';
import { createEmulatedWorld, DEMO_FROM_NUMBER } from '../../emulators/world.js';

export const CLIENT_ID = 'test-client-id';
/**
 * Quiet hours and the frequency cap, off unless a test asks (outbox: { quietHours: true }): a test about anything else
 * must not depend on the time of day it runs at, nor on how many texts it sends one number. A test that builds a
 * second context on the rig's database spreads this into its outbox options too.
 */
export const SENDING_RULES_OFF = { quietHours: false, frequencyCap: false } as const;
export const FROM_NUMBER = DEMO_FROM_NUMBER;

export type Rig = {
  pd: PipedriveEmulator;
  tw: TwilioEmulator;
  twAccount: TwilioAccount;
  ctx: AppContext;
  config: ReadyConfig;
  appUrl: string;
  dbFile: string;
  demo: DemoData;
  logs: string[];
  /** The install as a browser does it, approving as `userId`. */
  install(userId?: number): Promise<{ status: number; html: string }>;
  /** Installs the admin and sets the demo persons' consent, as the sandbox does. */
  installDemo(): Promise<void>;
  jwt(claims?: Record<string, unknown>, options?: { expiresIn?: string; secret?: string }): Promise<string>;
  /** Runs worker passes until nothing is due (retries scheduled in the future stay queued). */
  drain(maxPasses?: number): Promise<void>;
  /** Runs worker passes until no message or job is waiting, retries included (the rig's backoff is milliseconds). */
  settle(): Promise<void>;
  /**
   * Restarts the app's context on the same database file (a process restart); `whileStopped` runs with the database
   * closed (an operator's step between two versions, say).
   */
  restart(whileStopped?: () => Promise<void>): Promise<void>;
  signTwilio(path: string, params: Record<string, string>): string;
  close(): Promise<void>;
};

export async function createRig(
  options: {
    outbox?: Partial<OutboxWorkerOptions>;
    twilio?: boolean;
    accessTokenTtlSeconds?: number;
    databaseUrl?: string;
    /** Mounts the sandbox walk-through (and its SDK host page), and lets this origin frame the panel. */
    walkthrough?: boolean;
    /** The app's clock (a test moves it to cross a cache window); default the real time. */
    clock?: { now(): number };
    /** METRICS_TOKEN: without it `GET /metrics` does not exist. */
    metricsToken?: string;
  } = {},
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'sms-pd-test-'));
  const dbFile = join(dir, 'app.db');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientSecret = randomBytes(16).toString('hex');
  const world = await createEmulatedWorld({
    pipedrive: {
      clientId: CLIENT_ID,
      clientSecret,
      redirectUri: `${appUrl}/oauth/callback`,
      ...(options.accessTokenTtlSeconds ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}),
    },
    smsUrl: `${appUrl}/webhooks/twilio/inbound`,
  });
  const { pipedrive: pd, twilio: tw, account: twAccount, demo } = world;

  const base = loadConfig({
    PIPEDRIVE_CLIENT_ID: CLIENT_ID,
    PIPEDRIVE_CLIENT_SECRET: clientSecret,
    PIPEDRIVE_OAUTH_URL: pd.url,
    APP_URL: appUrl,
    DATABASE_URL: options.databaseUrl ?? `file:${dbFile}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'debug',
    ...(options.walkthrough ? { FRAME_ANCESTORS: "'self'" } : {}),
    ...(options.metricsToken ? { METRICS_TOKEN: options.metricsToken } : {}),
    ...(options.twilio === false
      ? {}
      : { TWILIO_ACCOUNT_SID: twAccount.sid, TWILIO_AUTH_TOKEN: twAccount.authToken, TWILIO_FROM_NUMBER: FROM_NUMBER, TWILIO_API_URL: tw.url }),
  });
  const config = base as ReadyConfig;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const outboxOptions: Partial<OutboxWorkerOptions> = { retryBaseMs: 5, retryMaxMs: 20, pollMs: 20, ...SENDING_RULES_OFF, ...options.outbox };

  let ctx!: AppContext;
  let handler: ReturnType<typeof createApp>;
  const boot = async () => {
    ctx = createContext(config, { logger: createLogger('debug', sink), outboxOptions, ...(options.clock ? { clock: options.clock } : {}) });
    await ctx.database.migrate({ encryptionKey: ctx.config.encryptionKey });
    handler = createApp(ctx, {
      extraRouters: options.walkthrough ? [createSandboxRouter(ctx, { pd, tw, demo, fromNumber: FROM_NUMBER })] : [],
    });
  };
  await boot();
  server.on('request', (req, res) => handler(req, res));

  const rig: Rig = {
    pd,
    tw,
    twAccount,
    get ctx() {
      return ctx;
    },
    config,
    appUrl,
    dbFile,
    demo,
    logs,
    async install(userId = demo.adminUserId) {
      const r = await world.install(appUrl, userId);
      return { status: r.status, html: r.html };
    },
    async installDemo() {
      const r = await rig.install(demo.adminUserId);
      if (r.status !== 200) throw new Error(`install failed: ${r.status}`);
      const company = await ctx.companies.find(String(demo.companyId));
      await demo.grantConsent(company!.consent_field_key, company!.consent_granted_option, company!.consent_opted_out_option);
    },
    jwt(claims = { userId: demo.adminUserId, companyId: demo.companyId }, opts = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '5m')
        .sign(new TextEncoder().encode(opts.secret ?? config.pipedrive.jwtSecret));
    },
    async drain(maxPasses = 50) {
      for (let i = 0; i < maxPasses; i++) {
        const handled = await ctx.outbox.runOnce();
        if (handled === 0) return;
      }
    },
    async settle() {
      for (let i = 0; i < 200; i++) {
        await rig.drain();
        const db = ctx.database.db;
        const jobs = await db.selectFrom('jobs').select('id').where('state', 'in', ['queued', 'claimed']).execute();
        const messages = await db.selectFrom('outbound_messages').select('id').where('state', 'in', ['queued', 'claimed', 'sending']).execute();
        if (jobs.length === 0 && messages.length === 0) return;
        await sleep(10);
      }
      throw new Error('the outbox did not settle');
    },
    async restart(whileStopped) {
      await ctx.outbox.stop();
      await ctx.database.close();
      await whileStopped?.();
      await boot();
    },
    signTwilio(path, params) {
      return twilio.getExpectedTwilioSignature(twAccount.authToken, `${appUrl}${path}`, params);
    },
    async close() {
      await ctx.outbox.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ctx.database.close();
      await world.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/**
 * The engines the app runs on. Every integration suite where storage matters runs once per engine, as Kysely runs one
 * suite over every dialect: `describe.each(engines)('… on %s', (engine) => …)` with `createRigOn(engine)` inside.
 */
export const engines = ['sqlite', 'postgres'] as const;
export type Engine = (typeof engines)[number];

/** A rig on a fresh SQLite file, or on a throwaway PostgreSQL schema that `close()` drops. */
export async function createRigOn(kind: Engine, options: Parameters<typeof createRig>[0] = {}): Promise<Rig> {
  const rig = kind === 'sqlite' ? await createRig(options) : await onPostgres(options);
  // A suite that means to run on PostgreSQL must not quietly run on SQLite (or the other way round).
  if (rig.ctx.database.kind !== kind) {
    await rig.close();
    throw new Error(`asked for a rig on ${kind}, got one on ${rig.ctx.database.kind}`);
  }
  return rig;
}

/** On an emptied schema of an earlier rig of this file when there is one (migrated already), else on a new one. */
async function onPostgres(options: Parameters<typeof createRig>[0]): Promise<Rig> {
  const reused = takeIdleSchema();
  const pg = reused ?? (await createPostgresSchema());
  const rig = await createRig({ ...options, databaseUrl: pg.url });
  const shape = reused?.shape ?? (await schemaShape(pg));
  const close = rig.close.bind(rig);
  let closed = false;
  rig.close = async () => {
    // Once only: a schema handed back twice would go to two later rigs at once.
    if (closed) return;
    closed = true;
    await close();
    await releaseSchema(pg, shape);
  };
  return rig;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
