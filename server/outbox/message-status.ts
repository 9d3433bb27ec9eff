/**
 * Twilio message statuses ordered by how far a message got. Callbacks arrive out of order and more than once, so a
 * status only replaces one of lower rank: a late `sent` never overwrites `delivered`.
 */
const RANK: Record<string, number> = {
  accepted: 1,
  scheduled: 1,
  queued: 2,
  sending: 3,
  sent: 4,
  failed: 5,
  undelivered: 5,
  canceled: 5,
  delivered: 6,
  read: 7,
};

export const KNOWN_STATUSES = Object.keys(RANK);

/** The table as pairs, for the store to rank a stored status in SQL the same way (see outbox-store.ts). */
export const STATUS_RANKS: readonly (readonly [string, number])[] = Object.entries(RANK);

export function statusRank(status: string | null | undefined): number {
  return status ? (RANK[status] ?? 0) : 0;
}

export function isProgress(current: string | null | undefined, next: string): boolean {
  return statusRank(next) > statusRank(current);
}
