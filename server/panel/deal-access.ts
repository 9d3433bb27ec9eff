import { createTimedAnswers } from '../timed-answers.js';
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
  const answers = createTimedAnswers<boolean>({ now: deps.now, ttlMs: deps.ttlMs ?? 60_000, max: deps.maxEntries ?? 10_000 });

  return {
    async mayRead(viewer: Viewer, companyId: string, dealId: number): Promise<boolean> {
      if (viewer.asCaller) return true;
      return answers.get(`${companyId}:${dealId}:${viewer.userId}`, async () => {
        const permitted = await viewer.crm.getDealPermittedUsers(dealId);
        return permitted !== null && permitted.includes(Number(viewer.userId));
      });
    },
  };
}

export type DealAccess = ReturnType<typeof createDealAccess>;
