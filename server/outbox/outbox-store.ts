import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import type { OutboundMessage, Schema } from '../../db/schema.js';
import { claimDueMessages, claimMessagesInTurns, releaseDueScheduled, type CompanyQuota } from '../../db/queue-queries.js';
import { STATUS_RANKS, statusRank } from './message-status.js';

/**
 * The one owner of an outbound message's life: every change of state of `outbound_messages` goes through here
 * (a test fails when another file writes the table). Each function takes the executor it runs on, so a caller that
 * decides a change together with other writes (an opt-out, a job) passes its transaction.
 * Life of a row: queued → claimed → sending → sent | failed, or skipped / cancelled / queued again on the way; an
 * automation message whose recipient's sending window is closed waits as scheduled and is queued again when it opens.
 */
type Executor = Kysely<Schema>;

/** The state a transition starts from: it happens only while the row is still there, so it never undoes another. */
export type HeldState = 'claimed' | 'sending';

const iso = (ms: number) => new Date(ms).toISOString();

/** A message queued by an automation for a deal event; a replayed event queues nothing twice. */
export type AutomationMessage = { id: string; companyId: string; automationId: string; automationName: string; eventId: string; dealId: number; personId: number | null; template: string; context: string; at: string };

/**
 * Any number at once, in one statement: on PostgreSQL every statement is a round trip, and the webhook's group commit
 * would otherwise wait for one per message.
 */
export async function enqueueAutomationMessages(db: Executor, messages: AutomationMessage[]): Promise<void> {
  if (messages.length === 0) return;
  // Plain SQL on this path: the query builder costs more than SQLite itself for statements this small.
  const rows = messages.map(
    (m) => sql`(${m.id}, ${m.companyId}, 'automation', ${m.automationId}, ${m.automationName}, ${m.eventId}, ${m.dealId}, ${m.personId},
                ${m.template}, ${m.context}, 'queued', ${m.at}, ${m.at}, ${m.at})`,
  );
  await sql`
    INSERT INTO outbound_messages (id, company_id, source, automation_id, automation_name, event_id, deal_id, person_id,
                                   template, context, state, next_attempt_at, created_at, updated_at)
    VALUES ${sql.join(rows)}
    ON CONFLICT (event_id, automation_id) DO NOTHING`.execute(db);
}

/** A message a user wrote in the deal panel. */
export async function enqueuePanelMessage(
  db: Executor,
  m: { id: string; companyId: string; createdBy: string; dealId: number; personId: number; template: string; context: string; at: string },
): Promise<void> {
  await db
    .insertInto('outbound_messages')
    .values({
      id: m.id,
      company_id: m.companyId,
      source: 'panel',
      created_by: m.createdBy,
      deal_id: m.dealId,
      person_id: m.personId,
      template: m.template,
      context: m.context,
      state: 'queued',
      next_attempt_at: m.at,
      created_at: m.at,
      updated_at: m.at,
    })
    .execute();
}

/**
 * Due messages, oldest first, claimed until `leaseUntilIso` by `workerId` (see queue-queries.ts for the
 * engine-specific SQL).
 */
export const claimDue = (database: Database, nowIso: string, leaseUntilIso: string, limit: number, workerId: string | null = null): Promise<OutboundMessage[]> =>
  claimDueMessages(database, nowIso, leaseUntilIso, limit, workerId);

/** Due messages claimed company by company, in turns (see fair-share.ts), by `workerId`. */
export const claimInTurns = (database: Database, nowIso: string, lease: string, quotas: CompanyQuota[], limit: number, workerId: string | null = null): Promise<OutboundMessage[]> =>
  claimMessagesInTurns(database, nowIso, lease, quotas, limit, workerId);

/** Messages held for quiet hours whose window has opened go back to the queue, at most `limit` of them. */
export const releaseScheduled = (database: Database, nowIso: string, limit: number): Promise<number> => releaseDueScheduled(database, nowIso, limit);

/** Ends a hold on the row (claim or send) with `set`, if the row is still in `from`. */
async function finish(db: Executor, id: string, from: HeldState, set: Partial<OutboundMessage>, at: number): Promise<void> {
  await db
    .updateTable('outbound_messages')
    .set({ ...set, claimed_until: null, claimed_by: null, updated_at: iso(at) })
    .where('id', '=', id)
    .where('state', '=', from)
    .execute();
}

