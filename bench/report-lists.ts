/**
 * The settings page's report lists on the panel section's production-sized database (1,000,000 messages, the
 * measured company's half of them over a year): `GET /api/reports/messages` and `GET /api/reports/replies`, a page
 * of 50, target p99 < 100 ms. Run by bench/panel.ts after its own scenarios, on the same seeded database, SQLite or
 * PostgreSQL (skip with BENCH_REPORT_LISTS=0). The rows' keys and labels do not name the engine: run.ts shows the
 * engines side by side.
 *
 * Each scenario is a warm closed loop at concurrency 1 of BENCH_REPORT_LISTS_N requests (500), rotating over its
 * paths: the newest page, and pages deep in the year (cursors at 10 points spread over it, so a page's cost is seen
 * not to grow with its depth), for all messages, one automation's, the deal panel's, and the replies (all and one
 * automation's). Every answer is checked: status 200, exactly 50 rows; one of each is parsed and checked in full
 * (order, period, filter, cursor).
 */
import { encodeCursor } from '../server/reports/report-cursor.js';
import type { ProbeQuery, ProbeResult } from './lib/panel-probe.js';
import type { GetClosedResult, GetRequest, Target } from './lib/load-generator.js';
import type { Stack } from './lib/stack.js';
import { quantile, round, summary, type Summary } from './lib/stats.js';

export const REPORT_LISTS_TARGET_P99_MS = 100;
const N = Number(process.env.BENCH_REPORT_LISTS_N) > 0 ? Number(process.env.BENCH_REPORT_LISTS_N) : 500;
export const REPORT_LISTS_ENABLED = process.env.BENCH_REPORT_LISTS !== '0';
const PAGE = 50;
const DEPTHS = 10;

export type ReportListFigure = {
  key: string;
  label: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  bytes: number;
  pass: boolean;
  /**
   * One page timed from inside the app (median of 15), and its SQL statements with their plans: on a machine
   * shared with other work, the part of the latency that is this code's own.
   */
  probe: { requestMs: number; sqlMs: number; queries: Array<Pick<ProbeQuery, 'sql' | 'medianMs' | 'rows' | 'plan'>> };
};
export type ReportListsReport = { targetP99Ms: number; figures: ReportListFigure[] };

const log = (message: string) => process.stderr.write(`${message}\n`);

