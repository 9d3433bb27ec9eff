/**
 * End-to-end latency, the figure a user feels: from a deal webhook leaving the load generator to the Twilio emulator
 * receiving the Messages create call for its text, through the app's real outbox worker loop (woken by new work, never
 * driven by the bench) with production pacing on a Messaging Service sender whose pace the operator lifted
 * (SHARED_SENDER_RATE=1000). Two modes: one webhook at a time (the next only once the previous text reached Twilio,
 * after a small random gap so it is not in step with the worker's timers), and an open loop at a fixed webhook rate
 * with the ingest mix (one request in four queues a text, each to a fresh consenting person, so every text is matched
 * to its webhook by recipient). Times compare across processes on `performance.timeOrigin + performance.now()`.
 *
 * Runs inside `npm run bench` (runE2eSection per engine) or alone: `npx tsx bench/e2e.ts`. Knobs (environment):
 * BENCH_E2E_ENGINE (alone only: sqlite or postgres, default sqlite), BENCH_E2E_SERIAL_N (200), BENCH_E2E_RATE (500
 * webhooks/s), BENCH_E2E_MS (4000 per round), BENCH_E2E_ROUNDS (3), BENCH_E2E_PROFILE=1 (profiles the app in an extra
 * round of each mode, written to bench/results/e2e-<engine>-{serial,rate}.cpuprofile), BENCH_E2E_OUTBOX (JSON of
 * further worker options to try, e.g. '{"concurrency":32}'; the default is the production worker).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Engine, Observation } from './lib/app-host.js';
import { startMeter } from './lib/e2e-meter.js';
import { queueFacts, queueSurprises, type QueueFact } from './lib/e2e-queue.js';
import { e2eTraffic, watchArrivals, type Text } from './lib/e2e-traffic.js';
import { latencies, printE2eReport, type E2eRow, type Latencies, type Sample } from './lib/e2e-figures.js';
import type { OneResult, OpenBodiesResult } from './lib/load-generator.js';
import { sleep } from './lib/open-loop.js';
import type { ProfileSummary } from './lib/profile.js';
import { daytimeWindowForUs } from './lib/quiet-hours.js';
import { startStack } from './lib/stack.js';
import { prepareEngine } from './engine-section.js';
import { envNumber, quantile, round, summary, type Summary } from './lib/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');
const num = envNumber;

export const E2E_SETTINGS = {
  serialN: num('BENCH_E2E_SERIAL_N', 200),
  /** Texts sent one at a time first and not counted: the caches (owner name, SDK clients) and JIT warm up. */
  serialWarmupN: 20,
  rate: num('BENCH_E2E_RATE', 500),
  roundMs: num('BENCH_E2E_MS', 4_000),
  rounds: num('BENCH_E2E_ROUNDS', 3),
  /** A shorter round at the rate first, not counted. */
  warmupMs: 1_000,
  connections: 64,
  /** How long a text may take before it counts as missing. */
  waitMs: 15_000,
  profile: process.env.BENCH_E2E_PROFILE === '1',
  /** Worker options tried on top of production's (none by default). */
  outbox: JSON.parse(process.env.BENCH_E2E_OUTBOX ?? '{}') as Record<string, unknown>,
};
export const E2E_TARGETS = { serialP99Ms: 100, rateP99Ms: 250 };

export type E2eRun = Latencies & {
  webhooks: number;
  texts: number;
  /** Texts that never reached Twilio, webhooks not answered 200. */
  missing: number;
  non200: number;
  foreignPct: number | null;
  /** The bench's own processes (app, generator, emulators, PostgreSQL), % of the whole machine. */
  oursPct: number | null;
  /** The app process's CPU over the run (until the last text arrived), % of one core (Node runs the app on one). */
  appCpuPct: number;
  /** The PostgreSQL server's CPU meanwhile, % of one core (null on SQLite). */
  postgresCpuPct: number | null;
  /** SQL statements the app sent per text (its webhooks' included). */
  statementsPerText: number;
  host: Observation | null;
};
export type E2eRound = E2eRun & {
  textsPerSecond: number;
  achievedRps: number;
  sendLagP99Ms: number;
  /** When the round's first webhook was due (epoch ms): to line the round up with other timelines. */
  firstDueAt: number;
};

