import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import express from 'express';
import SqliteDriver from 'better-sqlite3';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createApp } from '../../server/app.js';
import { loadConfig, type ReadyConfig } from '../../server/config.js';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import type { AutomationInput } from '../../server/automations/automation-store.js';
import { companySettingsSchema } from '../../server/companies/company-settings.js';
import { serve } from './ipc.js';
import { panelProbes } from './panel-probe.js';
import { summariseProfile, type ProfileSummary } from './profile.js';

/**
 * The app under test, in its own process: the real context and Express app on a SQLite file (as in production) or on
 * a PostgreSQL schema made for the run, and next to it the baseline, a bare Express 5 app with express.json() that
 * answers 200, served the same way. The outbox worker is not started unless asked (`startWorker`); the orchestrator
 * drives it with `drain` so the drain is timed on its own. Every SQL statement the app sends is counted (`queries`),
 * for the database cost per message.
 */

export type Engine = 'sqlite' | 'postgres';
export type HostInit = {
  env: Record<string, string>;
  logLevel: string;
  engine?: Engine;
  /** PostgreSQL only: join this schema (made by another host of the run) instead of making one; it is not dropped. */
  joinUrl?: string;
  /** The worker's options; by default the pace is lifted (`rateLimit: false`) so the drain measures the app. */
  outboxOptions?: Record<string, unknown>;
};
export type HostInfo = { appUrl: string; bareUrl: string; dbFile: string; databaseUrl: string; engine: Engine; pid: number };
export type DrainResult = { handled: number; passes: number; ms: number; states: Record<string, number>; cpuMs: number; queries: number };
export type CpuSample = { userMs: number; systemMs: number; at: number };
export type Observation = { loopDelayP50Ms: number; loopDelayP99Ms: number; loopDelayMaxMs: number; gcCount: number; gcTotalMs: number; gcMaxMs: number };

let ctx: AppContext | null = null;
let info: HostInfo | null = null;
let dir: string | null = null;
/** The PostgreSQL schema this host made, dropped at close. */
let ownSchema: { admin: pg.Client; name: string } | null = null;
let queryCount = 0;

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Per statement text on PostgreSQL between sqlTimesStart and sqlTimesStop: how often, and the wall time to its answer. */
let sqlTimes: Map<string, { count: number; ms: number }> | null = null;
function addSqlTime(text: string, ms: number): void {
  const entry = sqlTimes?.get(text);
  if (entry) {
    entry.count++;
    entry.ms += ms;
  } else sqlTimes?.set(text, { count: 1, ms });
}
export type SqlTime = { sql: string; count: number; totalMs: number; meanMs: number };
function sqlTimesStart(): void {
  sqlTimes = new Map();
}
/** The statements that took the most time in all, for where a round's database time goes. */
function sqlTimesStop({ top }: { top: number }): SqlTime[] {
  const all = [...(sqlTimes ?? new Map<string, { count: number; ms: number }>()).entries()];
  sqlTimes = null;
  return all
    .map(([sql, t]) => ({ sql: sql.replace(/\s+/g, ' ').slice(0, 240), count: t.count, totalMs: Math.round(t.ms), meanMs: Math.round((t.ms / t.count) * 100) / 100 }))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
}

/** Counts every statement: node-postgres sends each one (BEGIN and COMMIT included) through Client#query. */
function countQueries(engine: Engine): void {
  if (engine === 'postgres') {
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      queryCount++;
      const result = query.apply(this, args);
      if (sqlTimes && result instanceof Promise) {
        const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string } | undefined)?.text);
        const started = performance.now();
        void result.then(
          () => addSqlTime(text, performance.now() - started),
          () => addSqlTime(text, performance.now() - started),
        );
      }
      return result;
    };
    return;
  }
  const scratch = new SqliteDriver(':memory:');
  const statement = Object.getPrototypeOf(scratch.prepare('select 1')) as Record<string, (...args: unknown[]) => unknown>;
  const database = Object.getPrototypeOf(scratch) as Record<string, (...args: unknown[]) => unknown>;
  scratch.close();
  for (const [proto, names] of [[statement, ['all', 'get', 'run', 'iterate']], [database, ['exec']]] as const) {
    for (const name of names) {
      const method = proto[name]!;
      proto[name] = function (this: unknown, ...args: unknown[]) {
        queryCount++;
        return method.apply(this, args);
      };
    }
  }
}

