import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { CpuSample, Observation } from './lib/app-host.js';
import { createDrainer, roundDrain, type DrainRound } from './lib/drain-round.js';
import type { BatchResult, ClosedResult, OpenResult, Target } from './lib/load-generator.js';
import { postgresPids, watchMachine, watchPostgres, type ForeignLoad } from './lib/machine.js';
import { INGEST_MIX, webhookPayload, type Scenario } from './lib/payloads.js';
import type { ProfileSummary } from './lib/profile.js';
import type { Profiles } from './lib/profile-print.js';
import { australianMobiles, daytimeWindowForUs } from './lib/quiet-hours.js';
import type { Stack } from './lib/stack.js';
import { envNumber, quantile, round, summary } from './lib/stats.js';
import { row, type SectionRow } from './lib/table.js';

/**
 * The webhook and outbox figures of one engine: ingest at full speed against a bare Express handler (alternated,
 * round by round), latency at a fixed rate (open loop), and the outbox drain, also beside as many messages held for
 * quiet hours as it sends. With it what each costs the database: statements per request and per message and, on
 * PostgreSQL, the server's CPU.
 */

const num = envNumber;
export const ENGINE_SETTINGS = {
  ingestRounds: num('BENCH_ROUNDS', 7),
  ingestWarmupMs: 2_000,
  ingestRoundMs: 1_500,
  ingestRoundWarmupMs: 300,
  connections: 32,
  latencyRounds: num('BENCH_LATENCY_ROUNDS', 3),
  latencyRate: num('BENCH_LATENCY_RATE', 500),
  latencyRoundMs: 4_000,
  drainWarmupN: num('BENCH_DRAIN_WARMUP_N', 1_000),
  drainN: num('BENCH_DRAIN_N', 1_000),
  drainRounds: num('BENCH_DRAIN_ROUNDS', 3),
  profile: process.env.BENCH_PROFILE === '1',
};
export const ENGINE_TARGETS = { ingestRatio: 0.5, p99Ms: 25, drainPerSecond: 300 };

export type EngineSetup = { scenario: Scenario; appTarget: Target; bareTarget: Target; runDrain: ReturnType<typeof createDrainer> };

/** The automation the rounds trigger, the webhook's credentials, and the two targets. */
export async function prepareEngine(stack: Stack, check: (ok: boolean, message: string) => void): Promise<EngineSetup> {
  const { pd, demo, host, info } = stack;
  const hook = pd.webhooks(demo.companyId).find((w) => w.subscription_url.startsWith(info.appUrl));
  if (!hook?.http_auth_user || !hook.http_auth_password) throw new Error('install did not create the webhook');
  const authorization = `Basic ${Buffer.from(`${hook.http_auth_user}:${hook.http_auth_password}`).toString('base64')}`;
  const scenario: Scenario = {
    companyId: demo.companyId,
    pipelineId: demo.pipelineId,
    ownerId: demo.salesUserId,
    fromStage: demo.stages.quoteSent,
    matchStage: demo.stages.negotiation,
    otherStage: demo.stages.won,
  };
  await host.call('createAutomation', {
    companyId: String(demo.companyId),
    input: {
      name: 'Negotiation follow-up',
      enabled: true,
      trigger: { event: 'deal.stage_entered', stageId: scenario.matchStage, pipelineId: scenario.pipelineId },
      template: 'Hi {{person.first_name|there}}, {{user.name}} here about {{deal.title}}: your offer is ready to review.',
    },
  });
  const target = (url: string): Target => {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port), path: '/webhooks/pipedrive', authorization };
  };
  const appTarget = target(info.appUrl);
  return { scenario, appTarget, bareTarget: target(info.bareUrl), runDrain: createDrainer(stack, scenario, appTarget, check) };
}

export type EngineReport = Awaited<ReturnType<typeof runEngineSection>>;

