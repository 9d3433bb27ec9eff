import type { Database } from '../../db/database.js';
import type { InboundAttribution, InboundKindColumn } from '../../db/schema.js';

/** Where the Pipedrive activity of a reply stands: queued or retrying, created, given up, or never (no company). */
export type InboundActivityState = 'pending' | 'logged' | 'failed' | 'not_logged';

export type InboundView = {
  id: string;
  companyId: string | null;
  providerSid: string;
  from: string;
  fromE164: string | null;
  to: string;
  body: string;
  kind: InboundKindColumn;
  possibleOptOut: boolean;
  attribution: InboundAttribution;
  dealId: number | null;
  personId: number | null;
  /** The outbound message this answers (its automation is the one the reply counts for in reports). */
  replyToMessageId: string | null;
  autoReply: string | null;
  receivedAt: string;
  activity: InboundActivityState;
};

/** Reads of stored inbound texts for the panel and reports; always scoped to one company. */
export function createInboundStore(database: Database) {
  const { db } = database;
  const base = () =>
    db
      .selectFrom('inbound_messages as m')
      .leftJoin('jobs as j', 'j.id', 'm.activity_job_id')
      .selectAll('m')
      .select('j.state as job_state')
      .orderBy('m.received_at', 'desc')
      .orderBy('m.id', 'desc');

  return {
    /**
     * A deal's replies, newest first: those attributed to it, plus texts from the person's number that no deal
     * claimed (the app never texted them, so they were matched to the person by phone, or to nobody).
     */
    async listForDeal(companyId: string, dealId: number, personE164: string | null, limit = 200): Promise<InboundView[]> {
      // Two index range scans merged here: one OR'd query makes SQLite walk all of the company's replies.
      const [ofDeal, unclaimed] = await Promise.all([
        base().where('m.company_id', '=', companyId).where('m.deal_id', '=', dealId).limit(limit).execute(),
        personE164
          ? base()
              .where('m.company_id', '=', companyId)
              .where('m.from_e164', '=', personE164)
              .where('m.deal_id', 'is', null)
              .limit(limit)
              .execute()
          : Promise.resolve([]),
      ]);
      return newestOf(ofDeal, unclaimed, limit).map(toView);
    },

    /**
     * The panel's read of listForDeal's rows, with only the columns the conversation shows: a row object costs per
     * column read, and the activity state costs a join per row that the panel never shows.
     */
    async listForPanel(companyId: string, dealId: number, personE164: string | null, limit = 200): Promise<PanelInbound[]> {
      const slim = () => db.selectFrom('inbound_messages').select(['id', 'body', 'kind', 'possible_opt_out', 'received_at']).where('company_id', '=', companyId);
      const newest = (query: ReturnType<typeof slim>) => query.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      // Two index range scans merged here, as in listForDeal.
      const [ofDeal, unclaimed] = await Promise.all([
        newest(slim().where('deal_id', '=', dealId)),
        personE164 ? newest(slim().where('from_e164', '=', personE164).where('deal_id', 'is', null)) : Promise.resolve([]),
      ]);
      return newestOf(ofDeal, unclaimed, limit).map((r) => ({
        id: r.id,
        body: r.body,
        kind: r.kind,
        possibleOptOut: r.possible_opt_out === 1,
        receivedAt: r.received_at,
      }));
    },

    /** A company's replies, newest first; `unattributed` keeps those linked to no deal, `flagged` the possible opt-outs. */
    async listForCompany(companyId: string, filter: { unattributed?: boolean; flagged?: boolean; limit?: number } = {}): Promise<InboundView[]> {
      let query = base().where('m.company_id', '=', companyId);
      if (filter.unattributed) query = query.where('m.deal_id', 'is', null);
      if (filter.flagged) query = query.where('m.possible_opt_out', '=', 1);
      return (await query.limit(filter.limit ?? 200).execute()).map(toView);
    },

    async findBySid(providerSid: string): Promise<InboundView | null> {
      const row = await base().where('m.provider_sid', '=', providerSid).executeTakeFirst();
      return row ? toView(row) : null;
    },
  };
}

export type InboundStore = ReturnType<typeof createInboundStore>;

/** The two scans of a deal's replies merged newest first (ties by id, as the queries order them), cut to `limit`. */
function newestOf<R extends { id: string; received_at: string }>(ofDeal: R[], unclaimed: R[], limit: number): R[] {
  return [...ofDeal, ...unclaimed]
    .sort((a, b) => (a.received_at < b.received_at ? 1 : a.received_at > b.received_at ? -1 : a.id < b.id ? 1 : -1))
    .slice(0, limit);
}

/** What the panel shows of a reply. */
export type PanelInbound = { id: string; body: string; kind: InboundKindColumn; possibleOptOut: boolean; receivedAt: string };

type Row = {
  id: string;
  company_id: string | null;
  provider_sid: string;
  from_address: string;
  from_e164: string | null;
  to_address: string;
  body: string;
  kind: InboundKindColumn;
  possible_opt_out: number;
  attribution: InboundAttribution;
  deal_id: number | null;
  person_id: number | null;
  reply_to_message_id: string | null;
  auto_reply: string | null;
  received_at: string;
  job_state: string | null;
};

function toView(row: Row): InboundView {
  return {
    id: row.id,
    companyId: row.company_id,
    providerSid: row.provider_sid,
    from: row.from_address,
    fromE164: row.from_e164,
    to: row.to_address,
    body: row.body,
    kind: row.kind,
    possibleOptOut: row.possible_opt_out === 1,
    attribution: row.attribution,
    dealId: row.deal_id === null ? null : Number(row.deal_id),
    personId: row.person_id === null ? null : Number(row.person_id),
    replyToMessageId: row.reply_to_message_id,
    autoReply: row.auto_reply,
    receivedAt: row.received_at,
    activity: activityState(row.job_state),
  };
}

function activityState(jobState: string | null): InboundActivityState {
  if (jobState === null) return 'not_logged';
  if (jobState === 'done') return 'logged';
  if (jobState === 'failed') return 'failed';
  return 'pending';
}
