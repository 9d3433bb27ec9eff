import type { ProfileSummary } from './profile.js';
import { quantile, round, type Summary } from './stats.js';

/**
 * The end-to-end section's arithmetic and printout. One sample is one text: when its webhook was sent (due, in the
 * open loop), when the worker read the person from Pipedrive (it had claimed the message and begun on it), and when
 * the create call reached Twilio, all on `performance.timeOrigin + performance.now()` of their own processes.
 */

export type Sample = { sentAt: number; answerMs: number; startedAt: number | null; arrivedAt: number };

export type Latencies = {
  n: number;
  /** Webhook sent → Twilio create received. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Webhook sent → the worker reads the person: waking, claiming, and waiting for a pass to come round. */
  startP50Ms: number;
  startP99Ms: number;
  /** The person read → Twilio: composing, the checks, the pace slot, the transaction, the SDK call. */
  sendP50Ms: number;
  sendP99Ms: number;
  /** The webhook's own answer time. */
  answerP50Ms: number;
  answerP99Ms: number;
  /** The slowest texts, with when their webhook went (ms from the first of the run): do stalls cluster? */
  worst: Array<{ atMs: number; ms: number; startMs: number | null; answerMs: number }>;
};

const finite = (values: number[]) => values.filter((v) => Number.isFinite(v));

export function latencies(samples: Sample[]): Latencies {
  const total = samples.map((s) => s.arrivedAt - s.sentAt);
  const start = finite(samples.map((s) => (s.startedAt === null ? Number.NaN : s.startedAt - s.sentAt)));
  const send = finite(samples.map((s) => (s.startedAt === null ? Number.NaN : s.arrivedAt - s.startedAt)));
  const answers = finite(samples.map((s) => s.answerMs));
  const t0 = Math.min(...samples.map((s) => s.sentAt));
  const worst = samples
    .map((s) => ({ atMs: round(s.sentAt - t0), ms: round(s.arrivedAt - s.sentAt), startMs: s.startedAt === null ? null : round(s.startedAt - s.sentAt), answerMs: round(s.answerMs) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8);
  const q = (values: number[], p: number) => round(quantile(values, p), 2);
  return {
    n: samples.length,
    p50Ms: q(total, 0.5),
    p99Ms: q(total, 0.99),
    maxMs: q(total, 1),
    startP50Ms: q(start, 0.5),
    startP99Ms: q(start, 0.99),
    sendP50Ms: q(send, 0.5),
    sendP99Ms: q(send, 0.99),
    answerP50Ms: q(answers, 0.5),
    answerP99Ms: q(answers, 0.99),
    worst,
  };
}

export type E2eRow = { key: string; label: string; unit: string; digits: number; target: string; verdict?: boolean; summary: Summary };

type Printable = {
  engine: string;
  serial: Latencies;
  rounds: Array<Latencies & { textsPerSecond: number }>;
  pooled: Latencies;
  profiles: { serial: ProfileSummary; rate: ProfileSummary } | null;
};

const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');

/** The section's table alone (one engine), the slowest texts, and where the app's CPU went when profiled. */
export function printE2eReport(report: Printable, rows: E2eRow[]): void {
  const table: string[][] = [['Figure', 'Median', 'Min – max of rounds', 'Target', 'Verdict']];
  for (const r of rows) {
    const s = r.summary;
    table.push([
      r.label,
      `${fmt(s.median, r.digits)} ${r.unit}`,
      s.n > 1 ? `${fmt(s.min, r.digits)} – ${fmt(s.max, r.digits)}` : '',
      r.target,
      r.verdict === undefined ? '' : r.verdict ? 'PASS' : 'FAIL',
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = ['', `End-to-end latency, ${report.engine}: webhook sent → Twilio create received`, line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)];
  const p = report.pooled;
  out.push(`(all rounds pooled: ${p.n} texts, p50 ${fmt(p.p50Ms, 1)} ms, p99 ${fmt(p.p99Ms, 1)} ms, worst ${fmt(p.maxMs, 1)} ms)`);
  const worst = (l: Latencies) => l.worst.map((w) => `${fmt(w.ms, 0)} ms at +${fmt(w.atMs / 1000, 2)} s (answered ${fmt(w.answerMs, 0)}, started ${w.startMs === null ? '?' : fmt(w.startMs, 0)})`).join(', ');
  out.push(`slowest one at a time: ${worst(report.serial)}`);
  report.rounds.forEach((r, i) => out.push(`slowest in round ${i + 1}: ${worst(r)}`));
  if (report.profiles) {
    for (const [mode, prof] of Object.entries(report.profiles)) {
      out.push('', `App CPU per text by layer, ${mode} (µs; ${prof.units} texts; busy ${fmt(prof.busyMs, 0)} of ${fmt(prof.totalMs, 0)} ms)`);
      for (const l of prof.byLayer.slice(0, 12)) out.push(`  ${l.layer.padEnd(42)} ${String(l.usPerUnit).padStart(7)}  ${String(l.pct).padStart(5)}%`);
      out.push('  hottest functions (self): ' + prof.topFunctions.slice(0, 8).map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`).join(', '));
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
