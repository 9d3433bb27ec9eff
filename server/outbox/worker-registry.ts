import { hostname } from 'node:os';
import type { Database } from '../../db/database.js';

/**
 * The `workers` table: one row per running outbox worker, its heartbeat refreshed about every second. A worker whose
 * heartbeat is older than a few seconds is dead, and whatever it had claimed is taken back by the others (see
 * outbox-worker.ts). Times come from the worker's clock, so every instance needs a synchronised clock (NTP).
 */
export function createWorkerRegistry(database: Database, id: string) {
  const { db } = database;
  const iso = (ms: number) => new Date(ms).toISOString();

  /** Adds this worker's row (or refreshes it when it is there already). */
  async function register(at: number): Promise<void> {
    await db
      .insertInto('workers')
      .values({ id, host: hostname(), pid: process.pid, started_at: iso(at), heartbeat_at: iso(at) })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: iso(at) }))
      .execute();
  }

  /** Refreshes the heartbeat; false when the row was gone (another worker took this one for dead and removed it). */
  async function beat(at: number): Promise<boolean> {
    const updated = await db.updateTable('workers').set({ heartbeat_at: iso(at) }).where('id', '=', id).executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  return {
    id,
    register,
    beat,
    /** The dead workers' rows, once their claims have been taken back. */
    removeDead: async (liveSinceIso: string) => void (await db.deleteFrom('workers').where('heartbeat_at', '<', liveSinceIso).execute()),
    /** Every other worker's row: on SQLite (one instance by design) they belong to a process that is no more. */
    removeOthers: async () => void (await db.deleteFrom('workers').where('id', '<>', id).execute()),
    deregister: async () => void (await db.deleteFrom('workers').where('id', '=', id).execute()),
  };
}

export type WorkerRegistry = ReturnType<typeof createWorkerRegistry>;
