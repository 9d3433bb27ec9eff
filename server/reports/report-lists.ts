import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import type { InboundKindColumn } from '../../db/schema.js';
import { encodeCursor, type CursorKey } from './report-cursor.js';
import type { ReplyTags, ReportMessage, ReportMessageReply, ReportReply } from './report-list-types.js';

export type { CursorKey } from './report-cursor.js';

/** Which rows a list holds: created (received) since `since`, of one automation, of the deal panel, or all. */
export type ListFilter = { since: string; automationId: string | null; panelOnly: boolean };

/**
 * Which rows the caller may read: all of the company's, or only those of deals Pipedrive lets them see (a row with
 * no deal is then not shown: nobody can say who may see it).
 */
export type RowVisibility = { all: true } | { all: false; visibleDeals(dealIds: number[]): Promise<Set<number>> };

/** Rows read per query when the caller sees only some deals; at most this many queries per page. */
const FILTERED_BATCH = 100;
const FILTERED_PASSES = 4;
/** IN-lists are padded to these sizes, so the app's statement cache holds a few shapes instead of one per length. */
const IN_SIZES = [10, 50, 100, 200, 500, 1000];

const MESSAGE_COLUMNS = [
  'id', 'source', 'automation_id', 'automation_name', 'deal_id', 'person_id', 'to_e164', 'body', 'state', 'provider_status',
  'skip_reason', 'error_code', 'created_at', 'sent_at', 'context', 'not_before', 'person_name',
] as const;

type MessageRow = {
  id: string;
  source: 'automation' | 'panel';
  automation_id: string | null;
  automation_name: string | null;
  deal_id: number | null;
  person_id: number | null;
  to_e164: string | null;
  body: string | null;
  state: string;
  provider_status: string | null;
  skip_reason: string | null;
  error_code: string | null;
  created_at: string;
  sent_at: string | null;
  context: string;
  not_before: string | null;
  person_name: string | null;
};

type Page<T> = { rows: T[]; next: CursorKey | null };

/**
 * The settings page's lists of a period's messages (each with its replies) and of its replies, newest first, a page
 * at a time. A page continues after the (time, id) of the previous page's last row: one index seek and as many steps
 * as the page has rows, at any depth. Every query names the company.
 */
