import type { Database } from './database.js';

/** The states in which a message or a job is still waiting for the worker (the finished ones only grow with history). */
const WAITING_MESSAGES = ['queued', 'scheduled', 'claimed', 'sending'] as const;
const WAITING_JOBS = ['queued', 'claimed'] as const;

/**
 * How many messages and jobs wait in each state: two grouped counts over the waiting states only, which the
 * (state, next_attempt_at) indexes answer by seeking to each state, so a scrape costs the queue's size, not the
 * table's (millions of sent messages are never read). Every waiting state is listed, at 0 when empty.
 */
export async function queueDepth(database: Database): Promise<Array<{ queue: 'messages' | 'jobs'; state: string; count: number }>> {
  const { db } = database;
  const [messages, jobs] = await Promise.all([
    db
      .selectFrom('outbound_messages')
      .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('state', 'in', [...WAITING_MESSAGES])
      .groupBy('state')
      .execute(),
    db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('state', 'in', [...WAITING_JOBS])
      .groupBy('state')
      .execute(),
  ]);
  const count = (rows: Array<{ state: string; n: number | string }>, state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
  return [
    ...WAITING_MESSAGES.map((state) => ({ queue: 'messages' as const, state, count: count(messages, state) })),
    ...WAITING_JOBS.map((state) => ({ queue: 'jobs' as const, state, count: count(jobs, state) })),
  ];
}
