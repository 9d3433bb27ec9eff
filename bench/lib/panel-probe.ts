import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import SqliteDriver from 'better-sqlite3';
import pg from 'pg';
import type { AppContext } from '../../server/context.js';

/**
 * The app host's probes for the panel section (they run in the app's process, after the measured rounds, never
 * during them): where one request's time goes, statement by statement with each statement's query plan, and one
 * settings-page report timed from inside. Registered by app-host.ts.
 */

export type ProbeQuery = { sql: string; params: unknown[]; rows: number; medianMs: number; maxMs: number; plan: string[] };
export type ProbeResult = {
  runs: number;
  /** The whole request as seen from inside the app's process (its own HTTP client included), median. */
  requestMs: number;
  /**
   * The time one request had a statement out, median over the runs (statements the app sends at once, as it may on
   * PostgreSQL, count once: the union of their intervals, not their sum).
   */
  sqlMs: number;
  /** JSON.stringify of the answer's object, median (what res.json spends serialising). */
  stringifyMs: number;
  bytes: number;
  queries: ProbeQuery[];
};
export type ReportProbe = { days: number; ms: number; messages: number; loopDelayMaxMs: number };

/** What the probes need of the host: where the app listens, its database, and its context. */
export type ProbeHost = { appUrl: string; engine: 'sqlite' | 'postgres'; dbFile: string; databaseUrl: string; ctx: AppContext };

type Seen = { sql: string; params: unknown[]; at: number; ms: number; rows: number };
/** Starts timing every statement the app sends into `sink`; the returned function puts the driver back as it was. */
type Tap = (sink: (seen: Seen) => void) => () => void;

/** How long at least one of the statements was out: the union of their intervals. */
function busyMs(seen: Seen[]): number {
  let total = 0;
  let end = -Infinity;
  for (const q of [...seen].sort((a, b) => a.at - b.at)) {
    const finish = q.at + q.ms;
    if (finish <= end) continue;
    total += finish - Math.max(q.at, end);
    end = finish;
  }
  return total;
}