export type E2eReport = {
  engine: Engine;
  settings: typeof E2E_SETTINGS;
  targets: typeof E2E_TARGETS;
  serial: E2eRun;
  rounds: E2eRound[];
  /** All measured rounds' texts together. */
  pooled: Latencies;
  figures: Record<string, Summary>;
  verdicts: { serial: boolean; rate: boolean };
  /** Create calls beyond one per expected text (duplicates, or texts nobody queued). */
  extraTexts: number;
  /** The app's outbox at the end, by state, attempts, error and hold (every text sent on its first try, ideally). */
  queue: QueueFact[];
  profiles: { serial: ProfileSummary; rate: ProfileSummary } | null;
  durationS: number;
};

const log = (message: string) => process.stderr.write(`${message}\n`);

export async function runE2eSection(options: { engine: Engine; problems: string[] }): Promise<E2eReport> {
  const { engine, problems } = options;
  const started = performance.now();
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(`e2e (${engine}): ${message}`);
  };
  const stack = await startStack({
    engine,
    messagingService: true,
    env: { SHARED_SENDER_RATE: '1000' },
    outboxOptions: { ...E2E_SETTINGS.outbox, rateLimit: true },
    emulatorKeepAlive: true,
    logLevel: 'warn',
  });
  const { pd, tw, demo, host, gen, info } = stack;
  try {
    const companyId = String(demo.companyId);
    // The automation, the webhook's credentials and the request scenario, as the engine section has them.
    const { scenario, appTarget: target } = await prepareEngine(stack, check);
    // Quiet hours stay on (the recipient's zone is looked up, as in production) with a window open now in the US.
    await host.call('setSettings', { companyId, patch: { quietHours: daytimeWindowForUs(Date.now()) } });
    await host.call('startWorker');

    const traffic = e2eTraffic(stack, scenario);
    const arrivals = watchArrivals(tw, pd);
    const meter = () => startMeter(host, stack.pids, engine === 'postgres' ? info.databaseUrl : null);
    /** Every text a webhook answered 200 queued: what the Twilio emulator must have received once each at the end. */
    const expected: Text[] = [];
    /** The measured rounds' texts, pooled. */
    const pooledSamples: Sample[] = [];

    const sample = (text: Text, sentAt: number, answerMs: number): Sample | null => {
      const at = arrivals.arrivalsOf(text.phone)[0];
      return at === undefined ? null : { sentAt, answerMs, arrivedAt: at, startedAt: arrivals.personReadAt(text.personId) ?? null };
    };

    // ---- one at a time ----------------------------------------------------------------------------------------------
    const serialRun = async (n: number, label: string): Promise<E2eRun> => {
      const samples: Sample[] = [];
      let non200 = 0;
      let missing = 0;
      const measured = await meter();
      for (let i = 0; i < n; i++) {
        const { body, ...text } = traffic.fresh();
        const r = await gen.call<OneResult>('one', { target, body });
        if (r.status !== 200) {
          non200++;
          continue;
        }
        expected.push(text);
        const at = await arrivals.waitFor(text.phone, E2E_SETTINGS.waitMs);
        const s = at === null ? null : sample(text, r.sentAt, r.answerMs);
        if (s) samples.push(s);
        else missing++;
        // Out of step with the worker's timers (poll, heartbeat), as webhooks are.
        await sleep(5 + Math.random() * 25);
      }
      const m = await measured();
      check(non200 === 0, `${label}: ${non200} of ${n} webhooks not answered 200`);
      check(missing === 0, `${label}: ${missing} texts did not reach Twilio within ${E2E_SETTINGS.waitMs / 1000} s`);
      const { statements, ...figures } = m;
      const run = { ...latencies(samples), webhooks: n, texts: n, missing, non200, ...figures, statementsPerText: round(statements / Math.max(1, samples.length)) };
      log(`e2e ${engine} ${label}: ${describe(run)}`);
      return run;
    };

    // ---- an open loop at a fixed webhook rate -----------------------------------------------------------------------
    const rateRound = async (ms: number, label: string, counted = false): Promise<E2eRound> => {
      const n = Math.round((E2E_SETTINGS.rate * ms) / 1000);
      const { bodies, texts } = traffic.mix(n);
      const measured = await meter();
      const r = await gen.call<OpenBodiesResult>('openBodies', { target, bodies, rate: E2E_SETTINGS.rate, connections: E2E_SETTINGS.connections });
      const queued = texts.flatMap((t, i) => (t && r.status[i] === 200 ? [{ text: t, i }] : []));
      expected.push(...queued.map((q) => q.text));
      const missing = await arrivals.waitForAll(
        queued.map((q) => q.text.phone),
        E2E_SETTINGS.waitMs,
      );
      const { statements, ...figures } = await measured();
      const samples = queued.flatMap(({ text, i }) => sample(text, r.dueAt[i]!, r.answerMs[i]!) ?? []);
      if (counted) pooledSamples.push(...samples);
      const non200 = r.status.filter((s) => s !== 200).length;
      const textCount = texts.filter(Boolean).length;
      check(non200 === 0, `${label}: ${non200} of ${n} webhooks not answered 200 (${JSON.stringify(r.statuses)}, ${r.errors} errors)`);
      check(missing === 0, `${label}: ${missing} of ${queued.length} texts did not reach Twilio within ${E2E_SETTINGS.waitMs / 1000} s`);
      const answered = r.answerMs.filter((x) => Number.isFinite(x));
      const run: E2eRound = {
        ...latencies(samples),
        // Every webhook's answer counts here, not only those that queued a text.
        answerP50Ms: round(quantile(answered, 0.5), 2),
        answerP99Ms: round(quantile(answered, 0.99), 2),
        webhooks: n,
        texts: textCount,
        textsPerSecond: (textCount * 1000) / ms,
        achievedRps: r.achievedRps,
        sendLagP99Ms: r.sendLagP99Ms,
        firstDueAt: Math.round(r.dueAt[0]!),
        missing,
        non200,
        ...figures,
        statementsPerText: round(statements / Math.max(1, textCount)),
      };
      log(`e2e ${engine} ${label} @${E2E_SETTINGS.rate} webhooks/s (${round(run.textsPerSecond)} texts/s): ${describe(run)}; generator lag p99 ${r.sendLagP99Ms.toFixed(1)} ms; first due at ${run.firstDueAt}`);
      return run;
    };

    await serialRun(E2E_SETTINGS.serialWarmupN, 'warm-up, one at a time');
    const serial = await serialRun(E2E_SETTINGS.serialN, `one at a time (${E2E_SETTINGS.serialN})`);
    await rateRound(E2E_SETTINGS.warmupMs, 'warm-up round');
    const rounds: E2eRound[] = [];
    for (let i = 0; i < E2E_SETTINGS.rounds; i++) rounds.push(await rateRound(E2E_SETTINGS.roundMs, `round ${i + 1}/${E2E_SETTINGS.rounds}`, true));

    let profiles: E2eReport['profiles'] = null;
    if (E2E_SETTINGS.profile) {
      mkdirSync(resultsDir, { recursive: true });
      const file = (mode: string) => join(resultsDir, `e2e-${engine}-${mode}.cpuprofile`);
      const n = Math.min(E2E_SETTINGS.serialN, 100);
      await host.call('profileStart');
      await serialRun(n, 'profiled, one at a time');
      const serialProfile = await host.call<ProfileSummary>('profileStop', { file: file('serial'), units: n });
      await host.call('profileStart');
      const profiled = await rateRound(E2E_SETTINGS.roundMs, 'profiled round');
      const rateProfile = await host.call<ProfileSummary>('profileStop', { file: file('rate'), units: profiled.texts });
      profiles = { serial: serialProfile, rate: rateProfile };
    }

    // Every queued text exactly once, and nothing else: late duplicates (a retry, a second claim) show up here.
    await sleep(1_000);
    arrivals.poll();
    const duplicated = expected.filter((t) => arrivals.arrivalsOf(t.phone).length > 1).length;
    const extraTexts = arrivals.creates() - expected.length;
    check(duplicated === 0, `${duplicated} recipients got more than one text`);
    check(extraTexts <= 0, `${extraTexts} more Messages create calls than texts queued`);
    check(arrivals.refused() === 0, `the Twilio emulator refused ${arrivals.refused()} create calls`);
    const queue = await queueFacts(info);
    const surprises = queueSurprises(queue);
    if (surprises.length) log(`e2e ${engine}: not every text went on its first try: ${surprises.join('; ')}`);

    const pooled = latencies(pooledSamples);
    const figures: Record<string, Summary> = {
      serialP50Ms: summary([serial.p50Ms]),
      serialP99Ms: summary([serial.p99Ms]),
      serialMaxMs: summary([serial.maxMs]),
      serialStartP99Ms: summary([serial.startP99Ms]),
      serialAnswerP99Ms: summary([serial.answerP99Ms]),
      rateP50Ms: summary(rounds.map((r) => r.p50Ms)),
      rateP99Ms: summary(rounds.map((r) => r.p99Ms)),
      rateMaxMs: summary(rounds.map((r) => r.maxMs)),
      rateStartP99Ms: summary(rounds.map((r) => r.startP99Ms)),
      rateAnswerP99Ms: summary(rounds.map((r) => r.answerP99Ms)),
      rateTextsPerSecond: summary(rounds.map((r) => r.textsPerSecond)),
      rateAppCpuPct: summary(rounds.map((r) => r.appCpuPct)),
      ratePostgresCpuPct: summary(rounds.map((r) => r.postgresCpuPct ?? Number.NaN)),
      rateStatementsPerText: summary(rounds.map((r) => r.statementsPerText)),
      serialStatementsPerText: summary([serial.statementsPerText]),
      foreignPct: summary(rounds.map((r) => r.foreignPct ?? Number.NaN)),
    };
    const verdicts = {
      serial: serial.missing === 0 && serial.p99Ms < E2E_TARGETS.serialP99Ms,
      rate: rounds.every((r) => r.missing === 0) && figures.rateP99Ms!.median < E2E_TARGETS.rateP99Ms,
    };
    return {
      engine,
      settings: E2E_SETTINGS,
      targets: E2E_TARGETS,
      serial,
      rounds,
      pooled,
      figures,
      verdicts,
      extraTexts,
      queue,
      profiles,
      durationS: round((performance.now() - started) / 1000),
    };
  } finally {
    await stack.close();
  }
}

