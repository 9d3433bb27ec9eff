/**
 * The deal panel's read under a production-sized database: `GET /api/panel/deals/:dealId` for a
 * deal with 1,000 messages in a database of 1,000,000, target p99 < 30 ms. `npx tsx bench/panel.ts` runs it alone
 * (results in bench/results/panel.json); `npm run bench` runs it as its last section (results in latest.json).
 *
 * The app's database, its SQLite file or its PostgreSQL schema (the stack's engine), is seeded once per run by a
 * separate process (lib/panel-seed.ts): 900,000 outbound and 100,000 inbound messages over 5,000 deals of five
 * companies, the measured deal (Ann's demo deal) with exactly 1,000 of them,
 * and a few hundred "heavy" deals with 1,000 each that exist in the Pipedrive emulator for the cold-cache pass. Then:
 *   - cold: each heavy deal once (c=1), so every request pays the Pipedrive read of deal and person (emulated locally:
 *     real Pipedrive adds its own round trips, so this figure is our overhead of a miss, not a production latency);
 *   - warm (after a short warm-up): closed loops of N requests at concurrency 1 and 8, and an open loop at a fixed
 *     rate, for the default page (200 newest) and for ?limit=1000;
 *   - every answer is checked (status 200, the expected number of messages and `more` flag); one of each is parsed
 *     and validated in full;
 *   - then, outside the measured rounds, a probe times each SQL statement of one request with its query plan, and a
 *     CPU profile of the app is taken when a target is missed (or with BENCH_PROFILE=1).
 *
 * Knobs (environment): BENCH_PANEL=0 (skip it in run.ts), BENCH_PANEL_ROUNDS (1), BENCH_PANEL_N (closed-loop requests,
 * default page, 2000), BENCH_PANEL_N_1000 (closed-loop requests, limit=1000, 500), BENCH_PANEL_MAX_MS (a closed loop
 * stops starting requests after this, 9000, so a slow app still finishes the section in about two minutes),
 * BENCH_PANEL_RATE (100 req/s), BENCH_PANEL_OPEN_MS (5000), BENCH_PANEL_HEAVY (cold-pass deals, 200),
 * BENCH_PANEL_OUTBOUND (900000), BENCH_PANEL_INBOUND (100000), BENCH_PROFILE=1, BENCH_STRICT=1; the report lists measured
 * on the same database afterwards (report-lists.ts): BENCH_REPORT_LISTS=0 skips them, BENCH_REPORT_LISTS_N (500).
 * Alone, BENCH_PANEL_ENGINE=sqlite|postgres (sqlite) picks the app's database; run.ts calls the section once per
 * engine and lines the reports up by their rows' keys.
 *
 * The scenarios and their figures are in lib/panel-scenarios.ts, the printing in lib/panel-print.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { resolveDefaultPhone } from '../server/messaging/index.js';
import type { Engine } from './lib/app-host.js';
import { addConsentingDeal } from './lib/contacts.js';
import { startPeer } from './lib/ipc.js';
import type { GetClosedResult, GetRequest, Target } from './lib/load-generator.js';
import { panelResult, printPanelReport } from './lib/panel-print.js';
import type { ProbeResult, ReportProbe } from './lib/panel-probe.js';
import { expectAnswer, PANEL_SETTINGS, PANEL_TARGET_P99_MS, runScenarios, validateView, type PanelReport } from './lib/panel-scenarios.js';
import type { SeedArgs, SeedDeal, SeedResult } from './lib/panel-seed.js';
import type { ProfileSummary } from './lib/profile.js';
import { FROM_NUMBER, startStack, type Stack } from './lib/stack.js';
import { round, summary } from './lib/stats.js';
import { REPORT_LISTS_ENABLED, runReportListsSection } from './report-lists.js';

// run.ts takes all of the section from here.
export { PANEL_SETTINGS, PANEL_TARGET_P99_MS, type PanelReport, type ScenarioFigures, type ScenarioRound } from './lib/panel-scenarios.js';
export { panelResult, panelTableRows, printPanelReport } from './lib/panel-print.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');
const log = (message: string) => process.stderr.write(`${message}\n`);

/** Runs the panel section against a started stack; correctness failures are appended to `problems`. */
export async function runPanelSection(stack: Stack, problems: string[]): Promise<PanelReport> {
  const started = performance.now();
  const { demo, host, gen, info, company } = stack;
  const ownProblems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (ok) return;
    ownProblems.push(message);
    problems.push(`panel: ${message}`);
  };
  const S = PANEL_SETTINGS;

  // ---- the deals Pipedrive knows, with consent, and the database around them --------------------------------------
  await demo.grantConsent(company.consentFieldKey, company.grantedOption, company.optedOutOption);
  const ann = demo.persons.find((p) => p.consent === 'Granted' && p.name.startsWith('Ann'));
  if (!ann) throw new Error('the demo has no consenting person');
  const e164Of = (phone: string) => {
    const r = resolveDefaultPhone([{ value: phone, primary: true }]);
    if (!r.ok) throw new Error(`demo phone ${phone} does not resolve`);
    return r.e164;
  };
  const measured: SeedDeal = { dealId: ann.dealId, personId: ann.id, e164: e164Of(ann.phone), first: 'Ann', title: 'Solar panels for Ann' };
  const heavy: SeedDeal[] = [];
  for (let i = 0; i < S.heavyDeals; i++) {
    const phone = `+1628555${String(i).padStart(4, '0')}`;
    const { person, deal } = addConsentingDeal(stack, { phone, firstName: `Heavy${i}`, dealTitle: `Heat pump for Heavy${i}`, stageId: demo.stages.negotiation });
    heavy.push({ dealId: deal.id, personId: person.id, e164: e164Of(phone), first: `Heavy${i}`, title: deal.title });
  }
  const seedArgs = {
    companyId: company.id,
    otherCompanies: ['2001', '2002', '2003', '2004'],
    measured,
    measuredMessages: S.measuredMessages,
    heavyMessages: 1_000,
    deals: S.deals,
    outbound: S.outbound,
    inbound: S.inbound,
    consentEvents: S.consentEvents,
    senderKey: FROM_NUMBER,
  };
  log(`panel: seeding ${(S.outbound + S.inbound).toLocaleString('en-US')} messages into the app's ${info.engine === 'postgres' ? 'PostgreSQL schema' : 'SQLite file'}`);
  const seeder = await startPeer('panel seeder', join(here, 'lib/panel-seed.ts'));
  let seeded: SeedResult;
  try {
    seeded = await seeder.call<SeedResult>('seed', { ...seedArgs, heavy, engine: info.engine, dbFile: info.dbFile, databaseUrl: info.databaseUrl } satisfies SeedArgs);
  } finally {
    await seeder.close();
  }
  log(
    `panel: seeded in ${(seeded.ms / 1000).toFixed(1)} s (${Object.entries(seeded.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}); ` +
      `${seeded.totals.messages.toLocaleString('en-US')} messages in the database, ${(seeded.dbBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  check(seeded.measuredVisible === S.measuredMessages, `the measured deal has ${seeded.measuredVisible} messages, expected ${S.measuredMessages}`);
  check(seeded.heavyVisible.min === 1_000 && seeded.heavyVisible.max === 1_000, `heavy deals have ${seeded.heavyVisible.min}–${seeded.heavyVisible.max} messages`);
  check(seeded.totals.messages >= 1_000_000 || S.outbound + S.inbound < 1_000_000, `only ${seeded.totals.messages} messages in the database`);

  // ---- requests and what each answer must hold ----------------------------------------------------------------------
  const token = await host.call<string>('panelToken', { userId: demo.adminUserId, companyId: demo.companyId, ttlSeconds: 3_600 });
  const app = new URL(info.appUrl);
  const target: Target = { host: app.hostname, port: Number(app.port), path: '', authorization: `Bearer ${token}` };
  const expect = expectAnswer;
  const pagePath = `/api/panel/deals/${measured.dealId}`;
  const requestsFor = (limit: 200 | 1000): GetRequest[] => [
    { path: limit === 200 ? pagePath : `${pagePath}?limit=1000`, check: { ...expect(S.measuredMessages, limit), contains: [...expect(S.measuredMessages, limit).contains, `"deal":{"id":${measured.dealId},`] } },
  ];
  const coldRequests: GetRequest[] = heavy.map((d) => ({ path: `/api/panel/deals/${d.dealId}`, check: { ...expect(1_000, 200), contains: [...expect(1_000, 200).contains, `"deal":{"id":${d.dealId},`] } }));

  // ---- one answer of each kind validated in full (this also warms the measured deal's Pipedrive cache) -------------
  const sizes: Record<number, number> = {};
  for (const limit of [200, 1000] as const) {
    const r = await gen.call<GetClosedResult>('getClosed', { target, requests: requestsFor(limit), connections: 1, count: 1, keepSample: true });
    check(r.statuses['200'] === 1, `sanity (limit ${limit}): answered ${JSON.stringify(r.statuses)} ${r.sample?.slice(0, 200) ?? ''}`);
    if (r.sample) {
      sizes[limit] = Buffer.byteLength(r.sample);
      for (const p of validateView(r.sample, { dealId: measured.dealId, e164: measured.e164, total: S.measuredMessages, limit })) check(false, `sanity (limit ${limit}): ${p}`);
    }
  }
  if (ownProblems.length) throw new Error(ownProblems.join('\n'));

  // ---- the scenarios ----------------------------------------------------------------------------------------------
  const scenarios = await runScenarios({ stack, target, requestsFor, coldRequests, check });

  const passed = (keys: string[]) => scenarios.filter((s) => keys.includes(s.key)).every((s) => s.pass === true);
  // The held target: one user opening the panel, and panels opened at a steady rate. Eight at once on this app's
  // single event loop is a saturation figure (its p99 is eight service times), shown with a verdict but not held.
  const verdicts = { panelP99: passed(['c1', 'open']), panelP99Limit1000: passed(['c1_1000', 'open_1000']) };

  // ---- where the time goes: statements and plans of one request, and a CPU profile on a miss -----------------------
  const profiles: Record<string, ProfileSummary> = {};
  for (const limit of [200, 1000] as const) {
    const missed = limit === 200 ? !verdicts.panelP99 : !verdicts.panelP99Limit1000;
    if (!S.profile && !missed) continue;
    mkdirSync(resultsDir, { recursive: true });
    // One engine's profile does not overwrite the other's when run.ts measures both.
    const name = `panel${limit === 200 ? '' : '-1000'}${info.engine === 'postgres' ? '-postgres' : ''}`;
    const requests = requestsFor(limit);
    await host.call('profileStart');
    const r = await gen.call<GetClosedResult>('getClosed', { target, requests, connections: 1, count: limit === 200 ? 250 : 100 });
    profiles[name] = await host.call<ProfileSummary>('profileStop', { file: join(resultsDir, `${name}.cpuprofile`), units: r.completed });
  }
  const probe = {
    page: await host.call<ProbeResult>('panelProbe', { path: requestsFor(200)[0]!.path, authorization: target.authorization, runs: 15 }),
    limit1000: await host.call<ProbeResult>('panelProbe', { path: requestsFor(1000)[0]!.path, authorization: target.authorization, runs: 15 }),
  };
  const reports: ReportProbe[] = [];
  for (const days of [30, 365]) reports.push(await host.call<ReportProbe>('reportProbe', { companyId: String(demo.companyId), days }));
  const reportLists = REPORT_LISTS_ENABLED ? await runReportListsSection(stack, problems, target) : null;

  return {
    engine: info.engine,
    settings: S,
    targetP99Ms: PANEL_TARGET_P99_MS,
    seed: { ...seeded, args: { ...seedArgs, heavyDeals: heavy.length } },
    scenarios,
    verdicts,
    probe,
    reports,
    reportLists,
    profiles,
    foreignPct: summary(scenarios.flatMap((s) => s.rounds.map((r) => r.foreignPct ?? Number.NaN))),
    durationS: round((performance.now() - started) / 1000),
  };
}

// ---- alone: npx tsx bench/panel.ts -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  log(`bench (panel): node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const problems: string[] = [];
  const asked = process.env.BENCH_PANEL_ENGINE || 'sqlite';
  if (asked !== 'sqlite' && asked !== 'postgres') throw new Error(`BENCH_PANEL_ENGINE is sqlite or postgres, not ${asked}`);
  const engine: Engine = asked;
  const stack = await startStack({ emulatorKeepAlive: process.env.BENCH_EMULATOR_KEEPALIVE !== '0', logLevel: process.env.BENCH_LOG_LEVEL ?? 'info', engine });
  try {
    const report = await runPanelSection(stack, problems);
    printPanelReport(report);
    if (problems.length) {
      log('\nCORRECTNESS PROBLEMS:');
      for (const p of problems) log(`  - ${p}`);
    }
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, engine === 'postgres' ? 'panel-postgres.json' : 'panel.json');
    const pass = Object.values(report.verdicts).every(Boolean);
    writeFileSync(
      file,
      `${JSON.stringify({ at: new Date().toISOString(), machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadavgAtEnd: loadavg() }, pass, problems, ...panelResult(report) }, null, 2)}\n`,
    );
    log(`\nresults written to ${file} (${report.durationS} s)`);
    process.exitCode = problems.length > 0 || (process.env.BENCH_STRICT === '1' && !pass) ? 1 : 0;
  } finally {
    await stack.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    log(`bench (panel) failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  });
}
