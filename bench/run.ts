/**
 * `npm run bench`: every figure on SQLite and on PostgreSQL in one run on this machine, side by side — webhook ingest
 * against a bare Express baseline, latency at a fixed rate, the outbox drain (also beside as many messages held for
 * quiet hours as it sends), what each costs the database, two instances draining one PostgreSQL queue, the deal
 * panel's read under a production-sized database (bench/panel.ts), and the end-to-end latency from a deal webhook to
 * the Twilio create call (bench/e2e.ts). Three processes per engine: this orchestrator (which also hosts the Pipedrive
 * and Twilio emulators, standing in for the remote services), the app under test, and the load generator. Rounds are
 * repeated and alternated with the baseline so a noisy neighbour hits both; the figures are medians.
 *
 * Knobs (environment): BENCH_ENGINES (sqlite,postgres), BENCH_ROUNDS (ingest rounds, 7), BENCH_LATENCY_ROUNDS (3),
 * BENCH_LATENCY_RATE (500), BENCH_DRAIN_N (messages per drain round, 1000), BENCH_DRAIN_ROUNDS (3), BENCH_TWO=0 (skip
 * the two instances), BENCH_PANEL=0 (skip the panel; its knobs are in panel.ts), BENCH_E2E=0 (skip the end-to-end
 * section; its knobs are in e2e.ts), BENCH_PROFILE=1 (profiled rounds, .cpuprofile files), BENCH_STRICT=1 (exit 1 when
 * a target is missed; a failed correctness check always exits 1), BENCH_EMULATOR_KEEPALIVE=0 (leave the emulators'
 * one-second keep-alive, see lib/emulator-keep-alive.ts), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { E2E_TARGETS, e2eResult, e2eTableRows, runE2eSection, type E2eReport } from './e2e.js';
import { ENGINE_SETTINGS, ENGINE_TARGETS, engineTableRows, prepareEngine, runEngineSection, type EngineReport } from './engine-section.js';
import type { Engine } from './lib/app-host.js';
import { formatProfiles } from './lib/profile-print.js';
import { startStack } from './lib/stack.js';
import { round } from './lib/stats.js';
import { formatTable, type Column, type SectionRow } from './lib/table.js';
import { PANEL_SETTINGS, panelResult, panelTableRows, printPanelReport, runPanelSection, type PanelReport } from './panel.js';
import { extrapolate, runTwoInstancesSection, twoInstancesTableRows, type TwoInstancesReport } from './two-instances.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');
const ENGINE_NAMES: Record<Engine, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const engines = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',').map((e) => e.trim()).filter((e): e is Engine => e === 'sqlite' || e === 'postgres');
const SETTINGS = {
  ...ENGINE_SETTINGS,
  engines,
  twoInstances: process.env.BENCH_TWO !== '0',
  e2e: process.env.BENCH_E2E !== '0',
  emulatorKeepAlive: process.env.BENCH_EMULATOR_KEEPALIVE !== '0',
  strict: process.env.BENCH_STRICT === '1',
};

const problems: string[] = [];
const check = (ok: boolean, message: string) => {
  if (!ok) problems.push(message);
};
const log = (message: string) => process.stderr.write(`${message}\n`);

type EngineRun = { engine: Engine; report: EngineReport; two: TwoInstancesReport | null; panel: PanelReport | null; e2e: E2eReport | null };

async function runEngine(engine: Engine): Promise<EngineRun> {
  const stack = await startStack({ engine, emulatorKeepAlive: SETTINGS.emulatorKeepAlive, logLevel: process.env.BENCH_LOG_LEVEL ?? 'info' });
  try {
    const setup = await prepareEngine(stack, check);
    if (problems.length) throw new Error(problems.join('\n'));
    const report = await runEngineSection(stack, setup, check, resultsDir);
    const two = engine === 'postgres' && SETTINGS.twoInstances ? await runTwoInstancesSection(stack, setup, check) : null;
    // Last: it grows the database to a million messages.
    let panel: PanelReport | null = null;
    if (PANEL_SETTINGS.enabled) {
      try {
        panel = await runPanelSection(stack, problems);
      } catch (error) {
        problems.push(`${engine} panel section aborted: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return { engine, report, two, panel, e2e: null };
  } finally {
    await stack.close();
  }
}

/** On a stack of its own: the real worker loop on a Messaging Service sender (see e2e.ts). */
async function runEndToEnd(run: EngineRun): Promise<void> {
  try {
    run.e2e = await runE2eSection({ engine: run.engine, problems });
  } catch (error) {
    problems.push(`${run.engine} end-to-end section aborted: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  log(`bench: node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, engines ${engines.join(', ')}`);
  mkdirSync(resultsDir, { recursive: true });
  const runs: EngineRun[] = [];
  for (const engine of engines) runs.push(await runEngine(engine));
  if (SETTINGS.e2e) for (const run of runs) await runEndToEnd(run);

  const columns = (rowsOf: (r: EngineRun) => SectionRow[]): Column[] => runs.map((r) => ({ name: ENGINE_NAMES[r.engine], rows: rowsOf(r) }));
  const out: string[] = [
    '',
    `SMS for Pipedrive benchmark: node ${process.version}, ${cpus().length} CPUs; medians of ${SETTINGS.ingestRounds} ingest, ${SETTINGS.latencyRounds} latency and ${SETTINGS.drainRounds} drain rounds per engine`,
    '',
    'Webhooks, outbox and database cost',
    formatTable(columns((r) => engineTableRows(r.report))),
  ];
  const pg = runs.find((r) => r.engine === 'postgres');
  if (pg?.two) out.push('', 'Several instances on one PostgreSQL database', formatTable([{ name: 'PostgreSQL', rows: twoInstancesTableRows(pg.two) }]));
  let capacity: ReturnType<typeof extrapolate> | null = null;
  if (pg) {
    const f = pg.report.figures;
    capacity = extrapolate({
      dbCpuMsPerMessage: f.dbCpuMsPerMessage.median,
      appCpuMsPerMessage: f.appCpuMsPerMessage.median,
      dbCpuUsPerRequest: f.dbCpuUsPerRequest.median,
      appCpuUsPerRequest: f.appCpuUsPerRequest.median,
      webhooksPerMessage: 4,
    });
    if (Number.isFinite(capacity.instancesPerDbCore)) {
      out.push(
        '',
        `Extrapolation: per text sent (with the four webhooks of the mix that bring one), PostgreSQL spends ${capacity.dbMsPerMessage.toFixed(2)} ms of CPU and the app ${capacity.appMsPerMessage.toFixed(2)} ms;` +
          ` one PostgreSQL core carries ~${Math.round(capacity.messagesPerDbCore)} texts/s, one app core ~${Math.round(capacity.messagesPerAppCore)} texts/s,` +
          ` so one database core keeps ~${capacity.instancesPerDbCore.toFixed(1)} fully busy one-core app instances fed (CPU only; disk and locks not counted).`,
      );
    }
  }
  if (runs.some((r) => r.e2e)) out.push('', 'End to end: deal webhook to the Twilio create call', formatTable(columns((r) => (r.e2e ? e2eTableRows(r.e2e) : []))));
  const panels = runs.filter((r) => r.panel);
  if (panels.length) out.push('', 'Deal panel and report lists at a million messages', formatTable(columns((r) => (r.panel ? panelTableRows(r.panel) : []))));
  process.stdout.write(`${out.join('\n')}\n`);
  for (const r of panels) printPanelReport(r.panel!);
  for (const r of runs) if (r.report.profiles) process.stdout.write(`${formatProfiles(r.engine, r.report.profiles)}\n`);
  for (const r of runs) {
    const f = r.report.figures;
    for (const [phase, load] of [['ingest', f.foreignPctIngest.median], ['latency', f.foreignPctLatency.median], ['drain', f.foreignPctDrain.median], ['panel', r.panel?.foreignPct.median ?? Number.NaN], ['end-to-end', r.e2e?.figures.foreignPct?.median ?? Number.NaN]] as const) {
      if (load > 15) process.stdout.write(`WARNING (${ENGINE_NAMES[r.engine]}): other processes used ${Math.round(load)}% of the machine during the ${phase} rounds (median); those figures are not trustworthy, run again when the machine is quieter.\n`);
    }
  }
  if (problems.length) {
    log('\nCORRECTNESS PROBLEMS:');
    for (const p of problems) log(`  - ${p}`);
  }

  const verdicts: Record<string, boolean> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.report.verdicts)) verdicts[`${r.engine}.${k}`] = v;
    if (r.panel) for (const [k, v] of Object.entries(r.panel.verdicts)) verdicts[`${r.engine}.${k}`] = v;
    if (r.two) verdicts[`${r.engine}.twoInstancesNoDuplicates`] = r.two.figures.duplicates.max === 0;
    if (r.e2e) for (const [k, v] of Object.entries(r.e2e.verdicts)) verdicts[`${r.engine}.e2e_${k}`] = v;
  }
  const result = {
    at: new Date().toISOString(),
    commit: gitCommit(),
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadavgAtEnd: loadavg() },
    settings: SETTINGS,
    targets: { ...ENGINE_TARGETS, e2e: E2E_TARGETS, ...(panels[0]?.panel ? { panelP99Ms: panels[0].panel.targetP99Ms } : {}) },
    verdicts,
    pass: Object.values(verdicts).every(Boolean),
    problems,
    engines: Object.fromEntries(
      runs.map((r) => [
        r.engine,
        { figures: r.report.figures, rounds: r.report.rounds, twoInstances: r.two, panel: r.panel ? panelResult(r.panel) : null, endToEnd: r.e2e ? e2eResult(r.e2e) : null },
      ]),
    ),
    capacity,
    durationS: round((performance.now() - started) / 1000),
  };
  const file = join(resultsDir, 'latest.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`\nresults written to ${file} (${result.durationS} s)`);
  process.exitCode = problems.length > 0 || (SETTINGS.strict && !result.pass) ? 1 : 0;
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
