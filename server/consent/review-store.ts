import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ConsentReview, Schema } from '../../db/schema.js';

/**
 * The only writer of `consent_reviews`: possible opt-out requests and the decisions on them. Every function takes the
 * database or the caller's transaction, so opening a review is part of recording the reply that asked, and a decision
 * is part of the consent change it makes.
 */

export type ReviewState = 'pending' | 'decided';
export type ReviewDecision = 'opt_out' | 'not_opt_out';

export type NewReview = {
  companyId: string;
  phoneE164: string;
  inboundMessageId: string | null;
  body: string;
  /** ISO-8601 instants. */
  receivedAt: string;
  dueBy: string;
  dealId: number | null;
  personId: number | null;
};

/**
 * Opens a review of a possible opt-out, unless one is already pending for the number: a later request from the same
 * number joins it, and the review keeps its first text and due date (the earliest request starts the clock; the later
 * replies are in the conversation beside it). One pending review per company and number is kept by a unique index,
 * so two replies arriving at once cannot open two. Answers the pending review's id and whether it is new.
 */
export async function openReview(db: Kysely<Schema>, review: NewReview): Promise<{ id: string; opened: boolean }> {
  // The pending review that blocked the insert may be decided before it is read back (another user, another
  // instance): then there is none to join, and the insert is tried again. Three rounds need three decisions in a row.
  for (let round = 0; round < 3; round++) {
    const id = randomUUID();
    const inserted = await db
      .insertInto('consent_reviews')
      .values({
        id,
        company_id: review.companyId,
        phone_e164: review.phoneE164,
        inbound_message_id: review.inboundMessageId,
        body: review.body,
        received_at: review.receivedAt,
        due_by: review.dueBy,
        deal_id: review.dealId,
        person_id: review.personId,
        state: 'pending',
        decision: null,
        decided_by: null,
        decided_at: null,
        created_at: review.receivedAt,
      })
      // The conflict target names the partial index's condition as a literal, or neither engine matches it to the index.
      .onConflict((oc) => oc.columns(['company_id', 'phone_e164']).where(sql.ref('state'), '=', sql.lit('pending')).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { id, opened: true };
    const pending = await pendingReview(db, review.companyId, review.phoneE164);
    if (pending) return { id: pending.id, opened: false };
  }
  throw new Error('a pending review kept conflicting and being decided before it could be joined');
}

/** The number's pending review in the company, if any. */
export function pendingReview(db: Kysely<Schema>, companyId: string, phoneE164: string): Promise<ConsentReview | undefined> {
  return db
    .selectFrom('consent_reviews')
    .selectAll()
    .where('company_id', '=', companyId)
    .where('phone_e164', '=', phoneE164)
    .where('state', '=', 'pending')
    .executeTakeFirst();
}

/** Whether automations must leave the number alone until a person decides (asked at send time). */
export async function hasPendingReview(db: Kysely<Schema>, companyId: string, phoneE164: string): Promise<boolean> {
  const row = await db
    .selectFrom('consent_reviews')
    .select('id')
    .where('company_id', '=', companyId)
    .where('phone_e164', '=', phoneE164)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return row !== undefined;
}

export function findReview(db: Kysely<Schema>, companyId: string, id: string): Promise<ConsentReview | undefined> {
  return db.selectFrom('consent_reviews').selectAll().where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst();
}

/**
 * A page of the company's reviews in the settings page's order: pending ones oldest due first, decided ones newest
 * decision first. `after` continues after the last row of the previous page (its sort value and id).
 */
export function listReviews(
  db: Kysely<Schema>,
  companyId: string,
  state: ReviewState,
  limit: number,
  after: { at: string; id: string } | null = null,
): Promise<ConsentReview[]> {
  let query = db.selectFrom('consent_reviews').selectAll().where('company_id', '=', companyId).where('state', '=', state);
  if (state === 'pending') {
    if (after) query = query.where((eb) => eb.or([eb('due_by', '>', after.at), eb.and([eb('due_by', '=', after.at), eb('id', '>', after.id)])]));
    return query.orderBy('due_by', 'asc').orderBy('id', 'asc').limit(limit).execute();
  }
  if (after) query = query.where((eb) => eb.or([eb('decided_at', '<', after.at), eb.and([eb('decided_at', '=', after.at), eb('id', '<', after.id)])]));
  return query.orderBy('decided_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/**
 * Records the decision on a pending review in one conditional UPDATE: of two people deciding at once exactly one
 * wins; the other gets undefined (already decided).
 */
export function decideReview(
  db: Kysely<Schema>,
  input: { companyId: string; id: string; decision: ReviewDecision; decidedBy: string; at: string },
): Promise<ConsentReview | undefined> {
  return db
    .updateTable('consent_reviews')
    .set({ state: 'decided', decision: input.decision, decided_by: input.decidedBy, decided_at: input.at })
    .where('company_id', '=', input.companyId)
    .where('id', '=', input.id)
    .where('state', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}