export async function runReportListsSection(stack: Stack, problems: string[], target: Target): Promise<ReportListsReport> {
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(`report lists: ${message}`);
  };
  // The year the seed spreads its rows over: cursors at points inside it, as a reader paging down would hold.
  const now = Date.now();
  const depthCursor = (kind: 'messages' | 'replies', k: number) =>
    encodeCursor(kind, { at: new Date(now - ((k + 0.5) / DEPTHS) * 360 * 86_400_000).toISOString(), id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' });
  const automation = await stack.host.call<string | null>('busiestAutomation', { companyId: String(stack.demo.companyId) });
  if (!automation) throw new Error('the seeded company has no automation messages');

  const marker = { messages: '"createdAt":"', replies: '"from":"' } as const;
  const scenario = (key: string, label: string, kind: 'messages' | 'replies', query: string, deep: boolean): { key: string; label: string; kind: typeof kind; requests: GetRequest[] } => {
    const base = `/api/reports/${kind}?days=365&limit=${PAGE}${query}`;
    const paths = deep ? Array.from({ length: DEPTHS }, (_, k) => `${base}&cursor=${depthCursor(kind, k)}`) : [base];
    return { key, label, kind, requests: paths.map((path) => ({ path, check: { marker: marker[kind], count: PAGE, contains: ['"nextCursor":"'] } })) };
  };
  const scenarios = [
    scenario('messages_top', 'messages, newest page', 'messages', '', false),
    scenario('messages_deep', 'messages, pages deep in the year', 'messages', '', true),
    scenario('messages_automation', "one automation's messages, deep", 'messages', `&automationId=${automation}`, true),
    scenario('messages_panel', "the deal panel's messages, deep", 'messages', '&source=panel', true),
    scenario('replies_top', 'replies, newest page', 'replies', '', false),
    scenario('replies_deep', 'replies, pages deep in the year', 'replies', '', true),
    scenario('replies_automation', "one automation's replies, deep", 'replies', `&automationId=${automation}`, true),
  ];

  const figures: ReportListFigure[] = [];
  for (const s of scenarios) {
    // One answer of each path validated in full; this also warms the admin check and the statements.
    for (const r of s.requests) {
      const one = await stack.gen.call<GetClosedResult>('getClosed', { target, requests: [r], connections: 1, count: 1, keepSample: true });
      check(one.statuses['200'] === 1 && one.sample !== null, `${s.key}: answered ${JSON.stringify(one.statuses)}`);
      if (one.sample) for (const p of validatePage(one.sample, s.kind, r.path, automation)) check(false, `${s.key}: ${p}`);
    }
    await stack.gen.call<GetClosedResult>('getClosed', { target, requests: s.requests, connections: 1, count: 20 });
    const r = await stack.gen.call<GetClosedResult>('getClosed', { target, requests: s.requests, connections: 1, count: N, maxMs: 20_000 });
    check(Object.keys(r.statuses).every((st) => st === '200'), `${s.key}: statuses ${JSON.stringify(r.statuses)}`);
    check(r.failedChecks === 0, `${s.key}: ${r.failedChecks} answers failed their check, first: ${r.firstFailure}`);
    const probe = await stack.host.call<ProbeResult>('panelProbe', { path: s.requests[s.requests.length - 1]!.path, authorization: target.authorization, runs: 15 });
    const p99 = quantile(r.latenciesMs, 0.99);
    const figure = {
      key: s.key,
      label: s.label,
      requests: r.completed,
      p50Ms: round(quantile(r.latenciesMs, 0.5), 2),
      p99Ms: round(p99, 2),
      maxMs: round(quantile(r.latenciesMs, 1), 2),
      bytes: Math.round(r.bytes.mean),
      pass: p99 < REPORT_LISTS_TARGET_P99_MS,
      probe: {
        requestMs: round(probe.requestMs, 2),
        sqlMs: round(probe.sqlMs, 2),
        queries: probe.queries.map((q) => ({ sql: q.sql, medianMs: round(q.medianMs, 3), rows: q.rows, plan: q.plan })),
      },
    };
    figures.push(figure);
    log(
      `report lists ${s.key}: ${figure.requests} answers, p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms, max ${figure.maxMs} ms, ${(figure.bytes / 1024).toFixed(1)} KiB/answer; ` +
        `one page inside the app ${figure.probe.requestMs} ms, of which SQL ${figure.probe.sqlMs} ms`,
    );
  }
  return { targetP99Ms: REPORT_LISTS_TARGET_P99_MS, figures };
}

/** A page in full: 50 rows, newest first, inside the period, after its cursor, of the filter asked for. */
function validatePage(text: string, kind: 'messages' | 'replies', path: string, automation: string): string[] {
  const out: string[] = [];
  let page: any;
  try {
    page = JSON.parse(text);
  } catch {
    return ['the answer is not JSON'];
  }
  const rows: Array<Record<string, any>> = Array.isArray(page?.[kind]) ? page[kind] : [];
  const at = (r: Record<string, any>) => String(kind === 'messages' ? r.createdAt : r.receivedAt);
  if (rows.length !== PAGE) out.push(`${rows.length} rows, expected ${PAGE}`);
  if (typeof page?.nextCursor !== 'string') out.push('no nextCursor');
  if (rows.some((r, i) => i > 0 && at(r) > at(rows[i - 1]!))) out.push('rows are not newest first');
  if (new Set(rows.map((r) => r.id)).size !== rows.length) out.push('duplicate ids');
  const since = new Date(Date.now() - 366 * 86_400_000).toISOString();
  if (rows.some((r) => at(r) < since)) out.push('a row older than the period');
  const cursor = new URLSearchParams(path.split('?')[1]).get('cursor');
  if (cursor) {
    const until = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))[1] as string;
    if (rows.some((r) => at(r) > until)) out.push('a row newer than the cursor');
  }
  if (path.includes('automationId=') && rows.some((r) => r.automationId !== automation)) out.push("a row of another automation");
  if (path.includes('source=panel') && rows.some((r) => r.source !== 'panel')) out.push('a row not from the panel');
  // Deep in the year most pages hold a message that was answered (the newest ones may not have been yet).
  if (kind === 'messages' && cursor && !rows.some((r) => Array.isArray(r.replies) && r.replies.length > 0) && !path.includes('source=panel')) {
    out.push('no message of the page has its replies');
  }
  return out;
}

/** Rows for run.ts's summary table, beside the panel's. */
export function reportListsTableRows(report: ReportListsReport): Array<{ key: string; label: string; unit: string; digits: number; target: string; verdict?: boolean; summary: Summary }> {
  return report.figures.map((f) => ({
    key: `report_lists_${f.key}_p99`,
    label: `Report list GET p99 (${f.label}, page of ${PAGE}, c=1)`,
    unit: 'ms',
    digits: 2,
    target: `< ${report.targetP99Ms} ms`,
    verdict: f.pass,
    summary: summary([f.p99Ms]),
  }));
}

export function reportListsLines(report: ReportListsReport): string[] {
  return [
    '',
    `Report lists (GET /api/reports/messages and /replies, days=365, page of ${PAGE}, warm, c=1), target p99 < ${report.targetP99Ms} ms:`,
    ...report.figures.map(
      (f) =>
        `  ${f.label.padEnd(36)} ${String(f.requests).padStart(5)} req  p50 ${f.p50Ms.toFixed(2).padStart(7)} ms  p99 ${f.p99Ms.toFixed(2).padStart(7)} ms  ` +
        `max ${f.maxMs.toFixed(1).padStart(7)} ms  ${(f.bytes / 1024).toFixed(1).padStart(5)} KiB  ${f.pass ? 'PASS' : 'FAIL'}  ` +
        `(inside the app ${f.probe.requestMs.toFixed(2)} ms, SQL ${f.probe.sqlMs.toFixed(2)} ms)`,
    ),
    ...report.figures
      .filter((f) => f.key === 'messages_deep' || f.key === 'replies_automation')
      .flatMap((f) => [
        `  statements of one page (${f.label}):`,
        ...f.probe.queries.map((q) => `    ${q.medianMs.toFixed(2).padStart(6)} ms  ${String(q.rows).padStart(4)} rows  ${q.sql.length > 110 ? `${q.sql.slice(0, 107)}...` : q.sql}${q.plan.length ? `\n                       plan: ${q.plan.join(' | ')}` : ''}`),
      ]),
  ];
}
