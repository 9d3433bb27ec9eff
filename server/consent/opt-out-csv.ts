import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify';
import { BadRequestError } from '../errors.js';
import type { OptOutEntry } from './opt-out-queries.js';

/** One row of an imported CSV: its line in the file (the header is line 1), the phone cell and the reason cell. */
export type ImportedRow = { line: number; phone: string; reason: string | null };

const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

/**
 * A cell this app (or another careful export) prefixed with a quote so a spreadsheet would not read it as a formula:
 * `'+14155552671` is the number. Only a quote before a formula character is taken off.
 */
function unquoteFormula(cell: string): string {
  return cell.length > 1 && cell[0] === "'" && FORMULA_START.has(cell[1]!) ? cell.slice(1) : cell;
}

/**
 * Reads an opt-out list CSV: a header row naming a `phone` column (any case; a byte order mark, other columns and
 * empty lines are fine) and an optional `reason` column. A file with more than `maxRows` rows, a reason longer than
 * `maxReason` or a malformed CSV is refused whole (400 saying where); the phone values are not judged here.
 */
export function readOptOutCsv(text: string, limits: { maxRows: number; maxReason: number }): ImportedRow[] {
  let records: { record: Record<string, string | undefined>; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      columns: (header: string[]) => header.map((name) => name.trim().toLowerCase()),
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      info: true,
      // One row more than allowed is enough to refuse the file; the rest is not read.
      to: limits.maxRows + 1,
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw csvProblem(`the CSV could not be read: ${error.message}`);
  }
  if (records.length === 0) throw csvProblem('the CSV has no rows: it needs a header row with a phone column, then one number per line');
  if (!('phone' in records[0]!.record)) throw csvProblem(`the CSV has no phone column: its header row names ${Object.keys(records[0]!.record).join(', ') || 'nothing'}`);
  if (records.length > limits.maxRows) throw csvProblem(`the CSV has more than ${limits.maxRows} rows: split it into smaller files`);
  return records.map(({ record, info }) => {
    const reason = record.reason?.trim() ? record.reason.trim() : null;
    if (reason !== null && reason.length > limits.maxReason) throw csvProblem(`line ${info.lines}: the reason is longer than ${limits.maxReason} characters`);
    return { line: info.lines, phone: unquoteFormula(record.phone ?? ''), reason };
  });
}

function csvProblem(message: string): BadRequestError {
  return new BadRequestError(message, { fields: [{ path: '(body)', message }] });
}

/**
 * The whole list as CSV for a spreadsheet, streamed as the client takes it. A cell that would start a formula
 * (= + - @, tab, carriage return: every E.164 number starts with +) is prefixed with a quote, which the import takes
 * off again; a UTF-8 byte order mark makes Excel read accents right.
 */
export function optOutsCsv(batches: AsyncGenerator<OptOutEntry[]>): Readable {
  async function* records() {
    for await (const batch of batches) for (const e of batch) yield [e.phone, e.at, e.source, e.message, e.personId];
  }
  const csv = stringify({ header: true, columns: ['phone', 'opted_out_at', 'source', 'message', 'person_id'], bom: true, escape_formulas: true });
  const source = Readable.from(records());
  // A failed read ends the CSV stream with its error (the route then cuts the download short).
  source.on('error', (error) => csv.destroy(error));
  csv.on('close', () => source.destroy());
  return source.pipe(csv);
}