/** A schema of its own in the shared test database, so runs never meet each other's rows. */
async function makeSchema(): Promise<string> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  ownSchema = { admin, name };
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  // How the bench tells this run's PostgreSQL backends from those of any other client (lib/machine.ts).
  url.searchParams.set('application_name', name);
  return url.toString();
}
const servers: Server[] = [];
let session: Session | null = null;

const app = () => {
  if (!ctx) throw new Error('init first');
  return ctx;
};

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Log lines are formatted as in production but dropped; warnings and errors still reach stderr. */
function logSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString();
      if (/"level":(?:40|50|60)/.test(line)) process.stderr.write(`[app] ${line}`);
      done();
    },
  });
}

async function init({ env, logLevel, engine = 'sqlite', joinUrl, outboxOptions }: HostInit): Promise<HostInfo> {
  dir = mkdtempSync(join(tmpdir(), 'sms-pd-bench-'));
  const dbFile = join(dir, 'app.db');
  countQueries(engine);
  const databaseUrl = engine === 'sqlite' ? `file:${dbFile}` : (joinUrl ?? (await makeSchema()));
  const server = createServer();
  // Keep connections of a paused generator open between rounds, as a reverse proxy would.
  server.keepAliveTimeout = 60_000;
  const appUrl = await listen(server);
  const config = loadConfig({ ...env, APP_URL: appUrl, DATABASE_URL: databaseUrl, LOG_LEVEL: logLevel }) as ReadyConfig;
  ctx = createContext(config, { logger: createLogger(logLevel, logSink()), outboxOptions: { rateLimit: false, ...outboxOptions } });
  await ctx.database.migrate({ encryptionKey: ctx.config.encryptionKey });
  const handler = createApp(ctx);
  server.on('request', handler);

  const bare = express();
  bare.disable('x-powered-by');
  bare.use(express.json());
  bare.post('/webhooks/pipedrive', (_req, res) => {
    res.status(200).json({ ok: true });
  });
  const bareServer = createServer(bare);
  bareServer.keepAliveTimeout = 60_000;
  const bareUrl = await listen(bareServer);
  info = { appUrl, bareUrl, dbFile, databaseUrl, engine, pid: process.pid };
  return info;
}

async function company(companyId: string) {
  const row = await app().companies.find(companyId);
  if (!row) return null;
  return {
    id: row.id,
    consentFieldKey: row.consent_field_key,
    grantedOption: row.consent_granted_option,
    optedOutOption: row.consent_opted_out_option,
  };
}

