/**
 * `npm run bench`: webhook ingest against a bare Express baseline, latency at a fixed rate, the outbox drain (also
 * beside as many messages held for quiet hours as it sends, which must cost nothing until they are due), and
 * the deal panel's read under a production-sized database (bench/panel.ts, also runnable alone), all in one run on
 * this machine. Three processes: this orchestrator (which also hosts the Pipedrive and Twilio
 * emulators, standing in for the remote services), the app under test, and the load generator. Rounds are repeated
 * and alternated with the baseline so a noisy neighbour hits both; the figures are medians.
 *
 * Knobs (environment): BENCH_ROUNDS (ingest rounds, default 7), BENCH_LATENCY_ROUNDS (3), BENCH_LATENCY_RATE (500), BENCH_DRAIN_N (messages
 * per drain round, 1000), BENCH_DRAIN_ROUNDS (3), BENCH_PROFILE=1 (adds profiled rounds and writes .cpuprofile files),
 * BENCH_STRICT=1 (exit 1 when a target is missed; a failed correctness check always exits 1), BENCH_EMULATOR_KEEPALIVE=0
 * (leave the emulators' one-second keep-alive, see lib/emulator-keep-alive.ts), BENCH_PANEL=0 (skip the panel section;
 * its own knobs are listed in panel.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { watchMachine, type ForeignLoad } from './lib/machine.js';
import type { CpuSample, DrainResult, Observation } from './lib/app-host.js';
import type { BatchResult, ClosedResult, OpenResult, Target } from './lib/load-generator.js';
import { INGEST_MIX, webhookPayload, type Scenario } from './lib/payloads.js';
import { PANEL_SETTINGS, panelResult, panelTableRows, printPanelReport, runPanelSection, type PanelReport } from './panel.js';
import type { ProfileSummary } from './lib/profile.js';
import { startStack } from './lib/stack.js';
import { australianMobiles, daytimeWindowForUs } from './lib/quiet-hours.js';
import { quantile, round, summary, type Summary } from './lib/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const SETTINGS = {
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
  /** 0 measures the drain against the emulators' own one-second keep-alive (a new connection per API call). */
  emulatorKeepAlive: process.env.BENCH_EMULATOR_KEEPALIVE !== '0',
  strict: process.env.BENCH_STRICT === '1',
};
const TARGETS = { ingestRatio: 0.5, p99Ms: 25, drainPerSecond: 300 };

const AREA_CODES = ['415', '650', '212', '646', '312', '617', '303', '206'];