export function createReportLists(database: Database) {
  const { db } = database;

  function messagesAfter(companyId: string, filter: ListFilter, after: CursorKey | null, limit: number) {
    let q = db.selectFrom('outbound_messages').select(MESSAGE_COLUMNS).where('company_id', '=', companyId).where('created_at', '>=', filter.since);
    if (filter.automationId !== null) q = q.where('automation_id', '=', filter.automationId);
    else if (filter.panelOnly) q = q.where('automation_id', 'is', null).where('source', '=', 'panel');
    // Written as a range plus a tie-break rather than a row-value comparison, so both engines seek the index with it.
    if (after) q = q.where('created_at', '<=', after.at).where((eb) => eb.or([eb('created_at', '<', after.at), eb('id', '<', after.id)]));
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit);
  }

  function repliesAfter(companyId: string, filter: ListFilter, after: CursorKey | null, limit: number) {
    let q = db
      .selectFrom('inbound_messages as i')
      .leftJoin('outbound_messages as o', (join) => join.onRef('o.id', '=', 'i.reply_to_message_id').on('o.company_id', '=', companyId))
      .select([
        'i.id', 'i.body', 'i.received_at', 'i.from_e164', 'i.from_address', 'i.deal_id', 'i.person_id', 'i.reply_to_message_id', 'i.kind',
        'i.possible_opt_out', 'o.automation_id', 'o.automation_name', 'o.context', 'o.person_name',
      ])
      .where('i.company_id', '=', companyId)
      .where('i.received_at', '>=', filter.since);
    if (filter.automationId !== null) q = q.where('o.automation_id', '=', filter.automationId);
    else if (filter.panelOnly) q = q.where('o.source', '=', 'panel');
    if (after) q = q.where('i.received_at', '<=', after.at).where((eb) => eb.or([eb('i.received_at', '<', after.at), eb('i.id', '<', after.id)]));
    return q.orderBy('i.received_at', 'desc').orderBy('i.id', 'desc').limit(limit);
  }

  /** The replies to these messages (of this company), oldest first, in one query. */
  async function repliesTo(companyId: string, messageIds: string[], read: <R>(query: QueryOf<R>) => Promise<R[]> = (query) => query.execute()) {
    const byMessage = new Map<string, ReportMessageReply[]>();
    if (messageIds.length === 0) return byMessage;
    const rows = await read(
      db
        .selectFrom('inbound_messages')
        .select(['id', 'body', 'received_at', 'kind', 'possible_opt_out', 'reply_to_message_id'])
        .where('reply_to_message_id', 'in', padded(messageIds))
        // Still only this company's, but written so no planner takes the company's index of all its replies over
        // the one by message (SQLite, without statistics, would: a walk over a year of replies instead of 50 seeks).
        .where(sql<string>`${sql.ref('company_id')} || ''`, '=', companyId),
    );
    // Oldest first; sorted here, as sorting in SQL would again tempt the planner towards the time-ordered index.
    rows.sort((a, b) => (a.received_at < b.received_at ? -1 : a.received_at > b.received_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const r of rows) {
      const list = byMessage.get(r.reply_to_message_id!) ?? [];
      list.push({ id: r.id, body: r.body, receivedAt: r.received_at, ...tagsOf(r.kind, r.possible_opt_out) });
      byMessage.set(r.reply_to_message_id!, list);
    }
    return byMessage;
  }

  return {
    async messages(companyId: string, filter: ListFilter, page: { after: CursorKey | null; limit: number }, visibility: RowVisibility) {
      const { rows, next } = await pageOf(
        (after, n) => messagesAfter(companyId, filter, after, n).execute(),
        (r) => ({ at: r.created_at, id: r.id }),
        (r) => r.deal_id,
        page,
        visibility,
      );
      const replies = await repliesTo(companyId, rows.map((r) => r.id));
      const messages: ReportMessage[] = rows.map((r) => toMessage(r, replies.get(r.id) ?? []));
      return { messages, nextCursor: next ? encodeCursor('messages', next) : null };
    },

    async replies(companyId: string, filter: ListFilter, page: { after: CursorKey | null; limit: number }, visibility: RowVisibility) {
      const { rows, next } = await pageOf(
        (after, n) => repliesAfter(companyId, filter, after, n).execute(),
        (r) => ({ at: r.received_at, id: r.id }),
        (r) => r.deal_id,
        page,
        visibility,
      );
      const replies: ReportReply[] = rows.map(toReply);
      return { replies, nextCursor: next ? encodeCursor('replies', next) : null };
    },

    /**
     * Every message of the filter, newest first, in batches read off the main thread (SQLite: the reader thread), each
     * continuing after the previous one: for CSV, which the caller writes out before asking for the next batch.
     */
    async *messageBatches(companyId: string, filter: ListFilter, batchSize = 1000): AsyncGenerator<ReportMessage[]> {
      let after: CursorKey | null = null;
      const read = <R,>(query: QueryOf<R>) => database.readAside(query.compile());
      for (;;) {
        const rows: MessageRow[] = await read(messagesAfter(companyId, filter, after, batchSize));
        if (rows.length === 0) return;
        const replies = await repliesTo(companyId, rows.map((r) => r.id), read);
        yield rows.map((r) => toMessage(r, replies.get(r.id) ?? []));
        if (rows.length < batchSize) return;
        const last = rows[rows.length - 1]!;
        after = { at: last.created_at, id: last.id };
      }
    },

    /** Every reply of the filter, newest first, in batches as `messageBatches`. */
    async *replyBatches(companyId: string, filter: ListFilter, batchSize = 1000): AsyncGenerator<ReportReply[]> {
      let after: CursorKey | null = null;
      for (;;) {
        const rows: ReplyRow[] = await database.readAside(repliesAfter(companyId, filter, after, batchSize).compile());
        if (rows.length === 0) return;
        yield rows.map(toReply);
        if (rows.length < batchSize) return;
        const last = rows[rows.length - 1]!;
        after = { at: last.received_at, id: last.id };
      }
    },
  };
}

export type ReportLists = ReturnType<typeof createReportLists>;

type QueryOf<R> = { execute(): Promise<R[]>; compile(): import('kysely').CompiledQuery<R> };

/**
 * One page: `limit` rows after `after`. When the caller sees only some deals, rows are read in batches and those of
 * other deals dropped, up to a bounded number of batches: such a page may hold fewer than `limit` rows (even none)
 * while `next` still says where to go on, so one request never reads a year of rows or asks Pipedrive about
 * hundreds of deals.
 */