/** Not sent, for a reason the report shows (no person, no consent, opted out, too long …). */
export const markSkipped = (db: Executor, id: string, reason: string, extra: Partial<OutboundMessage>, at: number) =>
  finish(db, id, 'claimed', { ...extra, state: 'skipped', skip_reason: reason }, at);

/** Given up: an error that will not go away by trying again. */
export const markFailed = (db: Executor, id: string, from: HeldState, error: { code: string | null; message: string }, at: number) =>
  finish(db, id, from, { state: 'failed', error_code: error.code, error_message: error.message }, at);

/** Its company is gone: nothing is sent. */
export const markCancelled = (db: Executor, id: string, reason: string, at: number) =>
  finish(db, id, 'claimed', { state: 'cancelled', skip_reason: reason }, at);

/** Back to the queue after a failed attempt, due again at `dueAt`, with the error it met. */
export const retryLater = (db: Executor, id: string, from: HeldState, dueAt: number, error: { code: string | null; message: string }, at: number) =>
  finish(db, id, from, { state: 'queued', sending_at: null, next_attempt_at: iso(dueAt), error_code: error.code, error_message: error.message }, at);

/** Back to the queue untried: its sender's next free slot is further away than a claim may wait. */
export const waitForTurn = (db: Executor, id: string, dueAt: number, at: number) =>
  finish(db, id, 'claimed', { state: 'queued', next_attempt_at: iso(dueAt) }, at);

/**
 * The recipient's sending window is closed: the message waits, unclaimed, until `notBefore` (when it opens), with the
 * number it will go to (so an opt-out meanwhile cancels it). Claimed again when due, and checked again from the start.
 */
export const hold = (db: Executor, id: string, notBefore: number, extra: Partial<OutboundMessage>, at: number) =>
  finish(db, id, 'claimed', { ...extra, state: 'scheduled', next_attempt_at: iso(notBefore), not_before: iso(notBefore) }, at);

/**
 * How many automation messages of the company started going to the number since `sinceIso` (sent, or being sent
 * now): what the frequency cap counts. A message given back to the queue by a failed send has no sending time.
 */
