import { createDealAccess, type Viewer } from '../panel/deal-access.js';
import type { RowVisibility } from './report-lists.js';

/** Pipedrive questions a page of a report asks at once. */
const CONCURRENCY = 8;

/**
 * Which rows of the reports a user who is not an admin may read: those of deals Pipedrive lists them among the
 * permitted users of, asked with the company's installation once per distinct deal of a page and kept briefly per
 * company, deal and user (as for the deal panel). A failure to ask propagates: nothing is shown unchecked.
 */
export function createReportVisibility(deps: { now: () => number; ttlMs?: number }) {
  const access = createDealAccess({ now: deps.now, ...(deps.ttlMs ? { ttlMs: deps.ttlMs } : {}) });

  return {
    everything(): RowVisibility {
      return { all: true };
    },
    /** `viewer.crm` must be the company's installation, asked about the viewer's permissions (not acting as them). */
    dealsOf(viewer: Viewer & { asCaller: false }, companyId: string): RowVisibility {
      return {
        all: false,
        async visibleDeals(dealIds) {
          const visible = new Set<number>();
          let next = 0;
          const lane = async () => {
            while (next < dealIds.length) {
              const dealId = dealIds[next++]!;
              if (await access.mayRead(viewer, companyId, dealId)) visible.add(dealId);
            }
          };
          await Promise.all(Array.from({ length: Math.min(CONCURRENCY, dealIds.length) }, lane));
          return visible;
        },
      };
    },
  };
}

export type ReportVisibility = ReturnType<typeof createReportVisibility>;
