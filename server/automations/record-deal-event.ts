import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.js';
import type { DealEvent } from './deal-event.js';

export type RecordResult = { duplicate: boolean; queued: number };

/**
 * Records a deal event and, in the same transaction, one outbox row per matching enabled automation. The event id
 * is the idempotency key: Pipedrive's retries (same meta.id, attempt > 1) find it recorded and queue nothing.
 * This is the webhook's hot path: three statements at most.
 */
export async function recordDealEvent(database: Database, event: DealEvent, now: number): Promise<RecordResult> {
  const at = new Date(now).toISOString();
  return database.transaction(async (trx) => {
    const trigger = event.trigger;
    const deal = event.deal;
    const matching =
      trigger && deal
        ? (
            await trx
              .selectFrom('automations')
              .select(['id', 'name', 'template', 'pipeline_id'])
              .where('company_id', '=', event.companyId)
              .where('enabled', '=', 1)
              .where('trigger_event', '=', trigger.event)
              .where('stage_id', '=', trigger.stageId)
              .execute()
          ).filter((a) => a.pipeline_id === null || a.pipeline_id === trigger.pipelineId)
        : [];

    const inserted = await trx
      .insertInto('webhook_events')
      .values({
        id: event.eventId,
        company_id: event.companyId,
        entity: event.entity,
        action: event.action,
        entity_id: event.dealId === null ? null : String(event.dealId),
        attempt: event.attempt,
        queued: matching.length,
        received_at: at,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { duplicate: true, queued: 0 };
    if (matching.length === 0 || !deal) return { duplicate: false, queued: 0 };

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