export async function runEngineSection(stack: Stack, setup: EngineSetup, check: (ok: boolean, message: string) => void, resultsDir: string) {
  const S = ENGINE_SETTINGS;
  const { host, gen, pids, info, demo } = stack;
  const { scenario, appTarget, bareTarget, runDrain } = setup;
  const postgres = info.engine === 'postgres';
  const ours = () => (postgres ? [...pids, ...postgresPids()] : pids);
  const log = (m: string) => process.stderr.write(`[${info.engine}] ${m}\n`);

  // ---- sanity: the request mix is accepted, recorded, and one in four queues a message ----------------------------
  const before = await host.call<{ webhookEvents: number; outbox: Record<string, number> }>('counts');
  const sample = INGEST_MIX.map((kind) => JSON.stringify(webhookPayload({ ...scenario, kind, eventId: randomUUID(), dealId: 1, personId: 1 })));
  for (const t of [appTarget, bareTarget]) {
    const r = await gen.call<BatchResult>('batch', { target: t, bodies: sample, connections: 1 });
    check(r.statuses['200'] === sample.length, `sanity: ${t.port} answered ${JSON.stringify(r.statuses)} to the webhook mix`);
  }
  const after = await host.call<{ webhookEvents: number; outbox: Record<string, number> }>('counts');
  check(after.webhookEvents - before.webhookEvents === sample.length, 'sanity: not every webhook of the mix was recorded');
  check((after.outbox.queued ?? 0) - (before.outbox.queued ?? 0) === 1, 'sanity: the mix did not queue exactly one message');

  // ---- ingest: max throughput, alternated with the baseline ---------------------------------------------------------
  log('ingest: warming up both servers');
  const closed = (t: Target, durationMs: number, warmupMs: number) =>
    gen.call<ClosedResult>('closed', { target: t, scenario, mix: INGEST_MIX, connections: S.connections, warmupMs, durationMs });
  await closed(bareTarget, S.ingestWarmupMs, 0);
  await closed(appTarget, S.ingestWarmupMs, 0);

  const measureClosed = async (t: Target) => {
    const machine = watchMachine(ours);
    const database = postgres ? await watchPostgres(info.databaseUrl) : null;
    const q0 = await host.call<number>('queries');
    const c0 = await host.call<CpuSample>('cpu');
    const r = await closed(t, S.ingestRoundMs, S.ingestRoundWarmupMs);
    const c1 = await host.call<CpuSample>('cpu');
    const q1 = await host.call<number>('queries');
    const dbMs = database ? await database() : null;
    const cpuMs = c1.userMs + c1.systemMs - c0.userMs - c0.systemMs;
    return {
      ...r,
      appCpuPct: (100 * cpuMs) / (c1.at - c0.at),
      // Server CPU per answered request: unlike req/s, barely moved by a neighbour taking turns on the CPU.
      cpuUsPerRequest: r.allCompleted > 0 ? (1000 * cpuMs) / r.allCompleted : Number.NaN,
      queriesPerRequest: r.allCompleted > 0 ? (q1 - q0) / r.allCompleted : Number.NaN,
      dbCpuUsPerRequest: dbMs === null || r.allCompleted === 0 ? Number.NaN : (1000 * dbMs) / r.allCompleted,
      machine: machine(),
    };
  };
  type ClosedRound = Awaited<ReturnType<typeof measureClosed>>;
  const ingest: Array<{ bare: ClosedRound; app: ClosedRound; ratio: number; cpuRatio: number }> = [];
  const eventsBefore = (await host.call<{ webhookEvents: number }>('counts')).webhookEvents;
  let appCompleted = 0;
  for (let i = 0; i < S.ingestRounds; i++) {
    // Alternate which goes first so a slow drift in the machine does not always favour the same side.
    const order = i % 2 === 0 ? (['bare', 'app'] as const) : (['app', 'bare'] as const);
    const r: Partial<Record<'bare' | 'app', ClosedRound>> = {};
    for (const side of order) r[side] = await measureClosed(side === 'bare' ? bareTarget : appTarget);
    const { bare, app } = r as Record<'bare' | 'app', ClosedRound>;
    check(bare.errors === 0 && app.errors === 0, `${info.engine} ingest round ${i + 1}: connection errors (bare ${bare.errors}, app ${app.errors})`);
    check(Object.keys(app.statuses).every((s) => s === '200'), `${info.engine} ingest round ${i + 1}: the app answered ${JSON.stringify(app.statuses)}`);
    appCompleted += app.completed;
    ingest.push({ bare, app, ratio: app.rps / bare.rps, cpuRatio: bare.cpuUsPerRequest / app.cpuUsPerRequest });
    log(
      `ingest round ${i + 1}/${S.ingestRounds}: bare ${Math.round(bare.rps)} r/s (${Math.round(bare.cpuUsPerRequest)} µs CPU/req), ` +
        `app ${Math.round(app.rps)} r/s (${Math.round(app.cpuUsPerRequest)} µs CPU/req, ${app.queriesPerRequest.toFixed(2)} statements/req${postgres ? `, PostgreSQL ${Math.round(app.dbCpuUsPerRequest)} µs CPU/req` : ''}), ` +
        `ratio ${(app.rps / bare.rps).toFixed(2)}; other processes ${foreign(bare.machine)} / ${foreign(app.machine)}`,
    );
  }
  const eventsAfter = (await host.call<{ webhookEvents: number }>('counts')).webhookEvents;
  check(eventsAfter - eventsBefore >= appCompleted, `${info.engine} ingest: ${eventsAfter - eventsBefore} events recorded for ${appCompleted} answered requests`);

  // ---- latency at a fixed rate (open loop) -----------------------------------------------------------------------
  const measureOpen = (t: Target) =>
    gen.call<OpenResult>('open', { target: t, scenario, mix: INGEST_MIX, rate: S.latencyRate, durationMs: S.latencyRoundMs, connections: 64 });
  const latency: Array<{ side: 'app' | 'bare'; p50: number; p99: number; p999: number; max: number; completed: number; errors: number; sendLagP99: number; achievedRps: number; worst: OpenResult['worst']; host: Observation; machine: ForeignLoad }> = [];
  const pooled: Record<'app' | 'bare', number[]> = { app: [], bare: [] };
  for (let i = 0; i < S.latencyRounds; i++) {
    const order = i % 2 === 0 ? (['app', 'bare'] as const) : (['bare', 'app'] as const);
    for (const side of order) {
      await host.call('observeStart');
      const machine = watchMachine(ours);
      const r = await measureOpen(side === 'app' ? appTarget : bareTarget);
      const load = machine();
      const observed = await host.call<Observation>('observeStop');
      check(r.errors === 0, `${info.engine} latency round ${i + 1} (${side}): ${r.errors} requests failed or timed out`);
      check(Object.keys(r.statuses).every((s) => s === '200'), `${info.engine} latency round ${i + 1} (${side}): statuses ${JSON.stringify(r.statuses)}`);
      pooled[side].push(...r.latenciesMs);
      const entry = {
        side,
        p50: quantile(r.latenciesMs, 0.5),
        p99: quantile(r.latenciesMs, 0.99),
        p999: quantile(r.latenciesMs, 0.999),
        max: quantile(r.latenciesMs, 1),
        completed: r.completed,
        errors: r.errors,
        sendLagP99: r.sendLagP99Ms,
        achievedRps: r.achievedRps,
        worst: r.worst,
        host: observed,
        machine: load,
      };
      latency.push(entry);
      log(
        `latency round ${i + 1}/${S.latencyRounds} (${side} @${S.latencyRate} r/s): p50 ${entry.p50.toFixed(2)} ms, p99 ${entry.p99.toFixed(2)} ms, max ${entry.max.toFixed(1)} ms; ` +
          `app event loop delay p99 ${observed.loopDelayP99Ms.toFixed(1)} ms, max ${observed.loopDelayMaxMs.toFixed(1)} ms; GC ${observed.gcCount}x, ${observed.gcTotalMs.toFixed(0)} ms; other processes ${foreign(load)}`,
      );
    }
  }

  // ---- outbox drain against the Twilio emulator, rate limit lifted -------------------------------------------------
  // Quiet hours on, with a window open now for the US recipients whatever the time of day (lib/quiet-hours.ts).
  await host.call('setSettings', { companyId: String(demo.companyId), patch: { quietHours: daytimeWindowForUs(Date.now()) } });
  // The first round warms the caches (the owner's name, the SDK clients, JIT) and is not counted.
  await runDrain(S.drainWarmupN, `${info.engine} warm-up`);
  const drains: DrainRound[] = [];
  for (let i = 0; i < S.drainRounds; i++) drains.push(await runDrain(S.drainN, `${info.engine} round ${i + 1}/${S.drainRounds}`));
  // The same drain with as many messages held for quiet hours waiting in the table as it sends (more each round):
  // held messages must cost nothing until their window opens. Each round first holds N (texts to Australia, at
  // night there), then drains N to the US.
  const sydney = australianMobiles();
  const holds: DrainRound[] = [];
  const drainsWithHeld: DrainRound[] = [];
  for (let i = 0; i < S.drainRounds; i++) {
    holds.push(await runDrain(S.drainN, `${info.engine} hold ${i + 1}/${S.drainRounds}`, { phone: sydney, held: true }));
    drainsWithHeld.push(await runDrain(S.drainN, `${info.engine} round ${i + 1}/${S.drainRounds} beside ${(i + 1) * S.drainN} held`));
  }

  // ---- optional profiles, outside the measured rounds ------------------------------------------------------------
  let profiles: Profiles | null = null;
  if (S.profile) {
    const file = (name: string) => join(resultsDir, `${info.engine}-${name}.cpuprofile`);
    const profileClosed = async (t: Target, name: string) => {
      await host.call('profileStart');
      const r = await closed(t, 3_000, 0);
      return host.call<ProfileSummary>('profileStop', { file: file(name), units: r.allCompleted });
    };
    const bareProfile = await profileClosed(bareTarget, 'bare');
    const ingestProfile = await profileClosed(appTarget, 'ingest');
    await host.call('profileStart');
    const open = await measureOpen(appTarget);
    const latencyProfile = await host.call<ProfileSummary>('profileStop', { file: file('latency'), units: open.completed });
    const drainProfiled = await runDrain(S.drainN, `${info.engine} profiled`, { profileFile: file('drain') });
    profiles = { bare: bareProfile, ingest: ingestProfile, latency: latencyProfile, drain: drainProfiled.profile };
  }

  const appLat = latency.filter((l) => l.side === 'app');
  const bareLat = latency.filter((l) => l.side === 'bare');
  const figures = {
    bareRps: summary(ingest.map((r) => r.bare.rps)),
    appRps: summary(ingest.map((r) => r.app.rps)),
    ratio: summary(ingest.map((r) => r.ratio)),
    cpuRatio: summary(ingest.map((r) => r.cpuRatio)),
    appP50Ms: summary(appLat.map((l) => l.p50)),
    appP99Ms: summary(appLat.map((l) => l.p99)),
    appP99PooledMs: quantile(pooled.app, 0.99),
    appMaxMs: Math.max(...appLat.map((l) => l.max)),
    bareP99Ms: summary(bareLat.map((l) => l.p99)),
    drainPerSecond: summary(drains.map((d) => d.perSecond)),
    appCpuUsPerRequest: summary(ingest.map((r) => r.app.cpuUsPerRequest)),
    bareCpuUsPerRequest: summary(ingest.map((r) => r.bare.cpuUsPerRequest)),
    queriesPerRequest: summary(ingest.map((r) => r.app.queriesPerRequest)),
    dbCpuUsPerRequest: summary(ingest.map((r) => r.app.dbCpuUsPerRequest)),
    appCpuMsPerMessage: summary(drains.map((d) => d.appCpuMsPerMessage)),
    queriesPerMessage: summary(drains.map((d) => d.queriesPerMessage)),
    dbCpuMsPerMessage: summary(drains.map((d) => d.dbCpuMsPerMessage ?? Number.NaN)),
    drainAppCpuPct: summary(drains.map((d) => d.appCpuPct)),
    drainEmulatorCpuPct: summary(drains.map((d) => d.emulatorCpuPct)),
    heldDrainPerSecond: summary(drainsWithHeld.map((d) => d.perSecond)),
    heldDrainAppCpuMsPerMessage: summary(drainsWithHeld.map((d) => d.appCpuMsPerMessage)),
    heldDrainCostRatio: summary(drainsWithHeld.map((d, i) => d.appCpuMsPerMessage / (drains[i] ?? drains[0]!).appCpuMsPerMessage)),
    holdAppCpuMsPerMessage: summary(holds.map((d) => d.appCpuMsPerMessage)),
    foreignPctIngest: summary(ingest.flatMap((r) => [r.bare.machine?.foreignPct ?? Number.NaN, r.app.machine?.foreignPct ?? Number.NaN])),
    foreignPctLatency: summary(latency.map((l) => l.machine?.foreignPct ?? Number.NaN)),
    foreignPctDrain: summary(drains.map((d) => d.machine?.foreignPct ?? Number.NaN)),
  };
  const T = ENGINE_TARGETS;
  const verdicts = {
    ingestRatio: figures.ratio.median >= T.ingestRatio,
    p99: figures.appP99Ms.median < T.p99Ms,
    drain: figures.drainPerSecond.median >= T.drainPerSecond,
  };
  const rounds = {
    ingest: ingest.map((r) => ({
      bareRps: round(r.bare.rps),
      appRps: round(r.app.rps),
      ratio: round(r.ratio, 3),
      appClosedLoopP99Ms: round(r.app.p99Ms, 2),
      bareClosedLoopP99Ms: round(r.bare.p99Ms, 2),
      appCpuUsPerRequest: round(r.app.cpuUsPerRequest),
      bareCpuUsPerRequest: round(r.bare.cpuUsPerRequest),
      queriesPerRequest: round(r.app.queriesPerRequest, 2),
      dbCpuUsPerRequest: Number.isFinite(r.app.dbCpuUsPerRequest) ? round(r.app.dbCpuUsPerRequest) : null,
      cpuRatio: round(r.cpuRatio, 3),
      foreignPct: [r.bare.machine?.foreignPct, r.app.machine?.foreignPct].map((x) => (x === undefined ? null : round(x))),
    })),
    latency: latency.map((l) => ({ ...l, p50: round(l.p50, 3), p99: round(l.p99, 3), p999: round(l.p999, 3), max: round(l.max, 2), sendLagP99: round(l.sendLagP99, 3), achievedRps: round(l.achievedRps) })),
    drain: drains.map(roundDrain),
    hold: holds.map(roundDrain),
    drainBesideHeld: drainsWithHeld.map(roundDrain),
  };
  return { engine: info.engine, figures, verdicts, rounds, profiles };
}

