import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import express from 'express';
import { createApp } from '../../server/app.js';
import { loadConfig, type ReadyConfig } from '../../server/config.js';
import { createContext, type AppContext } from '../../server/context.js';
import { createLogger } from '../../server/logger.js';
import type { AutomationInput } from '../../server/automations/automation-store.js';
import { serve } from './ipc.js';
import { summariseProfile, type ProfileSummary } from './profile.js';

/**
 * The app under test, in its own process: the real context and Express app on a SQLite file (as in production),
 * and next to it the baseline, a bare Express 5 app with express.json() that answers 200, served the same way.
 * The outbox worker is not started; the orchestrator drives it with `drain` so the drain is timed on its own.
 */

export type HostInit = { env: Record<string, string>; logLevel: string };
export type HostInfo = { appUrl: string; bareUrl: string; dbFile: string; pid: number };
export type DrainResult = { handled: number; passes: number; ms: number; states: Record<string, number>; cpuMs: number };
export type CpuSample = { userMs: number; systemMs: number; at: number };
export type Observation = { loopDelayP50Ms: number; loopDelayP99Ms: number; loopDelayMaxMs: number; gcCount: number; gcTotalMs: number; gcMaxMs: number };

let ctx: AppContext | null = null;
let dir: string | null = null;
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
      if (/"level":(40|50|60)/.test(line)) process.stderr.write(`[app] ${line}`);
      done();
    },
  });
}

async function init({ env, logLevel }: HostInit): Promise<HostInfo> {
  dir = mkdtempSync(join(tmpdir(), 'sms-pd-bench-'));
  const dbFile = join(dir, 'app.db');
  const server = createServer();
  // Keep connections of a paused generator open between rounds, as a reverse proxy would.
  server.keepAliveTimeout = 60_000;
  const appUrl = await listen(server);
  const config = loadConfig({ ...env, APP_URL: appUrl, DATABASE_URL: `file:${dbFile}`, LOG_LEVEL: logLevel }) as ReadyConfig;
  ctx = createContext(config, { logger: createLogger(logLevel, logSink()), outboxOptions: { rateLimit: false } });
  await ctx.database.migrate();
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
  return { appUrl, bareUrl, dbFile, pid: process.pid };
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

/** Worker passes until nothing is due; the time runs to the end of the last pass that handled something. */
async function drain(): Promise<DrainResult> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let handled = 0;
  let passes = 0;
  let lastWork = start;
  for (;;) {
    const n = await app().outbox.runOnce();
    passes++;
    if (n === 0) break;
    handled += n;
    lastWork = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { handled, passes, ms: lastWork - start, states: await stateCounts(), cpuMs: (cpu.user + cpu.system) / 1000 };
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

serve({ init, company, createAutomation, counts, discardQueued, drain, cpu, observeStart, observeStop, profileStart, profileStop }, async () => {
  await ctx?.outbox.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await ctx?.database.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
