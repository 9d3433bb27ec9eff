import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';
import type { DealEvent } from './deal-event.js';
import { enqueueAutomationMessages, type AutomationMessage } from '../outbox/outbox-store.js';

export type RecordResult = { duplicate: boolean; queued: number };

type MatchingAutomation = { id: string; name: string; template: string; pipeline_id: number | null };
type Executor = Kysely<Schema>;

/**
 * Records a deal event and, in the same transaction, one outbox row per matching enabled automation. The event id
 * within its company is the idempotency key: Pipedrive's retries (same meta.id, attempt > 1) find it recorded and queue
 * nothing, and one company's event id never suppresses another company's event that happens to carry the same id.
 * Two statements when nothing matches (no transaction: the insert alone is atomic), one transaction of three when
 * something does.
 */
export async function recordDealEvent(database: Database, event: DealEvent, now: number): Promise<RecordResult> {
  const matching = inPipeline(await matchingAutomations(database.db, event), event);
  if (matching.length === 0) return recordWithin(database.db, event, matching, now);
  return database.transaction((trx) => recordWithin(trx, event, matching, now));
}

export type DealEventRecorder = {
  /** Resolves once the event (and its outbox rows) is committed; rejects with the database's error for this event. */
  record(event: DealEvent, now: number): Promise<RecordResult>;
};

/**
 * Group commit for the webhook's hot path. Every event that arrives while the event loop is busy is written in one
 * transaction when the loop comes round (setImmediate), and each request is answered only after that commit, so
 * nothing is acknowledged before it is durable. A commit costs far more than an insert (every touched b-tree page is
 * written to the WAL once per commit), so under load this divides the database's share of a webhook by the batch
 * size; a lone event is written exactly as `recordDealEvent` does, with no added wait.
 *
 * One batch is in flight at a time: the next one gathers whatever arrived meanwhile. When a batch fails (a company
 * uninstalled a moment ago trips the foreign key, a database hiccup), it is rolled back whole and its events are
 * retried one by one, so one bad event never fails or loses the others.
 */
export function createDealEventRecorder(database: Database, options: { maxBatch?: number } = {}): DealEventRecorder {
  const maxBatch = options.maxBatch ?? 64;
  type Pending = { event: DealEvent; now: number; resolve: (r: RecordResult) => void; reject: (e: unknown) => void };
  let pending: Pending[] = [];
  let scheduled = false;
  let flushing = false;

  async function writeAlone(item: Pending): Promise<void> {
    try {
      item.resolve(await recordDealEvent(database, item.event, item.now));
    } catch (error) {
      item.reject(error);
    }
  }

  async function writeBatch(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return writeAlone(batch[0]!);
    let results: RecordResult[];
    try {
      results = await database.transaction((trx) => recordBatch(trx, batch));
    } catch {
      for (const item of batch) await writeAlone(item);
      return;
    }
    batch.forEach((item, i) => item.resolve(results[i]!));
  }

  async function flush(): Promise<void> {
    scheduled = false;
    flushing = true;
    try {
      while (pending.length > 0) {
        const batch = pending.length <= maxBatch ? pending : pending.slice(0, maxBatch);
        pending = pending.length <= maxBatch ? [] : pending.slice(maxBatch);
        await writeBatch(batch);
      }
    } finally {
      flushing = false;
    }
  }

  return {
    record(event, now) {
      return new Promise<RecordResult>((resolve, reject) => {
        pending.push({ event, now, resolve, reject });
        if (!scheduled && !flushing) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}

/** The enabled automations of the event's company watching its trigger and stage, in any pipeline. */
async function matchingAutomations(db: Executor, event: DealEvent): Promise<MatchingAutomation[]> {
  const trigger = event.trigger;
  if (!trigger || !event.deal) return [];
  const { rows } = await sql<MatchingAutomation>`
    SELECT id, name, template, pipeline_id FROM automations
    WHERE company_id = ${event.companyId} AND enabled = 1 AND trigger_event = ${trigger.event} AND stage_id = ${trigger.stageId}`.execute(db);
  return rows;
}

/** An automation without a pipeline watches its stage id in any pipeline. */
function inPipeline(automations: MatchingAutomation[], event: DealEvent): MatchingAutomation[] {
  return automations.filter((a) => a.pipeline_id === null || a.pipeline_id === event.trigger?.pipelineId);
}

/** The event row and its outbox rows. Atomic only inside a transaction, which the caller provides when rows match. */
async function recordWithin(db: Executor, event: DealEvent, matching: MatchingAutomation[], now: number): Promise<RecordResult> {
  return (await writeEvents(db, [{ event, matching, now }]))[0]!;
}

/**
 * A batch's events in one transaction (the caller's): the automations looked up once per company and stage, then
 * every event in one INSERT and every outbox row in another — a fixed number of statements whatever the batch's
 * size, which on PostgreSQL means a fixed number of round trips.
 */
async function recordBatch(trx: Executor, batch: Array<{ event: DealEvent; now: number }>): Promise<RecordResult[]> {
  // Automations are the same for every event of one company and stage within a batch.
  const lookups = new Map<string, Promise<MatchingAutomation[]>>();
  const items = [];
  for (const { event, now } of batch) {
    const key = event.trigger ? `${event.companyId}\u0000${event.trigger.event}\u0000${event.trigger.stageId}` : '';
    let found = lookups.get(key);
    if (!found) lookups.set(key, (found = matchingAutomations(trx, event)));
    items.push({ event, now, matching: inPipeline(await found, event) });
  }
  return writeEvents(trx, items);
}

async function writeEvents(db: Executor, items: Array<{ event: DealEvent; matching: MatchingAutomation[]; now: number }>): Promise<RecordResult[]> {
  // Plain SQL on this path: the query builder costs more than SQLite itself for statements this small.
  const rows = items.map(({ event, matching, now }) => {
    // No deal, no matching automation (matchingAutomations): queued is simply how many matched.
    return sql`(${event.eventId}, ${event.companyId}, ${event.entity}, ${event.action},
                ${event.dealId === null ? null : String(event.dealId)}, ${event.attempt}, ${matching.length}, ${new Date(now).toISOString()})`;
  });
  const inserted = await sql<{ id: string; company_id: string }>`
    INSERT INTO webhook_events (id, company_id, entity, action, entity_id, attempt, queued, received_at)
    VALUES ${sql.join(rows)}
    ON CONFLICT (company_id, id) DO NOTHING RETURNING id, company_id`.execute(db);
  // An event already recorded (Pipedrive's retry), or twice in this batch: only its first arrival is new.
  const fresh = new Set(inserted.rows.map((r) => `${r.company_id}\u0000${r.id}`));
  const messages: AutomationMessage[] = [];
  const results = items.map(({ event, matching, now }): RecordResult => {
    if (!fresh.delete(`${event.companyId}\u0000${event.eventId}`)) return { duplicate: true, queued: 0 };
    const deal = event.deal;
    if (!deal || matching.length === 0) return { duplicate: false, queued: 0 };
    // The deal as it was when it moved, and the template as it was then: a later edit rewrites nothing already queued.
    const context = JSON.stringify({ deal });
    const at = new Date(now).toISOString();
    for (const a of matching) {
      messages.push({
        id: randomUUID(),
        companyId: event.companyId,
        automationId: a.id,
        automationName: a.name,
        eventId: event.eventId,
        dealId: deal.id,
        personId: deal.personId,
        template: a.template,
        context,
        at,
      });
    }
    return { duplicate: false, queued: matching.length };
  });
  await enqueueAutomationMessages(db, messages);
  return results;
}
