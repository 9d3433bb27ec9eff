import type { Summary } from './stats.js';

/**
 * The bench's summary table: every section gives its figures as rows keyed the same on every engine, and the table
 * puts the engines side by side (median of the rounds, then their range), with the target and a verdict per engine.
 */

/** One figure of one section on one engine. */
export type SectionRow = {
  key: string;
  label: string;
  unit: string;
  digits: number;
  /** `< 100 ms`, `>= 0.5`, `info`, or empty. */
  target: string;
  verdict?: boolean;
  summary: Summary;
};

export type Column = { name: string; rows: SectionRow[] };

const fmt = (x: number, digits: number) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';

function cell(row: SectionRow | undefined): string {
  if (!row) return '';
  const { median, min, max, n } = row.summary;
  const unit = row.unit ? ` ${row.unit}` : '';
  if (n <= 1 || min === max) return `${fmt(median, row.digits)}${unit}`;
  return `${fmt(median, row.digits)}${unit} (${fmt(min, row.digits)}–${fmt(max, row.digits)})`;
}

/** The rows in the order first met, each with the engines' cells; a row missing on an engine leaves its cell empty. */
export function formatTable(columns: Column[]): string {
  const order: SectionRow[] = [];
  const seen = new Set<string>();
  for (const c of columns) {
    for (const r of c.rows) {
      if (seen.has(r.key)) continue;
      seen.add(r.key);
      order.push(r);
    }
  }
  const verdictOf = (r: SectionRow | undefined) => (r?.verdict === undefined ? '' : r.verdict ? 'PASS' : 'FAIL');
  const lines: string[][] = [['Figure', ...columns.map((c) => `${c.name}: median (rounds' range)`), 'Target', 'Verdict']];
  for (const r of order) {
    const cells = columns.map((c) => c.rows.find((x) => x.key === r.key));
    const verdicts = cells.map(verdictOf);
    const verdict = verdicts.some(Boolean) ? (columns.length > 1 ? verdicts.map((v) => v || '–').join(' / ') : verdicts[0]!) : '';
    lines.push([r.label, ...cells.map(cell), r.target, verdict]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const line = (l: string[]) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(lines[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(line)].join('\n');
}

/** A row from a summary, for sections that build their rows in place. */
export function row(key: string, label: string, summary: Summary, unit: string, digits: number, target = '', verdict?: boolean): SectionRow {
  return { key, label, unit, digits, target, summary, ...(verdict === undefined ? {} : { verdict }) };
}