/** The engine section's lines of the summary table. */
export function engineTableRows(r: EngineReport): SectionRow[] {
  const f = r.figures;
  const T = ENGINE_TARGETS;
  const rate = ENGINE_SETTINGS.latencyRate;
  const rows = [
    row('bareRps', 'Bare Express handler, max throughput', f.bareRps, 'req/s', 0),
    row('appRps', 'Webhook ingest, max throughput', f.appRps, 'req/s', 0),
    row('ratio', 'Ingest / bare throughput ratio', f.ratio, '', 2, `>= ${T.ingestRatio}`, r.verdicts.ingestRatio),
    row('cpuRatio', '  same, from server CPU per request', f.cpuRatio, '', 2),
    row('appP50Ms', `Ingest latency p50 @ ${rate} req/s`, f.appP50Ms, 'ms', 2),
    row('appP99Ms', `Ingest latency p99 @ ${rate} req/s`, f.appP99Ms, 'ms', 2, `< ${T.p99Ms} ms`, r.verdicts.p99),
    row('bareP99Ms', `Bare latency p99 @ ${rate} req/s (reference)`, f.bareP99Ms, 'ms', 2),
    row('appCpuUsPerRequest', 'App CPU per ingest request', f.appCpuUsPerRequest, 'µs', 0),
    row('queriesPerRequest', 'SQL statements per ingest request', f.queriesPerRequest, '', 2),
    row('dbCpuUsPerRequest', 'PostgreSQL CPU per ingest request', f.dbCpuUsPerRequest, 'µs', 0),
    row('drainPerSecond', 'Outbox drain, one instance, pace lifted', f.drainPerSecond, 'msg/s', 0, `>= ${T.drainPerSecond} msg/s`, r.verdicts.drain),
    row('appCpuMsPerMessage', 'App CPU per drained message', f.appCpuMsPerMessage, 'ms', 2),
    row('queriesPerMessage', 'SQL statements per drained message', f.queriesPerMessage, '', 1),
    row('dbCpuMsPerMessage', 'PostgreSQL CPU per drained message', f.dbCpuMsPerMessage, 'ms', 2),
    row('drainAppCpuPct', 'App process CPU during drain', f.drainAppCpuPct, '%', 0),
    row('heldDrainPerSecond', 'Drain beside as many held messages', f.heldDrainPerSecond, 'msg/s', 0),
    row('heldDrainCostRatio', "  … app CPU per sent message / the plain drain's", f.heldDrainCostRatio, '×', 2),
    row('holdAppCpuMsPerMessage', 'App CPU per message held (once)', f.holdAppCpuMsPerMessage, 'ms', 2),
    row('drainEmulatorCpuPct', 'Emulators CPU during drain', f.drainEmulatorCpuPct, '%', 0),
    row('foreignPctIngest', 'Other processes on the machine: ingest', f.foreignPctIngest, '%', 0),
    row('foreignPctLatency', '  … latency rounds', f.foreignPctLatency, '%', 0),
    row('foreignPctDrain', '  … drain rounds', f.foreignPctDrain, '%', 0),
  ];
  return rows.filter((x) => x.summary.n > 0);
}

function foreign(load: ForeignLoad): string {
  return load ? `${Math.round(load.foreignPct)}%` : 'n/a';
}