const problems: string[] = [];
const check = (ok: boolean, message: string) => {
  if (!ok) problems.push(message);
};
const log = (message: string) => process.stderr.write(`${message}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  log(`bench: node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  // ---- the emulated services and the app --------------------------------------------------------------------------
  const stack = await startStack({ emulatorKeepAlive: SETTINGS.emulatorKeepAlive, logLevel: process.env.BENCH_LOG_LEVEL ?? 'info' });
  const { pd, tw, demo, host, gen, info, pids, company } = stack;
  try {
    const companyId = String(demo.companyId);
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
      companyId,
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
    const bareTarget = target(info.bareUrl);

    // ---- sanity: the request mix is accepted, recorded, and one in four queues a message ------------------------
    const before = await host.call<{ webhookEvents: number; outbox: Record<string, number> }>('counts');
    const sample = INGEST_MIX.map((kind) =>
      JSON.stringify(webhookPayload({ ...scenario, kind, eventId: randomUUID(), dealId: 1, personId: 1 })),
    );
    for (const t of [appTarget, bareTarget]) {
      const r = await gen.call<BatchResult>('batch', { target: t, bodies: sample, connections: 1 });
      check(r.statuses['200'] === sample.length, `sanity: ${t.port} answered ${JSON.stringify(r.statuses)} to the webhook mix`);
    }
    const after = await host.call<{ webhookEvents: number; outbox: Record<string, number> }>('counts');
    check(after.webhookEvents - before.webhookEvents === sample.length, 'sanity: not every webhook of the mix was recorded');
    check((after.outbox.queued ?? 0) - (before.outbox.queued ?? 0) === 1, 'sanity: the mix did not queue exactly one message');
    if (problems.length) throw new Error(problems.join('\n'));

    // ---- ingest: max throughput, alternated with the baseline ------------------------------------------------------
    log('ingest: warming up both servers');
    const closed = (t: Target, durationMs: number, warmupMs: number) =>
      gen.call<ClosedResult>('closed', { target: t, scenario, mix: INGEST_MIX, connections: SETTINGS.connections, warmupMs, durationMs });
    await closed(bareTarget, SETTINGS.ingestWarmupMs, 0);
    await closed(appTarget, SETTINGS.ingestWarmupMs, 0);

    const measureClosed = async (t: Target) => {
      const machine = watchMachine(pids);
      const c0 = await host.call<CpuSample>('cpu');
      const r = await closed(t, SETTINGS.ingestRoundMs, SETTINGS.ingestRoundWarmupMs);
      const c1 = await host.call<CpuSample>('cpu');
      const cpuMs = c1.userMs + c1.systemMs - c0.userMs - c0.systemMs;
      const wallMs = c1.at - c0.at;
      return {
        ...r,
        appCpuPct: (100 * cpuMs) / wallMs,
        // Server CPU per answered request: unlike req/s, barely moved by a neighbour taking turns on the CPU.
        cpuUsPerRequest: r.allCompleted > 0 ? (1000 * cpuMs) / r.allCompleted : Number.NaN,
        machine: machine(),
      };
    };
    type ClosedRound = Awaited<ReturnType<typeof measureClosed>>;
    const ingest: Array<{ bare: ClosedRound; app: ClosedRound; ratio: number; cpuRatio: number }> = [];
    const eventsBefore = (await host.call<{ webhookEvents: number }>('counts')).webhookEvents;
    let appCompleted = 0;
    for (let i = 0; i < SETTINGS.ingestRounds; i++) {
      // Alternate which goes first so a slow drift in the machine does not always favour the same side.
      const order = i % 2 === 0 ? (['bare', 'app'] as const) : (['app', 'bare'] as const);
      const round: Partial<Record<'bare' | 'app', ClosedRound>> = {};
      for (const side of order) round[side] = await measureClosed(side === 'bare' ? bareTarget : appTarget);
      const { bare, app } = round as Record<'bare' | 'app', ClosedRound>;
      check(bare.errors === 0 && app.errors === 0, `ingest round ${i + 1}: connection errors (bare ${bare.errors}, app ${app.errors})`);
      check(
        Object.keys(app.statuses).every((s) => s === '200'),
        `ingest round ${i + 1}: the app answered ${JSON.stringify(app.statuses)}`,
      );
      appCompleted += app.completed;
      ingest.push({ bare, app, ratio: app.rps / bare.rps, cpuRatio: bare.cpuUsPerRequest / app.cpuUsPerRequest });
      log(
        `ingest round ${i + 1}/${SETTINGS.ingestRounds}: bare ${Math.round(bare.rps)} r/s (${Math.round(bare.cpuUsPerRequest)} µs CPU/req, generator ${Math.round(bare.generatorCpuPct)}% CPU), ` +
          `app ${Math.round(app.rps)} r/s (${Math.round(app.cpuUsPerRequest)} µs CPU/req), ratio ${(app.rps / bare.rps).toFixed(2)}; ` +
          `other processes ${foreign(bare.machine)} / ${foreign(app.machine)} of the machine`,
      );
    }
    const eventsAfter = (await host.call<{ webhookEvents: number }>('counts')).webhookEvents;
    check(eventsAfter - eventsBefore >= appCompleted, `ingest: ${eventsAfter - eventsBefore} events recorded for ${appCompleted} answered requests`);

    // ---- latency at a fixed rate (open loop) ----------------------------------------------------------------------
    const measureOpen = (t: Target) =>
      gen.call<OpenResult>('open', {
        target: t,
        scenario,
        mix: INGEST_MIX,
        rate: SETTINGS.latencyRate,
        durationMs: SETTINGS.latencyRoundMs,
        connections: 64,
      });
    type LatencyRound = {
      side: 'app' | 'bare';
      p50: number;
      p99: number;
      p999: number;
      max: number;
      completed: number;
      errors: number;
      sendLagP99: number;
      achievedRps: number;
      worst: OpenResult['worst'];
      host: Observation;
      machine: ForeignLoad;
    };
    const latency: LatencyRound[] = [];
    const pooled: Record<'app' | 'bare', number[]> = { app: [], bare: [] };
    for (let i = 0; i < SETTINGS.latencyRounds; i++) {
      const order = i % 2 === 0 ? (['app', 'bare'] as const) : (['bare', 'app'] as const);
      for (const side of order) {
        await host.call('observeStart');
        const machine = watchMachine(pids);
        const r = await measureOpen(side === 'app' ? appTarget : bareTarget);
        const load = machine();
        const observed = await host.call<Observation>('observeStop');
        check(r.errors === 0, `latency round ${i + 1} (${side}): ${r.errors} requests failed or timed out`);
        check(Object.keys(r.statuses).every((s) => s === '200'), `latency round ${i + 1} (${side}): statuses ${JSON.stringify(r.statuses)}`);
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
          `latency round ${i + 1}/${SETTINGS.latencyRounds} (${side} @${SETTINGS.latencyRate} r/s): p50 ${entry.p50.toFixed(2)} ms, p99 ${entry.p99.toFixed(2)} ms, max ${entry.max.toFixed(1)} ms; ` +
            `app event loop delay p99 ${observed.loopDelayP99Ms.toFixed(1)} ms, max ${observed.loopDelayMaxMs.toFixed(1)} ms; GC ${observed.gcCount}x, ${observed.gcTotalMs.toFixed(0)} ms, longest ${observed.gcMaxMs.toFixed(1)} ms; other processes ${foreign(load)}`,
        );
      }
    }

    // ---- outbox drain against the Twilio emulator, rate limit lifted ---------------------------------------------
    let phoneSeq = 0;
    // Valid US numbers, distinct across rounds: +1 <area> 555 <0000-9999>.
    const nextPhone = () => {
      const n = phoneSeq++;
      return `+1${AREA_CODES[Math.floor(n / 10_000) % AREA_CODES.length]}555${String(n % 10_000).padStart(4, '0')}`;
    };
    // `held`: the recipients' window is closed, so every message is held for their morning, none sent.
    const runDrain = async (n: number, label: string, profileFile?: string, opts: { phone?: () => string; held?: boolean } = {}) => {
      await host.call<number>('discardQueued');
      // N consenting persons, each with a deal that now enters the automation's stage.
      const bodies: string[] = [];
      const phones = new Set<string>();
      for (let i = 0; i < n; i++) {
        const phone = (opts.phone ?? nextPhone)();
        phones.add(phone);
        const person = pd.addPerson(demo.companyId, {
          first_name: `Bench${phoneSeq}`,
          last_name: 'Customer',
          owner_id: demo.salesUserId,
          phones: [{ value: phone, primary: true, label: 'mobile' }],
          custom_fields: { [company.consentFieldKey!]: Number(company.grantedOption) },
        });
        const deal = pd.addDeal(demo.companyId, { title: `Heat pump #${phoneSeq}`, person_id: person.id, stage_id: scenario.fromStage, owner_id: demo.salesUserId });
        bodies.push(JSON.stringify(webhookPayload({ ...scenario, kind: 'stage_match', eventId: randomUUID(), dealId: deal.id, personId: person.id, title: deal.title })));
      }
      const posted = await gen.call<BatchResult>('batch', { target: appTarget, bodies, connections: 8 });
      check(posted.statuses['200'] === n, `drain ${label}: enqueueing answered ${JSON.stringify(posted.statuses)}`);
      const queued = (await host.call<{ outbox: Record<string, number> }>('counts')).outbox;
      const sentBefore = queued.sent ?? 0;
      const heldBefore = queued.scheduled ?? 0;
      const twBefore = tw.messages().filter((m) => m.direction === 'outbound-api').length;

      const pdSeen = pd.requests.length;
      const twSeen = tw.requests.length;
      const emu0 = process.cpuUsage();
      const machine = watchMachine(pids);
      if (profileFile) await host.call('profileStart');
      const r = await host.call<DrainResult>('drain');
      const profile = profileFile ? await host.call<ProfileSummary>('profileStop', { file: profileFile, units: n }) : null;
      const emu = process.cpuUsage(emu0);
      const load = machine();

      // What the worker asked of the services, per message: the shape of its I/O.
      const calls: Record<string, number> = {};
      for (const [who, list] of [['pipedrive', pd.requests.slice(pdSeen)], ['twilio', tw.requests.slice(twSeen)]] as const) {
        for (const r of list) {
          const key = `${who} ${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, '/:id').replace(/AC[0-9a-f]+/, ':account')} ${r.status ?? '?'}`;
          calls[key] = (calls[key] ?? 0) + 1;
        }
      }
      const fresh = tw.messages().filter((m) => m.direction === 'outbound-api').slice(twBefore);
      const recipients = new Map<string, number>();
      for (const m of fresh) recipients.set(m.to, (recipients.get(m.to) ?? 0) + 1);
      if (opts.held) {
        check(fresh.length === 0 && (r.states.scheduled ?? 0) - heldBefore === n, `drain ${label}: expected ${n} held, none sent (${fresh.length} sent; ${JSON.stringify(r.states)})`);
      } else {
        check(fresh.length === n, `drain ${label}: the Twilio emulator received ${fresh.length} messages, expected ${n}`);
        check(
          [...phones].every((p) => recipients.get(p) === 1) && recipients.size === n,
          `drain ${label}: not every recipient got exactly one message`,
        );
        check((r.states.sent ?? 0) - sentBefore === n, `drain ${label}: ${(r.states.sent ?? 0) - sentBefore} rows sent of ${n} (${JSON.stringify(r.states)})`);
        check((r.states.scheduled ?? 0) === heldBefore, `drain ${label}: held messages changed (${heldBefore} before, ${JSON.stringify(r.states)})`);
      }
      const perSecond = (n * 1000) / r.ms;
      log(`drain ${label}: ${n} messages in ${Math.round(r.ms)} ms = ${Math.round(perSecond)} msg/s (${r.passes} passes, app CPU ${(r.cpuMs / n).toFixed(2)} ms/msg); other processes ${foreign(load)}; calls: ${JSON.stringify(calls)}`);
      return {
        n,
        ms: r.ms,
        perSecond,
        passes: r.passes,
        appCpuMsPerMessage: r.cpuMs / n,
        appCpuPct: (100 * r.cpuMs) / r.ms,
        emulatorCpuPct: (100 * (emu.user + emu.system)) / 1000 / r.ms,
        enqueueMs: posted.ms,
        machine: load,
        callsPerMessage: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, round(v / n, 2)])),
        profile,
      };
    };
    // Quiet hours on, with a window open now for the US recipients whatever the time of day (lib/quiet-hours.ts).
    await host.call('setSettings', { companyId, patch: { quietHours: daytimeWindowForUs(Date.now()) } });
    // The first round warms the caches (the owner's name, the SDK clients, JIT) and is not counted.
    await runDrain(SETTINGS.drainWarmupN, 'warm-up');
    type Drained = Awaited<ReturnType<typeof runDrain>>;
    const drains: Drained[] = [];
    for (let i = 0; i < SETTINGS.drainRounds; i++) drains.push(await runDrain(SETTINGS.drainN, `round ${i + 1}/${SETTINGS.drainRounds}`));
    // The same drain with as many messages held for quiet hours waiting in the table as it sends (more each round):
    // held messages must cost nothing until their window opens. Each round first holds N (texts to Australia, at
    // night there), then drains N to the US.
    const sydney = australianMobiles();
    const holds: Drained[] = [];
    const drainsWithHeld: Drained[] = [];
    for (let i = 0; i < SETTINGS.drainRounds; i++) {
      holds.push(await runDrain(SETTINGS.drainN, `hold ${i + 1}/${SETTINGS.drainRounds}`, undefined, { phone: sydney, held: true }));
      drainsWithHeld.push(await runDrain(SETTINGS.drainN, `round ${i + 1}/${SETTINGS.drainRounds} beside ${(i + 1) * SETTINGS.drainN} held`));
    }

    // ---- optional profiles, outside the measured rounds --------------------------------------------------------
    let profiles: Profiles | null = null;
    if (SETTINGS.profile) {
      mkdirSync(resultsDir, { recursive: true });
      const profileClosed = async (t: Target, name: string) => {
        await host.call('profileStart');
        const r = await closed(t, 3_000, 0);
        return host.call<ProfileSummary>('profileStop', { file: join(resultsDir, `${name}.cpuprofile`), units: r.allCompleted });
      };
      const bareProfile = await profileClosed(bareTarget, 'bare');
      const ingestProfile = await profileClosed(appTarget, 'ingest');
      await host.call('profileStart');
      const open = await measureOpen(appTarget);
      const latencyProfile = await host.call<ProfileSummary>('profileStop', { file: join(resultsDir, 'latency.cpuprofile'), units: open.completed });
      const drainProfiled = await runDrain(SETTINGS.drainN, 'profiled', join(resultsDir, 'drain.cpuprofile'));
      profiles = { bare: bareProfile, ingest: ingestProfile, latency: latencyProfile, drain: drainProfiled.profile };
    }

    // ---- the deal panel's read under a production-sized database (last: it grows the database to 1 GB) ----------
    let panel: PanelReport | null = null;
    if (PANEL_SETTINGS.enabled) {
      try {
        panel = await runPanelSection(stack, problems);
      } catch (error) {
        problems.push(`panel section aborted: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const panelRows = panel ? panelTableRows(panel) : [];

    // ---- report ----------------------------------------------------------------------------------------------------
    const bareRps = ingest.map((r) => r.bare.rps);
    const appRps = ingest.map((r) => r.app.rps);
    const ratios = ingest.map((r) => r.ratio);
    const appLat = latency.filter((l) => l.side === 'app');
    const bareLat = latency.filter((l) => l.side === 'bare');
    const drainRates = drains.map((d) => d.perSecond);
    const figures = {
      bareRps: summary(bareRps),
      appRps: summary(appRps),
      ratio: summary(ratios),
      cpuRatio: summary(ingest.map((r) => r.cpuRatio)),
      appP50Ms: summary(appLat.map((l) => l.p50)),
      appP99Ms: summary(appLat.map((l) => l.p99)),
      appP99PooledMs: quantile(pooled.app, 0.99),
      appMaxMs: Math.max(...appLat.map((l) => l.max)),
      bareP50Ms: summary(bareLat.map((l) => l.p50)),
      bareP99Ms: summary(bareLat.map((l) => l.p99)),
      drainPerSecond: summary(drainRates),
      appCpuUsPerRequest: summary(ingest.map((r) => r.app.cpuUsPerRequest)),
      bareCpuUsPerRequest: summary(ingest.map((r) => r.bare.cpuUsPerRequest)),
      appCpuMsPerMessage: summary(drains.map((d) => d.appCpuMsPerMessage)),
      drainAppCpuPct: summary(drains.map((d) => d.appCpuPct)),
      drainEmulatorCpuPct: summary(drains.map((d) => d.emulatorCpuPct)),
      heldDrainPerSecond: summary(drainsWithHeld.map((d) => d.perSecond)),
      heldDrainAppCpuMsPerMessage: summary(drainsWithHeld.map((d) => d.appCpuMsPerMessage)),
      heldDrainCostRatio: summary(drainsWithHeld.map((d, i) => d.appCpuMsPerMessage / (drains[i] ?? drains[0]!).appCpuMsPerMessage)),
      holdAppCpuMsPerMessage: summary(holds.map((d) => d.appCpuMsPerMessage)),
      foreignPctIngest: summary(ingest.flatMap((r) => [r.bare.machine?.foreignPct ?? Number.NaN, r.app.machine?.foreignPct ?? Number.NaN])),
      foreignPctLatency: summary(latency.map((l) => l.machine?.foreignPct ?? Number.NaN)),
      foreignPctDrain: summary(drains.map((d) => d.machine?.foreignPct ?? Number.NaN)),
      ...Object.fromEntries(panelRows.map((r) => [r.key, r.summary])),
      ...(panel ? { foreignPctPanel: panel.foreignPct } : {}),
    } as const;
    const verdicts = {
      ingestRatio: figures.ratio.median >= TARGETS.ingestRatio,
      p99: figures.appP99Ms.median < TARGETS.p99Ms,
      drain: figures.drainPerSecond.median >= TARGETS.drainPerSecond,
      ...(panel ? panel.verdicts : {}),
    };

    printTable(figures, verdicts, panelRows);
    if (panel) printPanelReport(panel);
    const loads: Array<[string, Summary | undefined]> = [
      ['ingest', figures.foreignPctIngest],
      ['latency', figures.foreignPctLatency],
      ['drain', figures.foreignPctDrain],
      ['panel', panel?.foreignPct],
    ];
    for (const [phase, figure] of loads) {
      const load = figure?.median ?? Number.NaN;
      if (load > 15) {
        process.stdout.write(`WARNING: other processes used ${Math.round(load)}% of the machine during the ${phase} rounds (median); those figures are not trustworthy, run again when the machine is quieter.\n`);
      }
    }
    if (profiles) printProfiles(profiles);
    if (problems.length) {
      log('\nCORRECTNESS PROBLEMS:');
      for (const p of problems) log(`  - ${p}`);
    }

    mkdirSync(resultsDir, { recursive: true });
    const result = {
      at: new Date().toISOString(),
      commit: gitCommit(),
      machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadavgAtEnd: loadavg() },
      settings: SETTINGS,
      targets: { ...TARGETS, ...(panel ? { panelP99Ms: panel.targetP99Ms } : {}) },
      verdicts,
      pass: Object.values(verdicts).every(Boolean),
      problems,
      figures,
      rounds: {
        ingest: ingest.map((r) => ({
          bareRps: round(r.bare.rps),
          appRps: round(r.app.rps),
          ratio: round(r.ratio, 3),
          appClosedLoopP99Ms: round(r.app.p99Ms, 2),
          bareClosedLoopP99Ms: round(r.bare.p99Ms, 2),
          appCpuPct: round(r.app.appCpuPct),
          bareCpuPct: round(r.bare.appCpuPct),
          appCpuUsPerRequest: round(r.app.cpuUsPerRequest),
          bareCpuUsPerRequest: round(r.bare.cpuUsPerRequest),
          generatorCpuPct: [round(r.bare.generatorCpuPct), round(r.app.generatorCpuPct)],
          cpuRatio: round(r.cpuRatio, 3),
          foreignPct: [r.bare.machine?.foreignPct, r.app.machine?.foreignPct].map((x) => (x === undefined ? null : round(x))),
        })),
        latency: latency.map((l) => ({ ...l, p50: round(l.p50, 3), p99: round(l.p99, 3), p999: round(l.p999, 3), max: round(l.max, 2), sendLagP99: round(l.sendLagP99, 3), achievedRps: round(l.achievedRps) })),
        drain: drains.map(roundDrain),
        hold: holds.map(roundDrain),
        drainBesideHeld: drainsWithHeld.map(roundDrain),
      },
      profiles,
      panel: panel ? panelResult(panel) : null,
      durationS: round((performance.now() - started) / 1000),
    };
    const file = join(resultsDir, 'latest.json');
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`\nresults written to ${file} (${result.durationS} s)`);
    process.exitCode = problems.length > 0 || (SETTINGS.strict && !result.pass) ? 1 : 0;
  } finally {
    await stack.close();
  }
}

function printTable(f: Record<string, Summary | number>, v: Record<'ingestRatio' | 'p99' | 'drain', boolean>, panelRows: ReturnType<typeof panelTableRows>): void {
  const s = (k: string) => f[k] as Summary;
  const fmt = (x: number, digits: number) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const row = (label: string, k: string, unit: string, digits: number, target = '', verdict?: boolean) => {
    const x = s(k);
    return [label, `${fmt(x.median, digits)} ${unit}`, `${fmt(x.min, digits)} – ${fmt(x.max, digits)}`, target, verdict === undefined ? '' : verdict ? 'PASS' : 'FAIL'];
  };
  const rows: string[][] = [
    ['Figure', 'Median', 'Min – max of rounds', 'Target', 'Verdict'],
    row('Bare Express handler, max throughput', 'bareRps', 'req/s', 0),
    row('Webhook ingest, max throughput', 'appRps', 'req/s', 0),
    row('Ingest / bare throughput ratio', 'ratio', '', 2, `>= ${TARGETS.ingestRatio}`, v.ingestRatio),
    row('  same, from server CPU per request', 'cpuRatio', '', 2),
    row(`Ingest latency p50 @ ${SETTINGS.latencyRate} req/s`, 'appP50Ms', 'ms', 2),
    row(`Ingest latency p99 @ ${SETTINGS.latencyRate} req/s`, 'appP99Ms', 'ms', 2, `< ${TARGETS.p99Ms} ms`, v.p99),
    row(`Bare latency p99 @ ${SETTINGS.latencyRate} req/s (reference)`, 'bareP99Ms', 'ms', 2),
    row('Outbox drain, rate limit off', 'drainPerSecond', 'msg/s', 0, `>= ${TARGETS.drainPerSecond} msg/s`, v.drain),
    row('App CPU per ingest request', 'appCpuUsPerRequest', 'µs', 0),
    row('App CPU per bare request', 'bareCpuUsPerRequest', 'µs', 0),
    row('App CPU per drained message', 'appCpuMsPerMessage', 'ms', 2),
    row('App process CPU during drain', 'drainAppCpuPct', '%', 0),
    row('Drain beside as many held messages', 'heldDrainPerSecond', 'msg/s', 0),
    row('  … app CPU per sent message', 'heldDrainAppCpuMsPerMessage', 'ms', 2),
    row('  … that CPU / the plain drain\'s', 'heldDrainCostRatio', '×', 2),
    row('App CPU per message held (once)', 'holdAppCpuMsPerMessage', 'ms', 2),
    row('Emulators CPU during drain', 'drainEmulatorCpuPct', '%', 0),
    row('Other processes on the machine: ingest', 'foreignPctIngest', '%', 0),
    row('  … latency rounds', 'foreignPctLatency', '%', 0),
    row('  … drain rounds', 'foreignPctDrain', '%', 0),
    ...panelRows.map((r) => row(r.label, r.key, r.unit, r.digits, r.target, r.verdict)),
    ...(panelRows.length ? [row('  … panel rounds', 'foreignPctPanel', '%', 0)] : []),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    '',
    `SMS for Pipedrive benchmark: node ${process.version}, ${cpus().length} CPUs; medians of ${s('ratio').n} ingest, ${s('appP99Ms').n} latency${panelRows.length ? ',' : ' and'} ${s('drainPerSecond').n} drain${panelRows.length ? ` and ${panelRows[0]!.summary.n} panel` : ''} rounds`,
    `(app latency over all rounds pooled: p99 ${fmt(f.appP99PooledMs as number, 2)} ms, worst ${fmt(f.appMaxMs as number, 1)} ms)`,
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

type Profiles = { bare: ProfileSummary; ingest: ProfileSummary; latency: ProfileSummary; drain: ProfileSummary | null };

/** Where the app's CPU goes, per request next to the bare handler's, and per drained message. */
function printProfiles(p: Profiles): void {
  const out: string[] = [];
  const us = (prof: ProfileSummary, layer: string) => prof.byLayer.find((l) => l.layer === layer)?.usPerUnit ?? 0;
  const layers = [...new Set([...p.ingest.byLayer, ...p.bare.byLayer].map((l) => l.layer))]
    .map((layer) => ({ layer, app: us(p.ingest, layer), bare: us(p.bare, layer) }))
    .sort((a, b) => b.app - b.bare - (a.app - a.bare));
  const total = (prof: ProfileSummary) => prof.byLayer.reduce((sum, l) => sum + (l.usPerUnit ?? 0), 0);
  out.push('', `CPU per request by layer, profiled closed-loop rounds (µs; profiler overhead included; ${p.bare.units} bare / ${p.ingest.units} app requests)`);
  out.push(`  ${'layer'.padEnd(42)} ${'bare'.padStart(6)} ${'app'.padStart(6)} ${'extra'.padStart(6)}`);
  for (const l of layers) {
    if (l.app === 0 && l.bare === 0) continue;
    out.push(`  ${l.layer.padEnd(42)} ${String(l.bare).padStart(6)} ${String(l.app).padStart(6)} ${String(l.app - l.bare).padStart(6)}`);
  }
  out.push(`  ${'total'.padEnd(42)} ${String(total(p.bare)).padStart(6)} ${String(total(p.ingest)).padStart(6)} ${String(total(p.ingest) - total(p.bare)).padStart(6)}`);
  out.push('  hottest app functions (self): ' + p.ingest.topFunctions.slice(0, 8).map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`).join(', '));
  if (p.drain) {
    out.push('', `CPU per drained message by layer (µs; ${p.drain.units} messages)`);
    for (const l of p.drain.byLayer.slice(0, 14)) out.push(`  ${l.layer.padEnd(42)} ${String(l.usPerUnit).padStart(6)}  ${String(l.pct).padStart(5)}%`);
    out.push('  hottest functions (self): ' + p.drain.topFunctions.slice(0, 8).map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`).join(', '));
  }
  out.push('  files: bench/results/{bare,ingest,latency,drain}.cpuprofile (open in Chrome DevTools)');
  process.stdout.write(`${out.join('\n')}\n`);
}

function foreign(load: ForeignLoad): string {
  return load ? `${Math.round(load.foreignPct)}%` : 'n/a';
}

type DrainRound = { profile: unknown; ms: number; perSecond: number; appCpuMsPerMessage: number; appCpuPct: number; emulatorCpuPct: number; enqueueMs: number };
/** A drain round as the results file keeps it. */
function roundDrain({ profile: _p, ...d }: DrainRound) {
  return { ...d, ms: round(d.ms), perSecond: round(d.perSecond), appCpuMsPerMessage: round(d.appCpuMsPerMessage, 3), appCpuPct: round(d.appCpuPct), emulatorCpuPct: round(d.emulatorCpuPct), enqueueMs: round(d.enqueueMs) };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

main().catch((error: unknown) => {
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