async function pageOf<R>(
  read: (after: CursorKey | null, n: number) => Promise<R[]>,
  keyOf: (row: R) => CursorKey,
  dealOf: (row: R) => number | null,
  page: { after: CursorKey | null; limit: number },
  visibility: RowVisibility,
): Promise<Page<R>> {
  const { limit } = page;
  if (visibility.all) {
    const rows = await read(page.after, limit + 1);
    return { rows: rows.slice(0, limit), next: rows.length > limit ? keyOf(rows[limit - 1]!) : null };
  }
  const batch = Math.min(limit, FILTERED_BATCH);
  const shown: R[] = [];
  let after = page.after;
  for (let pass = 1; ; pass++) {
    // One row more than is scanned: it says whether anything follows.
    const rows = await read(after, batch + 1);
    const deals = [...new Set(rows.map(dealOf).filter((d): d is number => d !== null))];
    const visible = await visibility.visibleDeals(deals);
    const scanned = rows.slice(0, batch);
    for (const [i, row] of scanned.entries()) {
      const deal = dealOf(row);
      if (deal === null || !visible.has(deal)) continue;
      shown.push(row);
      if (shown.length === limit) return { rows: shown, next: i < rows.length - 1 ? keyOf(row) : null };
    }
    if (rows.length <= batch) return { rows: shown, next: null };
    after = keyOf(scanned[scanned.length - 1]!);
    if (pass >= FILTERED_PASSES) return { rows: shown, next: after };
  }
}

function padded(ids: string[]): string[] {
  const size = IN_SIZES.find((s) => s >= ids.length) ?? ids.length;
  return ids.length === size ? ids : [...ids, ...Array<string>(size - ids.length).fill(ids[ids.length - 1]!)];
}

function tagsOf(kind: InboundKindColumn, possibleOptOut: number): ReplyTags {
  const keyword = kind === 'opt_out' || kind === 'opt_in' || kind === 'help' ? kind : null;
  return { keyword, possibleOptOut: possibleOptOut === 1 || kind === 'possible_opt_out' };
}

type ReplyRow = {
  id: string;
  body: string;
  received_at: string;
  from_e164: string | null;
  from_address: string;
  deal_id: number | null;
  person_id: number | null;
  reply_to_message_id: string | null;
  kind: InboundKindColumn;
  possible_opt_out: number;
  automation_id: string | null;
  automation_name: string | null;
  context: string | null;
  person_name: string | null;
};

function toReply(r: ReplyRow): ReportReply {
  return {
    id: r.id,
    body: r.body,
    receivedAt: r.received_at,
    from: r.from_e164 ?? r.from_address,
    dealId: r.deal_id,
    dealTitle: r.context ? titleOf(r.context) : null,
    personId: r.person_id,
    personName: r.person_name,
    messageId: r.reply_to_message_id,
    automationId: r.automation_id,
    automationName: r.automation_name,
    ...tagsOf(r.kind, r.possible_opt_out),
  };
}

function toMessage(r: MessageRow, replies: ReportMessageReply[]): ReportMessage {
  return {
    id: r.id,
    automationId: r.automation_id,
    automationName: r.source === 'panel' ? null : r.automation_name,
    source: r.source,
    dealId: r.deal_id,
    dealTitle: titleOf(r.context),
    personId: r.person_id,
    personName: r.person_name,
    to: r.to_e164,
    body: r.body,
    status: statusOf(r),
    reason: reasonOf(r),
    createdAt: r.created_at,
    sentAt: r.sent_at,
    notBefore: r.state === 'scheduled' ? r.not_before : null,
    replies,
  };
}

/** Ours until Twilio has the message (pending, sending, skipped, failed, cancelled), Twilio's after. */
function statusOf(r: Pick<MessageRow, 'state' | 'provider_status'>): string {
  if (r.state === 'sent') return r.provider_status ?? 'sent';
  return r.state === 'queued' || r.state === 'claimed' ? 'pending' : r.state;
}

function reasonOf(r: MessageRow): string | null {
  if (r.state === 'skipped' || r.state === 'cancelled') return r.skip_reason;
  const status = statusOf(r);
  if (status === 'failed' || status === 'undelivered') return r.error_code;
  return null;
}

/** The deal's title as the message's snapshot of the deal has it. */
function titleOf(context: string): string | null {
  try {
    const title = (JSON.parse(context) as { deal?: { title?: unknown } } | null)?.deal?.title;
    return typeof title === 'string' && title !== '' ? title : null;
  } catch {
    return null;
  }
}
