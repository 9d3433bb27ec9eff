import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import type { DealEvent } from './deal-event.js';

export type RecordResult = { duplicate: boolean; queued: number };

/**
 * Records a deal event and, in the same transaction, one outbox row per matching enabled automation. The event id
 * is the idempotency key: Pipedrive's retries (same meta.id, attempt > 1) find it recorded and queue nothing.
 * This is the webhook's hot path: two statements when nothing matches, one transaction of three when something does.
 */
export async function recordDealEvent(database: Database, event: DealEvent, now: number): Promise<RecordResult> {
  const at = new Date(now).toISOString();
  const trigger = event.trigger;
  const deal = event.deal;
  const matching =
    trigger && deal
      ? (
          await sql<{ id: string; name: string; template: string; pipeline_id: number | null }>`
            SELECT id, name, template, pipeline_id FROM automations
            WHERE company_id = ${event.companyId} AND enabled = 1 AND trigger_event = ${trigger.event} AND stage_id = ${trigger.stageId}`.execute(
            database.db,
          )
        ).rows.filter((a) => a.pipeline_id === null || a.pipeline_id === trigger.pipelineId)
      : [];

  // Plain SQL on this path: the query builder costs more than SQLite itself for statements this small.
  const insertEvent = (db: typeof database.db) =>
    sql<{ id: string }>`
      INSERT INTO webhook_events (id, company_id, entity, action, entity_id, attempt, queued, received_at)
      VALUES (${event.eventId}, ${event.companyId}, ${event.entity}, ${event.action},
              ${event.dealId === null ? null : String(event.dealId)}, ${event.attempt}, ${matching.length}, ${at})
      ON CONFLICT (id) DO NOTHING RETURNING id`.execute(db);

  // Most events (title edits, other stages) queue nothing: one atomic statement, no transaction.
  if (matching.length === 0 || !deal) {
    const inserted = await insertEvent(database.db);
    return { duplicate: inserted.rows.length === 0, queued: 0 };
  }

  return database.transaction(async (trx) => {
    const inserted = await insertEvent(trx);
    if (inserted.rows.length === 0) return { duplicate: true, queued: 0 };
    await trx
      .insertInto('outbound_messages')
      .values(
        matching.map((a) => ({
          id: randomUUID(),
          company_id: event.companyId,
          source: 'automation' as const,
          automation_id: a.id,
          automation_name: a.name,
          event_id: event.eventId,
          deal_id: deal.id,
          person_id: deal.personId,
          // The template as it was when the deal moved: a later edit does not rewrite what is already queued.
          template: a.template,
          context: JSON.stringify({ deal }),
          state: 'queued' as const,
          next_attempt_at: at,
          created_at: at,
          updated_at: at,
        })),
      )
      .onConflict((oc) => oc.columns(['event_id', 'automation_id']).doNothing())
      .execute();
    return { duplicate: false, queued: matching.length };
  });
}
