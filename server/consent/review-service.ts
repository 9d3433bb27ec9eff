import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { ConsentReview, Schema } from '../../db/schema.js';
import type { Logger } from '../logger.js';
import { reviewDueBy } from '../messaging/index.js';
import type { ConsentService } from './consent-service.js';
import { decideReview, findReview, listReviews, openReview, type ReviewDecision, type ReviewState } from './review-store.js';

/** A review as the settings page and the panel show it. */
export type ReviewView = {
  id: string;
  phone: string;
  body: string;
  receivedAt: string;
  dueBy: string;
  dealId: number | null;
  personId: number | null;
  state: ReviewState;
  decision: ReviewDecision | null;
  /** The Pipedrive user who decided. */
  decidedBy: number | null;
  decidedAt: string | null;
};

/**
 * Which reviews a caller may see and decide: all of the company's (the admin who installed), or those of the deals
 * Pipedrive lets them see; a review with no deal is then not theirs.
 */
export type ReviewVisibility = { all: true } | { all: false; visibleDeals(dealIds: number[]): Promise<Set<number>> };

export type DecideOutcome =
  | { ok: true; review: ReviewView; cancelled: number }
  | { ok: false; reason: 'not_found' | 'decided'; review?: ReviewView };

/** Rows read per round when a caller sees only some deals' reviews; at most this many rounds per list. */
const BATCH = 200;
const MAX_ROUNDS = 10;

export function toReviewView(row: ConsentReview): ReviewView {
  return {
    id: row.id,
    phone: row.phone_e164,
    body: row.body,
    receivedAt: row.received_at,
    dueBy: row.due_by,
    dealId: row.deal_id === null ? null : Number(row.deal_id),
    personId: row.person_id === null ? null : Number(row.person_id),
    state: row.state,
    decision: row.decision,
    decidedBy: row.decided_by === null ? null : Number(row.decided_by),
    decidedAt: row.decided_at,
  };
}

/**
 * Opens the review of a possible opt-out in the caller's transaction (the one recording the reply), or joins the
 * number's pending review (see openReview). `zone` is the company's time zone (null or unknown: UTC).
 */
export function openPossibleOptOut(
  trx: Kysely<Schema>,
  input: { companyId: string; zone: string | null; phoneE164: string; inboundMessageId: string; body: string; receivedAt: number; dealId: number | null; personId: number | null },
): Promise<{ id: string; opened: boolean }> {
  const dueBy = reviewDueBy({ receivedAt: input.receivedAt, zone: input.zone ?? 'UTC' });
  return openReview(trx, {
    companyId: input.companyId,
    phoneE164: input.phoneE164,
    inboundMessageId: input.inboundMessageId,
    body: input.body,
    receivedAt: new Date(input.receivedAt).toISOString(),
    dueBy: new Date(dueBy).toISOString(),
    dealId: input.dealId,
    personId: input.personId,
  });
}

/**
 * Possible opt-out requests: each opens a review due 10 business days later in the company's time zone, and while it
 * is pending automations do not text the number. A person decides: "opt out" goes through the consent service like
 * every opt-out (the list, texts still queued cancelled, the consent field and an activity in Pipedrive) with the
 * decider as its author; "not an opt-out" is kept with who and when, and texts may go again.
 */
export function createReviewService(deps: { database: Database; consent: ConsentService; now: () => number; logger: Logger }) {
  const { database, consent, now } = deps;
  const { db } = database;
  const log = deps.logger.child({ subsystem: 'reviews' });

  async function visibleTo(visibility: ReviewVisibility, rows: ConsentReview[]): Promise<ConsentReview[]> {
    if (visibility.all) return rows;
    const deals = [...new Set(rows.map((r) => r.deal_id).filter((d): d is number => d !== null).map(Number))];
    const visible = deals.length > 0 ? await visibility.visibleDeals(deals) : new Set<number>();
    return rows.filter((r) => r.deal_id !== null && visible.has(Number(r.deal_id)));
  }

  return {
    /** Pending ones oldest due first, or decided ones newest decision first; at most `limit` the caller may see. */
    async list(companyId: string, state: ReviewState, limit: number, visibility: ReviewVisibility): Promise<ReviewView[]> {
      if (visibility.all) return (await listReviews(db, companyId, state, limit)).map(toReviewView);
      const shown: ConsentReview[] = [];
      let after: { at: string; id: string } | null = null;
      for (let round = 0; round < MAX_ROUNDS && shown.length < limit; round += 1) {
        const rows = await listReviews(db, companyId, state, BATCH, after);
        shown.push(...(await visibleTo(visibility, rows)));
        if (rows.length < BATCH) break;
        const last = rows[rows.length - 1]!;
        after = { at: state === 'pending' ? last.due_by : (last.decided_at ?? ''), id: last.id };
      }
      return shown.slice(0, limit).map(toReviewView);
    },

    /** The review, if the caller may see it. */
    async find(companyId: string, id: string, visibility: ReviewVisibility): Promise<ReviewView | null> {
      const row = await findReview(db, companyId, id);
      if (!row || (await visibleTo(visibility, [row])).length === 0) return null;
      return toReviewView(row);
    },

    /**
     * A person's decision. Not found (or not theirs to see) and already decided are told apart; of two deciding at
     * once, one conditional UPDATE lets exactly one through, and the opt-out is made in the same transaction.
     */
    async decide(companyId: string, id: string, decision: ReviewDecision, userId: string, visibility: ReviewVisibility): Promise<DecideOutcome> {
      const row = await findReview(db, companyId, id);
      if (!row || (await visibleTo(visibility, [row])).length === 0) return { ok: false, reason: 'not_found' };
      if (row.state !== 'pending') return { ok: false, reason: 'decided', review: toReviewView(row) };
      const at = new Date(now()).toISOString();
      const outcome = await database.transaction(async (trx) => {
        const decided = await decideReview(trx, { companyId, id, decision, decidedBy: userId, at });
        if (!decided) return null;
        if (decision !== 'opt_out') return { decided, cancelled: 0 };
        const { cancelled } = await consent.optOut(
          {
            companyId,
            phoneE164: decided.phone_e164,
            sender: null,
            source: 'review',
            message: decided.body,
            actor: userId,
            personId: decided.person_id === null ? null : Number(decided.person_id),
            dealId: decided.deal_id === null ? null : Number(decided.deal_id),
          },
          trx,
        );
        return { decided, cancelled };
      });
      if (!outcome) {
        const current = await findReview(db, companyId, id);
        return { ok: false, reason: 'decided', ...(current ? { review: toReviewView(current) } : {}) };
      }
      log.info({ companyId, reviewId: id, decision, cancelled: outcome.cancelled }, 'possible opt-out decided');
      return { ok: true, review: toReviewView(outcome.decided), cancelled: outcome.cancelled };
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