function describe(r: E2eRun): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  return (
    `${r.texts} texts, p50 ${f(r.p50Ms)} ms, p99 ${f(r.p99Ms)} ms, max ${f(r.maxMs)} ms (webhook → worker reads the person p50 ${f(r.startP50Ms)} / p99 ${f(r.startP99Ms)} ms, ` +
    `then → Twilio p50 ${f(r.sendP50Ms)} / p99 ${f(r.sendP99Ms)} ms); webhook answer p99 ${f(r.answerP99Ms)} ms; ` +
    `app CPU ${Math.round(r.appCpuPct)}% of a core${r.postgresCpuPct === null ? '' : `, PostgreSQL ${Math.round(r.postgresCpuPct)}%`}, ${r.statementsPerText} SQL statements a text; loop delay p99 ${f(r.host?.loopDelayP99Ms ?? Number.NaN)} / max ${f(r.host?.loopDelayMaxMs ?? Number.NaN)} ms, GC ${r.host?.gcCount ?? 0}x ${f(r.host?.gcTotalMs ?? 0)} ms; ours ${r.oursPct === null ? 'n/a' : `${Math.round(r.oursPct)}%`} and other processes ${r.foreignPct === null ? 'n/a' : `${Math.round(r.foreignPct)}%`} of the machine`
  );
}