const cut = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 3)}...` : text);
const midpoint = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/**
 * SQLite: better-sqlite3's statement methods are wrapped (on top of the host's counting wrappers, which are put back
 * after), so every statement of the request is timed with its SQL and parameters.
 */
const tapSqlite: Tap = (sink) => {
  const scratch = new SqliteDriver(':memory:');
  const proto = Object.getPrototypeOf(scratch.prepare('select 1')) as Record<'all' | 'get' | 'run', (...args: unknown[]) => unknown>;
  scratch.close();
  const original = { all: proto.all, get: proto.get, run: proto.run };
  for (const name of ['all', 'get', 'run'] as const) {
    const method = original[name];
    proto[name] = function (this: { source: string }, ...args: unknown[]) {
      const t = performance.now();
      const result = method.apply(this, args);
      sink({ sql: this.source, params: Array.isArray(args[0]) ? args[0] : args, at: t, ms: performance.now() - t, rows: Array.isArray(result) ? result.length : result ? 1 : 0 });
      return result;
    };
  }
  return () => Object.assign(proto, original);
};

/**
 * PostgreSQL: node-postgres sends every statement through Client#query, which the host already wraps to count them;
 * this wraps that again and puts the host's wrapper back after. A statement is timed from its send to its answer
 * (Kysely uses the promise form; a callback or a submittable is passed through untimed): the round trip and
 * node-postgres's parsing of the rows included; statements the app sends at once overlap (see `busyMs`).
 */
const tapPostgres: Tap = (sink) => {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const t = performance.now();
    const result = original.apply(this, args);
    const [first, second] = args;
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
    if (typeof text !== 'string' || !(result instanceof Promise)) return result;
    const params = Array.isArray(second) ? second : ((first as { values?: unknown[] }).values ?? []);
    return result.then((answer: { rows?: unknown[]; rowCount?: number | null }) => {
      sink({ sql: text, params, at: t, ms: performance.now() - t, rows: answer.rows?.length ?? answer.rowCount ?? 0 });
      return answer;
    });
  };
  return () => {
    proto.query = original;
  };
};

/** Each distinct statement's plan, with the parameters it ran with, on a connection of its own (read-only for SQLite). */
async function plans(host: ProbeHost, statements: Array<{ sql: string; params: unknown[] }>): Promise<string[][]> {
  const failed = (error: unknown) => [`(no plan: ${error instanceof Error ? error.message : String(error)})`];
  if (host.engine === 'sqlite') {
    const reader = new SqliteDriver(host.dbFile, { readonly: true, fileMustExist: true });
    try {
      return statements.map(({ sql, params }) => {
        try {
          return (reader.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
        } catch (error) {
          return failed(error);
        }
      });
    } finally {
      reader.close();
    }
  }
  // Not through the app's pool, so the host's statement count stays the app's own.
  const client = new pg.Client({ connectionString: host.databaseUrl });
  await client.connect();
  try {
    const out: string[][] = [];
    for (const { sql, params } of statements) {
      // BEGIN, COMMIT and the like have no plan.
      if (!/^\s*(?:select|with|insert|update|delete)\b/i.test(sql)) {
        out.push([]);
        continue;
      }
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
        // Without the cost estimates, and a long list of bound values cut short, so a plan reads on one line.
        out.push(rows.map((r) => cut(r['QUERY PLAN'].trim().replace(/ {2}\(cost=[^)]*\)/, ''), 160)));
      } catch (error) {
        out.push(failed(error));
      }
    }
    return out;
  } finally {
    await client.end();
  }
}

/**
 * Where one request's time goes, from inside the app: every statement the request runs is timed with its SQL and
 * parameters (the driver is wrapped for the duration of the probe only), then each distinct statement gets the
 * engine's plan: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (a custom plan for the bound parameters, as the
 * app's unnamed statements get).
 */
async function panelProbe(host: ProbeHost, { path, authorization, runs }: { path: string; authorization: string; runs: number }): Promise<ProbeResult> {
  let seen: Seen[] = [];
  const untap = (host.engine === 'sqlite' ? tapSqlite : tapPostgres)((s) => seen.push(s));
  const perRun: Array<{ requestMs: number; seen: Seen[]; body: string }> = [];
  try {
    for (let i = 0; i < runs; i++) {
      seen = [];
      const t = performance.now();
      const res = await fetch(`${host.appUrl}${path}`, { headers: { authorization } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`probe ${path}: HTTP ${res.status} ${body.slice(0, 200)}`);
      perRun.push({ requestMs: performance.now() - t, seen, body });
    }
  } finally {
    untap();
  }
  const parsed = JSON.parse(perRun[0]!.body) as unknown;
  const stringify: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    JSON.stringify(parsed);
    stringify.push(performance.now() - t);
  }
  const bySql = new Map<string, { params: unknown[]; rows: number; ms: number[] }>();
  for (const run of perRun) {
    for (const q of run.seen) {
      const entry = bySql.get(q.sql) ?? { params: q.params, rows: q.rows, ms: [] };
      entry.ms.push(q.ms);
      bySql.set(q.sql, entry);
    }
  }
  const statements = [...bySql.entries()].map(([sql, q]) => ({ sql, ...q }));
  const planned = await plans(host, statements);
  return {
    runs,
    requestMs: midpoint(perRun.map((r) => r.requestMs)),
    sqlMs: midpoint(perRun.map((r) => busyMs(r.seen))),
    stringifyMs: midpoint(stringify),
    bytes: Buffer.byteLength(perRun[0]!.body),
    queries: statements.map((q, i) => ({ sql: q.sql, params: q.params, rows: q.rows, medianMs: midpoint(q.ms), maxMs: Math.max(...q.ms), plan: planned[i]! })),
  };
}

/**
 * One settings-page report of the last `days` days, timed from inside the app, with the main event loop's worst delay
 * meanwhile: the report must not hold up webhooks served on the main loop (SQLite reads it on a worker thread,
 * PostgreSQL over the pool).
 */
async function reportProbe(host: ProbeHost, { companyId, days }: { companyId: string; days: number }): Promise<ReportProbe> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  const report = await host.ctx.reports.report(companyId, { since: new Date(Date.now() - days * 86_400_000), until: new Date() });
  const ms = performance.now() - started;
  delay.disable();
  return { days, ms: Math.round(ms), messages: report.totals.total, loopDelayMaxMs: Math.round(delay.max / 1e5) / 10 };
}

/** The probes as IPC handlers of the app host; `host` is read when a probe runs (after the host's init). */
export function panelProbes(host: () => ProbeHost) {
  return {
    panelProbe: (args: { path: string; authorization: string; runs: number }) => panelProbe(host(), args),
    reportProbe: (args: { companyId: string; days: number }) => reportProbe(host(), args),
  };
}
