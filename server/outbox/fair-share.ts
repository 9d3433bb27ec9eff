import type { Database } from '../../db/database.js';
import type { OutboundMessage } from '../../db/schema.js';
import { companiesWithQueuedMessages, type CompanyQuota, type WaitingCompany } from '../../db/queue-queries.js';
import { claimInTurns } from './outbox-store.js';
import type { CompanyProfile } from '../companies/company-store.js';
import type { Sender, SenderDirectory } from '../twilio/senders.js';
import type { createSenderPace } from './sender-pace.js';

/** How many companies with waiting messages one pass looks at; beyond that, the next pass carries on from there. */
const WALK_LIMIT = 1_000;

export type FairShareDeps = {
  database: Database;
  senders: SenderDirectory;
  pace: ReturnType<typeof createSenderPace>;
  /** Messages per second on the app's shared sender: the operator's setting, never a company's. */
  sharedSenderRate: number;
  now: () => number;
};

/**
 * Which due messages a pass claims. One company's backlog must not hold up another's text, so companies take turns:
 * the one served longest ago (or never) goes first, one message each per round. Paced senders are claimed only up to
 * the slots they have free within `holdMs`, so a long queue stays in the table, untouched, and a company that queues a
 * message later gets one of the next slots instead of waiting behind everything claimed before it.
 */
export function createFairShare(deps: FairShareDeps, options: { rateLimit: boolean; holdMs: number }) {
  /** The order in which companies were last served by this worker (higher = more recently). */
  const served = new Map<string, number>();
  let turnCounter = 0;
  let walkFrom = '';

  /** The app's shared sender is paced by the operator; a company's own setting paces only its own sender. */
  const rateOf = (sender: Sender, company: CompanyProfile): number => (sender.shared ? deps.sharedSenderRate : company.parsedSettings.sendRatePerSecond);

  async function claim(
    companyOf: (id: string) => Promise<CompanyProfile | null>,
    leaseUntilIso: string,
    limit: number,
    workerId: string | null = null,
  ): Promise<OutboundMessage[]> {
    const nowIso = new Date(deps.now()).toISOString();
    const walk = await companiesWithQueuedMessages(deps.database, walkFrom, WALK_LIMIT);
    walkFrom = walk.more ? walk.companies.at(-1)!.companyId : '';
    if (!walk.more) {
      // Forget companies with nothing waiting: keeps the map as small as the queue's set of companies.
      const waiting = new Set(walk.companies.map((c) => c.companyId));
      for (const id of served.keys()) if (!waiting.has(id)) served.delete(id);
    }
    const due = walk.companies.filter((c) => c.firstDueAt <= nowIso).sort(byTurn);
    const quotas = await share(due, companyOf, limit);
    if (quotas.length === 0) return [];
    const rows = await claimInTurns(deps.database, nowIso, leaseUntilIso, quotas, limit, workerId);
    for (const row of rows) served.set(row.company_id, ++turnCounter);
    return rows;
  }

  function byTurn(a: WaitingCompany, b: WaitingCompany): number {
    const turn = (served.get(a.companyId) ?? 0) - (served.get(b.companyId) ?? 0);
    if (turn !== 0) return turn;
    // Equal turns (never served): the one waiting longest first.
    return a.firstDueAt < b.firstDueAt ? -1 : a.firstDueAt > b.firstDueAt ? 1 : a.companyId < b.companyId ? -1 : 1;
  }

  /** Round after round, one message per company whose sender still has room, until `limit` is reached. */
  async function share(due: WaitingCompany[], companyOf: (id: string) => Promise<CompanyProfile | null>, limit: number): Promise<CompanyQuota[]> {
    const room = new Map<string, number>();
    const laneOf = new Map<string, string>();
    const quotas = new Map<string, number>();
    let budget = limit;
    for (const { companyId } of due) {
      if (budget === 0) break;
      const company = await companyOf(companyId);
      const sender = company ? deps.senders.forCompany(company) : null;
      // A removed company, or one with no sender at all: its messages are claimed to be closed, not paced.
      const lane = sender && company ? `sender:${sender.key}` : `company:${companyId}`;
      laneOf.set(companyId, lane);
      if (!room.has(lane)) {
        room.set(lane, sender && company && options.rateLimit ? await deps.pace.room(sender.key, rateOf(sender, company), options.holdMs) : limit);
      }
      if (room.get(lane)! > 0) {
        room.set(lane, room.get(lane)! - 1);
        quotas.set(companyId, 1);
        budget--;
      }
    }
    // Further rounds among the companies already given a turn, while their senders have room.
    for (let progress = true; budget > 0 && progress; ) {
      progress = false;
      for (const companyId of quotas.keys()) {
        const lane = laneOf.get(companyId)!;
        if (budget === 0 || room.get(lane)! === 0) continue;
        room.set(lane, room.get(lane)! - 1);
        quotas.set(companyId, quotas.get(companyId)! + 1);
        budget--;
        progress = true;
      }
    }
    const panel = new Set(due.filter((c) => c.panelWaiting).map((c) => c.companyId));
    return [...quotas].map(([companyId, take]) => ({ companyId, take, panel: panel.has(companyId) }));
  }

  return { claim, rateOf };
}