export async function automationSendsTo(db: Executor, companyId: string, e164: string, sinceIso: string): Promise<number> {
  const row = await db
    .selectFrom('outbound_messages')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('to_e164', '=', e164)
    .where('sending_at', '>=', sinceIso)
    .where('company_id', '=', companyId)
    .where('source', '=', 'automation')
    .where('state', 'in', ['sending', 'sent'])
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Takes a claimed row to `sending` with what is about to be sent; false if the claim was lost meanwhile (its lease
 * expired and another worker took it), in which case nothing must be sent.
 */
export async function markSending(
  db: Executor,
  row: Pick<OutboundMessage, 'id' | 'claimed_until' | 'claimed_by'>,
  set: Pick<OutboundMessage, 'sending_at' | 'attempts' | 'sender'> & Partial<Pick<OutboundMessage, 'phone_raw' | 'to_e164' | 'body' | 'segments' | 'encoding' | 'person_name'>>,
): Promise<boolean> {
  const marked = await db
    .updateTable('outbound_messages')
    .set({ ...set, state: 'sending', updated_at: set.sending_at! })
    .where('id', '=', row.id)
    .where('state', '=', 'claimed')
    .where('claimed_until', '=', row.claimed_until)
    .where((eb) => (row.claimed_by === null ? eb('claimed_by', 'is', null) : eb('claimed_by', '=', row.claimed_by)))
    .executeTakeFirst();
  return Number(marked.numUpdatedRows) === 1;
}

/**
 * Twilio accepted the message (or a lookup found it did): its sid, account and the furthest status seen. A status
 * callback may have come in while the send was being confirmed, when no row carried the sid yet: once the row does,
 * the callbacks recorded meanwhile are applied. Not in a transaction: the row must be committed before that second
 * statement, so that a callback recorded after it reads the sid (one of the two always sees the other's write).
 */
export async function markSent(
  db: Executor,
  id: string,
  sent: { sid: string; accountSid: string; status: string; errorCode: string | null },
  at: number,
): Promise<void> {
  await finish(db, id, 'sending', {
    state: 'sent',
    provider_sid: sent.sid,
    account_sid: sent.accountSid,
    provider_status: sent.status,
    error_code: sent.errorCode,
    error_message: null,
    sent_at: iso(at),
    status_at: iso(at),
  }, at);
  await applyRecordedCallbacks(db, id, sent, iso(at));
}

/**
 * The persons a company has texted at this number, as far as its own messages tell: an opt-out that names no person
 * (an import, a number typed by an admin) still reaches their texts that have no number yet. At most `limit` of them
 * (an opt-out's bound); null for all, as an erasure needs.
 */
export async function personsTextedAt(db: Executor, companyId: string, phoneE164: string, limit: number | null = 50): Promise<number[]> {
  let query = db
    .selectFrom('outbound_messages')
    .select('person_id')
    .distinct()
    .where('to_e164', '=', phoneE164)
    .where('company_id', '=', companyId)
    .where('person_id', 'is not', null);
  if (limit !== null) query = query.limit(limit);
  return (await query.execute()).map((r) => Number(r.person_id));
}

/**
 * An opt-out: texts still waiting to go to the number (queued, held for quiet hours, or claimed and not yet sending)
 * are cancelled for the
 * companies it binds (`companies`, or every company on the app's shared sender, which Twilio blocks the number for),
 * and so are those of the persons at that number that have no number yet (queued by a deal event or in the panel; the
 * phone is read at send time). A row already `sending` is past recall. Answers how many rows were cancelled.
 */
export async function cancelQueuedTo(
  db: Executor,
  target: { phoneE164: string; companies: readonly string[] | 'shared_sender'; persons: { companyId: string; personIds: readonly number[] } | null },
  at: string,
): Promise<number> {
  const { companies } = target;
  const persons = target.persons && target.persons.personIds.length > 0 ? target.persons : null;
  if (companies !== 'shared_sender' && companies.length === 0 && persons === null) return 0;
  const cancelled = await db
    .updateTable('outbound_messages')
    .set({ state: 'cancelled', skip_reason: 'opted_out', claimed_until: null, updated_at: at })
    .where('state', 'in', ['queued', 'scheduled', 'claimed'])
    .where((eb) => {
      const reached = [];
      if (companies === 'shared_sender') {
        const onSharedSender = eb.selectFrom('companies').select('id').where('twilio_account_sid', 'is', null);
        reached.push(eb.and([eb('to_e164', '=', target.phoneE164), eb('company_id', 'in', onSharedSender)]));
      } else if (companies.length > 0) {
        reached.push(eb.and([eb('to_e164', '=', target.phoneE164), eb('company_id', 'in', companies)]));
      }
      if (persons !== null) {
        reached.push(eb.and([eb('company_id', '=', persons.companyId), eb('person_id', 'in', persons.personIds), eb('to_e164', 'is', null)]));
      }
      return eb.or(reached);
    })
    .executeTakeFirst();
  return Number(cancelled.numUpdatedRows);
}

/** A status's rank in SQL, from the one table in message-status.ts: `CASE column WHEN 'sent' THEN 4 … ELSE 0 END`. */
function rankOf(column: string) {
  const whens = STATUS_RANKS.map(([status, rank]) => sql`WHEN ${sql.lit(status)} THEN ${sql.lit(rank)}`);
  return sql<number>`(CASE ${sql.ref(column)} ${sql.join(whens, sql` `)} ELSE 0 END)`;
}

/**
 * A Twilio status callback moves the message on in one conditional UPDATE: only where the stored status ranks lower
 * (two callbacks at once both land, in any order, and the further one stays) and only on a message the calling
 * account sent. `unrecordedId` names a message sent before the app recorded accounts, which the caller judged by its
 * company's account. Answers whether the message moved.
 */
export async function applyStatusCallback(
  db: Executor,
  callback: { sid: string; accountSid: string; status: string; errorCode: string | null },
  at: string,
  unrecordedId: string | null = null,
): Promise<boolean> {
  const moved = await db
    .updateTable('outbound_messages')
    .set({ provider_status: callback.status, status_at: at, updated_at: at, ...(callback.errorCode ? { error_code: callback.errorCode } : {}) })
    .where('provider_sid', '=', callback.sid)
    .where((eb) =>
      unrecordedId === null
        ? eb('account_sid', '=', callback.accountSid)
        : eb.or([eb('account_sid', '=', callback.accountSid), eb.and([eb('id', '=', unrecordedId), eb('account_sid', 'is', null)])]),
    )
    .where(rankOf('provider_status'), '<', statusRank(callback.status))
    .executeTakeFirst();
  return Number(moved.numUpdatedRows) > 0;
}

/** The furthest callback recorded for the sent message from its own account, applied if it got further than the row. */
async function applyRecordedCallbacks(db: Executor, id: string, sent: { sid: string; accountSid: string }, at: string): Promise<void> {
  const recorded = db
    .selectFrom('message_status_events as e')
    .where('e.provider_sid', '=', sent.sid)
    .where('e.account_sid', '=', sent.accountSid);
  const furthest = recorded.orderBy(rankOf('e.status'), 'desc').orderBy('e.received_at', 'desc').limit(1);
  await db
    .updateTable('outbound_messages')
    .set((eb) => ({
      provider_status: furthest.select('e.status'),
      error_code: eb.fn.coalesce(furthest.select('e.error_code'), eb.ref('error_code')),
      status_at: at,
    }))
    .where('id', '=', id)
    .where('provider_sid', '=', sent.sid)
    .where('account_sid', '=', sent.accountSid)
    .where(rankOf('provider_status'), '<', recorded.select((eb) => eb.fn.max(rankOf('e.status')).as('r')))
    .execute();
}

/** Claimed rows going back to the queue, due at once; the caller says whose claims. */
const unclaim = (db: Executor, at: string) =>
  db.updateTable('outbound_messages').set({ state: 'queued', claimed_until: null, claimed_by: null, updated_at: at }).where('state', '=', 'claimed');

/** Claims whose lease ran out (their worker died before sending) go back to the queue: the last resort. */
export async function releaseExpiredClaims(db: Executor, at: string): Promise<void> {
  await unclaim(db, at).where('claimed_until', '<', at).execute();
}

/**
 * Claims of workers not alive (no heartbeat since `liveSinceIso`, or no row at all) go back to the queue at once, in
 * one statement. Nothing of them was sent yet: a row already `sending` is looked up at Twilio instead (recovery.ts).
 */
export async function releaseClaimsOfDeadWorkers(db: Executor, liveSinceIso: string, at: string): Promise<number> {
  const released = await unclaim(db, at)
    .where('claimed_by', 'is not', null)
    .where('claimed_by', 'not in', db.selectFrom('workers').select('id').where('heartbeat_at', '>=', liveSinceIso))
    .executeTakeFirst();
  return Number(released.numUpdatedRows);
}

/** A stopping worker gives back, in one statement, the claims it has not started on (due again at once). */
export async function releaseClaimsOf(db: Executor, workerId: string, at: string): Promise<number> {
  const released = await unclaim(db, at).where('claimed_by', '=', workerId).executeTakeFirst();
  return Number(released.numUpdatedRows);
}

/** At most this many ids in one IN list (far below either engine's limit on bound parameters). */
const ID_CHUNK = 500;

/**
 * A contact's erasure: the company's messages to the number, and the texts still waiting that have no number yet
 * (it is read from the person at send time) but go to a person the company texted there, which would bring the
 * number straight back. A row the worker holds goes too: every change the worker makes is an update of the row in
 * the state it left it in, so a deleted row stays deleted. The caller deletes what refers to these rows first.
 */
export async function deleteMessagesTo(db: Executor, companyId: string, phoneE164: string): Promise<number> {
  const persons = await personsTextedAt(db, companyId, phoneE164, null);
  let deleted = Number((await db.deleteFrom('outbound_messages').where('company_id', '=', companyId).where('to_e164', '=', phoneE164).executeTakeFirst()).numDeletedRows);
  for (let i = 0; i < persons.length; i += ID_CHUNK) {
    const waiting = await db
      .deleteFrom('outbound_messages')
      .where('company_id', '=', companyId)
      .where('to_e164', 'is', null)
      .where('state', 'in', ['queued', 'claimed'])
      .where('person_id', 'in', persons.slice(i, i + ID_CHUNK))
      .executeTakeFirst();
    deleted += Number(waiting.numDeletedRows);
  }
  return deleted;
}

/** Messages in a final state: retention may delete them; one still waiting or being sent is never deleted under the worker. */
const FINISHED = ['sent', 'skipped', 'failed', 'cancelled'] as const;

/** A company's retention: up to `limit` of its finished messages created before `before`, oldest first, with their delivery reports. */
export async function deleteFinishedBefore(db: Executor, companyId: string, before: string, limit: number): Promise<number> {
  const old = db
    .selectFrom('outbound_messages')
    .where('company_id', '=', companyId)
    .where('created_at', '<', before)
    .where('state', 'in', FINISHED)
    .orderBy('created_at')
    .limit(limit);
  // The same batch as below (a message not sent has no sid; a null in the list matches nothing).
  await db.deleteFrom('message_status_events').where('provider_sid', 'in', old.select('provider_sid')).execute();
  return Number((await db.deleteFrom('outbound_messages').where('id', 'in', old.select('id')).executeTakeFirst()).numDeletedRows);
}