/** The automation with the most messages of the company: the report lists' filtered scenarios page through it. */
async function busiestAutomation({ companyId }: { companyId: string }): Promise<string | null> {
  const row = await app()
    .database.db.selectFrom('outbound_messages')
    .select(['automation_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('company_id', '=', companyId)
    .where('automation_id', 'is not', null)
    .groupBy('automation_id')
    .orderBy('n', 'desc')
    .executeTakeFirst();
  return row?.automation_id ?? null;
}

async function createAutomation({ companyId, input }: { companyId: string; input: AutomationInput }) {
  return app().automations.create(companyId, input);
}

async function stateCounts(): Promise<Record<string, number>> {
  const rows = await app()
    .database.db.selectFrom('outbound_messages')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

async function counts() {
  const events = await app().database.db.selectFrom('webhook_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { webhookEvents: Number(events.n), outbox: await stateCounts() };
}

/**
 * The ingest rounds leave thousands of queued rows for deals and persons that exist nowhere; they are load-test
 * debris, not drain work. They are cancelled (kept, as history is in production) before the drain is timed.
 */
async function discardQueued(): Promise<number> {
  const at = new Date().toISOString();
  const result = await app()
    .database.db.updateTable('outbound_messages')
    .set({ state: 'cancelled', skip_reason: 'bench_ingest_debris', updated_at: at })
    .where('state', '=', 'queued')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Changes some of a company's settings (quiet hours, for the drain rounds), as PATCH /api/settings stores them. */
async function setSettings({ companyId, patch }: { companyId: string; patch: Record<string, unknown> }): Promise<void> {
  const row = await app().companies.find(companyId);
  if (!row) throw new Error(`no company ${companyId}`);
  await app().companies.updateSettings(companyId, companySettingsSchema.parse({ ...row.parsedSettings, ...patch }), new Date().toISOString());
}

/** Worker passes until nothing is due; the time runs to the end of the last pass that handled something. */
async function drain(): Promise<DrainResult> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let handled = 0;
  let passes = 0;
  let lastWork = start;
  const queries0 = queryCount;
  let queries = 0;
  for (;;) {
    const n = await app().outbox.runOnce();
    passes++;
    if (n === 0) break;
    handled += n;
    lastWork = performance.now();
    queries = queryCount - queries0;
  }
  const cpu = process.cpuUsage(cpu0);
  return { handled, passes, ms: lastWork - start, states: await stateCounts(), cpuMs: (cpu.user + cpu.system) / 1000, queries };
}

/** The worker's own loop, as in production: woken by new work, never driven by `drain`. */
function startWorker(): void {
  app().outbox.start();
}

/** Statements sent so far (see countQueries). */
function queries(): number {
  return queryCount;
}

function cpu(): CpuSample {
  const u = process.cpuUsage();
  return { userMs: u.user / 1000, systemMs: u.system / 1000, at: performance.now() };
}

let loopDelay: IntervalHistogram | null = null;
let gcObserver: PerformanceObserver | null = null;
const gcPauses: number[] = [];

/** Event-loop stalls and GC pauses of this process between observeStart and observeStop: why a latency tail exists. */
function observeStart(): void {
  loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  gcPauses.length = 0;
  gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauses.push(entry.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

function observeStop(): Observation {
  if (!loopDelay || !gcObserver) throw new Error('observeStart first');
  loopDelay.disable();
  gcObserver.disconnect();
  const ms = (ns: number) => ns / 1e6;
  const result = {
    loopDelayP50Ms: ms(loopDelay.percentile(50)),
    loopDelayP99Ms: ms(loopDelay.percentile(99)),
    loopDelayMaxMs: ms(loopDelay.max),
    gcCount: gcPauses.length,
    gcTotalMs: gcPauses.reduce((a, b) => a + b, 0),
    gcMaxMs: Math.max(0, ...gcPauses),
  };
  loopDelay = null;
  gcObserver = null;
  return result;
}

/** A panel token as Pipedrive signs it for the iframe (HS256 with the app's JWT secret). */
async function panelToken({ userId, companyId, ttlSeconds }: { userId: number; companyId: number; ttlSeconds: number }): Promise<string> {
  return new SignJWT({ userId, companyId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(app().config.pipedrive.jwtSecret));
}

async function profileStart(): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}

async function profileStop({ file, units }: { file: string; units?: number }): Promise<ProfileSummary> {
  if (!session) throw new Error('no profile running');
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  session = null;
  writeFileSync(file, JSON.stringify(profile));
  return summariseProfile(profile, units ?? null);
}

serve({ init, company, busiestAutomation, createAutomation, counts, discardQueued, drain, startWorker, queries, sqlTimesStart, sqlTimesStop, setSettings, cpu, observeStart, observeStop, profileStart, profileStop, panelToken, ...panelProbes(() => ({ ...info!, ctx: app() })) }, async () => {
  await ctx?.outbox.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await ctx?.database.close();
  if (ownSchema) {
    await ownSchema.admin.query(`DROP SCHEMA IF EXISTS ${ownSchema.name} CASCADE`).catch(() => {});
    await ownSchema.admin.end().catch(() => {});
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});
