import type { PanelReport } from './panel-scenarios.js';
import { fmt, ms } from './panel-scenarios.js';
import { reportListsLines, reportListsTableRows } from '../report-lists.js';
import type { Summary } from './stats.js';

/**
 * The panel section's report: its rows of run.ts's summary table, its own table and where a request's time goes,
 * and the figures for the results file. Labels never name the engine (run.ts puts each engine in a column of its
 * own, matching rows by key).
 */

/** The rows the panel adds to run.ts's summary table: figure key, label, unit, digits, target and verdict. */
export function panelTableRows(report: PanelReport): Array<{ key: string; label: string; unit: string; digits: number; target: string; verdict?: boolean; summary: Summary }> {
  const rows = [];
  for (const s of report.scenarios) {
    const what = `${s.limit === 200 ? '200 newest' : 'limit=1000'}, ${s.label}`;
    rows.push({ key: `panel_${s.key}_p99`, label: `Panel GET p99 (${what})`, unit: 'ms', digits: 2, target: s.target ? `< ${report.targetP99Ms} ms` : 'info', ...(s.pass === null ? {} : { verdict: s.pass }), summary: s.p99Ms });
  }
  const c1 = report.scenarios.find((s) => s.key === 'c1')!;
  const c8 = report.scenarios.find((s) => s.key === 'c8')!;
  rows.push({ key: 'panel_c1_p50', label: 'Panel GET p50 (200 newest, warm, c=1)', unit: 'ms', digits: 2, target: '', summary: c1.p50Ms });
  rows.push({ key: 'panel_c8_rps', label: 'Panel GET throughput (200 newest, c=8)', unit: 'req/s', digits: 0, target: '', summary: c8.rps });
  rows.push({ key: 'panel_cpu', label: 'App CPU per panel GET (200 newest, c=1)', unit: 'ms', digits: 2, target: '', summary: c1.appCpuMsPerRequest });
  if (report.reportLists) rows.push(...reportListsTableRows(report.reportLists));
  return rows;
}

/** The panel's own table (p50 / p99 / max / rate per scenario) and where a request's time goes. */
export function printPanelReport(report: PanelReport): void {
  const out: string[] = [];
  const seed = report.seed;
  const engine = report.engine === 'postgres' ? 'PostgreSQL' : 'SQLite';
  out.push(
    '',
    `Deal panel GET /api/panel/deals/:id on ${engine} — the measured deal has ${fmt(seed.measuredVisible, 0)} messages among ${fmt(seed.totals.messages, 0)} ` +
      `(${fmt(seed.totals.outbound, 0)} outbound, ${fmt(seed.totals.inbound, 0)} inbound, ${fmt(seed.totals.consentEvents, 0)} consent events; ` +
      `${fmt(seed.dbBytes / 2 ** 20, 0)} MiB, seeded in ${fmt(seed.ms / 1000, 1)} s: ${Object.entries(seed.phases).map(([k, v]) => `${k} ${fmt(v / 1000, 1)} s`).join(', ')}); ${report.settings.rounds} round(s), ` +
      `closed loops of up to ${report.settings.closedN} (200 newest) / ${report.settings.closedN1000} (limit=1000) requests or ${report.settings.closedMaxMs / 1000} s, open loop ${report.settings.openMs / 1000} s`,
  );
  const rows: string[][] = [['Scenario', 'requests', 'p50', 'p99', 'max', 'rate', 'answer', 'PD reads', 'CPU/req', 'target', 'verdict']];
  const bare = (x: number, d: number) => (Number.isFinite(x) ? fmt(x, d) : '∞');
  const range = (x: Summary, d: number) => (x.n > 1 ? `${bare(x.median, d)} (${bare(x.min, d)}–${bare(x.max, d)}) ms` : ms(x.median, d));
  for (const s of report.scenarios) {
    rows.push([
      `${s.limit === 200 ? '200 newest' : 'limit=1000'}, ${s.label}`,
      s.unanswered ? `${fmt(s.requests, 0)} (${fmt(s.unanswered, 0)} unanswered)` : fmt(s.requests, 0),
      range(s.p50Ms, 2),
      range(s.p99Ms, 2),
      ms(s.maxMs.max, 1),
      `${fmt(s.rps.median, 0)} req/s`,
      `${fmt(s.bytes / 1024, 0)} KiB`,
      String(s.pipedriveReads),
      `${fmt(s.appCpuMsPerRequest.median, 2)} ms`,
      s.target ? `< ${report.targetP99Ms} ms` : 'info',
      s.pass === null ? '' : s.pass ? 'PASS' : 'FAIL',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line));
  out.push(
    `(the cold pass reads deal and person from the local Pipedrive emulator; real Pipedrive adds its round trips. ` +
      `c=8 is eight panels at once on one event loop: a saturation figure, not part of the held verdict.)`,
  );
  for (const [name, p] of [['200 newest', report.probe.page], ['limit=1000', report.probe.limit1000]] as const) {
    out.push(
      '',
      `One request (${name}), from inside the app, median of ${p.runs}: ${fmt(p.requestMs, 2)} ms in all; SQL ${fmt(p.sqlMs, 2)} ms; ` +
        `JSON.stringify of the ${fmt(p.bytes / 1024, 0)} KiB answer ${fmt(p.stringifyMs, 2)} ms; the rest (Express, JWT, Kysely, our code, HTTP) ${fmt(p.requestMs - p.sqlMs - p.stringifyMs, 2)} ms`,
    );
    for (const q of [...p.queries].sort((a, b) => b.medianMs - a.medianMs)) {
      out.push(`  ${fmt(q.medianMs, 2).padStart(6)} ms  ${String(q.rows).padStart(5)} rows  ${q.sql.length > 150 ? `${q.sql.slice(0, 147)}...` : q.sql}`);
      if (q.plan.length) out.push(`                        plan: ${q.plan.join(' | ')}`);
    }
  }
  out.push('');
  for (const r of report.reports) {
    out.push(`Report of the last ${r.days} days (${r.messages.toLocaleString('en-US')} messages): ${r.ms} ms, ${report.engine === 'postgres' ? 'read over the pool' : 'read on a worker thread'}; the main event loop's longest delay meanwhile ${r.loopDelayMaxMs} ms`);
  }
  if (report.reportLists) out.push(...reportListsLines(report.reportLists));
  for (const [name, p] of Object.entries(report.profiles)) {
    out.push('', `CPU per request by layer, profiled closed loop c=1 (${name}, ${p.units} requests; µs, profiler overhead included)`);
    for (const l of p.byLayer.slice(0, 12)) out.push(`  ${l.layer.padEnd(42)} ${String(l.usPerUnit).padStart(6)}  ${String(l.pct).padStart(5)}%`);
    out.push('  hottest functions (self): ' + p.topFunctions.slice(0, 8).map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`).join(', '));
    out.push(`  file: bench/results/${name}.cpuprofile (open in Chrome DevTools)`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The report without the per-round latency arrays and other bulk, for the results file. */
export function panelResult(report: PanelReport) {
  const { seed, ...rest } = report;
  const { args, ...seedFigures } = seed;
  return { ...rest, seed: { ...seedFigures, args: { ...args, measured: { dealId: args.measured.dealId, e164: args.measured.e164 } } } };
}
