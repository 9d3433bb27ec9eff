import { sql } from 'kysely';
import type { Database } from '../../db/database.js';

export type PaceDecision =
  /** The slot is taken: send after `waitMs`. */
  | { reserved: true; waitMs: number }
  /** The sender's next free slot is further away than the caller wants to hold a claim for. */
  | { reserved: false; waitMs: number };

/**
 * Paces sends per sender (a US long code takes 1 message a second). The next free moment of each sender is one
 * row, moved forward by a single conditional UPDATE, so workers in several processes (PostgreSQL deployments) share
 * one pace instead of each keeping its own: two of them can never take the same slot.
 */
export function createSenderPace(database: Database, now: () => number) {
  const { db } = database;
  const intervalOf = (perSecond: number) => Math.max(1, Math.round(1000 / perSecond));

  async function take(key: string, intervalMs: number, maxWaitMs: number, at: number) {
    // Moves the sender's clock only when its next slot is close enough; answers the slot it took.
    const { rows } = await sql<{ slot: number | string }>`
      UPDATE sender_pace
      SET next_free_at = (CASE WHEN next_free_at > ${at} THEN next_free_at ELSE ${at} END) + ${intervalMs}
      WHERE sender_key = ${key} AND next_free_at <= ${at + maxWaitMs}
      RETURNING next_free_at - ${intervalMs} AS slot`.execute(db);
    return rows[0] ? Number(rows[0].slot) : null;
  }

  return {
    async reserve(key: string, perSecond: number, maxWaitMs: number): Promise<PaceDecision> {
      const intervalMs = intervalOf(perSecond);
      const at = now();
      let slot = await take(key, intervalMs, maxWaitMs, at);
      if (slot === null) {
        // A sender never seen, or one booked too far ahead: find out which.
        await db.insertInto('sender_pace').values({ sender_key: key, next_free_at: 0 }).onConflict((oc) => oc.column('sender_key').doNothing()).execute();
        slot = await take(key, intervalMs, maxWaitMs, at);
      }
      if (slot !== null) return { reserved: true, waitMs: Math.max(0, slot - at) };
      const row = await db.selectFrom('sender_pace').select('next_free_at').where('sender_key', '=', key).executeTakeFirst();
      return { reserved: false, waitMs: Math.max(0, Number(row?.next_free_at ?? at) - at) };
    },

    /** How many slots of the sender are free within `maxWaitMs` from now: what one pass may claim for it. */
    async room(key: string, perSecond: number, maxWaitMs: number): Promise<number> {
      const at = now();
      const row = await db.selectFrom('sender_pace').select('next_free_at').where('sender_key', '=', key).executeTakeFirst();
      const first = Math.max(at, Number(row?.next_free_at ?? 0));
      return first > at + maxWaitMs ? 0 : Math.floor((at + maxWaitMs - first) / intervalOf(perSecond)) + 1;
    },
  };
}
