import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { ListFilter, ReportLists } from './report-lists.js';
import type { ReportMessage, ReportReply } from './report-list-types.js';

const PANEL = 'Deal panel';

/**
 * The report lists as CSV for a spreadsheet, streamed: batches are read only as fast as the client takes the text
 * (a year of a busy company never sits in memory), and the reading stops when the client goes away. Admins open
 * these files in Excel, so a cell that would start a formula (= + - @, tab, carriage return) is prefixed with a
 * quote; a UTF-8 byte order mark makes Excel read accents and emoji right.
 */
export function messagesCsv(lists: ReportLists, companyId: string, filter: ListFilter, pipedriveUrl: string | null): Readable {
  const link = linker(pipedriveUrl);
  return csvOf(
    lists.messageBatches(companyId, filter),
    ['created_at', 'sent_at', 'automation', 'deal_id', 'deal_title', 'deal_url', 'person_id', 'person_name', 'person_url', 'to', 'status', 'reason', 'not_before', 'body', 'replies', 'message_id'],
    (m: ReportMessage) => [
      m.createdAt,
      m.sentAt,
      m.source === 'panel' ? PANEL : m.automationName,
      m.dealId,
      m.dealTitle,
      link('deal', m.dealId),
      m.personId,
      m.personName,
      link('person', m.personId),
      m.to,
      m.status,
      m.reason,
      m.notBefore,
      m.body,
      m.replies.length,
      m.id,
    ],
  );
}

export function repliesCsv(lists: ReportLists, companyId: string, filter: ListFilter, pipedriveUrl: string | null): Readable {
  const link = linker(pipedriveUrl);
  return csvOf(
    lists.replyBatches(companyId, filter),
    ['received_at', 'from', 'body', 'keyword', 'possible_opt_out', 'automation', 'deal_id', 'deal_title', 'deal_url', 'person_id', 'person_name', 'person_url', 'message_id', 'reply_id'],
    (r: ReportReply) => [
      r.receivedAt,
      r.from,
      r.body,
      r.keyword,
      r.possibleOptOut ? 'yes' : 'no',
      r.automationName ?? (r.messageId && !r.automationId ? PANEL : null),
      r.dealId,
      r.dealTitle,
      link('deal', r.dealId),
      r.personId,
      r.personName,
      link('person', r.personId),
      r.messageId,
      r.id,
    ],
  );
}

function csvOf<T>(batches: AsyncGenerator<T[]>, columns: string[], record: (row: T) => unknown[]): Readable {
  async function* records() {
    for await (const batch of batches) for (const row of batch) yield record(row);
  }
  const csv = stringify({ header: true, columns, bom: true, escape_formulas: true });
  const source = Readable.from(records());
  // Errors of the reading side end the CSV stream with that error (the route then cuts the download short).
  source.on('error', (error) => csv.destroy(error));
  csv.on('close', () => source.destroy());
  return source.pipe(csv);
}

function linker(pipedriveUrl: string | null) {
  return (what: 'deal' | 'person', id: number | null) => (pipedriveUrl && id !== null ? `${pipedriveUrl}/${what}/${id}` : null);
}
