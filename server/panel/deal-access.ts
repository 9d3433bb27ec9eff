import { LRUCache } from 'lru-cache';
import type { CrmPort } from '../pipedrive/crm-port.js';

/** Who is asking, and the Pipedrive port their request is served with. */
export type Viewer = {
  userId: string;
  crm: CrmPort;
  /** True when `crm` acts as the viewer themself (their own installation): Pipedrive then applies their visibility. */
  asCaller: boolean;
};

/**
 * A user sees and texts only deals Pipedrive lets them see. Served with their own token, Pipedrive decides on every
 * read; served with the installer's token, the deal's permitted users decide. That answer is kept per company, deal
 * and user for at most `ttlMs` (a user removed from a deal loses it within that time), never across users, and a
 * failure to ask is never remembered: it propagates (PipedriveApiError, a 502) rather than letting anyone in.
 */
export function createDealAccess(deps: { now: () => number; ttlMs?: number; maxEntries?: number }) {
  const ttlMs = deps.ttlMs ?? 60_000;
  const answers = new LRUCache<string, { askedAt: number; allowed: boolean }>({ max: deps.maxEntries ?? 10_000 });
  const asking = new Map<string, Promise<boolean>>();

  return {
    async mayRead(viewer: Viewer, companyId: string, dealId: number): Promise<boolean> {
      if (viewer.asCaller) return true;
      const key = `${companyId}:${dealId}:${viewer.userId}`;
      const known = answers.get(key);
      if (known && deps.now() - known.askedAt < ttlMs) return known.allowed;
      const pending = asking.get(key);
      if (pending) return pending;
      const ask = (async () => {
        // The answer's age counts from the question: Pipedrive may change its mind while we wait.
        const askedAt = deps.now();
        const permitted = await viewer.crm.getDealPermittedUsers(dealId);
        const allowed = permitted !== null && permitted.includes(Number(viewer.userId));
        answers.set(key, { askedAt, allowed });
        return allowed;
      })().finally(() => asking.delete(key));
      asking.set(key, ask);
      return ask;
    },
  };
}

export type DealAccess = ReturnType<typeof createDealAccess>;