/** The section's rows of the bench table: keyed alike on both engines, labels without the engine. */
export function e2eTableRows(report: E2eReport): E2eRow[] {
  const f = report.figures;
  const at = `@ ${report.settings.rate} webhooks/s`;
  return [
    { key: 'e2e_serial_p50', label: 'End to end webhook → Twilio p50, one at a time', unit: 'ms', digits: 1, target: '', summary: f.serialP50Ms! },
    { key: 'e2e_serial_p99', label: 'End to end webhook → Twilio p99, one at a time', unit: 'ms', digits: 1, target: `< ${report.targets.serialP99Ms} ms`, verdict: report.verdicts.serial, summary: f.serialP99Ms! },
    { key: 'e2e_serial_max', label: '  … worst, one at a time', unit: 'ms', digits: 1, target: '', summary: f.serialMaxMs! },
    { key: 'e2e_rate_p50', label: `End to end webhook → Twilio p50 ${at}`, unit: 'ms', digits: 1, target: '', summary: f.rateP50Ms! },
    { key: 'e2e_rate_p99', label: `End to end webhook → Twilio p99 ${at}`, unit: 'ms', digits: 1, target: `< ${report.targets.rateP99Ms} ms`, verdict: report.verdicts.rate, summary: f.rateP99Ms! },
    { key: 'e2e_rate_max', label: `  … worst ${at}`, unit: 'ms', digits: 1, target: '', summary: f.rateMaxMs! },
    { key: 'e2e_rate_start_p99', label: `  … webhook → worker starts on the text, p99 ${at}`, unit: 'ms', digits: 1, target: '', summary: f.rateStartP99Ms! },
    { key: 'e2e_rate_texts', label: `  … texts queued ${at}`, unit: 'texts/s', digits: 0, target: '', summary: f.rateTextsPerSecond! },
    { key: 'e2e_rate_app_cpu', label: `  … app process CPU ${at} (% of one core)`, unit: '%', digits: 0, target: '', summary: f.rateAppCpuPct! },
    { key: 'e2e_rate_pg_cpu', label: `  … PostgreSQL server CPU ${at} (% of one core)`, unit: '%', digits: 0, target: '', summary: f.ratePostgresCpuPct! },
    { key: 'e2e_rate_sql', label: `  … SQL statements per text ${at} (its webhooks' included)`, unit: '', digits: 1, target: '', summary: f.rateStatementsPerText! },
    { key: 'e2e_serial_sql', label: '  … SQL statements per text, one at a time', unit: '', digits: 1, target: '', summary: f.serialStatementsPerText! },
    { key: 'e2e_rate_answer_p99', label: `Webhook answer p99 ${at}, worker sending`, unit: 'ms', digits: 2, target: '', summary: f.rateAnswerP99Ms! },
    { key: 'e2e_foreign', label: 'Other processes on the machine: end-to-end rounds', unit: '%', digits: 0, target: '', summary: f.foreignPct! },
  ];
}

/** The report for the results file (it keeps no per-text samples, only figures and the slowest few). */
export function e2eResult(report: E2eReport) {
  return report;
}

// ---- alone: npx tsx bench/e2e.ts ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const engine: Engine = process.env.BENCH_E2E_ENGINE === 'postgres' ? 'postgres' : 'sqlite';
  log(`bench (end to end, ${engine}): node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const problems: string[] = [];
  const report = await runE2eSection({ engine, problems });
  printE2eReport(report, e2eTableRows(report));
  if (problems.length) {
    log('\nCORRECTNESS PROBLEMS:');
    for (const p of problems) log(`  - ${p}`);
  }
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `e2e-${engine}.json`);
  const pass = Object.values(report.verdicts).every(Boolean);
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadavgAtEnd: loadavg() };
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), machine, pass, problems, ...e2eResult(report) }, null, 2)}\n`);
  log(`\nresults written to ${file} (${report.durationS} s)`);
  process.exitCode = problems.length > 0 || (process.env.BENCH_STRICT === '1' && !pass) ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    log(`bench (end to end) failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  });
}
